"""``OpSpec``: one declarative entry of the op registry, and the small pieces entries share.

An entry says everything a generic test needs to prove an op:

    name           unique id of the entry ("pow_scalar_exponent")
    op             the public op in ``tinygrad_lm.ops`` it covers ("pow")
    fn             fn(*tensors, **kwargs) -> Tensor (or list): the implementation under test
    reference      reference(*arrays, **kwargs) -> array (or list): plain NumPy, float64
    inputs         inputs(dtype) -> Hypothesis strategy of ``Case`` (the arrays and kwargs)
    domain         the assumptions the strategy builds in (log needs x > 0, no ties for max)
    differentiable indices of the inputs gradcheck differentiates; None = every floating
                   input, () = forward only (argmax)
    tolerances     forward (rtol, atol) per dtype (None = ``check_close``'s defaults) and the
                   gradcheck step and tolerances
    error_scale    error_scale(*arrays, **kwargs): how big the forward rounding error can get
                   when cancellation makes the result small (sum |x| for a sum); optional
    out_dtype      out_dtype(input_dtype, kwargs) -> dtype, when the result is not the input's
                   float dtype (argmax: int64; astype: the target)
    covers         what the strategy is promised to reach, from ``COVERAGE`` (a test checks it)

Left out: backends (the parity tests add them), ops outside ``tinygrad_lm.ops``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from .. import strategies as ts


@dataclass(frozen=True)
class Case:
    """One drawn input: the positional arrays (floats become Tensors) and keyword settings."""

    arrays: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Tolerances:
    """Forward tolerances per dtype, and the gradcheck settings (float64)."""

    forward: dict = field(default_factory=dict)  # np.dtype -> (rtol, atol); missing = defaults
    grad_eps: float = 1e-6
    grad_atol: float = 1e-6
    grad_rtol: float = 1e-5

    def forward_for(self, dtype):
        """(rtol, atol) for ``dtype``, or (None, None) for ``check_close``'s defaults."""
        return self.forward.get(np.dtype(dtype), (None, None))


@dataclass(frozen=True)
class OpSpec:
    """Everything the generated tests need to know about one op (see the module docstring)."""

    name: str
    op: str
    fn: Callable
    reference: Callable
    inputs: Callable
    domain: str = ""
    differentiable: tuple | None = None
    tolerances: Tolerances = Tolerances()
    error_scale: Callable | None = None
    out_dtype: Callable | None = None
    covers: frozenset = frozenset()

    def __post_init__(self):
        unknown = set(self.covers) - set(COVERAGE)
        if unknown:
            raise ValueError(f"OpSpec {self.name!r}: unknown coverage {sorted(unknown)}; "
                             f"choose from {sorted(COVERAGE)}")


def float_inputs(case):
    """The floating arrays of a case (the ones that become differentiable Tensors)."""
    return [a for a in case.arrays if isinstance(a, np.ndarray) and a.dtype.kind == "f"]


def _broadcasts(case):
    shapes = [a.shape for a in case.arrays if isinstance(a, np.ndarray)]
    if "shape" in case.kwargs:
        shapes.append(tuple(case.kwargs["shape"]))
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return len(set(shapes)) > 1


COVERAGE = {
    "noncontiguous": lambda case: any(a.size > 1 and not a.flags.c_contiguous for a in float_inputs(case)),
    "0-d": lambda case: any(a.ndim == 0 for a in float_inputs(case)),
    "size-1": lambda case: any(1 in a.shape for a in float_inputs(case) if a.ndim),
    "broadcast": _broadcasts,
}


def any_layout(arrays):
    """Arrays as drawn, or re-laid out as non-contiguous views of the same values."""
    return st.one_of(arrays, ts.noncontiguous(arrays))


def array(shape, dtype, low=-4.0, high=4.0, transform=None):
    """A float array of ``shape`` in [low, high], optionally moved by ``transform``, any layout."""
    values = ts.float_arrays(shape, dtype, low, high)
    return any_layout(values.map(transform) if transform else values)


def cases(arrays, **kwargs):
    """A strategy of Case from a strategy of a tuple of arrays and fixed keyword settings."""
    return arrays.map(lambda drawn: Case(tuple(drawn), dict(kwargs)))
