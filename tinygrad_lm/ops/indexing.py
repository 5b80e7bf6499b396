"""Indexing primitives: getitem (and split built on it), embedding lookup, masked_fill.

``x[index]`` supports everything NumPy's does: basic slicing (steps, negative steps, None,
Ellipsis), integer arrays and boolean masks. Its backward scatters the gradient back into a
zero array of x's shape. For basic indices every element is picked at most once, so a plain
assignment does; for integer-array indices the same element may be picked several times, and
``add.at`` accumulates the repeats (unbuffered, in index order: deterministic).

``embedding(weight, ids)`` is the same gather specialised to rows, (V, D)[ids] -> (*ids, D),
with a scatter-add backward into (V, D) that is deterministic as well.
"""

import itertools
import numbers

import numpy as np

from ..engine import Function, Tensor, array_module, on_device
from ..engine.errors import DTypeError, ShapeError
from ._operands import broadcast_shape, check_same_device, normalize_axes, operands


class GetItem(Function):
    """out = x[index].  dx = zeros like x with g written (basic) or added (advanced) at index."""

    @staticmethod
    def forward(ctx, x, index, basic):
        ctx.in_shape, ctx.index, ctx.basic = x.shape, index, basic
        return x[index]

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        dx = xp.zeros(ctx.in_shape, dtype=g.dtype)
        if ctx.basic:
            dx[ctx.index] = g
        else:
            xp.add.at(dx, ctx.index, g)  # repeated indices accumulate
        return (dx,)


class Embedding(Function):
    """out[..., :] = weight[ids[...], :]   weight (V, D), ids (...) -> out (..., D).

    dweight[v] = sum of g[...] over every position where ids == v (scatter-add; deterministic).
    """

    @staticmethod
    def forward(ctx, weight, ids):
        ctx.save(ids=ids)
        ctx.vocab = weight.shape[0]
        return weight[ids]

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        dim = g.shape[-1]
        dweight = xp.zeros((ctx.vocab, dim), dtype=g.dtype)
        xp.add.at(dweight, ctx.ids.reshape(-1), g.reshape(-1, dim))  # (..., D) -> (N, D)
        return dweight, None


class MaskedFill(Function):
    """out = value where mask else x.  dx = g where not mask, 0 where mask."""

    @staticmethod
    def forward(ctx, x, mask, value):
        xp = array_module(x)
        ctx.save(mask=mask)
        return xp.where(mask, x.dtype.type(value), x)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        return xp.where(ctx.mask, g.dtype.type(0), g), None


# --- wrappers ------------------------------------------------------------------------------
def _index_parts(index):
    """Tensors inside an index become arrays; returns (index, is_basic)."""
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(p.data if isinstance(p, Tensor) else p for p in parts)
    basic = all(isinstance(p, (numbers.Integral, slice)) or p is None or p is Ellipsis for p in parts)
    for p in parts:
        kind = getattr(np.asarray(p) if isinstance(p, list) else p, "dtype", None)
        if kind is not None and kind.kind not in "iub":
            raise DTypeError(f"getitem: index arrays must be integer or boolean, got {kind}")
    return (parts if isinstance(index, tuple) else parts[0]), basic


def getitem(x, index):
    """``x[index]`` with NumPy semantics (see the module docstring).

    Index arrays (NumPy, CuPy or Tensors) must live on x's device; lists are literals.
    """
    (x,) = operands("getitem", x)
    index, basic = _index_parts(index)
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if hasattr(part, "shape"):
            on_device(part, x.device, "getitem: an index array")
    try:
        return GetItem.apply(x, index=index, basic=basic)
    except IndexError as error:
        raise IndexError(f"getitem: index {_describe(index)} does not fit a tensor of shape {x.shape}: {error}") from None


def _describe(index):
    parts = index if isinstance(index, tuple) else (index,)
    shown = [f"array{p.shape}" if hasattr(p, "shape") and getattr(p, "ndim", 0) else repr(p) for p in parts]
    return "[" + ", ".join(shown) + "]"


def split(x, sections, axis=0):
    """Split along ``axis`` into ``sections`` equal parts (an int) or at the given indices (a list),
    like ``numpy.split``. Returns a list of tensors; each is a slice of ``x``."""
    (x,) = operands("split", x)
    (axis,) = normalize_axes("split", axis, x.ndim)
    n = x.shape[axis]
    if isinstance(sections, numbers.Integral):
        if sections <= 0 or n % sections:
            raise ShapeError(f"split: axis {axis} of shape {x.shape} has size {n}, not divisible into {sections} parts")
        bounds = [n // sections * i for i in range(sections + 1)]
    else:
        bounds = [0, *[int(b) for b in sections], n]
        if any(b < 0 or b > n for b in bounds) or bounds != sorted(bounds):
            raise ShapeError(f"split: indices {list(sections)} must be increasing and within 0..{n}")
    lead = (slice(None),) * axis
    return [getitem(x, lead + (slice(start, stop),)) for start, stop in itertools.pairwise(bounds)]


def embedding_operands(weight, ids):
    """Check an embedding lookup's arguments: returns (weight Tensor (V, D), ids array (...)).

    Shared by this primitive and the fused ``tinygrad_lm.functional.embedding``, so both refuse
    float ids, a weight that is not 2-D, and ids outside 0..V-1 with the same message.
    """
    (weight,) = operands("embedding", weight)
    ids = on_device(ids.data if isinstance(ids, Tensor) else ids, weight.device, "embedding: ids")
    if ids.dtype.kind not in "iu":
        raise DTypeError(f"embedding: ids must be integers, got {ids.dtype}")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be (vocab, dim), got shape {weight.shape}")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= weight.shape[0]):
        bad = int(ids.max()) if int(ids.max()) >= weight.shape[0] else int(ids.min())
        raise IndexError(f"embedding: id {bad} is outside the vocabulary 0..{weight.shape[0] - 1}")
    return weight, ids


def embedding(weight, ids):
    """Rows of ``weight`` (V, D) picked by integer ``ids`` (...): result (..., D)."""
    weight, ids = embedding_operands(weight, ids)
    return Embedding.apply(weight, Tensor(ids))


def masked_fill(x, mask, value):
    """Replace the elements where boolean ``mask`` (broadcastable to x) holds by ``value``."""
    (x,) = operands("masked_fill", x)
    mask = mask if isinstance(mask, Tensor) else Tensor(on_device(mask, x.device, "masked_fill: mask"))
    check_same_device("masked_fill", (x, mask))
    if mask.dtype.kind != "b":
        raise DTypeError(f"masked_fill: mask must be boolean, got {mask.dtype}")
    if broadcast_shape("masked_fill", x.shape, mask.shape) != x.shape:
        raise ShapeError(f"masked_fill: mask of shape {mask.shape} must broadcast to x's shape {x.shape}")
    return MaskedFill.apply(x, mask, value=value)
