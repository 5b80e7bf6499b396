"""Pruning: magnitude masks kept through training, and structured removal of heads and neurons.

Unstructured magnitude pruning (Han et al. 2015). The prunable weights are the Linear
weights of the Transformer blocks (qkv, attention proj, MLP fc and proj); embeddings,
LayerNorms and biases stay dense. For sparsity s, exactly round(s * n) weights with the
smallest |w| become 0:

    global   one ranking over every prunable weight (matrices that matter less lose more)
    layer    each matrix of n_i weights loses round(s * n_i) of its own

``Masks`` holds one boolean mask (True = kept) per weight; ``masks.apply()`` multiplies the
weights by them in place and runs after every optimizer step (``train_steps(after_step=...)``),
so AdamW's update (which moves zeros too: its moments remember old gradients) is undone for
the pruned weights and they stay exactly 0 through fine-tuning. ``iterative_prune`` raises the
sparsity over R rounds (s * r / R), each followed by fine-tuning. The zeros are stored and
multiplied like any weight: the gain is compressibility, not speed, without sparse kernels.

Structured pruning really shrinks the matrices (Michel et al. 2019 for heads):

    heads    importance of head h in layer l = increase of the loss on a calibration batch when
             its output columns proj.weight[:, hD:(h+1)D] are zeroed (the head removed); the K
             most important heads per layer stay: qkv (3C, C) -> (3KD, C), proj (C, C) -> (C, KD)
    neurons  importance of neuron j = ||fc.weight[j, :]|| * ||proj.weight[:, j]|| (what flows in
             times what flows out); fc (4C, C) -> (H, C), proj (C, 4C) -> (C, H)

A head-pruned attention is n_heads * head_dim wide inside (less than C) and projects back to C,
in training, ``eval`` and cached or uncached generation alike; ``prune_run`` (``tinygrad-lm prune
--heads``) keeps K heads in every layer or in the layers named. ``shrink_to`` rebuilds the
shapes a checkpoint's ``structure`` metadata records, so ``load_model`` reads pruned runs.

Left out: movement pruning, N:M sparsity, sparse storage formats, pruning embeddings.
"""

import numpy as np

from ..engine import no_grad
from ..engine.saved import claim_for_write
from ..models import GPT
from ..nn import Linear
from ..train import load_model
from ..train.rundir import weights_file
from .loop import calibration_batch, gpt_run_data, save_run, train_steps, val_loss
from .quantize import require_float

SCOPES = ("global", "layer")


class PruneError(ValueError):
    """A pruning request that cannot be met (sparsity outside (0, 1), too few heads or neurons, not a GPT)."""


def prunable_weights(model):
    """[(name, Parameter)] of the Linear weights inside the Transformer blocks (a GPT's ``blocks.``, a
    BERT's ``bert.blocks.``), in walk order."""
    return [(f"{name}.weight", module.weight) for name, module in model.named_modules()
            if isinstance(module, Linear) and ".blocks." in f".{name}"]


def _check_sparsity(sparsity):
    if not isinstance(sparsity, (int, float)) or not 0.0 < sparsity < 1.0:
        raise PruneError(f"sparsity must be strictly between 0 and 1 (a fraction of weights set to zero), got "
                         f"{sparsity!r}; 0 prunes nothing and 1 removes every weight")
    return float(sparsity)


def _smallest(magnitudes, count):
    """A boolean mask over ``magnitudes`` (1-D) that is False at exactly its ``count`` smallest entries."""
    keep = np.ones(magnitudes.size, bool)
    if count:
        keep[np.argpartition(magnitudes, count - 1)[:count]] = False
    return keep


class Masks:
    """One keep-mask per pruned weight; ``apply()`` zeroes the pruned entries in place."""

    def __init__(self, pairs):
        self.pairs = list(pairs)  # [(name, parameter, mask (same shape, bool))]

    @classmethod
    def magnitude(cls, model, sparsity, scope="global"):
        """Masks removing the fraction ``sparsity`` of prunable weights with the smallest |w|."""
        sparsity = _check_sparsity(sparsity)
        if scope not in SCOPES:
            raise PruneError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        weights = prunable_weights(model)
        if scope == "layer":
            return cls((name, p, _smallest(np.abs(p.numpy()).ravel(), round(sparsity * p.size)).reshape(p.shape))
                       for name, p in weights)
        flat = np.concatenate([np.abs(p.numpy()).ravel() for _, p in weights])
        keep = _smallest(flat, round(sparsity * flat.size))
        bounds = np.cumsum([0] + [p.size for _, p in weights])
        return cls((name, p, keep[bounds[i]:bounds[i + 1]].reshape(p.shape)) for i, (name, p) in enumerate(weights))

    @classmethod
    def from_zeros(cls, model):
        """Masks keeping every prunable weight that is not exactly 0 (to go on training a pruned checkpoint)."""
        return cls((name, p, p.numpy() != 0) for name, p in prunable_weights(model))

    def apply(self):
        """w *= mask for every pruned weight, in place (an old graph holding it goes stale)."""
        for _, parameter, mask in self.pairs:
            claim_for_write(parameter.data, "Masks.apply")
            parameter.data *= mask

    def sparsity(self):
        """The fraction of masked-out weights."""
        return 1.0 - sum(int(m.sum()) for *_, m in self.pairs) / sum(m.size for *_, m in self.pairs)


def sparsity_of(model):
    """The fraction of prunable weights that are exactly 0."""
    weights = [p.numpy() for _, p in prunable_weights(model)]
    return sum(int((w == 0).sum()) for w in weights) / sum(w.size for w in weights)


def iterative_prune(model, train_ids, sparsity, rounds=1, steps=100, scope="global", lr=3e-4, seed=0):
    """R rounds: prune to sparsity * r / R by magnitude, then ``steps`` fine-tuning steps with the
    masks re-applied after each update. Returns the final Masks."""
    _check_sparsity(sparsity)
    if not isinstance(rounds, int) or rounds < 1:
        raise PruneError(f"rounds must be an int >= 1, got {rounds!r}")
    masks = None
    for r in range(1, rounds + 1):
        masks = Masks.magnitude(model, sparsity * r / rounds, scope)
        masks.apply()
        train_steps(model, train_ids, steps, lr=lr, seed=seed + r, after_step=masks.apply)
    return masks


def _new_linear(weight, bias):
    """A Linear holding ``weight`` (N, K) and ``bias`` (N,) or None."""
    layer = Linear(weight.shape[1], weight.shape[0], bias=bias is not None, rng=0, dtype=weight.dtype)
    layer.weight.data[...] = weight
    if bias is not None:
        layer.bias.data[...] = bias
    return layer


def _bias(linear, index=None):
    if linear.bias is None:
        return None
    return linear.bias.numpy() if index is None else linear.bias.numpy()[index]


def keep_heads(attn, heads):
    """Shrink ``attn`` (an nn.MultiHeadAttention, self-attention) to the heads listed in ``heads``, in place."""
    D, C = attn.head_dim, attn.dim
    heads = sorted(heads)
    if not heads or len(set(heads)) != len(heads) or not all(0 <= h < attn.n_heads for h in heads):
        raise PruneError(f"keep_heads: need 1 to {attn.n_heads} distinct head indices, got {heads}")
    cols = np.concatenate([np.arange(h * D, (h + 1) * D) for h in heads])  # (K*D,) within one of q, k, v
    rows = np.concatenate([cols, C + cols, 2 * C + cols])  # the q, k and v rows of the kept heads
    attn.qkv = _new_linear(attn.qkv.weight.numpy()[rows], _bias(attn.qkv, rows))  # (3C, C) -> (3KD, C)
    attn.proj = _new_linear(attn.proj.weight.numpy()[:, cols], _bias(attn.proj))  # (C, C) -> (C, KD)
    attn.n_heads = len(heads)


def keep_neurons(mlp, neurons):
    """Shrink ``mlp`` (an nn.MLP) to the hidden units listed in ``neurons``, in place."""
    neurons = np.sort(np.asarray(neurons, dtype=np.int64))
    if neurons.size == 0:
        raise PruneError("keep_neurons: keep at least one neuron")
    mlp.fc = _new_linear(mlp.fc.weight.numpy()[neurons], _bias(mlp.fc, neurons))  # (4C, C) -> (H, C)
    mlp.proj = _new_linear(mlp.proj.weight.numpy()[:, neurons], _bias(mlp.proj))  # (C, 4C) -> (C, H)


def head_importance(model, x, y):
    """(n_layer, n_head) array: the loss increase when each head alone is removed, on batch x, y (B, T)."""
    scores = np.zeros((len(model.blocks), model.blocks[0].attn.n_heads))
    model.eval()
    with no_grad():
        base = float(model(x, y)[1].item())
        for layer, block in enumerate(model.blocks):
            D, proj = block.attn.head_dim, block.attn.proj.weight.data
            for head in range(block.attn.n_heads):
                saved = proj[:, head * D:(head + 1) * D].copy()
                proj[:, head * D:(head + 1) * D] = 0
                scores[layer, head] = float(model(x, y)[1].item()) - base
                proj[:, head * D:(head + 1) * D] = saved
    return scores


def prune_heads(model, keep, x, y):
    """Keep the most important heads (``head_importance`` on x, y (B, T)): ``keep`` in every layer (an int),
    or {layer: K} for the listed layers only. Returns the scores (n_layer, n_head), measured before pruning."""
    n_head = model.blocks[0].attn.n_heads
    if not isinstance(keep, dict):
        if not isinstance(keep, int) or not 1 <= keep <= n_head:
            raise PruneError(f"prune_heads: keep must be an int from 1 to {n_head} (heads per layer), got {keep!r}")
        keep = dict.fromkeys(range(len(model.blocks)), keep)
    scores = head_importance(model, x, y)
    for layer, k in keep.items():
        keep_heads(model.blocks[layer].attn, np.argsort(-scores[layer])[:k])
    return scores


def parse_heads(spec, n_layer, n_head):
    """``--heads``: "K" (every layer keeps its K most important heads) or "LAYER:K,LAYER:K" -> {layer: K}."""
    try:
        if ":" in spec:
            keep = {}
            for item in spec.split(","):
                layer, k = item.split(":")
                keep[int(layer)] = int(k)
        else:
            keep = dict.fromkeys(range(n_layer), int(spec))
    except ValueError:
        raise PruneError(f"--heads: expected K or LAYER:K,LAYER:K (heads to keep), got {spec!r}") from None
    for layer, k in keep.items():
        if not 0 <= layer < n_layer:
            raise PruneError(f"--heads: no layer {layer} (the model has layers 0 to {n_layer - 1})")
        if k == n_head:
            raise PruneError(f"--heads: keeping all {n_head} heads of layer {layer} prunes nothing; "
                             f"keep 1 to {n_head - 1} heads")
        if not 1 <= k < n_head:
            raise PruneError(f"--heads: layer {layer}: keep 1 to {n_head - 1} heads (of {n_head}), got {k}")
    return keep


def prune_neurons(model, keep):
    """Keep the ``keep`` MLP neurons of largest ||w_in|| * ||w_out|| in every block."""
    hidden = model.blocks[0].mlp.fc.out_features
    if not isinstance(keep, int) or not 1 <= keep <= hidden:
        raise PruneError(f"prune_neurons: keep must be an int from 1 to {hidden} (MLP width), got {keep!r}")
    for block in model.blocks:
        fc, proj = block.mlp.fc.weight.numpy(), block.mlp.proj.weight.numpy()
        score = np.linalg.norm(fc, axis=1) * np.linalg.norm(proj, axis=0)  # (hidden,)
        keep_neurons(block.mlp, np.argsort(-score)[:keep])


def structure_of(model):
    """{"n_heads": [per block], "mlp_hidden": [per block]}: what a checkpoint records of a pruned GPT."""
    return {"n_heads": [b.attn.n_heads for b in model.blocks], "mlp_hidden": [b.mlp.fc.out_features for b in model.blocks]}


def shrink_to(model, structure):
    """Give a freshly built GPT the shapes ``structure`` records (the values come from the checkpoint)."""
    for block, heads, hidden in zip(model.blocks, structure["n_heads"], structure["mlp_hidden"], strict=True):
        if heads != block.attn.n_heads:
            keep_heads(block.attn, range(heads))
        if hidden != block.mlp.fc.out_features:
            keep_neurons(block.mlp, np.arange(hidden))
    return model


def prune_run(src, out, sparsity=0.5, scope="global", rounds=1, steps=100, lr=3e-4, neurons=None, heads=None):
    """Prune the GPT run ``src`` and save it to ``out``; returns a report dict. By magnitude (``steps`` of
    fine-tuning per round), or structurally when ``heads`` (a ``parse_heads`` spec, scored on the first
    12 training windows) and/or ``neurons`` (per block) are given, then ``steps`` of fine-tuning."""
    model, tokenizer, meta = load_model(weights_file(src, "train first with tinygrad-lm train"))
    if not isinstance(model, GPT):
        raise PruneError(f"{src}: holds a {meta['run_config']['model']} run; prune works on GPT runs")
    require_float(model, "prune")
    keep = None if heads is None else parse_heads(heads, len(model.blocks), model.blocks[0].attn.n_heads)
    train_ids, val_ids = gpt_run_data(meta, tokenizer)
    before, params_before = val_loss(model, val_ids), model.num_parameters()
    report = {}
    if heads is None and neurons is None:
        method = f"magnitude ({scope}, {rounds} round(s) of {steps} steps)"
        iterative_prune(model, train_ids, sparsity, rounds, steps, scope, lr)
    else:
        method = f"structured (heads {heads}, MLP neurons {neurons}, {steps} steps)"
        if keep is not None:
            x, y = calibration_batch(train_ids, model.config.block_size)  # (12, T) each
            report["head_importance"] = prune_heads(model, keep, x, y).tolist()
        if neurons is not None:
            prune_neurons(model, neurons)
        train_steps(model, train_ids, steps, lr=lr)
    path = save_run(model, meta, out, structure=structure_of(model))
    return {"out": str(path), "method": method, "sparsity": sparsity_of(model), "parameters_before": params_before,
            "parameters_after": model.num_parameters(), "val_loss_before": before,
            "val_loss_after": val_loss(model, val_ids), "structure": structure_of(model), **report}
