"""Reductions: sum, mean, var, max, min, logsumexp (differentiable) and argmax/argmin (not).

Each reduces over ``axis`` (None = all axes, an int, or a tuple; negatives allowed) and keeps
the reduced axes as size 1 when ``keepdims=True``. Their backward first puts the reduced axes
back (``_expand_back``: (B, 1, C) style), then broadcasts to the input shape.

Ties in max/min: the gradient is shared evenly among all maximal (minimal) elements, so
max([1, 3, 3]) sends g/2 to each 3. This is one valid subgradient; it keeps the op symmetric
and matches the elementwise ``maximum``.

logsumexp subtracts the maximum before exponentiating (log sum e^x = m + log sum e^(x-m)),
so it is finite for float32 inputs up to 1e4 and for rows that are entirely -inf (gives -inf).
"""

import numpy as np

from ..engine import Function, Tensor, array_module
from ..engine.errors import ShapeError
from ._operands import normalize_axes, operands, require_float


def _expand_back(g, in_shape, axes, keepdims):
    """Broadcast a reduced gradient back to ``in_shape``: (B, C) -> (B, 1, C) -> (B, T, C)."""
    xp = array_module(g)
    if not keepdims:
        g = xp.expand_dims(g, axes)
    return xp.broadcast_to(g, in_shape)


def _count(shape, axes):
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


class Sum(Function):
    """out = sum_{axes} x.  dx = g broadcast back over the reduced axes."""

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.in_shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        return x.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return (_expand_back(g, ctx.in_shape, ctx.axes, ctx.keepdims),)


class Mean(Function):
    """out = (1/N) sum_{axes} x, N = number of reduced elements.  dx = g / N, broadcast back."""

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.in_shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        return x.mean(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        n = _count(ctx.in_shape, ctx.axes)
        return (_expand_back(g / n, ctx.in_shape, ctx.axes, ctx.keepdims),)


class Var(Function):
    """out = sum_{axes} (x - mean)^2 / (N - ddof).  dx = g * 2 (x - mean) / (N - ddof).

    ddof=0 (the default, as in NumPy) is the biased variance LayerNorm uses.
    """

    @staticmethod
    def forward(ctx, x, axes, keepdims, ddof):
        ctx.axes, ctx.keepdims, ctx.ddof = axes, keepdims, ddof
        centered = x - x.mean(axis=axes, keepdims=True)
        ctx.save(centered=centered)
        return x.var(axis=axes, keepdims=keepdims, ddof=ddof)

    @staticmethod
    def backward(ctx, g):
        centered = ctx.centered
        n = _count(centered.shape, ctx.axes)
        g = _expand_back(g, centered.shape, ctx.axes, ctx.keepdims)
        return (g * centered * (2 / (n - ctx.ddof)),)


class _Extremum(Function):
    """Shared body of Max and Min: the gradient is split evenly among tied extremes."""

    reduce_name = None

    @classmethod
    def forward(cls, ctx, x, axes, keepdims):
        xp = array_module(x)
        out = getattr(xp, cls.reduce_name)(x, axis=axes, keepdims=True)
        hits = (x == out).astype(x.dtype)  # 1 at every maximal element
        ctx.save(share=hits / hits.sum(axis=axes, keepdims=True))
        ctx.axes, ctx.keepdims = axes, keepdims
        return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx, g):
        share = ctx.share
        return (_expand_back(g, share.shape, ctx.axes, ctx.keepdims) * share,)


class Max(_Extremum):
    """out = max_{axes} x.  dx = g / k at each of the k tied maxima, 0 elsewhere."""

    reduce_name = "amax"


class Min(_Extremum):
    """out = min_{axes} x.  dx = g / k at each of the k tied minima, 0 elsewhere."""

    reduce_name = "amin"


class LogSumExp(Function):
    """out = log sum_{axes} e^x = m + log sum e^(x - m), m = max x.  dx = g * softmax(x).

    Rows that are all -inf give -inf (m is replaced by 0 there so x - m is not NaN) and a
    zero gradient.
    """

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        xp = array_module(x)
        m = xp.amax(x, axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        e = xp.exp(x - m)
        s = e.sum(axis=axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = m + xp.log(s)
            ctx.save(softmax=xp.where(s > 0, e / s, 0))
        ctx.axes, ctx.keepdims = axes, keepdims
        return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx, g):
        softmax = ctx.softmax
        return (_expand_back(g, softmax.shape, ctx.axes, ctx.keepdims) * softmax,)


# --- wrappers ------------------------------------------------------------------------------
def _reduction(function, name, needs_float=False):
    def op(x, axis=None, keepdims=False):
        (x,) = operands(name, x)
        x = require_float(x) if needs_float else x
        axes = normalize_axes(name, axis, x.ndim)
        if function in (Max, Min) and any(x.shape[a] == 0 for a in axes):
            raise ShapeError(f"{name}: cannot reduce over an empty axis of a tensor of shape {x.shape}")
        return function.apply(x, axes=axes, keepdims=keepdims)

    op.__name__ = name
    op.__doc__ = function.__doc__
    return op


sum = _reduction(Sum, "sum")
mean = _reduction(Mean, "mean", needs_float=True)
max = _reduction(Max, "max")
min = _reduction(Min, "min")
logsumexp = _reduction(LogSumExp, "logsumexp", needs_float=True)


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance over ``axis``; ddof=0 is the biased (population) variance."""
    (x,) = operands("var", x)
    x = require_float(x)
    axes = normalize_axes("var", axis, x.ndim)
    if _count(x.shape, axes) - ddof <= 0:
        raise ShapeError(f"var: reducing shape {x.shape} over axes {axes} gives {_count(x.shape, axes)} "
                         f"elements, which ddof={ddof} leaves no degrees of freedom")
    return Var.apply(x, axes=axes, keepdims=keepdims, ddof=ddof)


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum (first one on ties) as an int64 tensor. Not differentiable."""
    return _arg("argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum (first one on ties) as an int64 tensor. Not differentiable."""
    return _arg("argmin", x, axis, keepdims)


def _arg(name, x, axis, keepdims):
    (x,) = operands(name, x)
    if axis is not None:
        normalize_axes(name, axis, x.ndim)
    if x.size == 0:
        raise ShapeError(f"{name}: tensor of shape {x.shape} is empty")
    xp = array_module(x.data)
    return Tensor(getattr(xp, name)(x.data, axis=axis, keepdims=keepdims).astype(np.int64))
