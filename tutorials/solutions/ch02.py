"""Reference solutions to chapter 2's exercises (tutorials/exercises/ch02.py states the tasks)."""

from tinygrad_lm.engine import Function, array_module


class Softsign(Function):
    """out = x / (1 + |x|).  dx = g / (1 + |x|)^2 (the same formula on both sides of 0)."""

    @staticmethod
    def forward(ctx, x):
        denominator = 1 + array_module(x).abs(x)  # >= 1: no division by zero, finite for any finite x
        ctx.save(denominator=denominator)
        return x / denominator

    @staticmethod
    def backward(ctx, g):
        return (g / ctx.denominator / ctx.denominator,)  # denominator**2 overflows for |x| > 1e154


class Hypot(Function):
    """out = sqrt(a^2 + b^2).  da = g * a / out,  db = g * b / out (broadcast shapes)."""

    @staticmethod
    def forward(ctx, a, b):
        out = array_module(a).hypot(a, b)
        ctx.save(a=a, b=b, out=out)
        return out

    @staticmethod
    def backward(ctx, g):
        da = g * ctx.a / ctx.out if ctx.needs_input_grad[0] else None
        db = g * ctx.b / ctx.out if ctx.needs_input_grad[1] else None
        return da, db


class BrokenSigmoid(Function):
    """out = 1 / (1 + e^-x).  dx = g * out * (1 - out).

    The bug was `g * ctx.x * (1 - ctx.x)`: the slope written with the input where the formula
    needs the output. gradcheck reported every element wrong.
    """

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        e = xp.exp(-xp.abs(x))
        out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save(x=x, out=out)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.out * (1 - ctx.out),)
