"""Where arrays live: NumPy on the CPU, CuPy on an NVIDIA GPU.

Ops never branch on the device. They ask ``array_module(x)`` for the module that owns their
input (``numpy`` or ``cupy``) and call it as ``xp``. CuPy is optional; without it every array
is a NumPy array and ``"cuda"`` is simply unavailable.

Left out here: moving tensors between devices (``Tensor.to``) arrives with the GPU backend.
"""

import numpy as np

try:  # CuPy is an optional extra ("gpu"); its absence is normal.
    import cupy as _cupy
except ImportError:  # pragma: no cover - depends on the machine
    _cupy = None


def array_module(array):
    """``cupy`` if ``array`` is a CuPy array, else ``numpy``."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def device_of(array):
    """``"cuda"`` for a CuPy array, ``"cpu"`` otherwise."""
    return "cpu" if array_module(array) is np else "cuda"
