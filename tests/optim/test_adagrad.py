"""Adagrad: hand-computed steps (with and without lr decay), trajectories against NumPy, errors."""

import re

import numpy as np
import pytest

from tinygrad_lm.optim import Adagrad


def test_two_steps_by_hand(make_param, step_with):
    # p0 = 1, g = 2 twice, lr = 0.1, eps = 1e-10, s0 = 0.
    # step 1: s = 4;  p1 = 1 - 0.1 * 2 / (2 + 1e-10)            = 0.900000000005
    # step 2: s = 8;  p2 = p1 - 0.1 * 2 / (sqrt(8) + 1e-10)      = 0.8292893218888453
    p = make_param([1.0])
    optimizer = Adagrad([p], lr=0.1)
    step_with(optimizer, p, [2.0], steps=2)
    np.testing.assert_allclose(p.data, [0.8292893218888453], rtol=0, atol=1e-15)
    assert optimizer.state[0]["step"] == 2
    np.testing.assert_array_equal(optimizer.state[0]["sum"], [8.0])


def test_lr_decay_and_initial_accumulator_by_hand(make_param, step_with):
    # p0 = 1, g = 2 twice, lr = 0.1, lr_decay = 0.5, s0 = 1.
    # step 1: lr_1 = 0.1;            s = 5;  p1 = 1 - 0.1 * 2 / sqrt(5)      = 0.9105572809040084
    # step 2: lr_2 = 0.1 / 1.5;      s = 9;  p2 = p1 - (0.1 / 1.5) * 2 / 3   = 0.8661128364610455
    p = make_param([1.0])
    step_with(Adagrad([p], lr=0.1, lr_decay=0.5, initial_accumulator_value=1.0), p, [2.0], steps=2)
    np.testing.assert_allclose(p.data, [0.8661128364610455], rtol=0, atol=1e-15)


def reference_adagrad(quadratic, steps, lr, lr_decay, weight_decay, initial_accumulator_value, eps):
    xs = [x.copy() for x in quadratic.start]
    sums = [np.full_like(x, initial_accumulator_value) for x in xs]
    for t in range(1, steps + 1):
        for k, g in enumerate(quadratic.gradients(xs)):
            g = g + weight_decay * xs[k]
            sums[k] = sums[k] + g**2
            xs[k] = xs[k] - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(sums[k]) + eps)
    return xs


@pytest.mark.parametrize("lr_decay, weight_decay, initial_accumulator_value, eps", [
    (0.0, 0.0, 0.0, 1e-10), (0.1, 0.05, 0.5, 1e-6),
])
def test_ten_step_trajectory_matches_numpy(quadratic, lr_decay, weight_decay, initial_accumulator_value, eps):
    params = quadratic.parameters()
    hyper = {"lr": 0.3, "lr_decay": lr_decay, "weight_decay": weight_decay,
                 "initial_accumulator_value": initial_accumulator_value, "eps": eps}
    got = quadratic.run(Adagrad(params, **hyper), params, steps=10)
    for mine, ref in zip(got, reference_adagrad(quadratic, 10, **hyper)):
        np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs, message", [
    ({"lr_decay": -0.1}, "lr_decay = -0.1 must be >= 0"),
    ({"initial_accumulator_value": -1.0}, "initial_accumulator_value = -1.0 must be >= 0"),
    ({"eps": 0.0}, "eps = 0.0 must be > 0"),
    ({"weight_decay": -1.0}, "weight_decay = -1.0 must be >= 0"),
])
def test_bad_hyperparameters_are_named(kwargs, message, make_param):
    with pytest.raises(ValueError, match="^" + re.escape(f"Adagrad: {message}")):
        Adagrad([make_param([1.0])], **kwargs)
