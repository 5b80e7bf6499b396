"""What the optimizer tests share: a parameter factory and a small float64 quadratic problem.

``make_param(values, dtype=float64)`` is a leaf tensor that requires grad;
``step_with(optimizer, param, grad, steps=1)`` sets the same gradient before each of ``steps`` steps.

loss(x_1, x_2) = sum_k 0.5 * vec(x_k)^T A_k vec(x_k) - b_k . vec(x_k), with A_k symmetric
positive definite, over a vector parameter of shape (5,) and a matrix of shape (2, 3). The
gradient A_k vec(x_k) - b_k depends on where the parameter is, so a trajectory checks every
step, not just the first. ``run`` drives a tinygrad_lm optimizer; each test drives its own
independent NumPy re-derivation of the update with ``gradients``.
"""

import numpy as np
import pytest

import tinygrad_lm as tg


class Quadratic:
    shapes = ((5,), (2, 3))

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.start = [rng.standard_normal(shape) for shape in self.shapes]
        self.A, self.b = [], []
        for shape in self.shapes:
            n = int(np.prod(shape))
            m = rng.standard_normal((n, n))
            self.A.append(m @ m.T / n + np.eye(n))  # symmetric, eigenvalues >= 1
            self.b.append(rng.standard_normal(n))

    def gradients(self, arrays):
        """[A_k vec(x_k) - b_k, reshaped like x_k] for the current arrays."""
        return [(A @ x.ravel() - b).reshape(x.shape) for A, b, x in zip(self.A, self.b, arrays)]

    def parameters(self):
        """Fresh float64 leaf tensors at the starting point."""
        return [tg.tensor(x.copy(), requires_grad=True) for x in self.start]

    def run(self, optimizer, params, steps):
        """``steps`` optimizer steps from the current params; returns copies of their data."""
        for _ in range(steps):
            for param, grad in zip(params, self.gradients([p.data for p in params])):
                param.grad = grad
            optimizer.step()
        return [p.data.copy() for p in params]


@pytest.fixture
def quadratic():
    return Quadratic()


@pytest.fixture
def make_param():
    def make(values, dtype=np.float64):
        return tg.tensor(np.array(values, dtype=dtype), requires_grad=True)
    return make


@pytest.fixture
def step_with():
    def run(optimizer, param, grad, steps=1):
        for _ in range(steps):
            param.grad = np.array(grad, dtype=param.dtype)
            optimizer.step()
    return run
