"""Turning user arguments into Tensors the ops can trust, with errors that name the op.

Every public op wrapper passes its arguments through here before ``Function.apply``, so a bad
shape, axis, dtype or device is reported at the user's call site in the op's own words, never
as a NumPy or CuPy traceback from inside a forward. Tensors of one op must share a device;
nothing is moved for them (Python numbers are made on the tensors' device, like NumPy scalars).
"""

import numbers

import numpy as np

from ..engine import Tensor, array_module, default_float
from ..engine.dtypes import common_dtype
from ..engine.errors import DeviceError, ShapeError


def as_tensor(value, like=None):
    """A Tensor for ``value``; a Python number takes ``like``'s dtype (a "weak" scalar)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, numbers.Number) and like is not None:
        xp = array_module(like.data)
        dtype = like.dtype if like.dtype.kind == "f" else None  # ints/bools: NumPy's rules
        return Tensor(xp.asarray(value, dtype=dtype))
    return Tensor(value)


def broadcast_shape(op, *shapes):
    """NumPy's broadcast result shape, or a ShapeError naming the op and every shape."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ShapeError(
            f"{op}: shapes {listed} are not broadcastable (trailing dimensions must be equal or 1)"
        ) from None


def operands(op, *values, broadcast=True):
    """Tensors for an op, with one common dtype; broadcast-checked unless ``broadcast=False``.

    Integer/bool tensors meeting a floating one are cast to it (they never need grad); two
    different floating dtypes raise (see ``engine/dtypes.py``).
    """
    like = next((v for v in values if isinstance(v, Tensor)), None)
    if like is not None and like.dtype.kind != "f" and any(isinstance(v, float) for v in values):
        like = Tensor(like.data.astype(default_float()))  # int tensor * 0.5 -> default float
    tensors = [as_tensor(v, like) for v in values]
    check_same_device(op, tensors)
    if broadcast:
        broadcast_shape(op, *(t.shape for t in tensors))
    dtype = common_dtype(op, [t.dtype for t in tensors])
    return [t if t.dtype == dtype else t.astype(dtype) for t in tensors]


def check_same_device(op, tensors):
    """Raise ``DeviceError`` naming the op and both devices when ``tensors`` do not share one."""
    devices = list(dict.fromkeys(t.device for t in tensors))  # in argument order, once each
    if len(devices) > 1:
        first, second = devices[0], devices[1]
        raise DeviceError(
            f"{op}: operands are on different devices ({first} and {second}); move one explicitly "
            f"with .to({second!r}) or .to({first!r})"
        )


def normalize_axes(op, axis, ndim):
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    try:
        axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    except TypeError:
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}") from None
    result = []
    for a in axes:
        if not isinstance(a, numbers.Integral):
            raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ShapeError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        result.append(a % ndim)
    if len(set(result)) != len(result):
        raise ShapeError(f"{op}: axis {axis} repeats an axis")
    return tuple(sorted(result))


def require_float(tensor):
    """Differentiable math (exp, log, ...) needs a floating tensor; cast ints to the default."""
    return tensor if tensor.dtype.kind == "f" else tensor.astype(default_float())
