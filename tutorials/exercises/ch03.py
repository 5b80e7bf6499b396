"""Exercises for chapter 3 (tensors and broadcasting). Edit this file; check it with

    pytest tutorials/exercises -k ch03

Reference solutions: tutorials/solutions/ch03.py (look after you have tried).
Add the imports your answers need at the top; the solutions use

    import numpy as np

1. `unbroadcast`: sum a gradient back to the shape its input had before broadcasting.
2. `matmul_grads`: the gradients of a batched, broadcast matrix product, in NumPy.
3. `BrokenLastAxisSum`: break-the-backward. A sum over the last axis whose backward
   broadcasts the gradient along the wrong axis. For most shapes NumPy raises an error; for
   square ones it is silently wrong. Find it with `gradcheck` on a (4, 4) float64 array and
   fix `backward`.
"""

from tinygrad_lm.engine import Function, array_module


def unbroadcast(grad, shape):
    """Sum the NumPy array `grad` down to `shape`, the shape of an input that was broadcast.

    `shape` broadcasts to `grad.shape` (NumPy's rules). Sum over the leading axes `shape`
    lacks, then, with `keepdims=True`, over every axis where `shape` has 1 and `grad` does not.
    Return an array of exactly `shape` (a 0-d array for `shape == ()`).
    Example: grad (2, 3, 4) -> shape (3, 1) is `grad.sum(axis=(0, 2))[:, None]`.
    """
    raise NotImplementedError("exercise ch03.unbroadcast")


def matmul_grads(a, b, g):
    """Gradients (da, db) of L = sum(g * (a @ b)) for NumPy arrays a (..., n, k), b (..., k, m).

    The batch axes `...` of a and b broadcast against each other; g has the shape of a @ b,
    (batch..., n, m). Use dA = G B^T and dB = A^T G per batch entry, then sum each back to its
    input's shape (your `unbroadcast`). Returns da of a's shape and db of b's shape.
    """
    raise NotImplementedError("exercise ch03.matmul_grads")


class BrokenLastAxisSum(Function):
    """out = x.sum(axis=-1)   (..., C) -> (...).  dx = g broadcast back over the summed axis.

    (Its backward has a bug: fix it.)
    """

    @staticmethod
    def forward(ctx, x):
        ctx.in_shape = x.shape
        return x.sum(axis=-1)

    @staticmethod
    def backward(ctx, g):
        return (array_module(g).broadcast_to(g, ctx.in_shape).copy(),)
