"""dropout, mse_loss and kl_div as ``F`` exports them (the fused versions, under both tables).

dropout: inverted scaling keeps the mean, about p of the elements are dropped, the same seed
gives the same mask, p=0 and evaluation return x itself, the gradient is the same mask.
mse_loss and kl_div: against NumPy re-derivations of PyTorch's definitions, every reduction,
log_target, zero teacher probabilities, and their errors.
"""

import numpy as np
import pytest

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm.testing import check_close

RNG = np.random.default_rng(40)


# --- dropout -------------------------------------------------------------------------------
def test_dropout_keeps_the_mean_and_drops_about_p():
    x = tg.tensor(np.ones((400, 500)))
    out = F.dropout(x, p=0.3, rng=np.random.default_rng(0)).data
    kept = out != 0
    # 200,000 Bernoulli(0.7) draws: the kept fraction has standard deviation ~1e-3.
    assert abs(kept.mean() - 0.7) < 5e-3
    np.testing.assert_allclose(out[kept], 1 / 0.7)
    assert abs(out.mean() - 1.0) < 1e-2


def test_dropout_is_reproducible_from_the_seed():
    x = tg.tensor(RNG.standard_normal((8, 9)))
    first = F.dropout(x, 0.5, rng=np.random.default_rng(7)).data
    again = F.dropout(x, 0.5, rng=np.random.default_rng(7)).data
    other = F.dropout(x, 0.5, rng=np.random.default_rng(8)).data
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_dropout_p0_and_eval_return_x_itself():
    x = tg.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    assert F.dropout(x, p=0.0, rng=None) is x
    assert F.dropout(x, p=0.9, training=False) is x


def test_dropout_p1_gives_zeros():
    x = tg.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    out = F.dropout(x, p=1.0, rng=np.random.default_rng(0))
    assert np.all(out.data == 0)
    out.sum().backward()
    assert np.all(x.grad == 0)


def test_dropout_gradient_is_the_same_scaled_mask():
    x = tg.tensor(RNG.standard_normal((5, 6)).astype(np.float32), requires_grad=True)
    out = F.dropout(x, 0.25, rng=np.random.default_rng(3))
    out.sum().backward()
    mask = (out.data != 0) / np.float32(0.75)
    check_close(x.grad, mask, dtype=np.float32)
    assert x.grad.dtype == out.dtype == np.float32


@pytest.mark.parametrize("kwargs, error, message", [
    ({"p": 0.5}, ValueError, r"dropout: dropping with p > 0 needs rng=numpy.random.default_rng\(seed\)"),
    ({"p": 0.5, "rng": np.random.RandomState(0)}, TypeError, "rng must be a numpy.random.Generator.*RandomState"),
    ({"p": 1.5, "rng": np.random.default_rng(0)}, ValueError, r"dropout: p must be in \[0, 1\], got 1.5"),
    ({"p": -0.1}, ValueError, r"dropout: p must be in \[0, 1\], got -0.1"),
])
def test_dropout_refuses_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        F.dropout(tg.tensor(np.ones(3)), **kwargs)


# --- mse_loss ------------------------------------------------------------------------------
PRED, TARGET = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))


@pytest.mark.parametrize("reduction, want", [
    ("mean", np.mean((PRED - TARGET) ** 2)),
    ("sum", np.sum((PRED - TARGET) ** 2)),
    ("none", (PRED - TARGET) ** 2),
])
def test_mse_loss_matches_numpy(reduction, want):
    check_close(F.mse_loss(tg.tensor(PRED), tg.tensor(TARGET), reduction=reduction), want, rtol=1e-12, atol=1e-14)


def test_mse_loss_gradient_flows_to_both_sides():
    pred, target = tg.tensor(PRED, requires_grad=True), tg.tensor(TARGET, requires_grad=True)
    F.mse_loss(pred, target).backward()
    check_close(pred.grad, 2 * (PRED - TARGET) / PRED.size, rtol=1e-12, atol=1e-14)
    check_close(target.grad, -pred.grad, rtol=0, atol=0)


def test_mse_loss_refuses_mismatched_shapes_and_bad_reduction():
    with pytest.raises(tg.ShapeError, match=r"mse_loss: pred has shape \(4, 5\) but target has shape \(5,\)"):
        F.mse_loss(tg.tensor(PRED), TARGET[0])
    with pytest.raises(ValueError, match="mse_loss: reduction='batchmean' is not one of"):
        F.mse_loss(tg.tensor(PRED), TARGET, reduction="batchmean")


# --- kl_div --------------------------------------------------------------------------------
def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


STUDENT = np.log(softmax(RNG.standard_normal((3, 5))))
TEACHER = softmax(2 * RNG.standard_normal((3, 5)))
TEACHER[0, 1] = 0.0  # a zero probability: 0 log 0 counts as 0
POINTWISE = np.where(TEACHER > 0, TEACHER * (np.log(np.where(TEACHER > 0, TEACHER, 1)) - STUDENT), 0)


@pytest.mark.parametrize("reduction, want", [
    ("batchmean", POINTWISE.sum() / 3),
    ("sum", POINTWISE.sum()),
    ("mean", POINTWISE.mean()),
    ("none", POINTWISE),
])
def test_kl_div_matches_numpy(reduction, want):
    check_close(F.kl_div(tg.tensor(STUDENT), tg.tensor(TEACHER), reduction=reduction), want, rtol=1e-12, atol=1e-14)


def test_kl_div_with_log_target_equals_kl_div_with_probabilities():
    teacher = softmax(RNG.standard_normal((3, 5)))
    with_probs = F.kl_div(tg.tensor(STUDENT), tg.tensor(teacher))
    with_logs = F.kl_div(tg.tensor(STUDENT), tg.tensor(np.log(teacher)), log_target=True)
    check_close(with_logs, with_probs.data, rtol=1e-12, atol=1e-14)


def test_kl_div_of_a_distribution_with_itself_is_zero_with_zero_gradient():
    student = tg.tensor(np.log(TEACHER[1:]), requires_grad=True)
    loss = F.kl_div(student, tg.tensor(TEACHER[1:]))
    assert abs(loss.item()) < 1e-15
    loss.backward()
    check_close(student.grad, -TEACHER[1:] / 2, rtol=1e-12, atol=1e-15)  # d/ds of -t s / batch


def test_kl_div_zero_teacher_probability_gives_a_finite_loss_and_gradient():
    student = tg.tensor(STUDENT, requires_grad=True)
    teacher = tg.tensor(TEACHER, requires_grad=True)
    F.kl_div(student, teacher).backward()
    assert np.isfinite(student.grad).all() and np.isfinite(teacher.grad).all()
    assert student.grad[0, 1] == 0.0


def test_kl_div_refuses_bad_arguments():
    with pytest.raises(tg.ShapeError, match=r"kl_div: student_log_probs has shape \(3, 5\) but teacher"):
        F.kl_div(tg.tensor(STUDENT), tg.tensor(TEACHER[:2]))
    with pytest.raises(ValueError, match="kl_div: reduction='avg' is not one of 'batchmean'"):
        F.kl_div(tg.tensor(STUDENT), tg.tensor(TEACHER), reduction="avg")
    with pytest.raises(tg.ShapeError, match="batchmean' needs a batch axis"):
        F.kl_div(tg.tensor(np.float64(-1.0)), tg.tensor(np.float64(0.5)))
