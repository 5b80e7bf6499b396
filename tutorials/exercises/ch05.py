"""Exercises for chapter 5 (the Transformer block). Edit this file; check it with

    pytest tutorials/exercises -k ch05

Reference solutions: tutorials/solutions/ch05.py (look after you have tried).

1. `gelu_tanh`: GPT-2's tanh approximation of GELU, composed from Tensor primitives.
2. `BrokenTanhGelu`: break-the-backward. The same function as one fused op whose backward
   forgot one factor of the chain rule. Find it with `gradcheck` and fix `backward`.
3. `layer_norm`: layer normalisation composed from Tensor ops, the two details that change
   the numbers (biased variance, eps inside the square root) included.
"""

import math

from tinygrad_lm.engine import Function, array_module

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_CUBIC = 0.044715


def gelu_tanh(x):
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) of a Tensor x, any shape, from Tensor ops
    (`*`, `+`, `tanh`, Python numbers), so its gradient comes from the primitives' backwards.
    Must equal `F.gelu(x, approximate="tanh")` in value and gradient.
    """
    raise NotImplementedError("exercise ch05.gelu_tanh")


class BrokenTanhGelu(Function):
    """y = 0.5 x (1 + t),  t = tanh(u),  u = sqrt(2/pi) (x + 0.044715 x^3).

    dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) du/dx.   (Its backward has a bug: fix it.)
    """

    @staticmethod
    def forward(ctx, x):
        t = array_module(x).tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x))
        ctx.save(x=x, t=t)
        return 0.5 * x * (1 + t)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.x, ctx.t
        du = SQRT_2_OVER_PI
        return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du),)


def layer_norm(x, weight, bias, eps=1e-5):
    """Layer norm over the last axis from Tensor ops: x (..., C), weight (C,), bias (C,) -> (..., C).

        mean = (1/C) sum_c x_c,   var = (1/C) sum_c (x_c - mean)^2   (biased: divide by C)
        y    = (x - mean) / sqrt(var + eps) * weight + bias           (eps INSIDE the root)

    Keep the reduced axis (`keepdims=True`) so the row statistics broadcast along each row.
    Must equal `F.layer_norm(x, weight, bias, eps)` in value and gradient (all three inputs),
    and give `bias` for a constant row.
    """
    raise NotImplementedError("exercise ch05.layer_norm")
