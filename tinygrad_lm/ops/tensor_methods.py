"""Attach the ops to ``Tensor`` as methods and Python operators.

The engine defines ``Tensor`` without knowing any op (it sits below the ops in the ladder);
this file is where ``a + b``, ``x.sum()``, ``x[1:]`` and ``x @ w`` learn what to call. Every
entry routes to the lowercase wrapper of a primitive, so operators and functions share one
implementation and one set of error messages.

Comparisons (``< <= > >= == !=``) return boolean tensors that never require grad.

In-place arithmetic (``+= -= *= /=``, and ``t[index] = value``) writes into ``.data`` and keeps the object,
so a leaf stays a leaf: ``with no_grad(): W -= lr * W.grad``. It records no graph, so it is
refused (``GraphError``) where a gradient would be lost: on a tensor that requires grad while
recording is on, or with a right-hand side that requires grad. The result must keep the
tensor's shape and dtype (the right-hand side may broadcast into it). If a graph still holds
the array for its backward, that graph becomes stale: backpropagating it later raises
``GraphError`` naming the op (``engine/saved.py``).
"""

from ..engine import GraphError, Tensor, array_module, is_grad_enabled, no_grad
from ..engine.errors import DTypeError, ShapeError
from ..engine.saved import claim_for_write
from . import elementwise as ew
from . import indexing, movement, reduce
from ._operands import operands
from .matmul import matmul


def _reflected(op):
    return lambda self, other: op(other, self)


def _comparison(name, compare):
    def method(self, other):
        a, b = operands(name, self, other)
        return Tensor(compare(a.data, b.data))

    method.__name__ = f"__{name}__"
    return method


_OPERATORS = {
    "__add__": ew.add, "__radd__": _reflected(ew.add),
    "__sub__": ew.sub, "__rsub__": _reflected(ew.sub),
    "__mul__": ew.mul, "__rmul__": _reflected(ew.mul),
    "__truediv__": ew.div, "__rtruediv__": _reflected(ew.div),
    "__pow__": ew.pow, "__rpow__": _reflected(ew.pow),
    "__matmul__": matmul, "__rmatmul__": _reflected(matmul),
    "__neg__": ew.neg, "__abs__": ew.abs,
    "__getitem__": indexing.getitem,
    "__lt__": _comparison("lt", lambda a, b: a < b),
    "__le__": _comparison("le", lambda a, b: a <= b),
    "__gt__": _comparison("gt", lambda a, b: a > b),
    "__ge__": _comparison("ge", lambda a, b: a >= b),
    "__eq__": _comparison("eq", lambda a, b: a == b),
    "__ne__": _comparison("ne", lambda a, b: a != b),
}

def _refuse_while_recording(target, other, where, rewrite):
    """In-place writes record no graph: refuse them where a gradient would be lost."""
    if is_grad_enabled() and target.requires_grad:
        raise GraphError(
            f"{where} on a tensor that requires grad (shape {target.shape}) while gradients are "
            f"recorded: in-place writes are not recorded, so its gradient would be lost or wrong. "
            f"Update it outside the graph: with no_grad(): W -= lr * W.grad (or W.data -= lr * W.grad)"
        )
    if is_grad_enabled() and isinstance(other, Tensor) and other.requires_grad:
        raise GraphError(
            f"{where}: the right-hand side requires grad, and an in-place update records no graph; "
            f"write {rewrite} to record it (or use other.detach())"
        )


def _in_place(symbol, op):
    """``tensor <symbol> other`` as a method that updates ``tensor.data`` and returns ``tensor``."""

    def method(self, other):
        where = f"in-place {symbol}"
        _refuse_while_recording(self, other, where, f"x = x {symbol[0]} other")
        with no_grad():
            result = op(self, other)  # the op's own broadcasting and dtype rules and errors
        if result.shape != self.shape:
            raise ShapeError(
                f"{where}: the tensor has shape {self.shape} but the result would have shape "
                f"{result.shape}; in-place arithmetic keeps the shape (write x = x {symbol[0]} other)"
            )
        if result.dtype != self.dtype:
            raise DTypeError(
                f"{where}: the tensor is {self.dtype} and the result would be {result.dtype}; in-place "
                f"arithmetic keeps the dtype (cast first: x = x.astype('{result.dtype}'))"
            )
        claim_for_write(self.data, where)  # an old graph that saved it becomes stale (engine/saved.py)
        self.data[...] = result.data
        return self

    method.__name__ = f"__i{op.__name__}__"
    return method


def _setitem(self, index, value):
    """``t[index] = value``: write ``value`` (broadcast to ``t[index]``) into ``t.data``, in place."""
    where = "t[index] = value"
    _refuse_while_recording(self, value, where, "t = where(mask, value, t)")
    with no_grad():
        _, value = operands("setitem", self, value, broadcast=False)  # the dtype rules
    if value.dtype != self.dtype:
        raise DTypeError(f"{where}: the tensor is {self.dtype} and the value {value.dtype}; "
                         f"cast the value first (value.astype('{self.dtype}'))")
    try:
        target_shape = self.data[index].shape
    except IndexError as error:
        raise IndexError(f"{where}: {error} (the tensor has shape {self.shape})") from None
    if not _broadcastable(value.shape, target_shape):
        raise ShapeError(f"{where}: a value of shape {value.shape} cannot fill t[index] of shape {target_shape}")
    claim_for_write(self.data, where)
    self.data[index] = value.data


def _broadcastable(shape, target):
    """Whether ``shape`` broadcasts to ``target`` without changing ``target``."""
    return len(shape) <= len(target) and all(a in (1, b) for a, b in zip(shape[::-1], target[::-1]))


_IN_PLACE = {
    "__setitem__": _setitem,
    "__iadd__": _in_place("+=", ew.add), "__isub__": _in_place("-=", ew.sub),
    "__imul__": _in_place("*=", ew.mul), "__itruediv__": _in_place("/=", ew.div),
}

_METHODS = {
    # elementwise
    "exp": ew.exp, "log": ew.log, "sqrt": ew.sqrt, "abs": ew.abs, "tanh": ew.tanh,
    "sigmoid": ew.sigmoid, "erf": ew.erf, "relu": ew.relu, "clip": ew.clip,
    "maximum": ew.maximum, "minimum": ew.minimum, "astype": ew.astype,
    "masked_fill": indexing.masked_fill,
    # reductions
    "sum": reduce.sum, "mean": reduce.mean, "var": reduce.var, "max": reduce.max,
    "min": reduce.min, "logsumexp": reduce.logsumexp, "argmax": reduce.argmax,
    "argmin": reduce.argmin,
    # movement
    "reshape": movement.reshape, "permute": movement.permute, "transpose": movement.transpose,
    "swapaxes": movement.swapaxes, "expand": movement.expand, "squeeze": movement.squeeze,
    "unsqueeze": movement.unsqueeze, "pad": movement.pad, "split": indexing.split,
    "matmul": matmul,
}


def _all(self):
    return bool(array_module(self.data).all(self.data))


def _any(self):
    return bool(array_module(self.data).any(self.data))


def install():
    """Bind every operator and method above onto Tensor (done once, on package import)."""
    for name, function in {**_OPERATORS, **_IN_PLACE, **_METHODS}.items():
        setattr(Tensor, name, function)
    Tensor.__hash__ = object.__hash__  # __eq__ is elementwise; tensors still hash by identity
    Tensor.T = property(lambda self: movement.transpose(self))
    Tensor.all, Tensor.any = _all, _any
