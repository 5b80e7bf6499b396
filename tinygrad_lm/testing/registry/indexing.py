"""Registry entries for indexing: getitem (basic, integer arrays, boolean masks), split,
embedding, masked_fill.

The gather ops are where repeated indices matter: their backward must add up the gradient of
every copy, so the integer-array and embedding strategies always include a repeated index
(``index_arrays(..., repeats=True)``), negative indices too for getitem. Basic indices come
from Hypothesis' ``basic_indices``: slices with any step (negative ones included), integers,
``None`` and ``Ellipsis``. masked_fill fills with 0, a large negative number or -inf.
"""

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ... import ops
from .. import strategies as ts
from .spec import Case, OpSpec, array

ALL = frozenset({"noncontiguous", "0-d", "size-1"})


@st.composite
def _basic_index_case(draw, dtype):
    x = draw(array(ts.shapes(), dtype))
    index = draw(hnp.basic_indices(x.shape, allow_newaxis=True, allow_ellipsis=True))
    return Case((x,), {"index": index})


@st.composite
def _integer_index_case(draw, dtype):
    """x[ids], x[:, ids], x[ids0, ids1] or x[ids, ::-1], with a repeat in ``ids``."""
    x = draw(array(ts.shapes(min_dims=1), dtype))
    ids_shape = st.one_of(st.tuples(st.integers(2, 6)), st.tuples(st.integers(1, 3), st.integers(2, 3)))
    ids_shape = draw(ids_shape)

    def ids(axis):
        return draw(ts.index_arrays(x.shape[axis], shape=ids_shape, repeats=True, allow_negative=True))

    form = draw(st.sampled_from(["first", "second", "pair", "with_slice"] if x.ndim > 1 else ["first"]))
    index = {
        "first": lambda: ids(0),
        "second": lambda: (slice(None), ids(1)),
        "pair": lambda: (ids(0), ids(1)),
        "with_slice": lambda: (ids(0), slice(None, None, -1)),
    }[form]()
    return Case((x,), {"index": index})


@st.composite
def _mask_index_case(draw, dtype):
    x = draw(array(ts.shapes(min_dims=1), dtype))
    mask = draw(hnp.arrays(np.bool_, x.shape[: draw(st.integers(1, x.ndim))]))  # first k axes
    return Case((x,), {"index": mask})


@st.composite
def _split_case(draw, dtype):
    x = draw(array(ts.shapes(min_dims=1), dtype))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[axis]
    if draw(st.booleans()):
        sections = draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))
    else:  # cut points; repeats give empty pieces
        sections = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
    return Case((x,), {"sections": sections, "axis": axis})


@st.composite
def _embedding_case(draw, dtype):
    vocab, dim = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    ids_shape = draw(ts.shapes(max_dims=3, max_side=4))
    ids = draw(ts.index_arrays(vocab, shape=ids_shape, repeats=math.prod(ids_shape) >= 2))
    return Case((draw(array((vocab, dim), dtype)), ids))


@st.composite
def _masked_fill_case(draw, dtype):
    x = draw(array(ts.shapes(), dtype))
    rank = draw(st.integers(0, x.ndim))
    mask_shape = tuple(1 if draw(st.booleans()) else n for n in x.shape[x.ndim - rank:])
    mask = draw(hnp.arrays(np.bool_, mask_shape))
    return Case((x, mask), {"value": draw(st.sampled_from([0.0, 2.5, -1e9, -np.inf]))})


SPECS = [
    OpSpec(name="getitem_basic", op="getitem", fn=ops.getitem, inputs=_basic_index_case,
           reference=lambda x, index: x[index], covers=ALL,
           domain="slices with any step, integers, None, Ellipsis"),
    OpSpec(name="getitem_integer_arrays", op="getitem", fn=ops.getitem, inputs=_integer_index_case,
           reference=lambda x, index: x[index], covers=ALL - {"0-d"},
           domain="integer arrays with a repeated (possibly negative) index"),
    OpSpec(name="getitem_boolean_mask", op="getitem", fn=ops.getitem, inputs=_mask_index_case,
           reference=lambda x, index: x[index], covers=ALL - {"0-d"},
           domain="a boolean mask over the first k axes"),
    OpSpec(name="split", op="split", fn=ops.split, inputs=_split_case, covers=ALL - {"0-d"},
           reference=lambda x, sections, axis: np.split(x, sections, axis),
           domain="equal parts or sorted cut points (repeated cuts give empty pieces)"),
    OpSpec(name="embedding", op="embedding", fn=ops.embedding, inputs=_embedding_case,
           reference=lambda weight, ids: weight[ids], differentiable=(0,),
           covers=ALL - {"0-d"}, domain="ids in 0..V-1 with a repeat whenever there are two"),
    OpSpec(name="masked_fill", op="masked_fill", fn=ops.masked_fill, inputs=_masked_fill_case,
           reference=lambda x, mask, value: np.where(mask, value, x), differentiable=(0,),
           covers=ALL | {"broadcast"}, domain="mask broadcastable to x; value may be -inf"),
]
