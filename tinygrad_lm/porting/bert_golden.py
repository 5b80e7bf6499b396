"""The BERT golden bundle: a padded batch of sentence pairs through BertForPreTraining, MLM + NSP.

Tensor names (B batch, T padded length, H hidden, nh heads, D = H / nh, V vocab, i layer from 0):

    input/input_ids, input/token_type_ids, input/attention_mask (B, T) int64 (mask: 1 real, 0 pad)
    input/mlm_labels (B, T) int64   the original id where [MASK] was put, -100 elsewhere
    input/nsp_labels (B,) int64     0 = B follows A, 1 = B is a random sentence
    param/<name>                    every parameter of ``BertForPreTraining.named_parameters()``
    act/embed (B, T, H)             LayerNorm(word + position + token type)
    act/layer{i}/q, k, v (B, nh, T, D)
    act/layer{i}/att_probs (B, nh, T, T)  softmax(q k^T / sqrt(D)) over real keys (padding -inf)
    act/layer{i}/att_y (B, T, H)    heads merged, before the projection
    act/layer{i}/att_out (B, T, H)  after the projection
    act/layer{i}/ln1 (B, T, H)      post-LN: LayerNorm(x + att_out)
    act/layer{i}/mlp_hidden (B, T, I) exact GELU of mlp.fc(ln1)
    act/layer{i}/mlp_out (B, T, H)  act/layer{i}/out (B, T, H) = LayerNorm(ln1 + mlp_out)
    act/pooled (B, H)               tanh(W_p out[:, 0] + b_p)
    act/nsp_logits (B, 2)           act/mlm_transform (B, T, H) = LN(gelu(W_t out + b_t))
    act/mlm_logits (B, T, V)        mlm_transform @ word_embeddings^T + b_dec (tied decoder)
    mlm_loss (), nsp_loss (), loss () = mlm_loss + nsp_loss
    grad/<name>, step3/loss, step3/param/<name>   as in the GPT bundle (3 AdamW steps)

Configs: ``bert-tiny`` (the preset's shape: 2 layers, width 128, 2 heads, MLP 512, with a
WordPiece vocabulary trained by ``train_wordpiece`` on ``SENTENCES``, so V is small and nothing is
downloaded) and ``all-MiniLM-L6-v2`` (its encoder weights and vocabulary through
``data.load_pretrained``, a download on first use; MiniLM has no pre-training heads, so the
MLM and NSP heads, and the pooler when absent, are drawn from the config's seed: the losses
test a port's plumbing, not MiniLM's quality). Masking is fixed: about 15% of each row's real
non-special tokens (at least one) become [MASK], chosen by ``default_rng(seed)``. Dropout is 0.
As for GPT, parameters are float32 numbers, everything is computed in float64 and stored
float32, and the recomputed logits must equal the model's own forward to 1e-12.

Left out: the 80/10/10 replacement (all chosen tokens become [MASK]); token-type 2+.
"""

import dataclasses
import math

import numpy as np

from .. import functional as F
from .. import ops
from ..data import load_pretrained, train_wordpiece
from ..engine import no_grad
from ..models import BertForPreTraining
from ..models.bert_heads import IGNORE_INDEX
from ..nn.transformer import ACTIVATIONS
from ..optim import AdamW
from ..train.bert_task import bert_config
from ..train.config import preset
from .bundle import BundleWriter
from .gpt_golden import AGREEMENT, adamw_settings, add_adamw_steps

BERT_CONFIGS = ("bert-tiny", "all-MiniLM-L6-v2")
SENTENCES = [("The cat sat on the warm mat.", "It purred and fell asleep there."),
             ("Rain fell all night over the quiet town.", "A violin played in the hall.")]
NSP_LABELS = [0, 1]
MASK_FRACTION = 0.15


def build(config_name):
    """(BertForPreTraining in float64 with float32-valued parameters, tokenizer, RunConfig)."""
    run = preset("bert-tiny")
    if config_name == "bert-tiny":
        tokenizer = train_wordpiece([a + " " + b for a, b in SENTENCES] * 3, vocab_size=run.vocab_size)
        config = dataclasses.replace(bert_config(run, tokenizer.vocab_size), dropout=0.0, attention_dropout=0.0)
        model = BertForPreTraining(config, dtype="float64")
    else:
        encoder, tokenizer = load_pretrained(config_name)
        config = dataclasses.replace(encoder.config, dropout=0.0, attention_dropout=0.0, pooler=True)
        model = BertForPreTraining(config, dtype="float64")
        params = dict(model.bert.named_parameters())
        for name, param in encoder.named_parameters():
            params[name].data[...] = param.data
    for _, param in model.named_parameters():
        param.data[...] = param.data.astype(np.float32)  # float32 numbers, held in float64
    model.eval()
    return model, tokenizer, run


def masked_batch(tokenizer, seed):
    """The padded batch of ``SENTENCES`` with ~15% of real tokens masked: dict of int64 arrays."""
    batch = tokenizer.encode_batch([a for a, _ in SENTENCES], [b for _, b in SENTENCES])
    ids = batch["input_ids"]
    labels = np.full(ids.shape, IGNORE_INDEX, dtype=np.int64)  # (B, T)
    rng = np.random.default_rng(seed)
    special = [tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id]
    for row in range(ids.shape[0]):
        candidates = np.flatnonzero(~np.isin(ids[row], special))
        chosen = rng.choice(candidates, size=max(1, round(MASK_FRACTION * len(candidates))), replace=False)
        labels[row, chosen] = ids[row, chosen]
        ids[row, chosen] = tokenizer.mask_id
    return {**batch, "input_ids": ids, "mlm_labels": labels, "nsp_labels": np.array(NSP_LABELS, dtype=np.int64)}


def activations(model, batch):
    """[(name, array, description)] of every activation in order; recomputed module by module."""
    ids, types, attention = batch["input_ids"], batch["token_type_ids"], batch["attention_mask"]
    B, T = ids.shape
    nh = model.config.n_heads
    H = model.config.hidden
    D = H // nh
    act = ACTIVATIONS[model.config.activation]
    padding = (attention == 0)[:, None, None, :]  # (B, T) -> (B, 1, 1, T): True = a [PAD] key
    out = []
    with no_grad():
        x = model.bert.embeddings(ids, types)  # (B, T) -> (B, T, H)
        out.append(("act/embed", x, "LayerNorm(word[ids] + position[t] + token_type[types])"))
        for i, block in enumerate(model.bert.blocks):
            p = f"act/layer{i}/"
            q, k, v = (part.reshape(B, T, nh, D).permute(0, 2, 1, 3)  # (B, T, H) -> (B, nh, T, D)
                       for part in block.attn.qkv(x).split(3, axis=-1))  # (B, T, 3H) -> 3 x (B, T, H)
            scores = (q @ k.swapaxes(-2, -1)) * (1.0 / math.sqrt(D))  # (B, nh, T, D) @ (B, nh, D, T) -> (B, nh, T, T)
            probs = F.softmax(ops.masked_fill(scores, padding, -np.inf), axis=-1)
            y = (probs @ v).permute(0, 2, 1, 3).reshape(B, T, H)  # (B, nh, T, D) -> (B, T, nh, D) -> (B, T, H)
            att_out = block.attn.proj(y)
            h1 = block.ln1(x + att_out)
            hidden = act(block.mlp.fc(h1))  # (B, T, H) -> (B, T, I)
            mlp_out = block.mlp.proj(hidden)  # (B, T, I) -> (B, T, H)
            x = block.ln2(h1 + mlp_out)
            out += [
                (p + "q", q, "queries: qkv Linear, first H columns, split into heads"),
                (p + "k", k, "keys: qkv Linear, middle H columns, split into heads"),
                (p + "v", v, "values: qkv Linear, last H columns, split into heads"),
                (p + "att_probs", probs, "softmax over keys of q k^T / sqrt(D), [PAD] keys masked out (-inf)"),
                (p + "att_y", y, "attention probs @ v, heads merged, before the projection"),
                (p + "att_out", att_out, "attention output projection attn.proj of att_y"),
                (p + "ln1", h1, "post-LN: ln1(layer input + att_out), eps inside the sqrt"),
                (p + "mlp_hidden", hidden, f"{model.config.activation} of mlp.fc(ln1)"),
                (p + "mlp_out", mlp_out, "mlp.proj of mlp_hidden"),
                (p + "out", x, "layer output: ln2(ln1 + mlp_out)"),
            ]
        pooled = model.bert.pooled(x)  # (B, T, H) -> (B, H)
        nsp = model.nsp(pooled)  # (B, H) -> (B, 2)
        z = model.mlm.ln(act(model.mlm.dense(x)))  # (B, T, H)
        mlm = F.linear(z, model.bert.embeddings.word.weight, model.mlm.bias)  # (B, T, H) -> (B, T, V)
    out += [("act/pooled", pooled, "pooler: tanh(W_p out[:, 0] + b_p), the [CLS] position"),
            ("act/nsp_logits", nsp, "next-sentence logits nsp(pooled), class 0 = B follows A"),
            ("act/mlm_transform", z, "mlm.ln(gelu(mlm.dense(out)))"),
            ("act/mlm_logits", mlm, "mlm_transform @ word_embeddings^T + mlm.bias (tied decoder)")]
    return [(name, t.numpy(), text) for name, t, text in out]


def make_bert_bundle(config_name="bert-tiny"):
    """The BERT bundle of ``config_name`` ("bert-tiny" or "all-MiniLM-L6-v2", which downloads)."""
    model, tokenizer, run = build(config_name)
    batch = masked_batch(tokenizer, run.seed)
    adamw, groups = adamw_settings(run, model)
    config = {**model.config.to_dict(), "batch_size": len(SENTENCES), "time": int(batch["input_ids"].shape[1]),
              "computed_in": "float64", "adamw": adamw, "sentences": SENTENCES, "ignore_index": IGNORE_INDEX,
              "vocabulary": list(tokenizer.vocabulary) if config_name == "bert-tiny" else "MiniLM's vocab.txt"}
    bundle = BundleWriter("bert", config_name, config, run.seed, "float32")
    for name in ("input_ids", "token_type_ids", "attention_mask", "mlm_labels", "nsp_labels"):
        bundle.add(f"input/{name}", batch[name], f"{name} of the padded pair batch (see the module docstring)")
    params = list(model.named_parameters())
    for name, param in params:
        bundle.add(f"param/{name}", param.data, f"parameter {name} (Linear weights are (out, in))", atol=0.0, rtol=0.0)

    def forward():
        return model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"], batch["mlm_labels"],
                     batch["nsp_labels"])

    acts = activations(model, batch)
    result = forward()
    recomputed = dict((name, values) for name, values, _ in acts)
    for name, ours in (("act/mlm_logits", result.mlm_logits), ("act/nsp_logits", result.nsp_logits)):
        worst = float(np.max(np.abs(ours.numpy() - recomputed[name])))
        if worst > AGREEMENT:
            raise AssertionError(f"golden bert: recomputed {name} differs from BertForPreTraining by {worst:.3g}")
    for name, values, text in acts:
        bundle.add(name, values, text)
    bundle.add("mlm_loss", result.mlm_loss.numpy(), "mean cross-entropy of mlm_logits at the masked positions")
    bundle.add("nsp_loss", result.nsp_loss.numpy(), "mean cross-entropy of nsp_logits against nsp_labels")
    bundle.add("loss", result.loss.numpy(), "mlm_loss + nsp_loss")
    model.zero_grad()
    result.loss.backward()
    for name, param in params:
        bundle.add(f"grad/{name}", param.grad, f"d loss / d {name}")
    optimizer = AdamW(groups, lr=run.lr, betas=(run.beta1, run.beta2), eps=adamw["eps"])
    add_adamw_steps(bundle, params, lambda: forward().loss, optimizer, run.lr)
    return bundle



