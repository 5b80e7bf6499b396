"""Hypothesis strategies for testing array code: shapes, arrays, layouts, indices, masks.

Public so that you can test your own ops the way ``tinygrad_lm`` tests its own:

    from hypothesis import given
    from tinygrad_lm.testing import strategies as ts

    @given(ts.float_arrays(ts.shapes(max_dims=3)))
    def test_my_op(x): ...

Strategies (each a ``@st.composite``, so they compose with ``.map``, ``flatmap`` and ``draw``):

    shapes                       tuples of sides; 0-d shapes and size-1 axes come up often
    broadcastable_shapes         n shapes that broadcast together (different ranks, 1-axes)
    float_arrays                 bounded finite floats of a given dtype
    extreme_float_arrays         ordinary floats mixed with +-inf, NaN, +-max, +-1e4, subnormals
    noncontiguous                the same values laid out as a transposed/strided/reversed view
    index_arrays                 integer index arrays, optionally with a guaranteed repeat
    reduction_axes               None, an int or a tuple of axes (negatives included)
    attention_shapes_and_masks   (B, H, Tq, Tk, D) and a boolean mask, one visible key per row

Plain functions that move values off the places where an op is not differentiable
(apply them with ``.map``):

    away_from(x, kinks, margin)  no element within ``margin`` of a kink (relu at 0, clip bounds)
    distinct(x, margin)          no two elements within ``margin`` (max/min without ties)
    separated(a, b, margin)      every a-value at least ``margin`` from every b-value (maximum)

Left out: complex dtypes, NaN/inf inputs outside ``extreme_float_arrays`` (tests that need
them ask for them on purpose), empty arrays unless ``min_side=0`` is asked for.
"""

import itertools
import math
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


@st.composite
def shapes(draw, min_dims=0, max_dims=4, min_side=1, max_side=5):
    """A shape with ``min_dims..max_dims`` axes of ``min_side..max_side``; 1-axes are drawn often."""
    side = st.integers(min_side, max_side)
    if min_side <= 1 <= max_side:
        side = st.one_of(st.just(1), side)  # size-1 axes are where broadcasting bugs live
    ndim = draw(st.integers(min_dims, max_dims))
    return tuple(draw(side) for _ in range(ndim))


@st.composite
def broadcastable_shapes(draw, n=2, min_dims=0, max_dims=4, min_side=1, max_side=5):
    """A tuple of ``n`` shapes that broadcast together (NumPy rules).

    A result shape is drawn first; each input keeps a trailing part of it (so ranks differ)
    with some axes replaced by 1.
    """
    result = draw(shapes(min_dims, max_dims, min_side, max_side))
    drawn = []
    for _ in range(n):
        rank = draw(st.integers(min(min_dims, len(result)), len(result)))
        tail = result[len(result) - rank:]
        drawn.append(tuple(1 if draw(st.booleans()) else side for side in tail))
    return tuple(drawn)


def _representable(value, dtype, round_up):
    """``value`` as the nearest ``dtype`` number on the inside of a bound (Hypothesis needs it exact)."""
    info = np.finfo(dtype)
    if not -float(info.max) <= value <= float(info.max):
        raise ValueError(f"float_arrays: bound {value} is outside the finite range of {dtype} "
                         f"(+-{float(info.max):g})")
    cast = dtype.type(value)
    if round_up and float(cast) < value:
        cast = np.nextafter(cast, dtype.type(np.inf))
    if not round_up and float(cast) > value:
        cast = np.nextafter(cast, dtype.type(-np.inf))
    return float(cast)


def float_arrays(shape, dtype=np.float64, min_value=-4.0, max_value=4.0):
    """Arrays of ``shape`` (a tuple or a strategy) with finite values in [min_value, max_value].

    The bounds are rounded inwards to numbers ``dtype`` can hold; subnormals are left out for
    float16/float32 (some kernels flush them to zero).
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"float_arrays: dtype must be float16, float32 or float64, got {dtype}")
    low = _representable(min_value, dtype, round_up=True)
    high = _representable(max_value, dtype, round_up=False)
    if low > high:
        raise ValueError(f"float_arrays: empty range [{min_value}, {max_value}] for {dtype}")
    elements = st.floats(low, high, width=8 * dtype.itemsize, allow_nan=False,
                         allow_infinity=False, allow_subnormal=None if dtype == np.float64 else False)
    return hnp.arrays(dtype, shape, elements=elements)


def extreme_values(dtype):
    """The values an op's edge cases live at, for ``dtype``: +-inf, NaN, +-0, +-max, +-1e4
    (+-max where the dtype's max is smaller), +-1e-4, the smallest subnormal and the smallest
    normal. Returns a tuple of floats that ``dtype`` holds exactly."""
    info = np.finfo(dtype)
    big = min(1e4, float(info.max))
    values = (math.inf, -math.inf, math.nan, 0.0, -0.0, float(info.max), -float(info.max), big, -big,
              1e-4, -1e-4, float(info.smallest_subnormal), float(info.smallest_normal))
    return tuple(float(np.dtype(dtype).type(v)) for v in values)


def extreme_float_arrays(shape, dtype=np.float64, min_value=-4.0, max_value=4.0):
    """Arrays of ``shape`` whose elements are ordinary (``float_arrays``' range) or extreme:
    each element is one of ``extreme_values(dtype)`` about one time in three, so a row of a few
    elements often holds one, and rows of only ordinary values still come up."""
    dtype = np.dtype(dtype)
    ordinary = float_arrays((), dtype, min_value, max_value).map(float)
    elements = st.one_of(ordinary, ordinary, st.sampled_from(extreme_values(dtype)))
    return hnp.arrays(dtype, shape, elements=elements)


def noncontiguous_copy(array, layout="strided"):
    """A copy of ``array`` with equal values and a non-contiguous layout (when size > 1).

    layout: "strided" (every axis has step 2 inside a bigger buffer), "reversed" (a negative
    stride) or "transposed" (memory in reversed axis order). Size-0/1 arrays are contiguous
    by NumPy's definition and come back as plain copies; a layout that would still be
    contiguous (e.g. transposing (1, 5)) falls back to "strided".
    """
    if array.size <= 1:
        return array.copy()
    if layout == "transposed":
        order = tuple(reversed(range(array.ndim)))
        buffer = np.ascontiguousarray(array.transpose(order))  # memory in reversed axis order
        view = buffer.transpose(np.argsort(order))  # back to array's shape, strides reversed
    elif layout == "reversed":
        axis = next(i for i, n in enumerate(array.shape) if n > 1)
        view = np.flip(np.flip(array, axis).copy(), axis)  # negative stride on ``axis``
    elif layout == "strided":
        buffer = np.zeros(tuple(2 * n for n in array.shape), dtype=array.dtype)  # (n, ...) -> (2n, ...)
        view = buffer[(slice(None, None, 2),) * array.ndim]  # (2n, ...) -> (n, ...), stride 2
        view[...] = array
    else:
        raise ValueError(f"noncontiguous_copy: layout must be 'strided', 'reversed' or "
                         f"'transposed', got {layout!r}")
    if view.flags.c_contiguous:
        return noncontiguous_copy(array, "strided")
    return view


@st.composite
def noncontiguous(draw, arrays):
    """Arrays from ``arrays`` re-laid out as non-contiguous views holding the same values."""
    array = draw(arrays)
    return noncontiguous_copy(array, draw(st.sampled_from(["strided", "reversed", "transposed"])))


@st.composite
def index_arrays(draw, size, shape=None, repeats=False, allow_negative=False):
    """Integer arrays indexing an axis of length ``size``.

    shape: a tuple or strategy (default: 1-D of length 1..8, at least 2 with ``repeats``).
    repeats: guarantee that some position is indexed twice (x[[2, 0, 2]]).
    allow_negative: draw from -size..size-1 (NumPy's negative indices) instead of 0..size-1.
    """
    if size < 1:
        raise ValueError(f"index_arrays: size must be at least 1, got {size}")
    if shape is None:
        shape = st.integers(2 if repeats else 1, 8).map(lambda n: (n,))
    shape = draw(shape) if isinstance(shape, st.SearchStrategy) else tuple(shape)
    if repeats and math.prod(shape) < 2:
        raise ValueError(f"index_arrays: shape {shape} has fewer than 2 elements, so it cannot repeat")
    low = -size if allow_negative else 0
    ids = draw(hnp.arrays(np.int64, shape, elements=st.integers(low, size - 1)))
    if repeats and len(np.unique(ids % size)) == ids.size:
        flat = ids.reshape(-1)  # a view: hnp arrays are contiguous
        source, target = draw(st.lists(st.integers(0, ids.size - 1), min_size=2, max_size=2, unique=True))
        flat[target] = flat[source]
    return ids


@st.composite
def reduction_axes(draw, ndim):
    """An ``axis`` argument for a reduction over an ``ndim``-d array: None, an int or a tuple."""
    kinds = ["all", "tuple", "int"] if ndim else ["all", "tuple"]
    kind = draw(st.sampled_from(kinds))
    if kind == "all":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    chosen = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
    return tuple(a - ndim if draw(st.booleans()) else a for a in chosen)  # some counted from the end


def away_from(array, kinks, margin):
    """``array`` with every element closer than ``margin`` to a kink moved to kink +- margin.

    Elements keep their side of the kink (one exactly at it goes up). The kinks must be more
    than ``2 * margin`` apart so that moving off one cannot land near another.
    """
    kinks = sorted(float(k) for k in kinks)
    if any(b - a <= 2 * margin for a, b in itertools.pairwise(kinks)):
        raise ValueError(f"away_from: kinks {kinks} must be more than 2 * margin = {2 * margin} apart")
    moved = np.asarray(array, dtype=np.float64)
    for kink in kinks:
        offset = moved - kink
        moved = np.where(np.abs(offset) < margin, kink + np.where(offset < 0, -margin, margin), moved)
    return moved.astype(np.asarray(array).dtype)


def distinct(array, margin):
    """``array`` with its order kept but any two elements at least ``margin`` apart.

    The k-th smallest element is raised by k * margin, so sorted neighbours differ by at least
    margin (values grow by at most (size - 1) * margin).
    """
    array = np.asarray(array)
    flat = array.reshape(-1).astype(np.float64)  # (...) -> (N,)
    ranks = np.empty(flat.size, dtype=np.int64)
    ranks[np.argsort(flat, kind="stable")] = np.arange(flat.size)
    return (flat + ranks * margin).reshape(array.shape).astype(array.dtype)  # (N,) -> (...)


def separated(a, b, margin):
    """(a, b) moved onto interleaved grids so that |a_i - b_j| >= margin for every pair.

    a goes to the nearest even multiple of ``margin``, b to an odd one, so ``maximum(a, b)``
    never meets a tie whatever way they broadcast. Each value moves by at most ``margin``.
    """
    step = 2 * margin
    a = np.asarray(a)
    b = np.asarray(b)
    on_even = np.asarray(np.round(a / step) * step)  # 0-d stays an array, not a NumPy scalar
    on_odd = np.asarray(np.floor(b / step) * step + margin)
    return on_even.astype(a.dtype), on_odd.astype(b.dtype)


class AttentionShapes(NamedTuple):
    """Sizes of one attention call and a mask; ``mask[..., q, k]`` True = query q sees key k."""

    batch: int
    heads: int
    q_len: int
    k_len: int
    head_dim: int
    mask: np.ndarray  # bool, broadcastable to (batch, heads, q_len, k_len)


@st.composite
def attention_shapes_and_masks(draw, max_batch=2, max_heads=3, max_len=5, max_head_dim=4):
    """Attention sizes and a boolean mask (random or causal) with a visible key in every row.

    The mask has rank 2 to 4 and may keep size-1 axes, e.g. (Tq, Tk), (B, 1, 1, Tk) or
    (B, H, Tq, Tk); every row, once broadcast to (B, H, Tq, Tk), has at least one True.
    """
    batch, heads = draw(st.integers(1, max_batch)), draw(st.integers(1, max_heads))
    q_len, k_len = draw(st.integers(1, max_len)), draw(st.integers(1, max_len))
    head_dim = draw(st.integers(1, max_head_dim))
    full = (batch, heads, q_len, k_len)
    rank = draw(st.integers(2, 4))
    mask_shape = tuple(1 if draw(st.booleans()) else n for n in full[4 - rank:])
    if draw(st.booleans()):  # causal: query q sees keys up to q, aligned to the last key
        q = np.arange(mask_shape[-2])[:, None]
        k = np.arange(mask_shape[-1])[None, :]
        mask = np.broadcast_to(k <= q + (mask_shape[-1] - mask_shape[-2]), mask_shape).copy()
    else:
        mask = draw(hnp.arrays(np.bool_, mask_shape))
    keep = draw(st.integers(0, mask_shape[-1] - 1))  # the key a row with none gets back
    empty_rows = ~mask.any(axis=-1, keepdims=True)  # (..., Tq, Tk) -> (..., Tq, 1)
    mask = mask | (empty_rows & (np.arange(mask_shape[-1]) == keep))
    return AttentionShapes(batch, heads, q_len, k_len, head_dim, mask)
