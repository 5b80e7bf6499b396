"""The fused losses: cross_entropy, mse_loss and kl_div, one Function each around their kernels.

Like every fused op (``fused.py``, which re-exports these three), the Function computes
nothing itself: it calls kernels from the table of its input's device and reshapes. The
kernels return pointwise losses, (N,) rows for cross_entropy and one per element for the
other two; the Function reduces them ("mean", "sum", "batchmean" or "none") and, in the
backward, spreads the upstream gradient back over every pointwise loss before calling the
backward kernel. cross_entropy's "mean" divides by the counted targets' weights, which
``_common.reduce_cross_entropy`` does with primitives, shared with the composed version.

The composed versions, the specification these must match, are ``composed.cross_entropy``
and ``losses.py``. Arguments are checked in ``_common.py``, shared with them.
"""

import math

from ..backends import kernels
from ..engine import Function, array_module
from ._common import (
    contiguous,
    cross_entropy_args,
    kl_div_args,
    mse_loss_args,
    reduce_cross_entropy,
)


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
        return contiguous(g)
    g = g / _loss_divisor(shape, reduction)  # () -> (), the chain rule through the division
    return array_module(g).full(shape, g, dtype=g.dtype)  # () -> (...)


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


class MseLoss(Function):
    """(pred - target)^2 reduced: kernels mse_fwd(pred, target) and mse_bwd(pred, target, g)."""

    @staticmethod
    def forward(ctx, pred, target, reduction):
        ctx.kernels, ctx.reduction = kernels(pred), reduction
        pred, target = contiguous(pred), contiguous(target)
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
        student, teacher = contiguous(student), contiguous(teacher)
        ctx.save(student=student, teacher=teacher)
        losses = ctx.kernels["kl_div_fwd"](student, teacher, log_target)  # (...)
        return _reduce_losses(losses, reduction)  # (...) -> () or (...)

    @staticmethod
    def backward(ctx, g):
        g = _spread(g, ctx.student.shape, ctx.reduction)  # () or (...) -> (...)
        return ctx.kernels["kl_div_bwd"](ctx.student, ctx.teacher, g, ctx.log_target)


# --- the wrappers users call ---------------------------------------------------------------
def cross_entropy(logits, targets, ignore_index=-100, label_smoothing=0.0, weight=None, reduction="mean"):
    """Cross-entropy of logits (..., C) against integer targets (...) (fused), PyTorch's definition.

    loss_i = (1 - s)(-w_{t_i} log p_{i,t_i}) + (s / C) sum_c (-w_c log p_ic), 0 where ignored;
    "mean" divides the sum by sum_{i counted} w_{t_i}, and is NaN with a zero gradient when
    nothing is counted, as in PyTorch. A target logit of -inf gives +inf; NaN or +inf in a
    counted row gives NaN. The class axis is last. Full statement: composed.cross_entropy.
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


__all__ = ["cross_entropy", "kl_div", "mse_loss"]
