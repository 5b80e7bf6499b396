"""Reference solutions to chapter 5's exercises (tutorials/exercises/ch05.py states the tasks)."""

import math

from tinygrad_lm.engine import Function, array_module

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_CUBIC = 0.044715


def gelu_tanh(x):
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), five primitives deep."""
    return 0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)).tanh())


class BrokenTanhGelu(Function):
    """y = 0.5 x (1 + t), t = tanh(u), u = sqrt(2/pi) (x + 0.044715 x^3).

    dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) du/dx, du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
    The bug was du = sqrt(2/pi): the derivative of u's cubic term was left out.
    """

    @staticmethod
    def forward(ctx, x):
        t = array_module(x).tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x))
        ctx.save(x=x, t=t)
        return 0.5 * x * (1 + t)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.x, ctx.t
        du = SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * x * x)
        return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du),)


def layer_norm(x, weight, bias, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last axis, biased variance."""
    mean = x.mean(axis=-1, keepdims=True)  # (..., C) -> (..., 1)
    centred = x - mean  # (..., C)
    var = (centred * centred).mean(axis=-1, keepdims=True)  # (..., 1), divided by C
    return centred / (var + eps).sqrt() * weight + bias  # (..., C) * (C,) + (C,) -> (..., C)
