"""Matrix multiplication with NumPy's rules: batching, broadcasting and the 1-D cases.

For a (..., n, k) @ b (..., k, m) -> (..., n, m):

    da = g @ b^T    (..., n, m) @ (..., m, k) -> (..., n, k)
    db = a^T @ g    (..., k, n) @ (..., n, m) -> (..., k, m)

where ^T swaps the last two axes. Batch axes broadcast; the engine sums the gradients back to
each input's batch shape. A 1-D ``a`` (k,) is treated as a row (1, k) and a 1-D ``b`` (k,) as a
column (k, 1), and that axis is dropped again from the result and the gradients.

The common case of a Linear layer, a batched ``a`` (..., n, k) times a plain matrix ``b`` (k, m),
is done as ONE 2-D product over the flattened batch: (B*n, k) @ (k, m). In the backward this
also sums db over the batch inside the matrix product, db = a_flat^T @ g_flat, instead of
building a (B, k, m) stack of per-batch products for the engine to sum.
"""

from ..engine import Function, array_module
from ..engine.errors import ShapeError
from ._operands import as_tensor, broadcast_shape, operands


class MatMul(Function):
    """out = a @ b (see the module docstring for shapes and the gradient formulas)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save(a=a, b=b)
        if a.ndim > 2 and b.ndim == 2:
            flat = a.reshape(-1, a.shape[-1]) @ b  # (..., n, k) -> (B*n, k) @ (k, m) -> (B*n, m)
            return flat.reshape(*a.shape[:-1], b.shape[-1])  # (B*n, m) -> (..., n, m)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        a, b = ctx.a, ctx.b
        if a.ndim > 2 and b.ndim == 2:
            k, m = b.shape
            g_flat = g.reshape(-1, m)  # (..., n, m) -> (B*n, m)
            da = (g_flat @ b.T).reshape(a.shape) if ctx.needs_input_grad[0] else None  # (B*n, k) -> (..., n, k)
            db = a.reshape(-1, k).T @ g_flat if ctx.needs_input_grad[1] else None  # (k, B*n) @ (B*n, m) -> (k, m)
            return da, db
        a2 = a[None, :] if a.ndim == 1 else a  # (k,) -> (1, k)
        b2 = b[:, None] if b.ndim == 1 else b  # (k,) -> (k, 1)
        if b.ndim == 1:  # first, so that a 1-D @ 1-D result () becomes (1,) and then (1, 1)
            g = xp.expand_dims(g, -1)  # (..., n) -> (..., n, 1)
        if a.ndim == 1:
            g = xp.expand_dims(g, -2)  # (..., m) -> (..., 1, m)
        da = db = None
        if ctx.needs_input_grad[0]:
            da = g @ xp.swapaxes(b2, -1, -2)  # (..., n, m) @ (..., m, k) -> (..., n, k)
            da = da[..., 0, :] if a.ndim == 1 else da  # (..., 1, k) -> (..., k)
        if ctx.needs_input_grad[1]:
            db = xp.swapaxes(a2, -1, -2) @ g  # (..., k, n) @ (..., n, m) -> (..., k, m)
            db = db[..., 0] if b.ndim == 1 else db  # (..., k, 1) -> (..., k)
        return da, db


def matmul(a, b):
    """``a @ b`` with NumPy's batching, broadcasting and 1-D rules."""
    return MatMul.apply(*_matmul_operands(a, b))


def _matmul_operands(a, b):
    """Check ranks, the inner dimension and the batch shapes before NumPy sees them."""
    a = as_tensor(a)
    b = as_tensor(b, like=a)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: needs tensors with at least 1 dimension, got shapes {a.shape} and {b.shape}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ShapeError(
            f"matmul: inner dimensions differ: {a.shape} @ {b.shape} needs a.shape[-1] ({k_a}) "
            f"== b.shape[-2] ({k_b})"
        )
    broadcast_shape("matmul (batch axes)", a.shape[:-2], b.shape[:-2])
    return operands("matmul", a, b, broadcast=False)
