"""SGD: hand-computed steps for each option, and 10-step trajectories against NumPy.

The reference below re-derives PyTorch's SGD update independently of the library; the
trajectories must agree to float64 rounding. Errors of the SGD-specific hyperparameters are
checked here; the shared ones (lr, empty lists, groups) in test_optimizer.py.
"""

import re

import numpy as np
import pytest

from tinygrad_lm.optim import SGD


def test_plain_step(make_param):
    # p = [1, -2], g = [0.5, 0.25], lr = 0.1:  p - lr g = [0.95, -2.025]
    p = make_param([1.0, -2.0])
    p.grad = np.array([0.5, 0.25])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -2.025], rtol=0, atol=1e-15)


def test_momentum_and_weight_decay_two_steps(make_param, step_with):
    # lr 0.1, momentum 0.9, weight_decay 0.1, g = [0.5, 0.25] both steps, p0 = [1, -2].
    # step 1: d = g + 0.1 p0 = [0.6, 0.05]; b1 = d;  p1 = p0 - 0.1 b1 = [0.94, -2.005]
    # step 2: d = g + 0.1 p1 = [0.594, 0.0495]; b2 = 0.9 b1 + d = [1.134, 0.0945]
    #         p2 = p1 - 0.1 b2 = [0.8266, -2.01445]
    p = make_param([1.0, -2.0])
    step_with(SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1), p, [0.5, 0.25], steps=2)
    np.testing.assert_allclose(p.data, [0.8266, -2.01445], rtol=0, atol=1e-14)


def test_dampening_skips_the_first_step(make_param, step_with):
    # lr 1, momentum 0.5, dampening 0.5, g = 1 both steps, p0 = 0.
    # step 1: b1 = g = 1 (no dampening on the first step);  p1 = -1
    # step 2: b2 = 0.5 * 1 + (1 - 0.5) * 1 = 1;              p2 = -2
    p = make_param([0.0])
    step_with(SGD([p], lr=1.0, momentum=0.5, dampening=0.5), p, [1.0], steps=2)
    np.testing.assert_allclose(p.data, [-2.0], rtol=0, atol=0)


def test_nesterov_two_steps(make_param, step_with):
    # lr 0.1, momentum 0.9, nesterov, g = [0.5, 0.25] both steps, p0 = [1, -2].
    # step 1: b1 = g;                      update g + 0.9 b1 = 1.9 g = [0.95, 0.475];  p1 = [0.905, -2.0475]
    # step 2: b2 = 0.9 g + g = 1.9 g;      update g + 0.9 b2 = 2.71 g = [1.355, 0.6775]
    #         p2 = p1 - 0.1 * [1.355, 0.6775] = [0.7695, -2.11525]
    p = make_param([1.0, -2.0])
    step_with(SGD([p], lr=0.1, momentum=0.9, nesterov=True), p, [0.5, 0.25], steps=2)
    np.testing.assert_allclose(p.data, [0.7695, -2.11525], rtol=0, atol=1e-14)


def reference_sgd(quadratic, steps, lr, momentum, dampening, weight_decay, nesterov):
    xs = [x.copy() for x in quadratic.start]
    buffers = [None] * len(xs)
    for _ in range(steps):
        for k, g in enumerate(quadratic.gradients(xs)):
            g = g + weight_decay * xs[k]
            if momentum:
                if buffers[k] is None:
                    buffers[k] = g.copy()
                else:
                    buffers[k] = momentum * buffers[k] + (1 - dampening) * g
                g = g + momentum * buffers[k] if nesterov else buffers[k]
            xs[k] = xs[k] - lr * g
    return xs


@pytest.mark.parametrize("momentum, dampening, weight_decay, nesterov", [
    (0.0, 0.0, 0.0, False), (0.9, 0.0, 0.0, False), (0.9, 0.3, 0.05, False), (0.8, 0.0, 0.05, True),
])
def test_ten_step_trajectory_matches_numpy(quadratic, momentum, dampening, weight_decay, nesterov):
    params = quadratic.parameters()
    hyper = {"lr": 0.05, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay, "nesterov": nesterov}
    got = quadratic.run(SGD(params, **hyper), params, steps=10)
    for mine, ref in zip(got, reference_sgd(quadratic, 10, **hyper)):
        np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-14)


def test_momentum_buffer_exists_only_with_momentum(make_param):
    p, q = make_param([1.0]), make_param([1.0])
    plain, heavy = SGD([p], lr=0.1), SGD([q], lr=0.1, momentum=0.9)
    p.grad, q.grad = np.array([1.0]), np.array([1.0])
    plain.step()
    heavy.step()
    assert plain.state == [{}]
    assert list(heavy.state[0]) == ["momentum_buffer"]


@pytest.mark.parametrize("kwargs, field", [
    ({"momentum": -0.1}, "momentum = -0.1"),
    ({"dampening": 1.5}, "dampening = 1.5"),
    ({"weight_decay": -1.0}, "weight_decay = -1.0"),
    ({"nesterov": True}, "momentum = 0.0 must be > 0 when nesterov=True"),
    ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "dampening = 0.1 must be 0 when nesterov"),
    ({"nesterov": "yes"}, "nesterov = 'yes' must be True or False"),
])
def test_bad_hyperparameters_are_named(kwargs, field, make_param):
    with pytest.raises(ValueError, match="^" + re.escape(f"SGD: {field}")):
        SGD([make_param([1.0])], lr=0.1, **kwargs)
