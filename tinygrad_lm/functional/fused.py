"""The fused functional ops: one Function each, whose forward and backward call kernels.

Where ``composed.py`` builds softmax out of five primitives (five nodes in the graph, five
saved arrays), the fused ``Softmax`` is one node: its forward calls the kernel
``softmax_fwd`` and its backward ``softmax_bwd`` from the active kernel table
(``tinygrad_lm.backends``). The formulas and numerics live in the kernels' docstrings
(``backends/numpy_ref.py``); this file only reshapes to the kernels' layouts and back:

    row ops      (..., C) with the op's axis moved last -> contiguous (N, C) rows
    attention    (*batch, T, D)                         -> contiguous (B, T, D)
    embedding    ids (...), gradient (..., D)           -> ids (N,), gradient rows (N, D)
    elementwise  gelu, dropout, mse_loss, kl_div        -> contiguous arrays of one shape (...)

The losses' kernels return pointwise losses; the Function reduces them (mean, sum,
batchmean) and spreads the upstream gradient back over every element before the backward
kernel. Dropout's mask is drawn on the host from the caller's rng (``_common.dropout_mask``),
exactly as the composed version draws it, so both give the same bits from the same rng state.

A Function keeps the table it ran its forward with (``ctx.kernels``), so backward uses the
same backend even if the active one changes in between. Arguments are checked in
``_common.py``, shared with the composed versions, so both fail with the same messages.
"""

import math

from ..backends import kernels
from ..engine import Function, Tensor, array_module
from ..ops.indexing import embedding_operands
from ._common import (
    attention_args,
    check_choice,
    class_axis,
    cross_entropy_args,
    dropout_keep,
    dropout_mask,
    float_tensor,
    kl_div_args,
    layer_norm_args,
    mse_loss_args,
    reduce_cross_entropy,
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


def _contiguous(a):
    """``a`` as a C-contiguous array (0-d stays 0-d; a view when it already is one)."""
    return array_module(a).asarray(a, order="C")


def _reduce_losses(losses, reduction):
    """Pointwise losses (...) reduced: "none" keeps them, "sum" / "mean" / "batchmean" -> ()."""
    if reduction == "none":
        return losses
    return losses.sum() / _loss_divisor(losses.shape, reduction)


def _loss_divisor(shape, reduction):
    """What the sum is divided by: every element for "mean", the first axis for "batchmean"."""
    if reduction == "mean":
        return math.prod(shape)
    return shape[0] if reduction == "batchmean" else 1


def _spread(g, shape, reduction):
    """The upstream gradient of ``_reduce_losses``'s result, as one per pointwise loss (...)."""
    if reduction == "none":
        return _contiguous(g)
    g = g / _loss_divisor(shape, reduction)  # () -> (), the chain rule through the division
    return array_module(g).full(shape, g, dtype=g.dtype)  # () -> (...)


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


class CrossEntropyRows(Function):
    """losses (N,) of logits (N, C) against targets (N,): kernels cross_entropy_fwd / _bwd.

    targets and weight are settings, not inputs: no gradient flows into them.
    """

    @staticmethod
    def forward(ctx, logits, targets, weight, ignore_index, label_smoothing):
        ctx.kernels = kernels(logits)
        ctx.ignore_index, ctx.label_smoothing = ignore_index, label_smoothing
        logits = array_module(logits).ascontiguousarray(logits)
        losses, lse = ctx.kernels["cross_entropy_fwd"](logits, targets, weight, ignore_index, label_smoothing)
        ctx.save(logits=logits, targets=targets, weight=weight, lse=lse)
        return losses

    @staticmethod
    def backward(ctx, g):
        backward = ctx.kernels["cross_entropy_bwd"]
        return (backward(ctx.logits, ctx.targets, ctx.weight, ctx.lse, g, ctx.ignore_index, ctx.label_smoothing),)


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
        keep = _contiguous(keep)
        ctx.save(keep=keep)
        return ctx.kernels["dropout_fwd"](_contiguous(x), keep)

    @staticmethod
    def backward(ctx, g):
        return (ctx.kernels["dropout_bwd"](ctx.keep, _contiguous(g)),)


class MseLoss(Function):
    """(pred - target)^2 reduced: kernels mse_fwd(pred, target) and mse_bwd(pred, target, g)."""

    @staticmethod
    def forward(ctx, pred, target, reduction):
        ctx.kernels, ctx.reduction = kernels(pred), reduction
        pred, target = _contiguous(pred), _contiguous(target)
        ctx.save(pred=pred, target=target)
        return _reduce_losses(ctx.kernels["mse_fwd"](pred, target), reduction)  # (...) -> () or (...)

    @staticmethod
    def backward(ctx, g):
        g = _spread(g, ctx.pred.shape, ctx.reduction)  # () or (...) -> (...)
        return ctx.kernels["mse_bwd"](ctx.pred, ctx.target, g)


class KlDiv(Function):
    """Pointwise KL terms reduced: kernels kl_div_fwd(s, t, log_target) and kl_div_bwd(s, t, g, log_target)."""

    @staticmethod
    def forward(ctx, student, teacher, reduction, log_target):
        ctx.kernels, ctx.reduction, ctx.log_target = kernels(student), reduction, log_target
        student, teacher = _contiguous(student), _contiguous(teacher)
        ctx.save(student=student, teacher=teacher)
        losses = ctx.kernels["kl_div_fwd"](student, teacher, log_target)  # (...)
        return _reduce_losses(losses, reduction)  # (...) -> () or (...)

    @staticmethod
    def backward(ctx, g):
        g = _spread(g, ctx.student.shape, ctx.reduction)  # () or (...) -> (...)
        return ctx.kernels["kl_div_bwd"](ctx.student, ctx.teacher, g, ctx.log_target)


# --- the wrappers users call ---------------------------------------------------------------
def softmax(x, axis=-1):
    """softmax along ``axis`` (fused). y = exp(x - max) / sum exp(x - max); see numpy_ref.softmax_fwd."""
    x = float_tensor("softmax", x)
    return Softmax.apply(x, axis=class_axis("softmax", x, axis))


def log_softmax(x, axis=-1):
    """log_softmax along ``axis`` (fused). y = x - max - log sum exp(x - max)."""
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


def cross_entropy(logits, targets, ignore_index=-100, label_smoothing=0.0, weight=None, reduction="mean"):
    """Cross-entropy of logits (..., C) against integer targets (...) (fused), PyTorch's definition.

    loss_i = (1 - s)(-w_{t_i} log p_{i,t_i}) + (s / C) sum_c (-w_c log p_ic), 0 where ignored;
    "mean" divides the sum by sum_{i counted} w_{t_i}, and gives 0 (zero gradient) when nothing
    is counted (PyTorch: NaN). The class axis is last. Full statement: composed.cross_entropy.
    """
    logits, targets, weight = cross_entropy_args(logits, targets, ignore_index, label_smoothing, weight, reduction)
    xp = array_module(logits.data)
    classes = logits.shape[-1]
    weight = xp.ones(classes, dtype=logits.dtype) if weight is None else weight
    flat = targets.reshape(-1)  # (...) -> (N,)
    losses = CrossEntropyRows.apply(
        logits.reshape(-1, classes),  # (..., C) -> (N, C)
        targets=flat, weight=weight, ignore_index=ignore_index, label_smoothing=float(label_smoothing),
    )  # (N,)
    return reduce_cross_entropy(losses, targets, weight, ignore_index, reduction)


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


def dropout(x, p=0.5, training=True, rng=None):
    """Inverted dropout (fused): out = x * keep / (1 - p), keep ~ Bernoulli(1 - p), from ``rng``.

    p = 0 or training=False return x itself; p = 1 returns zeros. The full statement is
    composed.dropout; the same rng state gives the same output bits in both versions.
    """
    x, keep = dropout_mask(x, p, training, rng)
    return x if keep is None else Dropout.apply(x, keep=keep)


def mse_loss(pred, target, reduction="mean"):
    """Mean squared error (fused): (pred - target)^2, then "mean", "sum" or "none".

    pred and target of one shape; a gradient flows into target too if it requires one.
    """
    pred, target = mse_loss_args(pred, target, reduction)
    return MseLoss.apply(pred, target, reduction=reduction)


def kl_div(student_log_probs, teacher_probs_or_log_probs, reduction="batchmean", log_target=False):
    """KL(teacher || student) summed pointwise (fused), PyTorch's ``kl_div``; see losses.kl_div.

    log_target=False: t (log t - s), 0 where t == 0; True: exp(t) (t - s). reduction
    "batchmean" (sum / first axis size), "sum", "mean" or "none".
    """
    student, teacher = kl_div_args(student_log_probs, teacher_probs_or_log_probs, reduction)
    return KlDiv.apply(student, teacher, reduction=reduction, log_target=bool(log_target))


__all__ = [
    "cross_entropy", "dropout", "embedding", "gelu", "kl_div", "layer_norm", "log_softmax", "mse_loss",
    "scaled_dot_product_attention", "softmax",
]
