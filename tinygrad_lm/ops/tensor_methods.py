"""Attach the ops to ``Tensor`` as methods and Python operators.

The engine defines ``Tensor`` without knowing any op (it sits below the ops in the ladder);
this file is where ``a + b``, ``x.sum()``, ``x[1:]`` and ``x @ w`` learn what to call. Every
entry routes to the lowercase wrapper of a primitive, so operators and functions share one
implementation and one set of error messages.

Comparisons (``< <= > >= == !=``) return boolean tensors that never require grad.
"""

from ..engine import Tensor, array_module
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
    for name, function in {**_OPERATORS, **_METHODS}.items():
        setattr(Tensor, name, function)
    Tensor.__hash__ = object.__hash__  # __eq__ is elementwise; tensors still hash by identity
    Tensor.T = property(lambda self: movement.transpose(self))
    Tensor.all, Tensor.any = _all, _any
