"""Regression and distillation losses: mean squared error and KL divergence.

Both are composed from primitives only. Each is a handful of elementwise ops and one sum,
which the engine already runs as a few vectorised passes; a fused kernel would save little
and add a kernel every backend must carry. (cross_entropy, the loss with real numerics in it,
is in ``composed.py`` and ``fused.py``.) Semantics follow PyTorch's ``mse_loss`` and
``kl_div``, except that shapes must match exactly instead of broadcasting with a warning.
"""

from ..engine.errors import ShapeError
from ..ops import where
from ..ops._operands import operands
from ._common import check_choice, float_tensor


def _same_shape(op, a, b, names):
    a, b = operands(op, float_tensor(op, a), b, broadcast=False)
    if a.shape != b.shape:
        raise ShapeError(
            f"{op}: {names[0]} has shape {a.shape} but {names[1]} has shape {b.shape}; they must match"
        )
    return a, b


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
    check_choice("mse_loss", "reduction", reduction, ("mean", "sum", "none"))
    pred, target = _same_shape("mse_loss", pred, target, ("pred", "target"))
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
    check_choice("kl_div", "reduction", reduction, ("batchmean", "sum", "mean", "none"))
    student, teacher = _same_shape(
        "kl_div", student_log_probs, teacher_probs_or_log_probs,
        ("student_log_probs", "teacher_probs_or_log_probs"),
    )
    if log_target:
        loss = teacher.exp() * (teacher - student)
    else:
        positive = teacher.data > 0
        log_teacher = where(positive, teacher, 1.0).log()  # log 1 = 0 where t == 0
        loss = where(positive, teacher * (log_teacher - student), 0.0)
    if reduction == "batchmean":
        if student.ndim == 0:
            raise ShapeError("kl_div: reduction='batchmean' needs a batch axis; got 0-d inputs")
        return loss.sum() / student.shape[0]
    return _reduce(loss, reduction)


__all__ = ["kl_div", "mse_loss"]
