"""Reference solutions to chapter 1's exercises (tutorials/exercises/ch01.py states the tasks)."""

import math

from tinygrad_lm.engine.scalar import Value


def silu(x: Value) -> Value:
    """silu(x) = x s(x), s = sigmoid.  d silu/dx = s + x s (1 - s) = s (1 + x (1 - s))."""
    t = x.data
    s = 1.0 / (1.0 + math.exp(-t)) if t >= 0.0 else math.exp(t) / (1.0 + math.exp(t))  # never exp of > 0
    return Value(t * s, (x,), (s * (1.0 + t * (1.0 - s)),), "silu")


def central_difference_gradient(f, point, h=1e-6):
    """[(f(p + h e_i) - f(p - h e_i)) / 2h for each input i]."""
    partials = []
    for i in range(len(point)):
        high = [p + h if j == i else p for j, p in enumerate(point)]
        low = [p - h if j == i else p for j, p in enumerate(point)]
        partials.append((f(*high) - f(*low)) / (2 * h))
    return partials


def gradients(output: Value) -> dict:
    """grads[child] += grads[node] * d node / d child, nodes in reverse topological order."""
    grads = {output: 1.0}
    for node in reversed(output.topological_order()):
        for child, local in zip(node._prev, node._local_grads):
            grads[child] = grads.get(child, 0.0) + grads[node] * local
    return grads
