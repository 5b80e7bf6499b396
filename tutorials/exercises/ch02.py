"""Exercises for chapter 2 (from scalars to tensors, and checking gradients). Edit this file;
check it with

    pytest tutorials/exercises -k ch02

Reference solutions: tutorials/solutions/ch02.py (look after you have tried).

1. `Softsign`: write an op, forward and backward, and prove it with `gradcheck`.
2. `Hypot`: an op with two inputs that broadcast (the engine un-broadcasts; you do not).
3. `BrokenSigmoid`: break-the-backward. A copy of the library's sigmoid with one bug in its
   backward. Run `gradcheck(BrokenSigmoid.apply, x)` on a float64 array, read what it says,
   find the bug, fix it. Change only `backward`.
"""

from tinygrad_lm.engine import Function, array_module


class Softsign(Function):
    """out = x / (1 + |x|)   (any shape -> the same shape).

    Derive d out / dx by hand (the quotient rule on each side of 0; it is continuous at 0),
    save what backward needs with `ctx.save(name=array)`, and return `(g * slope,)` from
    backward. Use `xp = array_module(x)` for the array functions (`xp.abs`), as the library's
    ops do. It must stay finite for |x| up to 1e300.
    """

    @staticmethod
    def forward(ctx, x):
        raise NotImplementedError("exercise ch02.Softsign.forward")

    @staticmethod
    def backward(ctx, g):
        raise NotImplementedError("exercise ch02.Softsign.backward")


class Hypot(Function):
    """out = sqrt(a^2 + b^2), elementwise; a and b broadcast like NumPy's (e.g. (3, 1) and (4,)).

    Backward returns one gradient per input, each of the BROADCAST output's shape: the engine
    sums it back to the input's shape. Return None for an input whose
    `ctx.needs_input_grad[i]` is False. Use `xp.hypot`, which does not overflow where
    a^2 does (a = 1e200). Inputs where a = b = 0 (no derivative) are not tested.
    """

    @staticmethod
    def forward(ctx, a, b):
        raise NotImplementedError("exercise ch02.Hypot.forward")

    @staticmethod
    def backward(ctx, g):
        raise NotImplementedError("exercise ch02.Hypot.backward")


class BrokenSigmoid(Function):
    """out = 1 / (1 + e^-x).  dx = g * out * (1 - out).   (Its backward has a bug: fix it.)

    Numerics: computed from e = exp(-|x|) <= 1 as 1/(1+e) for x >= 0 and e/(1+e) for x < 0,
    so neither branch overflows for large |x|.
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
        return (g * ctx.x * (1 - ctx.x),)
