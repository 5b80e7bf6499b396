"""Where arrays live: NumPy on the CPU ("cpu"), CuPy on an NVIDIA GPU ("cuda").

Ops never branch on the device. They ask ``array_module(x)`` for the module that owns their
input (``numpy`` or ``cupy``) and call it as ``xp``. CuPy is optional; without it every array
is a NumPy array and ``"cuda"`` is simply unavailable.

Moving data between host and device is always explicit, and this file is the only place it
happens: ``to_device(array, device)`` copies with ``cupy.asarray`` (host -> GPU) or
``ndarray.get()`` (GPU -> host). ``on_device`` is the check for arrays handed to an op as
constants (targets, ids, masks): an array on the wrong device is refused, never copied.

    check_device("cuda")      # "cuda", or DeviceError: CuPy missing / no GPU visible
    xp_for("cuda")            # the cupy module (after check_device)
    to_device(x, "cpu")       # a NumPy copy of a CuPy array; x itself when already there

Left out: several GPUs ("cuda:1"), streams, pinned memory, asynchronous copies.
"""

import numpy as np

from .errors import DeviceError

try:  # CuPy is an optional extra ("gpu"); its absence is normal.
    import cupy as _cupy
except ImportError:  # pragma: no cover - depends on the machine
    _cupy = None

DEVICES = ("cpu", "cuda")


def array_module(array):
    """``cupy`` if ``array`` is a CuPy array, else ``numpy``."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def device_of(array):
    """``"cuda"`` for a CuPy array, ``"cpu"`` otherwise."""
    return "cpu" if array_module(array) is np else "cuda"


def cuda_problem():
    """Why ``"cuda"`` cannot be used here (one sentence), or None when it can."""
    if _cupy is None:
        return "CuPy is not installed; install it with pip install 'tinygrad_lm[gpu]' (CUDA 12.x wheel)"
    try:
        available = bool(_cupy.is_available())
    except Exception as error:  # noqa: BLE001 - any driver/runtime failure means "not usable"
        return f"CuPy cannot reach a GPU ({type(error).__name__}: {error})"
    if not available:
        return "CuPy is installed but no CUDA GPU is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)"
    return None


def cuda_available():
    """True when CuPy imports and sees at least one GPU."""
    return cuda_problem() is None


def check_device(device, where="device"):
    """``device`` if it is "cpu", or "cuda" with CuPy and a GPU; else a ``DeviceError`` that says why.

    ``where`` names the caller in the message (e.g. ``"Tensor.to"``, ``"--device"``).
    """
    if not isinstance(device, str) or device not in DEVICES:
        raise DeviceError(f"{where}: unknown device {device!r}; the devices are 'cpu' and 'cuda'")
    if device == "cuda":
        problem = cuda_problem()
        if problem is not None:
            raise DeviceError(f"{where}: device 'cuda' is unavailable: {problem}; or use device 'cpu'")
    return device


def xp_for(device):
    """The array module of ``device``: numpy for "cpu", cupy for "cuda" (checked)."""
    return np if check_device(device) == "cpu" else _cupy


def to_device(array, device):
    """``array`` on ``device``: itself when it is already there, else an explicit copy.

    host -> GPU is ``cupy.asarray`` (a copy in device memory); GPU -> host is ``ndarray.get()``
    (a NumPy copy). The dtype and shape never change.
    """
    if device_of(array) == device:
        return array
    check_device(device, "to_device")
    return array.get() if device == "cpu" else _cupy.asarray(array)


def on_device(value, device, where):
    """``value`` as an array on ``device``, for an op whose tensors live there.

    An array (NumPy or CuPy) must already be on ``device``: one on the other device raises a
    ``DeviceError`` naming both devices and ``where`` (e.g. "cross_entropy: targets"), because
    copying it would be a host<->device transfer nobody asked for. Python numbers and (nested)
    lists are literals, like the ``2`` in ``x * 2``, and are made directly on ``device``.
    """
    is_array = isinstance(value, np.ndarray) or (_cupy is not None and isinstance(value, _cupy.ndarray))
    if is_array:
        if device_of(value) != device:
            raise DeviceError(
                f"{where}: an array on {device_of(value)} (shape {value.shape}) was given for tensors "
                f"on {device}; move it explicitly with tensor(...).to({device!r}) or "
                f"to_device(array, {device!r})"
            )
        return value
    return (np if device == "cpu" else _cupy).asarray(value)  # device is where a tensor already lives
