"""Registry entries for the movement ops: reshape permute transpose swapaxes expand broadcast_to
squeeze unsqueeze concatenate stack pad.

They only move values, so every reference is the NumPy function of the same name and the
domain is the whole real line. The strategies build valid arguments for the drawn shape:
a random factorisation for reshape (with -1 sometimes), a random permutation, the size-1 axes
for squeeze, pieces that differ only along the joining axis for concatenate.
"""

import numpy as np
from hypothesis import strategies as st

from ... import ops
from .. import strategies as ts
from .spec import Case, OpSpec, array

ALL = frozenset({"noncontiguous", "0-d", "size-1"})


@st.composite
def _reshape_case(draw, dtype):
    x = draw(array(ts.shapes(), dtype))
    ndim = draw(st.integers(0 if x.size == 1 else 1, 4))
    shape = [1] * ndim
    for factor in _prime_factors(x.size):  # each prime factor of the size goes to some axis
        shape[draw(st.integers(0, ndim - 1))] *= factor
    if ndim and draw(st.booleans()):
        shape[draw(st.integers(0, ndim - 1))] = -1  # let reshape infer one side
    return Case((x,), {"shape": tuple(shape)})


def _prime_factors(n):
    factors, p = [], 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    return factors


@st.composite
def _permute_case(draw, dtype, allow_default=False):
    x = draw(array(ts.shapes(), dtype))
    axes = tuple(draw(st.permutations(range(x.ndim))))
    if allow_default and draw(st.booleans()):
        axes = ()  # transpose() with no axes reverses them
    return Case((x,), {"axes": axes})


@st.composite
def _swapaxes_case(draw, dtype):
    x = draw(array(ts.shapes(min_dims=1), dtype))
    first, second = (draw(st.integers(-x.ndim, x.ndim - 1)) for _ in range(2))
    return Case((x,), {"axis1": first, "axis2": second})


@st.composite
def _expand_case(draw, dtype):
    target = draw(ts.shapes())
    rank = draw(st.integers(0, len(target)))
    shape = tuple(1 if draw(st.booleans()) else n for n in target[len(target) - rank:])
    return Case((draw(array(shape, dtype)),), {"shape": target})


@st.composite
def _squeeze_case(draw, dtype):
    x = draw(array(ts.shapes(), dtype))
    ones = [i for i, n in enumerate(x.shape) if n == 1]
    if not ones or draw(st.booleans()):
        return Case((x,), {"axis": None})
    chosen = draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))
    chosen = [a - x.ndim if draw(st.booleans()) else a for a in chosen]
    return Case((x,), {"axis": chosen[0] if len(chosen) == 1 else tuple(chosen)})


@st.composite
def _unsqueeze_case(draw, dtype):
    x = draw(array(ts.shapes(max_dims=3), dtype))
    return Case((x,), {"axis": draw(st.integers(-x.ndim - 1, x.ndim))})


@st.composite
def _concatenate_case(draw, dtype):
    shape = draw(ts.shapes(min_dims=1, max_dims=3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    pieces = []
    for _ in range(draw(st.integers(1, 3))):
        piece = list(shape)
        piece[axis] = draw(st.integers(1, 3))  # pieces differ only along ``axis``
        pieces.append(draw(array(tuple(piece), dtype)))
    return Case(tuple(pieces), {"axis": axis})


@st.composite
def _stack_case(draw, dtype):
    shape = draw(ts.shapes(max_dims=3))
    pieces = tuple(draw(array(shape, dtype)) for _ in range(draw(st.integers(1, 3))))
    return Case(pieces, {"axis": draw(st.integers(-len(shape) - 1, len(shape)))})


@st.composite
def _pad_case(draw, dtype):
    x = draw(array(ts.shapes(min_dims=1, max_dims=3), dtype))  # NumPy cannot pad a 0-d array
    widths = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(x.ndim))
    return Case((x,), {"pad_width": widths, "value": draw(st.floats(-2.0, 2.0))})


SPECS = [
    OpSpec(name="reshape", op="reshape", fn=lambda x, shape: ops.reshape(x, *shape),
           reference=lambda x, shape: np.reshape(x, shape), inputs=_reshape_case, covers=ALL),
    OpSpec(name="permute", op="permute", fn=lambda x, axes: ops.permute(x, *axes),
           reference=lambda x, axes: np.transpose(x, axes), inputs=_permute_case, covers=ALL),
    OpSpec(name="transpose", op="transpose", fn=lambda x, axes: ops.transpose(x, *axes),
           reference=lambda x, axes: np.transpose(x, axes or None), covers=ALL,
           inputs=lambda dtype: _permute_case(dtype, allow_default=True)),
    OpSpec(name="swapaxes", op="swapaxes", fn=ops.swapaxes, reference=np.swapaxes,
           inputs=_swapaxes_case, covers=ALL - {"0-d"}),
    OpSpec(name="expand", op="expand", fn=lambda x, shape: ops.expand(x, *shape),
           reference=np.broadcast_to, inputs=_expand_case, covers=ALL | {"broadcast"}),
    OpSpec(name="broadcast_to", op="broadcast_to", fn=lambda x, shape: ops.broadcast_to(x, shape),
           reference=np.broadcast_to,
           inputs=_expand_case, covers=ALL | {"broadcast"}),
    OpSpec(name="squeeze", op="squeeze", fn=ops.squeeze, reference=np.squeeze,
           inputs=_squeeze_case, covers=ALL),
    OpSpec(name="unsqueeze", op="unsqueeze", fn=ops.unsqueeze, reference=np.expand_dims,
           inputs=_unsqueeze_case, covers=ALL),
    OpSpec(name="concatenate", op="concatenate", fn=lambda *xs, axis: ops.concatenate(xs, axis),
           reference=lambda *xs, axis: np.concatenate(xs, axis), inputs=_concatenate_case,
           covers=ALL - {"0-d"}),
    OpSpec(name="stack", op="stack", fn=lambda *xs, axis: ops.stack(xs, axis),
           reference=lambda *xs, axis: np.stack(xs, axis), inputs=_stack_case, covers=ALL),
    OpSpec(name="pad", op="pad", fn=ops.pad,
           reference=lambda x, pad_width, value: np.pad(x, pad_width, constant_values=value),
           inputs=_pad_case, covers=ALL - {"0-d"}),
]
