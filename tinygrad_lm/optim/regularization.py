"""Regularization outside the optimizer's update: L1/L2 penalties and weight-decay groups.

Penalties are differentiable Tensors to add to the loss; backward then puts their gradient
into ``.grad`` with the data term's:

    loss = cross_entropy(logits, targets) + 1e-4 * l2_penalty(weights)

``l2_penalty`` is sum p^2 with gradient 2p, so ``(wd / 2) * l2_penalty(params)`` is the same
as coupled ``weight_decay=wd`` in SGD or Adam. ``l1_penalty`` is sum |p| with gradient
sign(p) (0 at 0); plain gradient steps drive weights toward zero but rarely land on it.

``param_groups_for_weight_decay`` splits named parameters into a decayed and an undecayed
group, the usual GPT recipe (nanoGPT's ``configure_optimizers``): matrices decay; biases and
LayerNorm gains (every parameter with ndim < 2, by default) do not, because shrinking them
toward 0 does not regularize, it only moves the layer's offset or scale.

Left out: max-norm constraints, dropout (a layer, in nn), per-parameter penalty weights.
"""

from .. import ops
from ._checks import as_finite_nonnegative

EMBEDDING_NAMES = ("embedding", "wte", "wpe")  # substrings that mark an embedding table


def _penalty(params, name, term):
    params = list(params)
    if not params:
        raise ValueError(f"{name}: got no parameters; pass e.g. the weight tensors to penalize")
    total = term(params[0])
    for param in params[1:]:
        total = total + term(param)  # params of different float dtypes raise DTypeError here
    return total


def l1_penalty(params):
    """sum over params of sum_i |p_i|, a 0-d Tensor (d/dp = sign(p))."""
    return _penalty(params, "l1_penalty", lambda p: ops.sum(ops.abs(p)))


def l2_penalty(params):
    """sum over params of sum_i p_i^2, a 0-d Tensor (d/dp = 2p; no factor 1/2)."""
    return _penalty(params, "l2_penalty", lambda p: ops.sum(ops.mul(p, p)))


def has_fewer_than_two_dims(name, param):
    """The default no-decay rule: biases and LayerNorm weights (ndim < 2) skip decay."""
    return param.ndim < 2


def param_groups_for_weight_decay(named_params, weight_decay, no_decay=has_fewer_than_two_dims,
                                  skip_embeddings=False):
    """Split ``(name, tensor)`` pairs into a decayed group and an undecayed one.

    Returns ``[{"params": [(name, p), ...], "weight_decay": weight_decay},
               {"params": [(name, p), ...], "weight_decay": 0.0}]`` for any optimizer with a
    ``weight_decay`` hyperparameter; names travel with the tensors into the optimizer's state
    dict. A group that would be empty is left out. A parameter is undecayed when
    ``no_decay(name, p)`` is true (by default: ndim < 2, i.e. biases and LayerNorm weights),
    or, with ``skip_embeddings=True``, when its lowercased name contains "embedding", "wte"
    or "wpe". A tensor listed twice (tied weights) is kept once, under its first name.
    ``named_params`` may be a dict or an iterable of pairs (``model.named_parameters()``).
    """
    weight_decay = as_finite_nonnegative("param_groups_for_weight_decay", "weight_decay", weight_decay)
    pairs = list(named_params.items() if isinstance(named_params, dict) else named_params)
    if not pairs:
        raise ValueError("param_groups_for_weight_decay: got no parameters; pass model.named_parameters()")
    decay, keep, seen = [], [], set()
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise TypeError(f"param_groups_for_weight_decay: expected (name, tensor) pairs, got "
                            f"{type(pair).__name__}; pass model.named_parameters()")
        name, param = pair
        if id(param) in seen:
            continue
        seen.add(id(param))
        is_embedding = skip_embeddings and any(key in name.lower() for key in EMBEDDING_NAMES)
        (keep if is_embedding or no_decay(name, param) else decay).append((name, param))
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": keep, "weight_decay": 0.0}]
    return [group for group in groups if group["params"]]
