"""Regression and distillation losses, composed from primitives: mean squared error and KL divergence.

Each is a handful of elementwise ops and one sum; the gradient comes from the primitives'
backwards. They are the specification the fused versions (``fused.py``: one Function each,
kernels ``mse_fwd``/``mse_bwd`` and ``kl_div_fwd``/``kl_div_bwd``) must match, and are
importable as ``F.composed.mse_loss`` and ``F.composed.kl_div``. Semantics follow PyTorch's
``mse_loss`` and ``kl_div``, except that shapes must match exactly instead of broadcasting
with a warning. Arguments are checked in ``_common.py``, shared with the fused versions.
"""

from ..ops import where
from ._common import kl_div_args, mse_loss_args


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def mse_loss(pred, target, reduction="mean"):
    """Mean squared error: loss = (pred - target)^2, elementwise, then reduced.

    reduction "mean" (over all elements), "sum" or "none" (the elementwise loss). pred and
    target need the same shape; a gradient flows into target too if it requires one.
    """
    pred, target = mse_loss_args(pred, target, reduction)
    diff = pred - target
    return _reduce(diff * diff, reduction)


def kl_div(student_log_probs, teacher_probs_or_log_probs, reduction="batchmean", log_target=False):
    """KL(teacher || student) summed pointwise, PyTorch's ``kl_div`` (Hinton et al. 2015 use it
    to distil a teacher's softened distribution into a student).

        log_target=False:  loss = t * (log t - s),  with 0 where t == 0 (0 log 0 = 0)
        log_target=True:   loss = exp(t) * (t - s)

    where s are the student's log-probabilities and t the teacher's probabilities (or
    log-probabilities). reduction "batchmean" (sum / first axis size, the true KL per
    example), "sum", "mean" (over all elements) or "none".
    """
    student, teacher = kl_div_args(student_log_probs, teacher_probs_or_log_probs, reduction)
    if log_target:
        loss = teacher.exp() * (teacher - student)
    else:
        positive = teacher.data > 0
        log_teacher = where(positive, teacher, 1.0).log()  # log 1 = 0 where t == 0
        loss = where(positive, teacher * (log_teacher - student), 0.0)
    if reduction == "batchmean":
        return loss.sum() / student.shape[0]
    return _reduce(loss, reduction)


__all__ = ["kl_div", "mse_loss"]
