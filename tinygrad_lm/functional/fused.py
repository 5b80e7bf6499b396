"""The fused functional ops: one Function each, whose forward and backward call kernels.

Where ``composed.py`` builds softmax out of five primitives (five nodes in the graph, five
saved arrays), the fused ``Softmax`` is one node: its forward calls the kernel
``softmax_fwd`` and its backward ``softmax_bwd`` from the active kernel table
(``tinygrad_lm.backends``). The formulas and numerics live in the kernels' docstrings
(``backends/numpy_ref.py``); this file only reshapes to the kernels' layouts and back:

    row ops      (..., C) with the op's axis moved last -> contiguous (N, C) rows
    linear       (..., in)                              -> rows (N, in), GEMMs, no kernel
    attention    (*batch, T, D)                         -> contiguous (B, T, D)
    self_attn    (..., T, 3C) packed q, k, v            -> contiguous (N*H, T, D) each
    embedding    ids (...), gradient (..., D)           -> ids (N,), gradient rows (N, D)
    elementwise  gelu, dropout, mse_loss, kl_div        -> contiguous arrays of one shape (...)

The losses (cross_entropy, mse_loss, kl_div) are in ``fused_losses.py`` and re-exported here.
Dropout's mask is drawn from the caller's rng (``_common.dropout_mask``) exactly as the
composed version draws it, so both give the same bits from the same rng state.

A Function keeps the table it ran its forward with (``ctx.kernels``), so backward uses the
same backend even if the active one changes in between. Arguments are checked in
``_common.py``, shared with the composed versions, so both fail with the same messages.
"""

from ..backends import kernels
from ..engine import Function, Tensor, array_module
from ..ops.indexing import embedding_operands
from ._common import (
    attention_args,
    check_choice,
    class_axis,
    contiguous,
    dropout_keep,
    dropout_mask,
    float_tensor,
    layer_norm_args,
    linear_args,
    self_attention_args,
)
from .fused_losses import (  # the fused losses have their own file
    cross_entropy,
    kl_div,
    mse_loss,
)


def _to_rows(a, axis):
    """Move ``axis`` last and flatten the rest: returns contiguous rows (N, C) and the moved shape."""
    xp = array_module(a)
    moved = xp.moveaxis(a, axis, -1)  # (..., C, ...) -> (..., C)
    rows = xp.ascontiguousarray(moved.reshape(-1, moved.shape[-1]))  # (..., C) -> (N, C)
    return rows, moved.shape


def _from_rows(rows, shape, axis):
    """Undo ``_to_rows``: (N, C) -> (..., C) -> the axis back where it was."""
    return array_module(rows).moveaxis(rows.reshape(shape), -1, axis)


class _RowOp(Function):
    """Shared body of Softmax and LogSoftmax: one forward and one backward kernel on rows.

    Both save their output y and compute gx from (y, gy), so only the kernel names differ.
    """

    fwd_kernel = bwd_kernel = None

    @classmethod
    def forward(cls, ctx, x, axis):
        ctx.kernels, ctx.axis = kernels(x), axis
        rows, ctx.shape = _to_rows(x, axis)
        y = ctx.kernels[cls.fwd_kernel](rows)  # (N, C)
        ctx.save(y=y)
        return _from_rows(y, ctx.shape, axis)

    @staticmethod
    def backward(ctx, g):
        g_rows, _ = _to_rows(g, ctx.axis)
        return (_from_rows(ctx.kernels[ctx.function.bwd_kernel](ctx.y, g_rows), ctx.shape, ctx.axis),)


class Softmax(_RowOp):
    """y = softmax(x) along ``axis``: kernels softmax_fwd(x) and softmax_bwd(y, gy) on rows."""

    fwd_kernel, bwd_kernel = "softmax_fwd", "softmax_bwd"


class LogSoftmax(_RowOp):
    """y = log_softmax(x) along ``axis``: kernels log_softmax_fwd and log_softmax_bwd on rows."""

    fwd_kernel, bwd_kernel = "log_softmax_fwd", "log_softmax_bwd"


class Gelu(Function):
    """y = GELU(x), elementwise: kernels gelu_fwd(x, approximate) and gelu_bwd(x, gy, approximate)."""

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.kernels, ctx.approximate = kernels(x), approximate
        x = array_module(x).asarray(x, order="C")  # contiguous, 0-d stays 0-d
        ctx.save(x=x)
        return ctx.kernels["gelu_fwd"](x, approximate)

    @staticmethod
    def backward(ctx, g):
        g = array_module(g).asarray(g, order="C")
        return (ctx.kernels["gelu_bwd"](ctx.x, g, ctx.approximate),)


class LayerNorm(Function):
    """y = layer_norm(x) over the last axis: kernels layer_norm_fwd and layer_norm_bwd on rows."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        ctx.kernels = kernels(x)
        rows, ctx.shape = _to_rows(x, -1)  # (..., C) -> (N, C)
        y, mean, rstd = ctx.kernels["layer_norm_fwd"](rows, weight, bias, eps)
        ctx.save(x=rows, weight=weight, mean=mean, rstd=rstd)
        return y.reshape(ctx.shape)  # (N, C) -> (..., C)

    @staticmethod
    def backward(ctx, g):
        g_rows, _ = _to_rows(g, -1)  # (..., C) -> (N, C)
        gx, gw, gb = ctx.kernels["layer_norm_bwd"](ctx.x, ctx.weight, ctx.mean, ctx.rstd, g_rows)
        return gx.reshape(ctx.shape), gw, gb  # (N, C) -> (..., C)


class Linear(Function):
    """y = x W^T + b as one node: one GEMM over the flattened rows, the bias added in place.

    No kernel table entry: the GEMMs are the array module's matmul (BLAS, or cuBLAS on the GPU).
    x (..., in), weight (out, in), bias (out,) or absent -> y (..., out). On the rows
    x2 (N, in) and g2 (N, out):   gx = g2 W,   gW = g2^T x2,   gb = sum_n g2.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        rows = x.reshape(-1, x.shape[-1])  # (..., in) -> (N, in)
        ctx.save(rows=rows, weight=weight)
        ctx.x_shape = x.shape
        y = rows @ weight.T  # (N, in) @ (in, out) -> (N, out), a new array
        if bias is not None:
            y += bias  # in place: no second (N, out) array
        return y.reshape(*x.shape[:-1], weight.shape[0])  # (N, out) -> (..., out)

    @staticmethod
    def backward(ctx, g):
        g_rows = g.reshape(-1, g.shape[-1])  # (..., out) -> (N, out)
        needs = ctx.needs_input_grad
        gx = (g_rows @ ctx.weight).reshape(ctx.x_shape) if needs[0] else None  # (N, in) -> (..., in)
        gw = g_rows.T @ ctx.rows if needs[1] else None  # (out, N) @ (N, in) -> (out, in)
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (g_rows.sum(axis=0) if needs[2] else None)  # (N, out) -> (out,)


class Attention(Function):
    """out = attention(q, k, v): kernels attention_fwd and attention_bwd on (B, T, D) arrays.

    q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv) are broadcast to the common batch shape
    and folded to B; the gradients come back in that batch shape and the engine sums them
    down to each input's own shape.
    """

    @staticmethod
    def forward(ctx, q, k, v, mask, keep, causal, scale, batch):
        xp = array_module(q)
        ctx.kernels, ctx.causal, ctx.scale = kernels(q), causal, scale
        tq, tk = q.shape[-2], k.shape[-2]

        def fold(a, rows, cols):  # (..., rows, cols), broadcastable -> (B, rows, cols), contiguous
            a = xp.broadcast_to(a, (*batch, rows, cols))
            return xp.ascontiguousarray(a.reshape(-1, rows, cols))

        q3, k3, v3 = fold(q, tq, q.shape[-1]), fold(k, tk, k.shape[-1]), fold(v, tk, v.shape[-1])
        if mask is not None:
            mask = fold(mask, tq, tk)  # (..., Tq or 1, Tk or 1) -> (B, Tq, Tk)
        if keep is not None:
            keep = keep.reshape(-1, tq, tk)  # (*batch, Tq, Tk) -> (B, Tq, Tk)
        out, lse = ctx.kernels["attention_fwd"](q3, k3, v3, mask, keep, causal, scale)
        ctx.save(q=q3, k=k3, v=v3, mask=mask, keep=keep, out=out, lse=lse)
        ctx.batch = batch
        return out.reshape(*batch, tq, v.shape[-1])  # (B, Tq, Dv) -> (*batch, Tq, Dv)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        gout = xp.ascontiguousarray(g.reshape(ctx.out.shape))  # (*batch, Tq, Dv) -> (B, Tq, Dv)
        grads = ctx.kernels["attention_bwd"](
            ctx.q, ctx.k, ctx.v, ctx.mask, ctx.keep, ctx.out, ctx.lse, gout, ctx.causal, ctx.scale
        )
        return tuple(grad.reshape(*ctx.batch, *grad.shape[1:]) for grad in grads)  # (B, T, D) -> (*batch, T, D)


class SelfAttention(Function):
    """out = self_attention(qkv): attention_fwd / attention_bwd on heads cut from packed qkv.

    qkv (..., T, 3C) -> out (..., T, C). One node where the composed version has a split, six
    reshapes and permutes, the attention and the merge: the forward copies each of q, k, v
    into the kernels' (N*H, T, D) layout and the output back to (..., T, C); the backward
    writes gq, gk, gv straight into one (..., T, 3C) gradient.
    """

    @staticmethod
    def forward(ctx, qkv, mask, keep, causal, scale, heads):
        xp = array_module(qkv)
        ctx.kernels, ctx.causal, ctx.scale, ctx.shape = kernels(qkv), causal, scale, qkv.shape
        *lead, t, width = qkv.shape
        d = width // (3 * heads)
        parts = qkv.reshape(-1, t, 3, heads, d)  # (..., T, 3C) -> (N, T, 3, H, D)
        q, k, v = (xp.ascontiguousarray(parts[:, :, i].transpose(0, 2, 1, 3)).reshape(-1, t, d)
                   for i in range(3))  # (N, T, H, D) -> (N, H, T, D) -> (N*H, T, D)
        if mask is not None:
            mask = xp.ascontiguousarray(xp.broadcast_to(mask, (*lead, heads, t, t)).reshape(-1, t, t))  # (N*H, T, T)
        if keep is not None:
            keep = keep.reshape(-1, t, t)  # (..., H, T, T) -> (N*H, T, T)
        out, lse = ctx.kernels["attention_fwd"](q, k, v, mask, keep, causal, scale)  # (N*H, T, D)
        ctx.save(q=q, k=k, v=v, mask=mask, keep=keep, out=out, lse=lse)
        ctx.heads = heads
        merged = out.reshape(-1, heads, t, d).transpose(0, 2, 1, 3)  # (N*H, T, D) -> (N, T, H, D)
        return xp.ascontiguousarray(merged).reshape(*lead, t, width // 3)  # (N, T, H, D) -> (..., T, C)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        t, d, heads = ctx.q.shape[1], ctx.q.shape[2], ctx.heads
        gout = g.reshape(-1, t, heads, d).transpose(0, 2, 1, 3)  # (..., T, C) -> (N, H, T, D)
        gout = xp.ascontiguousarray(gout).reshape(-1, t, d)  # (N*H, T, D)
        grads = ctx.kernels["attention_bwd"](
            ctx.q, ctx.k, ctx.v, ctx.mask, ctx.keep, ctx.out, ctx.lse, gout, ctx.causal, ctx.scale
        )
        gqkv = xp.empty((gout.shape[0] // heads, t, 3, heads, d), dtype=g.dtype)  # (N, T, 3, H, D)
        for i, grad in enumerate(grads):
            gqkv[:, :, i] = grad.reshape(-1, heads, t, d).transpose(0, 2, 1, 3)  # (N*H, T, D) -> (N, T, H, D)
        return (gqkv.reshape(ctx.shape),)  # (N, T, 3, H, D) -> (..., T, 3C)


class Embedding(Function):
    """out = weight[ids]: a gather (no kernel needed), then kernel embedding_bwd(ids, g, V).

    weight (V, D), ids (...) int -> out (..., D); ids are a setting, not an input.
    """

    @staticmethod
    def forward(ctx, weight, ids):
        ctx.kernels, ctx.vocab = kernels(weight), weight.shape[0]
        ctx.save(ids=ids.reshape(-1))  # (...) -> (N,)
        return weight[ids]  # (V, D)[(...)] -> (..., D)

    @staticmethod
    def backward(ctx, g):
        g_rows = array_module(g).ascontiguousarray(g.reshape(-1, g.shape[-1]))  # (..., D) -> (N, D)
        return (ctx.kernels["embedding_bwd"](ctx.ids, g_rows, ctx.vocab),)


class Dropout(Function):
    """y = x * keep, elementwise: kernels dropout_fwd(x, keep) and dropout_bwd(keep, gy).

    keep (the 0 or 1/(1-p) multipliers, x's shape) is a setting drawn by the caller.
    """

    @staticmethod
    def forward(ctx, x, keep):
        ctx.kernels = kernels(x)
        keep = contiguous(keep)
        ctx.save(keep=keep)
        return ctx.kernels["dropout_fwd"](contiguous(x), keep)

    @staticmethod
    def backward(ctx, g):
        return (ctx.kernels["dropout_bwd"](ctx.keep, contiguous(g)),)


# --- the wrappers users call ---------------------------------------------------------------
def softmax(x, axis=-1):
    """softmax along ``axis`` (fused). y = exp(x - max) / sum exp(x - max); see numpy_ref.softmax_fwd.

    A row of -inf only gives 0 (zero gradient); NaN or +inf in a row gives a NaN row.
    """
    x = float_tensor("softmax", x)
    return Softmax.apply(x, axis=class_axis("softmax", x, axis))


def log_softmax(x, axis=-1):
    """log_softmax along ``axis`` (fused). y = x - max - log sum exp(x - max).

    A row of -inf only stays -inf (gradient: the upstream one); NaN or +inf in a row: NaN.
    """
    x = float_tensor("log_softmax", x)
    return LogSoftmax.apply(x, axis=class_axis("log_softmax", x, axis))


def gelu(x, approximate="none"):
    """GELU (fused). "none": 0.5 x (1 + erf(x / sqrt 2)); "tanh": GPT-2's tanh approximation."""
    check_choice("gelu", "approximate", approximate, ("none", "tanh"))
    return Gelu.apply(float_tensor("gelu", x), approximate=approximate)


def layer_norm(x, weight=None, bias=None, eps=1e-5):
    """LayerNorm over the last axis (fused): (x - mean) / sqrt(var + eps) * weight + bias.

    x (..., C), weight and bias (C,) or None; biased variance, eps inside the square root.
    """
    x, weight, bias = layer_norm_args(x, weight, bias, eps)
    xp = array_module(x.data)
    channels = x.shape[-1]
    weight = Tensor(xp.ones(channels, dtype=x.dtype)) if weight is None else weight
    bias = Tensor(xp.zeros(channels, dtype=x.dtype)) if bias is None else bias
    return LayerNorm.apply(x, weight, bias, eps=eps)


def linear(x, weight, bias=None):
    """y = x W^T + b (fused): x (..., in), weight (out, in), bias (out,) or None -> (..., out).

    One node instead of composed.linear's transpose, matmul and add; the same gradients.
    """
    x, weight, bias = linear_args(x, weight, bias)
    return Linear.apply(x, weight) if bias is None else Linear.apply(x, weight, bias)


def embedding(weight, ids):
    """Rows of ``weight`` (V, D) picked by integer ``ids`` (...) -> (..., D) (fused).

    Backward: dweight_v = sum of the gradient rows at every position where ids == v, added
    in position order (repeated ids accumulate; deterministic). The composed version is the
    primitive ``tinygrad_lm.ops.embedding``; both refuse the same bad ids with one message.
    """
    weight, ids = embedding_operands(weight, ids)
    return Embedding.apply(weight, ids=ids.astype("int64", copy=False))


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, dropout_p=0.0, rng=None, scale=None):
    """softmax(q k^T * scale, masked) v (fused); the full statement is in composed.py.

    q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv) -> (..., Tq, Dv). mask: boolean,
    broadcastable to (..., Tq, Tk), True = may attend; causal: key j <= i + (Tk - Tq);
    masked scores are -inf and fully masked rows give zeros and zero gradients.
    """
    q, k, v, mask, batch, scale = attention_args(q, k, v, mask, dropout_p, rng, scale)
    keep = None
    if dropout_p > 0:
        keep = dropout_keep(rng, (*batch, q.shape[-2], k.shape[-2]), dropout_p, q)
    return Attention.apply(q, k, v, mask=mask, keep=keep, causal=bool(causal), scale=scale, batch=batch)


def self_attention(qkv, n_heads, mask=None, causal=False, dropout_p=0.0, rng=None, scale=None):
    """Multi-head self-attention of packed [q | k | v] (fused); the full statement is in composed.py.

    qkv (..., T, 3C), C = n_heads * D -> (..., T, C); mask broadcastable to (..., H, T, T).
    """
    qkv, mask, scale = self_attention_args(qkv, n_heads, mask, dropout_p, rng, scale)
    t = qkv.shape[-2]
    keep = None
    if dropout_p > 0:
        keep = dropout_keep(rng, (*qkv.shape[:-2], n_heads, t, t), dropout_p, qkv)
    return SelfAttention.apply(qkv, mask=mask, keep=keep, causal=bool(causal), scale=scale, heads=n_heads)


def dropout(x, p=0.5, training=True, rng=None):
    """Inverted dropout (fused): out = x * keep / (1 - p), keep ~ Bernoulli(1 - p), from ``rng``.

    p = 0 or training=False return x itself; p = 1 returns zeros. The full statement is
    composed.dropout; the same rng state gives the same output bits in both versions.
    """
    x, keep = dropout_mask(x, p, training, rng)
    return x if keep is None else Dropout.apply(x, keep=keep)


__all__ = [
    "cross_entropy", "dropout", "embedding", "gelu", "kl_div", "layer_norm", "linear", "log_softmax",
    "mse_loss", "scaled_dot_product_attention", "self_attention", "softmax",
]
