"""The primitive ops: about 40 Functions with hand-derived backward, and their wrappers.

    elementwise.py  add sub mul div neg pow exp log sqrt abs tanh sigmoid erf relu
                    maximum minimum where clip astype
    reduce.py       sum mean var max min logsumexp argmax argmin
    movement.py     reshape permute transpose swapaxes expand squeeze unsqueeze
                    concatenate stack pad
    indexing.py     getitem split embedding masked_fill
    matmul.py       matmul

Importing this package attaches them to ``Tensor`` (``tensor_methods.py``).
"""

from . import tensor_methods
from .elementwise import (
    abs,
    add,
    astype,
    clip,
    div,
    erf,
    exp,
    log,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    relu,
    sigmoid,
    sqrt,
    sub,
    tanh,
    where,
)
from .indexing import embedding, getitem, masked_fill, split
from .matmul import matmul
from .movement import (
    broadcast_to,
    concatenate,
    expand,
    pad,
    permute,
    reshape,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unsqueeze,
)
from .reduce import argmax, argmin, logsumexp, max, mean, min, sum, var

tensor_methods.install()

__all__ = [
    "abs", "add", "argmax", "argmin", "astype", "broadcast_to", "clip", "concatenate", "div",
    "embedding", "erf", "exp", "expand", "getitem", "log", "logsumexp", "masked_fill", "matmul",
    "max", "maximum", "mean", "min", "minimum", "mul", "neg", "pad", "permute", "pow", "relu",
    "reshape", "sigmoid", "split", "sqrt", "squeeze", "stack", "sub", "sum", "swapaxes", "tanh",
    "transpose", "unsqueeze", "var", "where",
]
