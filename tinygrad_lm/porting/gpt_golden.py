"""The GPT golden bundle: ids, parameters, every activation in order, loss, gradients, 3 AdamW steps.

Tensor names (B batch, T time, C n_embd, H n_head, D = C / H, V vocab_size, i block from 0):

    input/ids (B, T) int64, input/targets (B, T) int64
    param/<name>                every parameter of ``GPT.named_parameters()`` (wte.weight, ...)
    act/embed (B, T, C)         wte[ids] + wpe[0..T-1]  (dropout 0)
    act/block{i}/ln1 (B, T, C)  act/block{i}/q, k, v (B, H, T, D)
    act/block{i}/att_probs (B, H, T, T)   softmax(q k^T / sqrt(D), causal mask)
    act/block{i}/att_y (B, T, C)          heads merged, before the output projection
    act/block{i}/att_out (B, T, C)        after the output projection
    act/block{i}/resid1 (B, T, C)         x + att_out
    act/block{i}/ln2 (B, T, C)  act/block{i}/mlp_hidden (B, T, 4C) (after exact GELU)
    act/block{i}/mlp_out (B, T, C)        act/block{i}/out (B, T, C) = resid1 + mlp_out
    act/ln_f (B, T, C)          act/logits (B, T, V)   (head tied to wte.weight)
    loss ()                     mean cross-entropy of logits against targets
    grad/<name>                 d loss / d param, every parameter
    step3/loss ()               the loss of the model after 3 AdamW steps on the same batch
    step3/param/<name>          every parameter after those 3 steps

How it is made (no hand-editing): the model of the preset (``train.config``) is built in
float64 with the preset's seed and dropout 0; each block's MLP input projection ``mlp.fc.weight``
is then drawn again, from the model's generator, at std 1/sqrt(C) instead of GPT-2's 0.02, so
that the MLP's pre-activations have unit variance and reach the curved part of GELU, where the
exact and the tanh form differ by up to 4.7e-4 (at 0.02 they stay within +-0.5, where the two
agree inside a float32 tolerance, and a port with the wrong GELU would pass). The parameters
are rounded to float32 numbers, and everything is computed in float64 from them; the bundle
stores float32 (see ``bundle.py``).
The activations are recomputed layer by layer from the model's own modules and functional
ops, and the recomputed logits must equal the model's own forward (``GPT.forward``) to 1e-12,
so a bundle can never drift from the model. AdamW uses the trainer's settings (lr, betas,
weight decay with ``param_groups_for_weight_decay``) at a constant lr, without clipping.

Left out: dropout (a port cannot match our random masks), the sinusoidal-position variant.
"""

import dataclasses
import math

import numpy as np

from .. import functional as F
from .. import ops
from ..engine import no_grad
from ..models import GPT
from ..nn.transformer import ACTIVATIONS
from ..optim import AdamW, param_groups_for_weight_decay
from ..train.config import preset
from ..train.tasks import model_config
from .bundle import BundleWriter, PortingError

# Per config: the vocabulary size, the batch (B, T), and what the ids are.
BATCHES = {
    "tiny": (65, 2, 16),
    "shakespeare-char": (65, 2, 64),
}
ADAMW_STEPS = 3
AGREEMENT = 1e-12  # recomputed logits vs GPT.forward, float64
# std of mlp.fc.weight times sqrt(C): ln2's rows have unit variance, so pre-activations have ~this std
MLP_FC_GAIN = 1.0


def build_model(config_name):
    """(GPT in float64 with float32-valued parameters, its RunConfig, (V, B, T))."""
    if config_name not in BATCHES:
        raise PortingError(f"golden --what gpt: unknown config {config_name!r}; choose one of {', '.join(BATCHES)}")
    run = preset(config_name)
    vocab, batch, time = BATCHES[config_name]
    config = dataclasses.replace(model_config(run, vocab), dropout=0.0, seed=run.seed)
    model = GPT(config, dtype="float64")
    for block in model.blocks:  # (4C, C), drawn after GPT's own initialisation, block by block
        fc = block.mlp.fc.weight
        fc.data[...] = model.rng.normal(0.0, MLP_FC_GAIN / math.sqrt(config.n_embd), fc.shape)
    for _, param in model.named_parameters():
        param.data[...] = param.data.astype(np.float32)  # float32 numbers, held in float64
    model.eval()
    return model, run, (vocab, batch, time)


def batch_ids(seed, vocab, batch, time):
    """Random ids (B, T+1) cut into inputs and next-token targets, from ``seed``."""
    sequence = np.random.default_rng(seed).integers(0, vocab, size=(batch, time + 1))
    return sequence[:, :-1].copy(), sequence[:, 1:].copy()  # (B, T+1) -> 2 x (B, T)


def activations(model, ids):
    """[(name, array, description)] of every activation in order, and the logits (B, T, V).

    Recomputed from the model's modules, as a port would compute them (no grad)."""
    B, T = ids.shape
    H = model.config.n_head
    C = model.config.n_embd
    D = C // H
    out = []
    with no_grad():
        x = model.wte(ids) + model.wpe(np.arange(T))  # (B, T, C) + (T, C) -> (B, T, C)
        out.append(("act/embed", x, "token embedding wte[ids] plus position embedding wpe[t]"))
        causal = np.tril(np.ones((T, T), dtype=bool))  # (T, T): query t sees keys 0..t
        for i, block in enumerate(model.blocks):
            p = f"act/block{i}/"
            h = block.ln1(x)
            q, k, v = (part.reshape(B, T, H, D).permute(0, 2, 1, 3)  # (B, T, C) -> (B, H, T, D)
                       for part in block.attn.qkv(h).split(3, axis=-1))  # (B, T, 3C) -> 3 x (B, T, C)
            scores = (q @ k.swapaxes(-2, -1)) * (1.0 / math.sqrt(D))  # (B, H, T, D) @ (B, H, D, T) -> (B, H, T, T)
            probs = F.softmax(ops.masked_fill(scores, ~causal, -np.inf), axis=-1)
            y = (probs @ v).permute(0, 2, 1, 3).reshape(B, T, C)  # (B, H, T, D) -> (B, T, H, D) -> (B, T, C)
            att_out = block.attn.proj(y)
            resid1 = x + att_out
            h2 = block.ln2(resid1)
            hidden = ACTIVATIONS[block.mlp.activation](block.mlp.fc(h2))  # (B, T, C) -> (B, T, 4C)
            mlp_out = block.mlp.proj(hidden)  # (B, T, 4C) -> (B, T, C)
            x = resid1 + mlp_out
            out += [
                (p + "ln1", h, "LayerNorm ln1 of the block input (biased variance, eps 1e-5 inside the sqrt)"),
                (p + "q", q, "queries: qkv Linear, first C columns, split into heads (B, H, T, D)"),
                (p + "k", k, "keys: qkv Linear, middle C columns, split into heads (B, H, T, D)"),
                (p + "v", v, "values: qkv Linear, last C columns, split into heads (B, H, T, D)"),
                (p + "att_probs", probs, "softmax over keys of q k^T / sqrt(D), keys after the query masked out"),
                (p + "att_y", y, "attention probs @ v, heads merged back to (B, T, C), before the projection"),
                (p + "att_out", att_out, "attention output projection attn.proj of att_y"),
                (p + "resid1", resid1, "block input + att_out (first residual)"),
                (p + "ln2", h2, "LayerNorm ln2 of resid1"),
                (p + "mlp_hidden", hidden, "exact GELU (erf form) of mlp.fc(ln2), width 4C"),
                (p + "mlp_out", mlp_out, "mlp.proj of mlp_hidden"),
                (p + "out", x, "block output: resid1 + mlp_out"),
            ]
        x = model.ln_f(x)
        logits = x.reshape(B * T, C) @ model.wte.weight.T  # (B*T, C) @ (C, V) -> (B*T, V)
        logits = logits.reshape(B, T, model.config.vocab_size)  # (B*T, V) -> (B, T, V)
    out += [("act/ln_f", x, "final LayerNorm ln_f of the last block's output"),
            ("act/logits", logits, "ln_f @ wte.weight^T (head tied to the token embedding)")]
    return [(name, t.numpy(), text) for name, t, text in out], logits.numpy()


def adamw_settings(run, model):
    """The AdamW settings of ``run`` as the bundle records them, and the trainer's parameter groups."""
    groups = param_groups_for_weight_decay(model.named_parameters(), run.weight_decay)
    settings = {"lr": run.lr, "betas": [run.beta1, run.beta2], "eps": 1e-8, "weight_decay": run.weight_decay,
                "steps": ADAMW_STEPS, "grad_clip": None, "lr_schedule": "constant",
                "decayed": [name for name, _ in groups[0]["params"]] if groups[0]["weight_decay"] else []}
    return settings, groups


def add_adamw_steps(bundle, params, loss_of, optimizer, lr):
    """``ADAMW_STEPS`` steps (the first with the gradients the parameters hold now), then add
    ``step3/loss`` (``loss_of()`` after them) and ``step3/param/<name>`` for each (name, param)."""
    for step in range(ADAMW_STEPS):
        if step:
            for _, param in params:
                param.grad = None
            loss_of().backward()
        optimizer.step()
    with no_grad():
        after = loss_of()
    bundle.add("step3/loss", after.numpy(), f"loss on the same batch after {ADAMW_STEPS} AdamW steps")
    # Adam divides each gradient by sqrt(v) + eps: where the exact gradient is 0 (the key biases:
    # softmax ignores a constant added to every score of a row), a float32 port's rounding noise
    # (~1e-9) still moves the parameter by a fraction of lr. 1% of lr per step pays for that;
    # a real AdamW bug (bias correction, decay on the wrong group) moves parameters by ~lr.
    step_atol = ADAMW_STEPS * lr / 100
    for name, param in params:
        atol = max(step_atol, bundle.tolerance(param.data)[0])
        bundle.add(f"step3/param/{name}", param.data, f"{name} after {ADAMW_STEPS} AdamW steps "
                   f"(settings in config.adamw; atol >= 1% of lr per step)", atol=atol)


def make_gpt_bundle(config_name="tiny"):
    """A ``BundleWriter`` holding the GPT bundle of ``config_name`` ("tiny" or "shakespeare-char")."""
    model, run, (vocab, batch, time) = build_model(config_name)
    ids, targets = batch_ids(run.seed, vocab, batch, time)
    adamw, groups = adamw_settings(run, model)
    config = {**model.config.to_dict(), "batch_size": batch, "time": time, "gelu": "exact (erf)",
              "layer_norm_eps": 1e-5, "tied_head": True, "computed_in": "float64", "adamw": adamw,
              "ids": f"random integers in [0, {vocab}) from numpy default_rng(seed); targets are ids shifted "
                     f"by one (no corpus is read)"}
    bundle = BundleWriter("gpt", config_name, config, run.seed, "float32")
    bundle.add("input/ids", ids, "token ids (B, T), random in [0, vocab_size)")
    bundle.add("input/targets", targets, "next-token targets (B, T): the ids shifted left by one")
    params = list(model.named_parameters())
    for name, param in params:
        bundle.add(f"param/{name}", param.data, f"parameter {name} (Linear weights are (out, in))",
                   atol=0.0, rtol=0.0)

    acts, logits = activations(model, ids)
    model_logits, loss = model(ids, targets)
    worst = float(np.max(np.abs(model_logits.numpy() - logits)))
    if worst > AGREEMENT:
        raise AssertionError(f"golden gpt: recomputed logits differ from GPT.forward by {worst:.3g} > {AGREEMENT}")
    for name, values, text in acts:
        bundle.add(name, values, text)
    bundle.add("loss", loss.numpy(), "mean over B*T positions of -log softmax(logits)[target]")

    model.zero_grad()
    loss.backward()
    for name, param in params:
        bundle.add(f"grad/{name}", param.grad, f"d loss / d {name}")

    optimizer = AdamW(groups, lr=run.lr, betas=(run.beta1, run.beta2), eps=adamw["eps"])
    add_adamw_steps(bundle, params, lambda: model(ids, targets)[1], optimizer, run.lr)
    return bundle
