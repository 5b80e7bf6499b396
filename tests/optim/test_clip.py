"""Global gradient norm and clip_grad_norm_, plus the gradient-accumulation pattern it documents."""

import math
import re

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.optim import clip_grad_norm_, grad_norm


def with_grads(make_param, *grads, dtype=np.float64):
    params = []
    for grad in grads:
        param = make_param(np.zeros(np.shape(grad)), dtype=dtype)
        param.grad = np.array(grad, dtype=dtype)
        params.append(param)
    return params


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, math.inf])
def test_grad_norm_is_the_norm_of_all_gradients_joined(make_param, norm_type):
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(shape) for shape in ((3, 4), (5,), ())]
    params = with_grads(make_param, *grads) + [make_param([1.0])]  # the last has no gradient
    joined = np.concatenate([g.ravel() for g in grads])
    expected = np.abs(joined).max() if math.isinf(norm_type) else (np.abs(joined) ** norm_type).sum() ** (1 / norm_type)
    assert grad_norm(params, norm_type) == pytest.approx(expected, rel=1e-14)


def test_float32_norm_is_the_float64_sum_of_squares_bit_for_bit(make_param):
    # The 2-norm squares every float32 entry in float64 and sums each gradient with NumPy's
    # own sum, gradient by gradient in order: the exact value a float64 copy of each would give.
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal(shape).astype(np.float32) * 10.0 ** k for k, shape in enumerate(((64, 48), (4097,), (3,)))]
    params = with_grads(make_param, *grads, dtype=np.float32)
    expected = sum(float(np.sum(g.astype(np.float64) * g.astype(np.float64))) for g in grads) ** 0.5
    assert grad_norm(params) == expected


def test_clipping_scales_to_max_norm_and_returns_the_norm_before(make_param):
    # grads [3] and [4]: norm 5; max_norm 1 -> scale 1 / (5 + 1e-6), so [0.6, 0.8] (to 2e-7).
    a, b = with_grads(make_param, [3.0], [4.0])
    assert clip_grad_norm_([a, b], max_norm=1.0) == 5.0
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose([a.grad[0], b.grad[0]], [3 * scale, 4 * scale], rtol=1e-15)
    assert grad_norm([a, b]) == pytest.approx(1.0, abs=1e-6) and grad_norm([a, b]) < 1.0


def test_small_gradients_are_left_untouched_bit_for_bit(make_param):
    a, b = with_grads(make_param, [0.3], [0.4], dtype=np.float32)
    grad_a = a.grad
    assert clip_grad_norm_([a, b], max_norm=1.0) == pytest.approx(0.5, rel=1e-7)
    assert a.grad is grad_a
    np.testing.assert_array_equal(a.grad, np.array([0.3], dtype=np.float32))


def test_inf_norm_clipping_and_float32_kept(make_param):
    (p,) = with_grads(make_param, [[-8.0, 2.0]], dtype=np.float32)
    assert clip_grad_norm_(p, max_norm=2.0, norm_type=math.inf) == 8.0
    assert p.grad.dtype == np.float32
    np.testing.assert_allclose(p.grad, [[-2.0, 0.5]], rtol=1e-6)


def test_no_gradients_means_norm_zero(make_param):
    assert clip_grad_norm_([make_param([1.0])], 1.0) == 0.0


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nonfinite_norm_is_returned_or_raised_and_grads_are_left_alone(make_param, bad):
    a, b = with_grads(make_param, [bad, 1.0], [100.0])
    norm = clip_grad_norm_([a, b], max_norm=1.0)
    assert not math.isfinite(norm)
    np.testing.assert_array_equal(b.grad, [100.0])
    with pytest.raises(FloatingPointError, match="the total gradient norm .* is (nan|inf): some gradient holds NaN or Inf"):
        clip_grad_norm_([a, b], max_norm=1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"max_norm": 0.0}, "clip_grad_norm_: max_norm = 0.0 must be finite and > 0"),
    ({"max_norm": math.nan}, "clip_grad_norm_: max_norm = nan must be finite and > 0"),
    ({"max_norm": 1.0, "norm_type": 0}, "clip_grad_norm_: norm_type = 0.0 must be > 0"),
])
def test_bad_arguments_are_named(make_param, kwargs, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        clip_grad_norm_(with_grads(make_param, [1.0]), **kwargs)
    with pytest.raises(TypeError, match=re.escape("clip_grad_norm_: params[0] is a ndarray")):
        clip_grad_norm_([np.ones(2)], 1.0)


def test_accumulating_scaled_micro_batch_losses_gives_the_full_batch_gradient():
    # mean-squared error over 8 rows, as one batch and as 4 micro-batches of 2, each loss / 4
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 1))
    w = tg.tensor(rng.standard_normal((3, 1)), requires_grad=True)

    def loss(rows):
        residual = tg.tensor(x[rows]) @ w - tg.tensor(y[rows])  # (R, 3) @ (3, 1) -> (R, 1)
        return (residual * residual).mean()

    loss(slice(0, 8)).backward()
    full = w.grad
    w.zero_grad()
    for start in range(0, 8, 2):
        (loss(slice(start, start + 2)) / 4).backward()
    np.testing.assert_allclose(w.grad, full, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(full, 2 * x.T @ (x @ w.data - y) / 8, rtol=1e-13)
