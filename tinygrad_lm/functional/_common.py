"""Argument checks and small helpers that the composed and the fused versions share.

Both versions of an op pass their arguments through the same function here, so they accept
exactly the same inputs and reject bad ones with the same message, naming the function, the
argument, its shape or dtype, and the fix. Nothing here computes an op.
"""

import math
import numbers

import numpy as np

from ..engine import Tensor, array_module, on_device
from ..engine.errors import DTypeError, ShapeError
from ..ops._operands import broadcast_shape, normalize_axes, operands, require_float


def check_choice(op, name, value, choices):
    """Raise ValueError unless ``value`` is one of ``choices`` (a string option like reduction)."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{op}: {name}={value!r} is not one of {listed}")


def float_tensor(op, x):
    """``x`` as a floating Tensor (integers become the default float, as ``exp`` does)."""
    (x,) = operands(op, x)
    return require_float(x)


def class_axis(op, x, axis):
    """``axis`` of ``x`` as a non-negative int; the axis must hold at least one class."""
    if x.ndim == 0:
        raise ShapeError(f"{op}: needs at least one axis, got a 0-d tensor")
    if not isinstance(axis, numbers.Integral):
        raise TypeError(f"{op}: axis must be one int (the class axis), got {axis!r}")
    (axis,) = normalize_axes(op, axis, x.ndim)
    if x.shape[axis] == 0:
        raise ShapeError(f"{op}: axis {axis} of shape {x.shape} is empty; it needs at least one entry")
    return axis


def constant_array(value, like, dtype=None, where="a constant argument (targets, mask or weight)"):
    """A Tensor or array-like as an array on ``like``'s device (no gradient flows into it).

    A Tensor or array on another device is refused with a ``DeviceError`` naming both devices
    (``on_device``): it is never copied silently. Python numbers and lists are made on the device.
    """
    data = value.data if isinstance(value, Tensor) else value
    return array_module(like.data).asarray(on_device(data, like.device, where), dtype=dtype)


def layer_norm_args(x, weight, bias, eps):
    """Check layer_norm's arguments; returns (x, weight, bias) with None left as None."""
    if host_floats(x, *(p for p in (weight, bias) if p is not None)):  # the hot path: no conversions
        _check_normalised_axis(x)
        _check_layer_norm_param(x, "weight", weight)
        _check_layer_norm_param(x, "bias", bias)
    else:
        x = float_tensor("layer_norm", x)
        _check_normalised_axis(x)
        params = []
        for name, p in (("weight", weight), ("bias", bias)):
            if p is not None:
                (p,) = operands("layer_norm", p)
                _check_layer_norm_param(x, name, p)
                x, p = operands("layer_norm", x, p, broadcast=False)  # one float dtype, or DTypeError
            params.append(p)
        weight, bias = params
    if not eps >= 0:
        raise ValueError(f"layer_norm: eps must be >= 0, got {eps}")
    return x, weight, bias


def _check_normalised_axis(x):
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ShapeError(f"layer_norm: x needs a non-empty last axis to normalise, got shape {x.shape}")


def _check_layer_norm_param(x, name, p):
    channels = x.shape[-1]
    if p is not None and p.shape != (channels,):
        raise ShapeError(
            f"layer_norm: {name} has shape {p.shape} but x {x.shape} has last dimension "
            f"C={channels}; {name} must have shape ({channels},)"
        )


def cross_entropy_args(logits, targets, ignore_index, label_smoothing, weight, reduction):
    """Check cross_entropy's arguments; returns (logits, targets array, weight array or None)."""
    op = "cross_entropy"
    check_choice(op, "reduction", reduction, ("mean", "sum", "none"))
    logits = float_tensor(op, logits)
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ShapeError(f"{op}: logits must be (..., C) with C >= 1 classes, got shape {logits.shape}")
    classes = logits.shape[-1]
    targets = constant_array(targets, logits, where=f"{op}: targets")
    if targets.dtype.kind not in "iu":
        raise DTypeError(
            f"{op}: targets must be integer class indices, got dtype {targets.dtype}; "
            f"for probabilities as targets use kl_div, or cast indices with .astype('int64')"
        )
    if targets.shape != logits.shape[:-1]:
        raise ShapeError(
            f"{op}: targets of shape {targets.shape} do not match logits of shape {logits.shape}; "
            f"targets must have the logits' shape without the class axis, {logits.shape[:-1]}"
        )
    bad = (targets != ignore_index) & ((targets < 0) | (targets >= classes))
    if bool(bad.any()):
        where = tuple(int(i) for i in np.argwhere(np.asarray(bad.tolist()))[0])  # first bad position
        raise IndexError(
            f"{op}: target {int(targets[where])} at position {where} is outside 0..{classes - 1} "
            f"(C={classes} classes); mark positions to skip with ignore_index={ignore_index}"
        )
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if weight is not None:
        weight = constant_array(weight, logits, dtype=logits.dtype, where=f"{op}: weight")
        if weight.shape != (classes,):
            raise ShapeError(f"{op}: weight has shape {weight.shape}; it needs one weight per class, ({classes},)")
    return logits, targets.astype(np.int64), weight


def reduce_cross_entropy(losses, targets, weight, ignore_index, reduction):
    """Apply ``reduction`` to per-row losses (N,) of targets (...) with class weights (C,) (an array).

    "none" gives losses in the targets' shape (...), "sum" their sum, and "mean" their sum
    divided by the total weight of the counted targets, sum_{t_i != ignore_index} w_{t_i}.
    A total weight of 0 (say every target ignored) makes "mean" 0/0: NaN, as in PyTorch, with
    a zero gradient (also PyTorch's), so a batch of pure padding still leaves the parameters
    alone; "sum" is 0 there.
    """
    if reduction == "none":
        return losses.reshape(targets.shape)  # (N,) -> (...)
    if reduction == "sum":
        return losses.sum()
    counted = targets[targets != ignore_index]  # the counted targets, flattened
    total_weight = float(weight[counted].sum())
    if total_weight == 0:
        return losses.sum() * 0.0 + math.nan  # NaN, and d(loss)/d(losses) = 0
    return losses.sum() / total_weight


def attention_args(q, k, v, mask, dropout_p, rng, scale):
    """Check attention's arguments; returns (q, k, v, mask array or None, batch shape, scale)."""
    op = "scaled_dot_product_attention"
    q, k, v = operands(op, q, k, v, broadcast=False)
    q, k, v = (require_float(t) for t in (q, k, v))
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.ndim < 2:
            raise ShapeError(f"{op}: {name} must be (..., T, D), got shape {t.shape}")
    shapes = f"q {q.shape}, k {k.shape}, v {v.shape}"
    if q.shape[-1] != k.shape[-1]:
        raise ShapeError(f"{op}: q and k need the same head dim D, got {q.shape[-1]} and {k.shape[-1]} ({shapes})")
    if k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"{op}: k and v need the same number of keys Tk, got {k.shape[-2]} and {v.shape[-2]} ({shapes})")
    if k.shape[-2] == 0 or q.shape[-1] == 0:
        raise ShapeError(f"{op}: needs at least one key and a head dim D >= 1 ({shapes})")
    batch = broadcast_shape(op + " (batch axes of q, k, v)", q.shape[:-2], k.shape[:-2], v.shape[:-2])
    mask, scale = attention_settings(op, q, (*batch, q.shape[-2], k.shape[-2]), mask, dropout_p, rng, scale)
    return q, k, v, mask, batch, scale


def self_attention_args(qkv, n_heads, mask, dropout_p, rng, scale):
    """Check self_attention's arguments; returns (qkv, mask array or None, scale)."""
    op = "self_attention"
    qkv = float_tensor(op, qkv)
    if not isinstance(n_heads, numbers.Integral) or n_heads < 1:
        raise ValueError(f"{op}: n_heads must be a positive int, got {n_heads!r}")
    if qkv.ndim < 2 or qkv.shape[-1] == 0 or qkv.shape[-1] % (3 * n_heads):
        raise ShapeError(f"{op}: qkv must be (..., T, 3C) with C divisible by n_heads={n_heads}, got shape "
                         f"{qkv.shape}")
    t, head_dim = qkv.shape[-2], qkv.shape[-1] // (3 * n_heads)
    if t == 0:
        raise ShapeError(f"{op}: needs at least one position (T >= 1), got qkv of shape {qkv.shape}")
    mask, scale = attention_settings(op, qkv, (*qkv.shape[:-2], n_heads, t, t), mask, dropout_p, rng, scale,
                                     head_dim)
    return qkv, mask, scale


def attention_settings(op, like, scores_shape, mask, dropout_p, rng, scale, head_dim=None):
    """The checks both attention ops share: mask (boolean, broadcastable to ``scores_shape``),
    dropout_p and rng, scale (default 1/sqrt(head dim)). Returns (mask array or None, scale)."""
    if mask is not None:
        mask = constant_array(mask, like, where=f"{op}: mask")
        if mask.dtype.kind != "b":
            raise DTypeError(
                f"{op}: mask must be boolean (True = may attend), got dtype {mask.dtype}; "
                f"an additive mask m converts as mask = (m == 0)"
            )
        if broadcast_shape(op + " (mask)", mask.shape, scores_shape) != scores_shape:
            raise ShapeError(f"{op}: mask of shape {mask.shape} must broadcast to the scores' shape {scores_shape}")
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1), got {dropout_p}")
    if dropout_p > 0:
        check_rng(op, rng)
    head_dim = like.shape[-1] if head_dim is None else head_dim
    return mask, 1.0 / math.sqrt(head_dim) if scale is None else float(scale)


def check_rng(op, rng):
    """Dropout draws its mask from a caller's ``numpy.random.Generator``; refuse anything else."""
    if rng is None:
        raise ValueError(
            f"{op}: dropping with p > 0 needs rng=numpy.random.default_rng(seed) to draw the mask "
            f"(so runs are reproducible)"
        )
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{op}: rng must be a numpy.random.Generator (numpy.random.default_rng(seed)), got {type(rng).__name__}")


def dropout_keep(rng, shape, p, like):
    """Inverted-dropout multipliers: 1/(1-p) with probability 1-p, else 0, in ``like``'s dtype.

    On the CPU, drawn from ``rng`` (one ``rng.random(shape)`` call), so both CPU kernel tables
    and both versions of an op draw the same mask from the same seed. On the GPU, drawn there
    (uploading a host mask would copy one array per dropout layer per step): CuPy's generator,
    seeded by one ``rng.integers(2**32)`` draw, so a seed still fixes the mask, but the GPU's
    bits differ from the CPU's.
    """
    xp = array_module(like.data)
    if xp is np:
        return ((rng.random(shape) >= p) / (1.0 - p)).astype(like.dtype)
    uniform = xp.random.RandomState(int(rng.integers(2**32))).random_sample(shape, dtype=like.dtype)
    return (uniform >= p).astype(like.dtype) * like.dtype.type(1.0 / (1.0 - p))


def dropout_mask(x, p, training, rng):
    """Check dropout's arguments and draw its multipliers: returns ``(x, keep)``.

    keep is None when nothing is dropped (training=False or p = 0: x comes back untouched,
    no rng needed), zeros when p = 1 (rng not drawn from), else ``dropout_keep``'s draw.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x, None
    check_rng("dropout", rng)
    x = float_tensor("dropout", x)
    if p == 1:
        return x, array_module(x.data).zeros(x.shape, dtype=x.dtype)
    return x, dropout_keep(rng, x.shape, p, x)


def same_shape_pair(op, a, b, names):
    """``a`` as a floating Tensor and ``b`` as a Tensor of its dtype; their shapes must match."""
    a, b = operands(op, float_tensor(op, a), b, broadcast=False)
    if a.shape != b.shape:
        raise ShapeError(
            f"{op}: {names[0]} has shape {a.shape} but {names[1]} has shape {b.shape}; they must match"
        )
    return a, b


def mse_loss_args(pred, target, reduction):
    """Check mse_loss's arguments: (pred, target) Tensors of one shape."""
    check_choice("mse_loss", "reduction", reduction, ("mean", "sum", "none"))
    return same_shape_pair("mse_loss", pred, target, ("pred", "target"))


def kl_div_args(student_log_probs, teacher_probs_or_log_probs, reduction):
    """Check kl_div's arguments: (student, teacher) Tensors of one shape, a batch axis for batchmean."""
    check_choice("kl_div", "reduction", reduction, ("batchmean", "sum", "mean", "none"))
    student, teacher = same_shape_pair(
        "kl_div", student_log_probs, teacher_probs_or_log_probs,
        ("student_log_probs", "teacher_probs_or_log_probs"),
    )
    if reduction == "batchmean" and student.ndim == 0:
        raise ShapeError("kl_div: reduction='batchmean' needs a batch axis; got 0-d inputs")
    return student, teacher


def contiguous(a):
    """``a`` as a C-contiguous array (0-d stays 0-d; a view when it already is one)."""
    return array_module(a).asarray(a, order="C")


def host_floats(*values):
    """True when every value is a Tensor holding a NumPy array, all of one floating dtype.

    ``operands`` would hand such arguments back unchanged (one device, one float dtype, no
    casts), so a hot-path wrapper may skip it and keep only its own shape checks. Anything
    else (numbers, lists, integer or mixed dtypes, CuPy arrays) takes the checked path.
    """
    dtype = None
    for value in values:
        if not isinstance(value, Tensor) or type(value.data) is not np.ndarray:
            return False
        if dtype is None:
            dtype = value.data.dtype
        elif value.data.dtype != dtype:
            return False
    return dtype is not None and dtype.kind == "f"


def linear_args(x, weight, bias):
    """Check linear's arguments: x (..., in), weight (out, in), bias (out,) or None; one float dtype."""
    if host_floats(x, weight) and (bias is None or host_floats(x, bias)):
        _check_linear_shapes(x, weight)
        _check_linear_bias(weight, bias)
        return x, weight, bias
    x = float_tensor("linear", x)
    (weight,) = operands("linear", weight)
    _check_linear_shapes(x, weight)
    x, weight = operands("linear", x, weight, broadcast=False)  # one float dtype, or DTypeError
    if bias is not None:
        (bias,) = operands("linear", bias)
        _check_linear_bias(weight, bias)
        x, bias = operands("linear", x, bias, broadcast=False)
    return x, weight, bias


def _check_linear_shapes(x, weight):
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(
            f"linear: x has shape {x.shape} but weight {weight.shape} expects a last axis of "
            f"in_features = {weight.shape[1]}"
        )


def _check_linear_bias(weight, bias):
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(f"linear: bias must have shape ({weight.shape[0]},) to match weight {weight.shape}, "
                         f"got {bias.shape}")
