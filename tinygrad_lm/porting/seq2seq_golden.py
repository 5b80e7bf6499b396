"""The encoder-decoder golden bundle: a padded batch through Seq2Seq, label-smoothed loss, grads.

Tensor names (B batch, S source length, T target length, C n_embd, H n_head, D = C / H,
F d_ff, V vocab_size, i block from 0; every sub-layer is post-LN, x = LN(x + sublayer(x))):

    input/src (B, S), input/tgt_in (B, T), input/tgt_out (B, T) int64 (pad_id 0 after the real tokens)
    param/<name>                     every parameter of ``Seq2Seq.named_parameters()``
    act/enc/embed (B, S, C)          embed[src] * sqrt(C) + PE[0..S-1] (sinusoidal, no parameters)
    act/enc{i}/q, k, v (B, H, S, D)  act/enc{i}/att_probs (B, H, S, S): softmax(q k^T / sqrt(D)), pad keys -inf
    act/enc{i}/att_y (B, S, C)       heads merged        act/enc{i}/att_out (B, S, C)   after attn.proj
    act/enc{i}/ln1 (B, S, C)         LN(x + att_out)     act/enc{i}/mlp_hidden (B, S, F) relu(mlp.fc(ln1))
    act/enc{i}/mlp_out (B, S, C)     act/enc{i}/out (B, S, C) = LN(ln1 + mlp_out)
    act/memory (B, S, C)             the last encoder block's output
    act/dec/embed (B, T, C)          embed[tgt_in] * sqrt(C) + PE[0..T-1]
    act/dec{i}/self_q, self_k, self_v, self_probs (B, H, T, T) causal, self_y, self_out, ln1
    act/dec{i}/cross_q (B, H, T, D), cross_k, cross_v (B, H, S, D) from the memory,
    act/dec{i}/cross_probs (B, H, T, S) pad keys -inf, cross_y, cross_out, ln_cross = LN(ln1 + cross_out)
    act/dec{i}/mlp_hidden, mlp_out, out = LN(ln_cross + mlp_out)
    act/logits (B, T, V)             the last decoder block's output @ embed.weight^T (tied head)
    loss ()                          label-smoothed (0.1) cross-entropy, mean over non-pad tgt_out
    grad/<name>, step3/loss, step3/param/<name>   as in the GPT bundle (3 AdamW steps)

Config ``tiny``: 2 + 2 layers, width 16, 2 heads, d_ff 32, V 13, the paper's post-LN and ReLU,
random ids in [3, V) (0 pad, 1 bos, 2 eos) drawn from ``default_rng(seed)``, one source row
and one target row padded. Outputs at padded positions are included: masks act on keys only,
so they are well defined. As for GPT, parameters are float32 numbers, everything is computed
in float64 and stored float32, and the recomputed logits must equal ``Seq2Seq.forward`` to 1e-12.
AdamW: the paper's betas (0.9, 0.98), constant lr 1e-3, no weight decay, and eps 1e-6, not the
paper's 1e-9: the key biases' exact gradient is 0 (softmax ignores a constant added to a row),
and Adam divides a float32 port's rounding noise there (~3e-10 here) by sqrt(v) + eps: with
eps 1e-9 that moves them by most of an lr per step, with 1e-6 by under 0.1% of it.

Left out: dropout, the pre-LN variant, decoding (greedy/beam outputs are integers a port can
compare by running its own search).
"""

import math

import numpy as np

from .. import functional as F
from .. import ops
from ..engine import no_grad
from ..models import Seq2Seq, Seq2SeqConfig
from ..nn.transformer import ACTIVATIONS
from ..optim import AdamW
from .bundle import BundleWriter
from .gpt_golden import AGREEMENT, add_adamw_steps

SEQ2SEQ_CONFIGS = ("tiny",)
TINY = Seq2SeqConfig(vocab_size=13, n_encoder_layers=2, n_decoder_layers=2, n_head=2, n_embd=16, d_ff=32,
                     max_positions=16, dropout=0.0, seed=1337)
BATCH, SOURCE, TARGET = 2, 7, 6
ADAMW = {"lr": 1e-3, "betas": [0.9, 0.98], "eps": 1e-6, "weight_decay": 0.0, "steps": 3, "grad_clip": None,
         "lr_schedule": "constant", "decayed": []}


def build_model():
    """The tiny Seq2Seq in float64 with float32-valued parameters, in eval mode."""
    model = Seq2Seq(TINY, dtype="float64")
    for _, param in model.named_parameters():
        param.data[...] = param.data.astype(np.float32)  # float32 numbers, held in float64
    return model.eval()


def batch(seed):
    """(src (B, S), tgt_in (B, T), tgt_out (B, T)): random symbols, row 1 padded in both."""
    rng = np.random.default_rng(seed)
    src = rng.integers(3, TINY.vocab_size, (BATCH, SOURCE))
    src[1, 5:] = TINY.pad_id  # (B, S): the second source has 5 real tokens
    body = rng.integers(3, TINY.vocab_size, (BATCH, TARGET - 1))
    tgt_in = np.concatenate([np.full((BATCH, 1), TINY.bos_id), body], axis=1)  # (B, T): bos, y_1 .. y_{T-1}
    tgt_out = np.concatenate([body, np.full((BATCH, 1), TINY.eos_id)], axis=1)  # (B, T): y_1 .. y_{T-1}, eos
    tgt_in[1, 4:], tgt_out[1, 3], tgt_out[1, 4:] = TINY.pad_id, TINY.eos_id, TINY.pad_id  # row 1: 3 tokens + eos
    return src, tgt_in, tgt_out


def attention(mha, x, context, blocked):
    """(q, k, v, probs, y, out) of ``mha`` written out; ``blocked`` is True where a key is masked."""
    B, T, C = x.shape
    H = mha.n_heads
    D = C // H

    def heads(a):
        return a.reshape(B, a.shape[1], H, D).permute(0, 2, 1, 3)  # (B, L, C) -> (B, H, L, D)

    if context is None:
        q, k, v = (heads(part) for part in mha.qkv(x).split(3, axis=-1))  # (B, T, 3C) -> 3 x (B, H, T, D)
    else:
        q = heads(mha.q(x))  # (B, T, C) -> (B, H, T, D)
        k, v = (heads(part) for part in mha.kv(context).split(2, axis=-1))  # (B, S, 2C) -> 2 x (B, H, S, D)
    scores = (q @ k.swapaxes(-2, -1)) * (1.0 / math.sqrt(D))  # (B, H, T, D) @ (B, H, D, L) -> (B, H, T, L)
    probs = F.softmax(ops.masked_fill(scores, blocked, -np.inf), axis=-1)
    y = (probs @ v).permute(0, 2, 1, 3).reshape(B, T, C)  # (B, H, T, D) -> (B, T, H, D) -> (B, T, C)
    return q, k, v, probs, y, mha.proj(y)


def activations(model, src, tgt_in):
    """[(name, array, description)] of every activation in order, and the logits (B, T, V)."""
    C, relu = model.config.n_embd, ACTIVATIONS[model.config.activation]
    pe = model.positions(np.arange(max(src.shape[1], tgt_in.shape[1])))  # (L, C)
    pad_keys = (src == model.config.pad_id)[:, None, None, :]  # (B, S) -> (B, 1, 1, S): True = masked
    T = tgt_in.shape[1]
    later_keys = ~np.tril(np.ones((T, T), dtype=bool))  # (T, T): True where the key comes after the query
    out = []

    def mlp(p, block, h):
        hidden = relu(block.mlp.fc(h))  # (B, L, C) -> (B, L, F)
        mlp_out = block.mlp.proj(hidden)  # (B, L, F) -> (B, L, C)
        x = block.ln2(h + mlp_out)
        out.extend([(p + "mlp_hidden", hidden, "relu(mlp.fc(x)), width d_ff"),
                    (p + "mlp_out", mlp_out, "mlp.proj of mlp_hidden"),
                    (p + "out", x, "block output: LN ln2(x + mlp_out)")])
        return x

    with no_grad():
        x = model.embed(src) * math.sqrt(C) + pe[:src.shape[1]]  # (B, S, C) + (S, C)
        out.append(("act/enc/embed", x, "embed[src] * sqrt(C) + sinusoidal PE[s]"))
        for i, block in enumerate(model.encoder):
            p = f"act/enc{i}/"
            q, k, v, probs, y, att_out = attention(block.attn, x, None, pad_keys)
            h = block.ln1(x + att_out)
            out += [(p + "q", q, "queries of attn.qkv (first C columns), heads (B, H, S, D)"),
                    (p + "k", k, "keys of attn.qkv (middle C columns)"), (p + "v", v, "values (last C columns)"),
                    (p + "att_probs", probs, "softmax over keys of q k^T / sqrt(D), pad keys -inf"),
                    (p + "att_y", y, "probs @ v, heads merged (B, S, C)"), (p + "att_out", att_out, "attn.proj of att_y"),
                    (p + "ln1", h, "LN ln1(x + att_out) (biased variance, eps 1e-5 inside the sqrt)")]
            x = mlp(p, block, h)
        memory = x
        out.append(("act/memory", memory, "the encoder output the decoder's cross-attention reads"))
        y = model.embed(tgt_in) * math.sqrt(C) + pe[:T]  # (B, T, C) + (T, C)
        out.append(("act/dec/embed", y, "embed[tgt_in] * sqrt(C) + sinusoidal PE[t]"))
        for i, block in enumerate(model.decoder):
            p = f"act/dec{i}/"
            q, k, v, probs, att_y, att_out = attention(block.attn, y, None, later_keys)
            h = block.ln1(y + att_out)
            out += [(p + "self_q", q, "self-attention queries (B, H, T, D)"), (p + "self_k", k, "self-attention keys"),
                    (p + "self_v", v, "self-attention values"),
                    (p + "self_probs", probs, "causal softmax of q k^T / sqrt(D): keys after the query -inf"),
                    (p + "self_y", att_y, "probs @ v, heads merged (B, T, C)"),
                    (p + "self_out", att_out, "attn.proj of self_y"), (p + "ln1", h, "LN ln1(x + self_out)")]
            q, k, v, probs, att_y, att_out = attention(block.cross_attn, h, memory, pad_keys)
            h = block.ln_cross(h + att_out)
            out += [(p + "cross_q", q, "cross_attn.q of ln1, heads (B, H, T, D)"),
                    (p + "cross_k", k, "keys of cross_attn.kv(memory) (first C columns), (B, H, S, D)"),
                    (p + "cross_v", v, "values of cross_attn.kv(memory) (last C columns)"),
                    (p + "cross_probs", probs, "softmax over source keys of q k^T / sqrt(D), pad keys -inf"),
                    (p + "cross_y", att_y, "probs @ v, heads merged (B, T, C)"),
                    (p + "cross_out", att_out, "cross_attn.proj of cross_y"),
                    (p + "ln_cross", h, "LN ln_cross(ln1 + cross_out)")]
            y = mlp(p, block, h)
        B, V = y.shape[0], model.config.vocab_size
        logits = (y.reshape(B * T, C) @ model.embed.weight.T).reshape(B, T, V)  # (B*T, C) @ (C, V) -> (B, T, V)
    out.append(("act/logits", logits, "decoder output @ embed.weight^T (the head is the shared embedding)"))
    return [(name, t.numpy(), text) for name, t, text in out], logits.numpy()


def make_seq2seq_bundle(config_name="tiny"):
    """A ``BundleWriter`` holding the Seq2Seq bundle (``config_name`` "tiny")."""
    model = build_model()
    src, tgt_in, tgt_out = batch(TINY.seed)
    config = {**TINY.to_dict(), "batch_size": BATCH, "source_length": SOURCE, "target_length": TARGET,
              "label_smoothing": 0.1, "layer_norm_eps": 1e-5, "computed_in": "float64", "adamw": ADAMW,
              "ids": f"random integers in [3, {TINY.vocab_size}) from numpy default_rng(seed); row 1 padded"}
    bundle = BundleWriter("seq2seq", config_name, config, TINY.seed, "float32")
    bundle.add("input/src", src, "source ids (B, S), pad_id after the real tokens")
    bundle.add("input/tgt_in", tgt_in, "decoder inputs (B, T): bos then the target shifted right")
    bundle.add("input/tgt_out", tgt_out, "targets (B, T): the target then eos; pad positions are ignored")
    params = list(model.named_parameters())
    for name, param in params:
        bundle.add(f"param/{name}", param.data, f"parameter {name} (Linear weights are (out, in))", atol=0.0, rtol=0.0)

    acts, logits = activations(model, src, tgt_in)
    worst = float(np.max(np.abs(model(src, tgt_in).numpy() - logits)))
    if worst > AGREEMENT:
        raise AssertionError(f"golden seq2seq: recomputed logits differ from Seq2Seq.forward by {worst:.3g} > {AGREEMENT}")
    for name, values, text in acts:
        bundle.add(name, values, text)
    loss = model.loss(src, tgt_in, tgt_out, label_smoothing=0.1)
    bundle.add("loss", loss.numpy(), "label-smoothed (0.1) cross-entropy, mean over non-pad positions of tgt_out")
    model.zero_grad()
    loss.backward()
    for name, param in params:
        bundle.add(f"grad/{name}", param.grad, f"d loss / d {name}")
    optimizer = AdamW(model.parameters(), lr=ADAMW["lr"], betas=tuple(ADAMW["betas"]), eps=ADAMW["eps"],
                      weight_decay=0.0)
    add_adamw_steps(bundle, params, lambda: model.loss(src, tgt_in, tgt_out, label_smoothing=0.1), optimizer,
                    ADAMW["lr"])
    return bundle
