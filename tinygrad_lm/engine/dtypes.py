"""Which dtypes the engine accepts, and how it picks one.

Rules, stated once:

- Floating tensors are float16, float32 or float64; float32 is the default for Python floats.
- Integer and boolean tensors exist (token ids, masks) but never require grad.
- Python scalars are "weak": ``x * 0.5`` keeps ``x``'s dtype.
- Two floating tensors of different dtypes are never mixed silently: the op raises
  ``DTypeError`` and asks for an explicit ``.astype``. An integer or boolean tensor meeting a
  floating one is cast to the floating dtype (exact for the small integers masks and ids use).

Left out: complex numbers, bfloat16 (NumPy has none), automatic mixed precision.
"""

import numpy as np

from .errors import DTypeError

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
_default_float = np.dtype(np.float32)


def default_float():
    """The dtype given to Python floats and to ``tensor(...)`` of float data: float32."""
    return _default_float


def is_floating(dtype):
    return np.dtype(dtype).kind == "f"


def resolve_dtype(dtype, where):
    """Turn ``"float32"``, ``np.float32`` or a dtype into a supported ``np.dtype``, or raise."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"{where}: {dtype!r} is not a dtype; use e.g. 'float32'") from None
    if resolved.kind == "f" and resolved not in FLOAT_DTYPES:
        raise DTypeError(f"{where}: dtype {resolved} is not supported; use float16, float32 or float64")
    if resolved.kind not in "fiub":
        raise DTypeError(f"{where}: dtype {resolved} is not supported; use a float, int or bool dtype")
    return resolved


def common_dtype(op, dtypes):
    """The dtype an op's output takes from its tensor inputs' dtypes (see the module rules)."""
    floats = {d for d in dtypes if d.kind == "f"}
    if len(floats) > 1:
        names = " and ".join(sorted(str(d) for d in floats))
        raise DTypeError(
            f"{op}: cannot mix {names} tensors (it would silently change precision); "
            f"cast one side first, e.g. x.astype('float32')"
        )
    if floats:
        return floats.pop()
    return np.result_type(*dtypes)
