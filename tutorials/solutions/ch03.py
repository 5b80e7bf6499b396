"""Reference solutions to chapter 3's exercises (tutorials/exercises/ch03.py states the tasks)."""

import numpy as np

from tinygrad_lm.engine import Function, array_module


def unbroadcast(grad, shape):
    """Sum away the axes broadcasting added (leading ones) or stretched (size 1 in ``shape``)."""
    shape = tuple(shape)
    grad = np.asarray(grad)
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra)))  # (extra..., *shape') -> shape'
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return np.asarray(grad.sum(axis=stretched, keepdims=True))  # a 0-d array stays an array


def matmul_grads(a, b, g):
    """dA = G B^T and dB = A^T G per batch entry, summed back over broadcast batch axes."""
    da = g @ np.swapaxes(b, -1, -2)  # (..., n, m) @ (..., m, k) -> (batch..., n, k)
    db = np.swapaxes(a, -1, -2) @ g  # (..., k, n) @ (..., n, m) -> (batch..., k, m)
    return unbroadcast(da, a.shape), unbroadcast(db, b.shape)


class BrokenLastAxisSum(Function):
    """out = x.sum(axis=-1)   (..., C) -> (...).  dx = g[..., None] broadcast to (..., C).

    The bug was ``broadcast_to(g, in_shape)``: g (...) lines up with the LAST axes of (..., C),
    so for a square (N, N) input row i's gradient went to column i. The missing ``[..., None]``
    is chapter 3's keepdims lesson.
    """

    @staticmethod
    def forward(ctx, x):
        ctx.in_shape = x.shape
        return x.sum(axis=-1)

    @staticmethod
    def backward(ctx, g):
        return (array_module(g).broadcast_to(g[..., None], ctx.in_shape).copy(),)  # (...) -> (..., 1) -> (..., C)
