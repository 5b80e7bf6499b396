"""Adam and AdamW: hand-computed steps, bias correction, decoupled vs L2 decay, trajectories.

The NumPy reference re-derives Kingma & Ba's Algorithm 1 (plus L2 or decoupled decay)
independently of the library; 10-step trajectories must agree to float64 rounding.
"""

import re

import numpy as np
import pytest

from tinygrad_lm.optim import Adam, AdamW


def test_first_step_is_lr_times_normalized_gradient(make_param):
    # t = 1: m = (1 - b1) g, v = (1 - b2) g^2, so m_hat = g and v_hat = g^2 exactly, and
    # p1 = p0 - lr * g / (|g| + eps).  p0 = [1, -1], g = [0.5, -2], lr = 0.1, eps = 1e-8:
    # p1[0] = 1 - 0.1 * 0.5 / 0.50000001 = 1 - 0.1 / (1 + 2e-8)   = 0.900000001999999960
    # p1[1] = -1 + 0.1 * 2 / 2.00000001  = -1 + 0.1 / (1 + 5e-9) = -0.900000000499999997
    p = make_param([1.0, -1.0])
    p.grad = np.array([0.5, -2.0])
    Adam([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.900000001999999960, -0.900000000499999997], rtol=0, atol=1e-16)


def test_bias_correction_makes_a_constant_gradient_take_equal_steps(make_param):
    # With g constant, m_t = (1 - b1^t) g and v_t = (1 - b2^t) g^2, so after correction every
    # step is lr * g / (|g| + eps): three steps from p0 = 0 with g = 0.5, lr = 0.1 give
    # -3 * 0.1 * 0.5 / 0.50000001 = -0.299999994000000120. (Uncorrected, step 1 would be
    # 0.1 * 0.05 / sqrt(0.00025) = 0.316..., more than three times too large.)
    p = make_param([0.0])
    optimizer = Adam([p], lr=0.1, betas=(0.9, 0.999))
    for _ in range(3):
        p.grad = np.array([0.5])
        optimizer.step()
    np.testing.assert_allclose(p.data, [-0.299999994000000120], rtol=0, atol=1e-15)
    assert optimizer.state[0]["step"] == 3


def test_adamw_decay_is_decoupled_and_adam_decay_is_normalized(make_param):
    # p0 = 2, g = 0, lr = 0.1, weight_decay = 0.1.
    # Adam (L2): g' = 0.1 * 2 = 0.2 enters the moments, so the step is lr * g'/(|g'| + eps):
    #     p1 = 2 - 0.1 * 0.2 / 0.20000001 = 1.900000005 (the decay became a full lr-sized step).
    # AdamW: p <- p - lr * wd * p = 2 - 0.02 = 1.98; the moments see g = 0, so no Adam step.
    adam_p, adamw_p = make_param([2.0]), make_param([2.0])
    adam, adamw = Adam([adam_p], lr=0.1, weight_decay=0.1), AdamW([adamw_p], lr=0.1, weight_decay=0.1)
    adam_p.grad, adamw_p.grad = np.array([0.0]), np.array([0.0])
    adam.step()
    adamw.step()
    np.testing.assert_allclose(adam_p.data, [1.900000005], rtol=0, atol=1e-15)
    np.testing.assert_allclose(adamw_p.data, [1.98], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(adamw.state[0]["exp_avg"], [0.0])
    np.testing.assert_allclose(adam.state[0]["exp_avg"], [0.02], rtol=1e-15)


def test_without_weight_decay_adam_and_adamw_agree(quadratic):
    # Same algebra, two codes: Adam's NumPy update and AdamW's adamw_step kernel order the
    # bias corrections differently, so they agree to rounding, not bit for bit.
    a, b = quadratic.parameters(), quadratic.parameters()
    got_a = quadratic.run(Adam(a, lr=0.05), a, steps=10)
    got_b = quadratic.run(AdamW(b, lr=0.05, weight_decay=0.0), b, steps=10)
    for x, y in zip(got_a, got_b):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=0)


def reference_adam(quadratic, steps, lr, betas, eps, weight_decay, decoupled):
    b1, b2 = betas
    xs = [x.copy() for x in quadratic.start]
    ms = [np.zeros_like(x) for x in xs]
    vs = [np.zeros_like(x) for x in xs]
    for t in range(1, steps + 1):
        for k, g in enumerate(quadratic.gradients(xs)):
            if decoupled:
                xs[k] = xs[k] - lr * weight_decay * xs[k]
            else:
                g = g + weight_decay * xs[k]
            ms[k] = b1 * ms[k] + (1 - b1) * g
            vs[k] = b2 * vs[k] + (1 - b2) * g**2
            m_hat, v_hat = ms[k] / (1 - b1**t), vs[k] / (1 - b2**t)
            xs[k] = xs[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return xs


@pytest.mark.parametrize("cls, decoupled", [(Adam, False), (AdamW, True)])
@pytest.mark.parametrize("betas, eps, weight_decay", [((0.9, 0.999), 1e-8, 0.0), ((0.8, 0.95), 1e-3, 0.1)])
def test_ten_step_trajectory_matches_numpy(quadratic, cls, decoupled, betas, eps, weight_decay):
    params = quadratic.parameters()
    hyper = {"lr": 0.05, "betas": betas, "eps": eps, "weight_decay": weight_decay}
    got = quadratic.run(cls(params, **hyper), params, steps=10)
    for mine, ref in zip(got, reference_adam(quadratic, 10, decoupled=decoupled, **hyper)):
        np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-14)


def test_float32_parameters_stay_float32_and_are_updated_in_place(make_param):
    p = make_param([1.0, 2.0, 3.0], dtype=np.float32)
    data = p.data
    grad = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    p.grad = grad.copy()
    optimizer = AdamW([p], lr=0.01)
    optimizer.step()
    assert p.data is data and p.data.dtype == np.float32
    assert optimizer.state[0]["exp_avg"].dtype == np.float32
    np.testing.assert_array_equal(p.grad, grad)  # the gradient is not modified
    assert not np.array_equal(p.data, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("kwargs, message", [
    ({"betas": (1.0, 0.999)}, "betas[0] = 1.0 must be in [0, 1)"),
    ({"betas": (0.9, -0.1)}, "betas[1] = -0.1 must be in [0, 1)"),
    ({"betas": 0.9}, "betas = 0.9 must be a pair of numbers"),
    ({"eps": 0.0}, "eps = 0.0 must be > 0"),
    ({"eps": -1e-8}, "eps = -1e-08 must be > 0"),
    ({"lr": -0.001}, "lr = -0.001 must be >= 0"),
    ({"lr": float("nan")}, "lr = nan must be >= 0"),
    ({"lr": "0.1"}, "lr = '0.1' must be a real number"),
    ({"weight_decay": -0.01}, "weight_decay = -0.01 must be >= 0"),
])
@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_bad_hyperparameters_are_named(cls, kwargs, message, make_param):
    with pytest.raises(ValueError, match="^" + re.escape(f"{cls.__name__}: {message}")):
        cls([make_param([1.0])], **kwargs)
