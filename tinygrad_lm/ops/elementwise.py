"""Elementwise primitives: arithmetic, the usual nonlinearities, where, clip and casts.

Every op here maps each element (or each broadcast pair of elements) on its own, so its
backward is the upstream gradient times the local derivative, elementwise. Binary ops
broadcast like NumPy; their backward returns gradients of the broadcast output shape and the
engine sums them back to each input's shape (``engine/autograd.py``), so no op here
un-broadcasts.

Kinks: relu, abs, maximum/minimum and clip are not differentiable at their kinks. We take
relu'(0) = 0, abs'(0) = 0, clip passes the gradient on the closed interval [lo, hi], and
maximum/minimum split the gradient evenly between equal inputs (the same convention as the
max/min reductions).
"""

import math

from ..engine import Function, Tensor, array_module
from ..engine.dtypes import resolve_dtype
from ..engine.errors import DTypeError
from ._operands import broadcast_shape, operands, require_float
from ._special import erf as _erf


# --- binary arithmetic ---------------------------------------------------------------------
class Add(Function):
    """out = a + b.  da = g, db = g (broadcast shapes; the engine un-broadcasts)."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    """out = a - b.  da = g, db = -g."""

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, -g


class Mul(Function):
    """out = a * b.  da = g * b, db = g * a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save(a=a, b=b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        da = g * ctx.b if ctx.needs_input_grad[0] else None
        db = g * ctx.a if ctx.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """out = a / b.  da = g / b, db = -g * a / b^2 = -g * out / b."""

    @staticmethod
    def forward(ctx, a, b):
        out = a / b
        ctx.save(b=b, out=out)
        return out

    @staticmethod
    def backward(ctx, g):
        da = g / ctx.b if ctx.needs_input_grad[0] else None
        db = -g * ctx.out / ctx.b if ctx.needs_input_grad[1] else None
        return da, db


class Pow(Function):
    """out = a ** b.  da = g * b * a^(b-1), db = g * out * log(a)  (db needs a > 0)."""

    @staticmethod
    def forward(ctx, a, b):
        out = a**b
        ctx.save(a=a, b=b, out=out)
        return out

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        da = g * ctx.b * ctx.a ** (ctx.b - 1) if ctx.needs_input_grad[0] else None
        db = g * ctx.out * xp.log(ctx.a) if ctx.needs_input_grad[1] else None
        return da, db


class Maximum(Function):
    """out = max(a, b) elementwise.  The gradient goes to the larger input; ties split it 1/2, 1/2."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save(a=a, b=b)
        return array_module(a).maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        share = (ctx.a > ctx.b) + 0.5 * (ctx.a == ctx.b)  # 1, 1/2 or 0 for a
        share = share.astype(g.dtype)
        return g * share, g * (1 - share)


class Minimum(Function):
    """out = min(a, b) elementwise.  The gradient goes to the smaller input; ties split it."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save(a=a, b=b)
        return array_module(a).minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        share = ((ctx.a < ctx.b) + 0.5 * (ctx.a == ctx.b)).astype(g.dtype)
        return g * share, g * (1 - share)


# --- unary ---------------------------------------------------------------------------------
class Neg(Function):
    """out = -x.  dx = -g."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return (-g,)


class Exp(Function):
    """out = e^x.  dx = g * out."""

    @staticmethod
    def forward(ctx, x):
        out = array_module(x).exp(x)
        ctx.save(out=out)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.out,)


class Log(Function):
    """out = ln x (x > 0).  dx = g / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save(x=x)
        return array_module(x).log(x)

    @staticmethod
    def backward(ctx, g):
        return (g / ctx.x,)


class Sqrt(Function):
    """out = sqrt(x) (x > 0 for a finite gradient).  dx = g / (2 out)."""

    @staticmethod
    def forward(ctx, x):
        out = array_module(x).sqrt(x)
        ctx.save(out=out)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g / (2 * ctx.out),)


class Abs(Function):
    """out = |x|.  dx = g * sign(x), with sign(0) = 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save(x=x)
        return array_module(x).abs(x)

    @staticmethod
    def backward(ctx, g):
        return (g * array_module(g).sign(ctx.x),)


class Tanh(Function):
    """out = tanh x.  dx = g * (1 - out^2)."""

    @staticmethod
    def forward(ctx, x):
        out = array_module(x).tanh(x)
        ctx.save(out=out)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g * (1 - ctx.out * ctx.out),)


class Sigmoid(Function):
    """out = 1 / (1 + e^-x).  dx = g * out * (1 - out).

    Numerics: computed from e = exp(-|x|) <= 1 as 1/(1+e) for x >= 0 and e/(1+e) for x < 0,
    so neither branch overflows for large |x|.
    """

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        e = xp.exp(-xp.abs(x))
        out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save(out=out)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.out * (1 - ctx.out),)


class Erf(Function):
    """out = erf x = 2/sqrt(pi) * integral_0^x e^(-t^2) dt.  dx = g * 2/sqrt(pi) * e^(-x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save(x=x)
        return _erf(x)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        return (g * (2 / math.sqrt(math.pi)) * xp.exp(-ctx.x * ctx.x),)


class Relu(Function):
    """out = max(x, 0).  dx = g where x > 0, else 0 (relu'(0) = 0)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save(x=x)
        return array_module(x).maximum(x, 0)

    @staticmethod
    def backward(ctx, g):
        return (g * (ctx.x > 0),)


class Clip(Function):
    """out = min(max(x, lo), hi).  dx = g where lo <= x <= hi, else 0."""

    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        xp = array_module(x)
        ctx.save(x=x)
        ctx.lo, ctx.hi = lo, hi
        return xp.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        inside = True
        if ctx.lo is not None:
            inside = inside & (ctx.x >= ctx.lo)
        if ctx.hi is not None:
            inside = inside & (ctx.x <= ctx.hi)
        return (g * inside,)


class Where(Function):
    """out = a where cond else b.  da = g * cond, db = g * (not cond); cond gets no gradient."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save(cond=cond)
        return array_module(a).where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        zero = g.dtype.type(0)
        xp = array_module(g)
        da = xp.where(ctx.cond, g, zero) if ctx.needs_input_grad[1] else None
        db = xp.where(ctx.cond, zero, g) if ctx.needs_input_grad[2] else None
        return None, da, db


class Cast(Function):
    """out = x converted to ``dtype``.  dx = g converted back to x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return (g.astype(ctx.in_dtype),)


# --- the wrappers users call ---------------------------------------------------------------
def add(a, b):
    return Add.apply(*operands("add", a, b))


def sub(a, b):
    return Sub.apply(*operands("sub", a, b))


def mul(a, b):
    return Mul.apply(*operands("mul", a, b))


def div(a, b):
    return Div.apply(*_as_float_pair(*operands("div", a, b)))


def pow(a, b):
    return Pow.apply(*operands("pow", a, b))


def maximum(a, b):
    return Maximum.apply(*operands("maximum", a, b))


def minimum(a, b):
    return Minimum.apply(*operands("minimum", a, b))


def neg(x):
    return Neg.apply(*operands("neg", x))


def _unary(function, name):
    def op(x):
        (x,) = operands(name, x)
        return function.apply(require_float(x))

    op.__name__ = name
    op.__doc__ = function.__doc__
    return op


exp = _unary(Exp, "exp")
log = _unary(Log, "log")
sqrt = _unary(Sqrt, "sqrt")
tanh = _unary(Tanh, "tanh")
sigmoid = _unary(Sigmoid, "sigmoid")
erf = _unary(Erf, "erf")


def abs(x):
    return Abs.apply(*operands("abs", x))


def relu(x):
    return Relu.apply(*operands("relu", x))


def clip(x, lo=None, hi=None):
    """Clamp to [lo, hi]; either bound may be None."""
    (x,) = operands("clip", x)
    return Clip.apply(x, lo=lo, hi=hi)


def where(cond, a, b):
    """``a`` where ``cond`` (a boolean tensor or array) holds, else ``b``; broadcasts all three."""
    a, b = operands("where", a, b)
    cond = cond if isinstance(cond, Tensor) else Tensor(cond)
    if cond.dtype.kind != "b":
        raise DTypeError(f"where: cond must be a boolean tensor, got {cond.dtype}; compare first, e.g. x > 0")
    broadcast_shape("where", cond.shape, a.shape, b.shape)
    return Where.apply(cond, a, b)


def astype(x, dtype):
    """A differentiable cast: ``x.astype('float64')``; the gradient is cast back."""
    dtype = resolve_dtype(dtype, "astype")
    if x.dtype == dtype:
        return x
    return Cast.apply(x, dtype=dtype)


def _as_float_pair(a, b):
    """True division of integer tensors gives the default float, as in NumPy's spirit."""
    return [require_float(v) for v in (a, b)]  # after operands(): both ints, or both one float
