"""RMSprop: hand-computed steps (plain, centered, momentum), trajectories against NumPy, errors."""

import re

import numpy as np
import pytest

from tinygrad_lm.optim import RMSprop


def test_plain_step_by_hand(make_param, step_with):
    # p0 = 1, g = 2, lr = 0.01, alpha = 0.99, eps = 1e-8:
    # v = 0.01 * 4 = 0.04;  p1 = 1 - 0.01 * 2 / (0.2 + 1e-8) = 0.9000000049999998
    p = make_param([1.0])
    optimizer = RMSprop([p], lr=0.01)
    step_with(optimizer, p, [2.0])
    np.testing.assert_allclose(p.data, [0.9000000049999998], rtol=0, atol=1e-15)
    assert sorted(optimizer.state[0]) == ["square_avg"]


def test_centered_step_by_hand(make_param, step_with):
    # a = 0.01 * 2 = 0.02;  v - a^2 = 0.04 - 0.0004 = 0.0396;  d = sqrt(0.0396) + 1e-8 = 0.198997497421324
    # p1 = 1 - 0.01 * 2 / d = 0.8994962235245836 (a larger step: the std is below the RMS)
    p = make_param([1.0])
    step_with(RMSprop([p], lr=0.01, centered=True), p, [2.0])
    np.testing.assert_allclose(p.data, [0.8994962235245836], rtol=0, atol=1e-15)


def test_momentum_two_steps_by_hand(make_param, step_with):
    # momentum 0.9, g = 2 twice.  step 1: v = 0.04, b1 = 2 / (0.2 + 1e-8) = 9.9999995, p1 = 0.900000005
    # step 2: v = 0.99 * 0.04 + 0.01 * 4 = 0.0796, d = sqrt(0.0796) + 1e-8 = 0.2821347295933177
    #         b2 = 0.9 * b1 + 2 / d = 16.088811348827107;  p2 = p1 - 0.01 * b2 = 0.7391118915117287
    p = make_param([1.0])
    step_with(RMSprop([p], lr=0.01, momentum=0.9), p, [2.0], steps=2)
    np.testing.assert_allclose(p.data, [0.7391118915117287], rtol=0, atol=1e-15)


def reference_rmsprop(quadratic, steps, lr, alpha, eps, weight_decay, momentum, centered):
    xs = [x.copy() for x in quadratic.start]
    v = [np.zeros_like(x) for x in xs]
    a = [np.zeros_like(x) for x in xs]
    b = [np.zeros_like(x) for x in xs]
    for _ in range(steps):
        for k, g in enumerate(quadratic.gradients(xs)):
            g = g + weight_decay * xs[k]
            v[k] = alpha * v[k] + (1 - alpha) * g**2
            a[k] = alpha * a[k] + (1 - alpha) * g
            denominator = np.sqrt(v[k] - a[k] ** 2 if centered else v[k]) + eps
            if momentum > 0:
                b[k] = momentum * b[k] + g / denominator
                xs[k] = xs[k] - lr * b[k]
            else:
                xs[k] = xs[k] - lr * g / denominator
    return xs


@pytest.mark.parametrize("momentum, centered, weight_decay", [
    (0.0, False, 0.0), (0.0, True, 0.0), (0.9, False, 0.05), (0.5, True, 0.05),
])
def test_ten_step_trajectory_matches_numpy(quadratic, momentum, centered, weight_decay):
    params = quadratic.parameters()
    hyper = {"lr": 0.01, "alpha": 0.9, "eps": 1e-8, "weight_decay": weight_decay, "momentum": momentum, "centered": centered}
    got = quadratic.run(RMSprop(params, **hyper), params, steps=10)
    for mine, ref in zip(got, reference_rmsprop(quadratic, 10, **hyper)):
        np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs, message", [
    ({"alpha": 1.0}, "alpha = 1.0 must be in [0, 1)"),
    ({"alpha": -0.5}, "alpha = -0.5 must be in [0, 1)"),
    ({"eps": 0.0}, "eps = 0.0 must be > 0"),
    ({"momentum": -0.9}, "momentum = -0.9 must be >= 0"),
    ({"centered": 1}, "centered = 1 must be True or False"),
])
def test_bad_hyperparameters_are_named(kwargs, message, make_param):
    with pytest.raises(ValueError, match="^" + re.escape(f"RMSprop: {message}")):
        RMSprop([make_param([1.0])], **kwargs)
