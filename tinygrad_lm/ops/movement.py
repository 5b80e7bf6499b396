"""Movement primitives: ops that rearrange elements without changing their values.

reshape, permute (and its special cases transpose, swapaxes), expand/broadcast_to,
squeeze/unsqueeze (reshapes), concatenate, stack, pad. Their backward moves the gradient
back the way the elements came: reshape back, permute by the inverse permutation, slice the
pieces of a concatenation apart. ``expand``'s backward returns the gradient unchanged: the
engine's un-broadcast sums it over the expanded axes.

Forward results may be NumPy views (reshape, transpose, broadcast_to); nothing in the engine
writes into an op's output, so sharing memory is safe. ``split`` lives in ``indexing.py``
(it is several slices).
"""

import numbers

import numpy as np

from ..engine import Function, Tensor, array_module
from ..engine.dtypes import common_dtype
from ..engine.errors import ShapeError
from ._operands import broadcast_shape, normalize_axes, operands


class Reshape(Function):
    """out = x viewed with a new shape of the same size.  dx = g reshaped to x's shape."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return (g.reshape(ctx.in_shape),)


class Permute(Function):
    """out = x with axes reordered: out.shape[i] = x.shape[axes[i]].  dx = g permuted by argsort(axes)."""

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return (g.transpose(np.argsort(ctx.axes)),)


class Expand(Function):
    """out = x broadcast to ``shape`` (a read-only view).  dx = sum of g over the broadcast axes,
    done by the engine's un-broadcast."""

    @staticmethod
    def forward(ctx, x, shape):
        return array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return (g,)


class Concatenate(Function):
    """out = [x_1 | x_2 | ...] along ``axis``.  dx_i = the slice of g where x_i went."""

    @staticmethod
    def forward(ctx, *xs, axis):
        ctx.axis = axis
        ctx.bounds = np.cumsum([x.shape[axis] for x in xs])[:-1].tolist()  # split points, Python ints
        return array_module(xs[0]).concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return tuple(array_module(g).split(g, ctx.bounds, axis=ctx.axis))


class Stack(Function):
    """out = the inputs (all of one shape) stacked along a new ``axis``.  dx_i = g taken at index i."""

    @staticmethod
    def forward(ctx, *xs, axis):
        ctx.axis = axis
        return array_module(xs[0]).stack(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        return tuple(xp.take(g, i, axis=ctx.axis) for i in range(g.shape[ctx.axis]))


class Pad(Function):
    """out = x surrounded by ``value``; pad_width[i] = (before_i, after_i).  dx = the centre of g."""

    @staticmethod
    def forward(ctx, x, pad_width, value):
        ctx.centre = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return array_module(x).pad(x, pad_width, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return (g[ctx.centre],)


# --- wrappers ------------------------------------------------------------------------------
def _shape_arg(op, shape):
    """Accept ``reshape(2, 3)`` as well as ``reshape((2, 3))``; every entry must be an int."""
    if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
        shape = shape[0]
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{op}: expected a sequence of ints, got {shape!r}") from None
    if not all(isinstance(n, numbers.Integral) for n in shape):
        raise TypeError(f"{op}: expected ints, got {shape!r}")
    return tuple(int(n) for n in shape)


def reshape(x, *shape):
    """View ``x`` with a new shape; one dimension may be -1 (inferred)."""
    (x,) = operands("reshape", x)
    shape = _shape_arg("reshape", shape)
    known = int(np.prod([n for n in shape if n != -1], dtype=np.int64))
    unknown = sum(1 for n in shape if n == -1)
    fits = (unknown == 0 and known == x.size) or (unknown == 1 and known > 0 and x.size % known == 0)
    if unknown > 1 or any(n < -1 for n in shape) or not fits:
        raise ShapeError(f"reshape: cannot view a tensor of shape {x.shape} ({x.size} elements) as {shape}")
    return Reshape.apply(x, shape=shape)


def permute(x, *axes):
    """Reorder axes: ``permute(x, 0, 2, 1)`` swaps the last two of a 3-d tensor."""
    (x,) = operands("permute", x)
    axes = _shape_arg("permute", axes)
    if sorted(a % x.ndim if x.ndim else a for a in axes) != list(range(x.ndim)):
        raise ShapeError(f"permute: {axes} is not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Permute.apply(x, axes=tuple(a % x.ndim for a in axes))


def transpose(x, *axes):
    """Reverse the axes (no arguments) or permute them as given, like ``ndarray.transpose``."""
    (x,) = operands("transpose", x)
    axes = _shape_arg("transpose", axes) if axes else tuple(reversed(range(x.ndim)))
    return permute(x, *axes)


def swapaxes(x, axis1, axis2):
    """Exchange two axes."""
    (x,) = operands("swapaxes", x)
    a, b = normalize_axes("swapaxes", axis1, x.ndim)[0], normalize_axes("swapaxes", axis2, x.ndim)[0]
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return Permute.apply(x, axes=tuple(axes))


def expand(x, *shape):
    """Broadcast ``x`` to ``shape`` without copying (NumPy's broadcast_to)."""
    (x,) = operands("expand", x)
    shape = _shape_arg("expand", shape)
    if broadcast_shape("expand", x.shape, shape) != shape:
        raise ShapeError(f"expand: a tensor of shape {x.shape} cannot be broadcast to {shape}")
    return Expand.apply(x, shape=shape)


broadcast_to = expand


def squeeze(x, axis=None):
    """Drop size-1 axes (all of them, or those in ``axis``, which must have size 1)."""
    (x,) = operands("squeeze", x)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = normalize_axes("squeeze", axis, x.ndim)
        wrong = [a for a in axes if x.shape[a] != 1]
        if wrong:
            raise ShapeError(f"squeeze: axis {wrong[0]} of shape {x.shape} has size {x.shape[wrong[0]]}, not 1")
    return Reshape.apply(x, shape=tuple(n for i, n in enumerate(x.shape) if i not in axes))


def unsqueeze(x, axis):
    """Insert a size-1 axis at position ``axis`` (of the result; negatives count from the end)."""
    (x,) = operands("unsqueeze", x)
    (axis,) = normalize_axes("unsqueeze", axis, x.ndim + 1)
    shape = x.shape[:axis] + (1,) + x.shape[axis:]
    return Reshape.apply(x, shape=shape)


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis; all other axes must match."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ShapeError("concatenate: needs at least one tensor")
    first = tensors[0]
    (axis,) = normalize_axes("concatenate", axis, first.ndim)
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis):
            shapes = ", ".join(str(s.shape) for s in tensors)
            raise ShapeError(f"concatenate: shapes {shapes} differ outside axis {axis}")
    tensors = _common(tensors, "concatenate")
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ShapeError("stack: needs at least one tensor")
    if len({t.shape for t in tensors}) > 1:
        raise ShapeError(f"stack: all tensors need the same shape, got {', '.join(str(t.shape) for t in tensors)}")
    (axis,) = normalize_axes("stack", axis, tensors[0].ndim + 1)
    return Stack.apply(*_common(tensors, "stack"), axis=axis)


def _common(tensors, op):
    """Cast the tensors of a concatenate/stack to their one common dtype (see engine/dtypes)."""
    dtype = common_dtype(op, [t.dtype for t in tensors])
    return [t if t.dtype == dtype else t.astype(dtype) for t in tensors]


def pad(x, pad_width, value=0.0):
    """Pad with a constant: ``pad_width`` is one (before, after) pair per axis."""
    (x,) = operands("pad", x)
    if x.ndim == 0:
        raise ShapeError("pad: a 0-d tensor has no axes to pad; reshape it to (1,) first")
    try:
        pad_width = tuple((int(b), int(a)) for b, a in pad_width)
    except (TypeError, ValueError):
        raise TypeError(f"pad: pad_width must be one (before, after) pair of ints per axis, got {pad_width!r}") from None
    if len(pad_width) != x.ndim or any(b < 0 or a < 0 for b, a in pad_width):
        raise ShapeError(f"pad: need {x.ndim} non-negative (before, after) pairs for shape {x.shape}, got {pad_width}")
    return Pad.apply(x, pad_width=pad_width, value=value)
