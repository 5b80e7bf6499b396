"""Gradient clipping by global norm, and the global gradient norm itself.

Clipping rescales all gradients together so their joint norm is at most ``max_norm`` (Pascanu,
Mikolov & Bengio 2013, "On the difficulty of training recurrent neural networks", Algorithm
1). The direction of the update is kept; only a rare huge step is shortened. GPT training
clips at 1.0 (nanoGPT's ``grad_clip``).

Gradient accumulation needs no helper here: the engine adds every ``backward`` into the
leaves' ``.grad``, so for n micro-batches

    for x, y in micro_batches:  (loss_fn(model(x), y) / n).backward()
    clip_grad_norm_(params, 1.0); optimizer.step(); optimizer.zero_grad()

leaves exactly the full-batch gradient of the mean loss in ``.grad`` before it is clipped.

Left out: clipping by value (``clip_grad_value_``), per-parameter norms, foreach kernels.
"""

import math

from ..engine import Tensor, array_module
from ._checks import as_float, require


def _grads(params, where):
    if isinstance(params, Tensor):
        params = [params]
    params = list(params)
    for k, param in enumerate(params):
        if not isinstance(param, Tensor):
            raise TypeError(f"{where}: params[{k}] is a {type(param).__name__}, not a tinygrad_lm Tensor")
    return [param.grad for param in params if param.grad is not None]


def _check_norm_type(where, norm_type):
    norm_type = as_float(where, "norm_type", norm_type)
    require(norm_type > 0, where, "norm_type", norm_type, "must be > 0 (2.0 for Euclidean, inf for max)")
    return norm_type


def _total_norm(grads, norm_type):
    """(sum over all grads and entries of |g|^p)^(1/p), or max |g| for p = inf, in float64."""
    if math.isinf(norm_type):
        return max((float(array_module(g).abs(g).max()) for g in grads if g.size), default=0.0)
    total = 0.0
    for g in grads:
        xp = array_module(g)
        if norm_type == 2.0:  # the squares of the float64 values, in one pass and one temporary
            total += float(xp.sum(xp.square(g, dtype=xp.float64)))
        else:
            total += float(xp.sum(xp.abs(g.astype(xp.float64, copy=False)) ** norm_type))
    return total ** (1.0 / norm_type)


def grad_norm(params, norm_type=2.0):
    """The global norm of the gradients of ``params`` (those with grad None are skipped), a float.

    ``||(g_1, ..., g_n)||_p = (sum_k sum_i |g_k,i|^p)^(1/p)``, accumulated in float64; ``inf``
    gives max |g|. 0.0 when no parameter has a gradient.
    """
    return _total_norm(_grads(params, "grad_norm"), _check_norm_type("grad_norm", norm_type))


def clip_grad_norm_(params, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients in place so their global norm is at most ``max_norm``; return the norm before.

    With N = grad_norm(params, norm_type) and c = max_norm / (N + 1e-6) (PyTorch's formula; the
    1e-6 keeps c finite for N = 0), every gradient is multiplied by c when c < 1 and left
    untouched, bit for bit, otherwise. ``params`` is a Tensor or an iterable of them.

    A NaN or infinite norm leaves the gradients untouched and is returned, so the caller can
    skip the step (``if not math.isfinite(norm)``); with ``error_if_nonfinite=True`` it raises
    ``FloatingPointError`` instead.
    """
    where = "clip_grad_norm_"
    max_norm = as_float(where, "max_norm", max_norm)
    require(math.isfinite(max_norm) and max_norm > 0, where, "max_norm", max_norm, "must be finite and > 0")
    grads = _grads(params, where)
    total = _total_norm(grads, _check_norm_type(where, norm_type))
    if not math.isfinite(total):
        if error_if_nonfinite:
            raise FloatingPointError(
                f"{where}: the total gradient norm (norm_type={norm_type}) is {total}: some gradient "
                f"holds NaN or Inf; skip this step or find the op with tinygrad_lm.detect_anomaly()")
        return total
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for g in grads:
            g *= scale
    return total
