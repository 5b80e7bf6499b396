"""Checks of chapter 1's exercises (the `answers` fixture: see conftest.py)."""

import math

import pytest

from tinygrad_lm.engine.scalar import Value

POINTS = [-800.0, -6.0, -1.3, -0.2, 0.0, 0.4, 2.5, 800.0]


def test_silu_value_and_local_derivative(answers):
    for t in POINTS:
        x = Value(t)
        y = answers.silu(x)
        s = 0.5 * (1.0 + math.tanh(t / 2))  # sigmoid, written another way
        assert y._prev == (x,), "silu must be one node whose only child is x"
        assert math.isclose(y.data, t * s, rel_tol=1e-12, abs_tol=1e-300), (t, y.data)
        y.backward()
        assert math.isclose(x.grad, s + t * s * (1 - s), rel_tol=1e-12, abs_tol=1e-300), (t, x.grad)


def test_silu_agrees_with_finite_differences_and_the_composed_graph(answers):
    for t in POINTS[1:-1]:
        numeric = (answers.silu(Value(t + 1e-6)).data - answers.silu(Value(t - 1e-6)).data) / 2e-6
        mine, composed = Value(t), Value(t)
        (answers.silu(mine) * 3.0).backward()
        (composed * composed.sigmoid() * 3.0).backward()
        assert abs(mine.grad - 3 * numeric) < 1e-7 and math.isclose(mine.grad, composed.grad, rel_tol=1e-12)


def test_central_difference_gradient_of_known_derivatives(answers):
    def f(a, b, c):
        return a**3 * b - math.sin(c) * a

    point = [0.7, -1.2, 2.0]
    exact = [3 * 0.7**2 * -1.2 - math.sin(2.0), 0.7**3, -math.cos(2.0) * 0.7]
    estimate = answers.central_difference_gradient(f, point)
    assert len(estimate) == 3 and all(abs(e - x) < 1e-8 for e, x in zip(estimate, exact)), estimate
    coarse = answers.central_difference_gradient(lambda x: x**3, [1.0], h=0.1)
    assert math.isclose(coarse[0], 3.0 + 0.1**2, rel_tol=1e-12)  # the O(h^2) error of a cubic is exactly h^2


def _graph():
    """Leaves and an output with fan-out: p is used four times, q three, r twice."""
    p, q, r = Value(0.7), Value(-1.3), Value(0.4)
    s = (p * q + r).tanh() * p - (q / (r * r + 1.0)).sigmoid()
    return [p, q, r], (p * p + 1.0).log() * s.exp() + q.maximum(p) * q


def test_gradients_equal_backward_on_a_graph_with_fan_out(answers):
    leaves, output = _graph()
    grads = answers.gradients(output)
    assert all(v.grad == 0.0 for v in output.topological_order()), "gradients() must not touch .grad"
    assert grads[output] == 1.0
    leaves_again, output_again = _graph()
    output_again.backward()
    for mine, reference in zip(leaves, leaves_again):
        assert grads[mine] == pytest.approx(reference.grad, rel=1e-12)


def test_gradients_add_over_every_path(answers):
    x = Value(3.0)
    y = x * x + x  # three paths from x to y: dy/dx = 2x + 1
    assert answers.gradients(y)[x] == 7.0
