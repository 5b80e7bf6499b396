"""Registry entries for the elementwise ops: arithmetic, nonlinearities, where, clip, astype.

Domains (built into the strategies, so gradcheck never straddles a point where the op is not
differentiable and the reference never leaves its real domain):

- log, sqrt: x in [0.1, 4]; div: the divisor at least 0.5 away from 0.
- pow with a tensor exponent: base in [0.5, 4.5] (the exponent's gradient needs log(base));
  with a number exponent: a positive base for fractional exponents, |base| >= 0.5 otherwise.
- relu, abs: at least 1e-3 from 0; clip: at least 1e-3 from both bounds.
- maximum, minimum: every pair of broadcast values at least 1e-2 apart (no ties; the tie
  convention has its own test).

Binary ops draw broadcastable shapes (different ranks, size-1 axes, 0-d).
"""

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ... import ops
from ...engine import Tensor
from .. import strategies as ts
from .spec import Case, OpSpec, Tolerances, any_layout, array, cases

KINK_MARGIN = 1e-3  # >> gradcheck's eps = 1e-6, so a nudge never crosses a kink
ALL = frozenset({"noncontiguous", "0-d", "size-1"})
BROADCASTING = ALL | {"broadcast"}


def _unary(dtype, low=-4.0, high=4.0, kinks=()):
    shift = (lambda x: ts.away_from(x, kinks, KINK_MARGIN)) if kinks else None
    return cases(st.tuples(array(ts.shapes(), dtype, low, high, shift)))


@st.composite
def _binary_arrays(draw, dtype, low=-4.0, high=4.0, pair=None):
    """Two broadcastable arrays; ``pair(a, b) -> (a, b)`` may move their values."""
    shape_a, shape_b = draw(ts.broadcastable_shapes(2))
    a = draw(ts.float_arrays(shape_a, dtype, low, high))
    b = draw(ts.float_arrays(shape_b, dtype, low, high))
    if pair is not None:
        a, b = (np.asarray(v) for v in pair(a, b))  # keep 0-d arrays arrays, not NumPy scalars
    return draw(any_layout(st.just(a))), draw(any_layout(st.just(b)))


def _binary(dtype, **options):
    return cases(_binary_arrays(dtype, **options))


def _divisor_away_from_zero(a, b):
    return a, ts.away_from(b, [0.0], 0.5)


def _no_ties(a, b):
    return ts.separated(a, b, 1e-2)


@st.composite
def _pow_number_case(draw, dtype):
    exponent = draw(st.sampled_from([2, 3, -1, -2, 0, 0.5, 1.5, -0.5]))
    if float(exponent).is_integer():
        x = draw(array(ts.shapes(), dtype, -3.0, 3.0, lambda x: ts.away_from(x, [0.0], 0.5)))
    else:
        x = draw(array(ts.shapes(), dtype, 0.5, 3.0))
    return Case((x,), {"exponent": exponent})


@st.composite
def _where_arrays(draw, dtype):
    shape_c, shape_a, shape_b = draw(ts.broadcastable_shapes(3))
    cond = draw(hnp.arrays(np.bool_, shape_c))
    return cond, draw(array(shape_a, dtype)), draw(array(shape_b, dtype))


@st.composite
def _clip_case(draw, dtype):
    low = draw(st.one_of(st.none(), st.floats(-3.0, 1.0)))
    high = None if low is not None and draw(st.booleans()) else draw(st.floats(-1.0, 3.0))
    if low is not None and high is not None:
        high = low + abs(high) + 0.1  # hi - lo > 2 * margin
    bounds = [b for b in (low, high) if b is not None]
    x = draw(array(ts.shapes(), dtype, transform=lambda x: ts.away_from(x, bounds, KINK_MARGIN)))
    return Case((x,), {"lo": low, "hi": high})


def _int_arrays():
    return ts.shapes().flatmap(lambda shape: ts.index_arrays(10, shape=shape, allow_negative=True))


_erf_reference = np.vectorize(math.erf, otypes=[np.float64])

_UNARY = [  # name, reference, low, high, kinks, domain
    ("neg", np.negative, -4.0, 4.0, (), ""),
    ("exp", np.exp, -4.0, 4.0, (), ""),
    ("log", np.log, 0.1, 4.0, (), "x in [0.1, 4]"),
    ("sqrt", np.sqrt, 0.1, 4.0, (), "x in [0.1, 4]"),
    ("abs", np.abs, -4.0, 4.0, (0.0,), "|x| >= 1e-3 (kink at 0)"),
    ("tanh", np.tanh, -4.0, 4.0, (), ""),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x)), -8.0, 8.0, (), ""),
    ("erf", _erf_reference, -3.0, 3.0, (), ""),
    ("relu", lambda x: np.maximum(x, 0.0), -4.0, 4.0, (0.0,), "|x| >= 1e-3 (kink at 0)"),
]


def _unary_spec(name, reference, low, high, kinks, domain):
    return OpSpec(
        name=name, op=name, fn=getattr(ops, name), reference=reference, domain=domain,
        inputs=lambda dtype: _unary(dtype, low, high, kinks), covers=ALL,
    )


_BINARY = [  # name, reference, strategy options, domain
    ("add", np.add, {}, ""),
    ("sub", np.subtract, {}, ""),
    ("mul", np.multiply, {}, ""),
    ("div", np.divide, {"pair": _divisor_away_from_zero}, "|b| >= 0.5"),
    ("maximum", np.maximum, {"pair": _no_ties}, "|a - b| >= 1e-2 for every broadcast pair"),
    ("minimum", np.minimum, {"pair": _no_ties}, "|a - b| >= 1e-2 for every broadcast pair"),
]


def _binary_spec(name, reference, options, domain):
    return OpSpec(
        name=name, op=name, fn=getattr(ops, name), reference=reference, domain=domain,
        inputs=lambda dtype: _binary(dtype, **options), covers=BROADCASTING,
    )


SPECS = [
    *(_unary_spec(*entry) for entry in _UNARY),
    *(_binary_spec(*entry) for entry in _BINARY),
    OpSpec(
        name="pow", op="pow", fn=ops.pow, reference=np.power,
        inputs=lambda dtype: _binary(dtype, pair=lambda a, b: (np.abs(a) + 0.5, b)),
        domain="base in [0.5, 4.5], exponent in [-4, 4]", covers=BROADCASTING,
    ),
    OpSpec(
        name="pow_number_exponent", op="pow", fn=lambda x, exponent: x**exponent,
        reference=lambda x, exponent: np.power(x, exponent), differentiable=(0,),
        inputs=_pow_number_case,
        domain="base > 0 for fractional exponents, |base| >= 0.5 for integer ones", covers=ALL,
    ),
    OpSpec(
        name="pow_number_base", op="pow", fn=lambda x, base: base**x, reference=lambda x, base: base**x,
        inputs=lambda dtype: st.floats(0.5, 3.0).flatmap(
            lambda base: cases(st.tuples(array(ts.shapes(), dtype, -3.0, 3.0)), base=base)),
        domain="base in [0.5, 3]", covers=ALL,
    ),
    OpSpec(
        name="where", op="where", fn=ops.where, reference=np.where, differentiable=(1, 2),
        inputs=lambda dtype: cases(_where_arrays(dtype)), covers=BROADCASTING,
    ),
    OpSpec(
        name="clip", op="clip", fn=lambda x, lo, hi: ops.clip(x, lo, hi),
        reference=lambda x, lo, hi: np.clip(x, lo, hi),
        inputs=_clip_case,
        domain="x at least 1e-3 from each bound; either bound may be None", covers=ALL,
    ),
    OpSpec(
        name="astype", op="astype", fn=ops.astype, reference=lambda x, dtype: x.astype(dtype),
        out_dtype=lambda _, kwargs: np.dtype(kwargs["dtype"]),
        inputs=lambda dtype: st.sampled_from(["float32", "float64"]).flatmap(
            lambda target: cases(st.tuples(array(ts.shapes(), dtype)), dtype=target)),
        # The output is rounded to float32, which puts up to ulp32(4) / (2 eps) = 2.4e-5 of error
        # into a central difference with eps = 1e-2; the backward itself is exact.
        tolerances=Tolerances(grad_eps=1e-2, grad_atol=1e-4, grad_rtol=1e-4),
        domain="|x| <= 4", covers=ALL,
    ),
    OpSpec(
        name="astype_float16", op="astype", fn=ops.astype, reference=lambda x, dtype: x.astype(dtype),
        differentiable=(), out_dtype=lambda _, kwargs: np.dtype(kwargs["dtype"]),
        inputs=lambda dtype: cases(st.tuples(array(ts.shapes(), dtype)), dtype="float16"),
        domain="forward only: float16 rounding (ulp 4e-3) drowns a finite difference", covers=ALL,
    ),
    OpSpec(
        name="astype_from_int", op="astype", fn=lambda x, dtype: ops.astype(Tensor(x), dtype),
        reference=lambda x, dtype: x.astype(dtype), differentiable=(),
        out_dtype=lambda _, kwargs: np.dtype(kwargs["dtype"]),
        inputs=lambda dtype: cases(st.tuples(_int_arrays()), dtype=np.dtype(dtype).name),
        domain="forward only: integer tensors never require grad",
    ),
]
