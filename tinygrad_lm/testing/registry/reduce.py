"""Registry entries for the reductions: sum mean var max min logsumexp argmax argmin.

Every entry reduces over ``axis`` = None, an int or a tuple (negative axes and the empty
tuple included) with ``keepdims`` both ways, on shapes with 0-d and size-1 axes.

Domains: max and min draw values at least 1e-3 apart, so the maximum is unique and a
gradcheck nudge never changes which element it is (the tie convention has its own test).
argmax/argmin are forward only; ties are allowed there (first index wins, as in NumPy).

Forward error scales: a sum of values of both signs can be far smaller than its terms, and
its rounding error follows the terms, so sum/mean compare against sum|x| (mean|x|) and var
against mean(x^2).
"""

import numpy as np
from hypothesis import strategies as st

from ... import ops
from .. import strategies as ts
from .spec import Case, OpSpec, array

ALL = frozenset({"noncontiguous", "0-d", "size-1"})


@st.composite
def _reduction_case(draw, dtype, transform=None, ddof=False, single_axis=False):
    x = draw(array(ts.shapes(), dtype, transform=transform))
    if single_axis:  # argmax/argmin take None or one int
        axis = draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1))) if x.ndim else None
    else:
        axis = draw(ts.reduction_axes(x.ndim))
    kwargs = {"axis": axis, "keepdims": draw(st.booleans())}
    if ddof:
        reduced = x.size // np.ones(x.shape).sum(axis=axis).size  # elements per output value
        kwargs["ddof"] = draw(st.sampled_from([0, 1] if reduced > 1 else [0]))
    return Case((x,), kwargs)


def _no_ties(x):
    return ts.distinct(x, 1e-3)


def _logsumexp_reference(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def _mean_square(x, axis, keepdims, ddof):
    return np.mean(x * x, axis=axis, keepdims=keepdims)


SPECS = [
    OpSpec(
        name="sum", op="sum", fn=ops.sum, reference=np.sum,
        inputs=_reduction_case, covers=ALL,
        error_scale=lambda x, axis, keepdims: np.sum(np.abs(x), axis=axis, keepdims=keepdims),
    ),
    OpSpec(
        name="mean", op="mean", fn=ops.mean, reference=np.mean,
        inputs=_reduction_case, covers=ALL,
        error_scale=lambda x, axis, keepdims: np.mean(np.abs(x), axis=axis, keepdims=keepdims),
    ),
    OpSpec(
        name="var", op="var", fn=ops.var, reference=np.var, covers=ALL,
        inputs=lambda dtype: _reduction_case(dtype, ddof=True), error_scale=_mean_square,
        domain="ddof=1 only when more than one element is reduced",
    ),
    OpSpec(
        name="max", op="max", fn=ops.max, reference=np.max, covers=ALL,
        inputs=lambda dtype: _reduction_case(dtype, transform=_no_ties),
        domain="elements at least 1e-3 apart (no ties)",
    ),
    OpSpec(
        name="min", op="min", fn=ops.min, reference=np.min, covers=ALL,
        inputs=lambda dtype: _reduction_case(dtype, transform=_no_ties),
        domain="elements at least 1e-3 apart (no ties)",
    ),
    OpSpec(
        name="logsumexp", op="logsumexp", fn=ops.logsumexp, reference=_logsumexp_reference,
        inputs=_reduction_case, covers=ALL,
    ),
    OpSpec(
        name="argmax", op="argmax", fn=ops.argmax, reference=np.argmax, differentiable=(),
        inputs=lambda dtype: _reduction_case(dtype, single_axis=True), covers=ALL,
        out_dtype=lambda *_: np.dtype(np.int64), domain="forward only; ties allowed (first index)",
    ),
    OpSpec(
        name="argmin", op="argmin", fn=ops.argmin, reference=np.argmin, differentiable=(),
        inputs=lambda dtype: _reduction_case(dtype, single_axis=True), covers=ALL,
        out_dtype=lambda *_: np.dtype(np.int64), domain="forward only; ties allowed (first index)",
    ),
]
