"""Compiling and launching the cupy_gpu kernels: lazy CuPy, one RawModule per CUDA source.

Nothing here imports CuPy at module import time, so the table imports on any machine (CI has
no GPU). ``cupy()`` imports it at the first kernel call and, when that fails, raises an
ImportError that names the kernel and says how to get a GPU array's table to work.

CUDA C sources are the ``.cu`` files next to this module (package data, see setup.cfg).
``source_text(name)`` is ``common.cuh`` (block reductions, -inf) followed by the file; each
file's kernels are templates instantiated for float and double through NVRTC name
expressions (``softmax_fwd<float>``), listed in ``SOURCES``. ``function(source, name,
dtype)`` compiles a source once per process at its first use (CuPy then also keeps the
binary in ``~/.cupy/kernel_cache``) and returns the kernel for ``dtype``.
``tests/backends/test_cupy_gpu.py`` compiles the same text with ``nvcc --ptx`` for both types,
which is the only check these sources get on a machine without a GPU.

``elementwise(name, in_params, out_params, operation)`` builds a ``cupy.ElementwiseKernel``
once per name. ``float16_via_float32`` lets float16 arrays through every kernel as float32
copies (the CUDA sources are written for float and double only).
"""

import functools
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# CUDA source file -> the kernel templates it defines (each instantiated for float and double).
SOURCES = {
    "rows.cu": ("softmax_fwd", "softmax_bwd", "log_softmax_fwd", "log_softmax_bwd",
                "cross_entropy_fwd", "cross_entropy_bwd"),
    "layer_norm.cu": ("layer_norm_fwd", "layer_norm_bwd_rows", "layer_norm_param_partials", "column_sums"),
    "attention.cu": ("attention_fwd", "attention_score_grads"),
    "embedding.cu": ("embedding_segment_sums",),
}
CTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}

_modules = {}  # source file -> cupy.RawModule, built on first use
_elementwise = {}  # kernel name -> cupy.ElementwiseKernel, built on first use


def cupy(kernel="a cupy_gpu kernel"):
    """The ``cupy`` module, or an ImportError naming ``kernel`` when CuPy is missing."""
    try:
        import cupy as module
    except ImportError as error:
        raise ImportError(
            f"{kernel} runs CUDA kernels through CuPy, which cannot be imported ({error}). "
            f"Install CuPy for your CUDA version (pip install 'tinygrad_lm[gpu]', i.e. "
            f"cupy-cuda12x) on a machine with an NVIDIA GPU, or keep the arrays on the CPU, "
            f"where the numpy and numba tables run."
        ) from error
    return module


def source_text(source):
    """The CUDA C compiled for ``source``: common.cuh, then the file itself."""
    return (HERE / "common.cuh").read_text(encoding="utf-8") + "\n" + (HERE / source).read_text(encoding="utf-8")


def name_expressions(source):
    """Every instantiation of ``source``'s kernels: ``("softmax_fwd<float>", "softmax_fwd<double>", ...)``."""
    return tuple(f"{name}<{ctype}>" for name in SOURCES[source] for ctype in CTYPES.values())


def ctype(dtype, kernel):
    """The C type of ``dtype`` ("float" or "double"), or a TypeError naming ``kernel``."""
    try:
        return CTYPES[np.dtype(dtype)]
    except KeyError:
        raise TypeError(f"{kernel}: the CUDA kernels take float32 or float64 arrays, got {np.dtype(dtype)}") from None


def function(source, name, dtype):
    """The compiled kernel ``name<T>`` of ``source`` for arrays of ``dtype`` (a cupy.RawKernel)."""
    cp = cupy(name)
    if source not in _modules:  # NVRTC compiles at the first get_function, once per process
        _modules[source] = cp.RawModule(code=source_text(source), name_expressions=name_expressions(source))
    return _modules[source].get_function(f"{name}<{ctype(dtype, name)}>")


def elementwise(name, in_params, out_params, operation):
    """A ``cupy.ElementwiseKernel`` (T is the arrays' dtype), built once per ``name``."""
    cp = cupy(name)  # first, so a missing CuPy is reported even when the kernel is cached
    if name not in _elementwise:
        _elementwise[name] = cp.ElementwiseKernel(in_params, out_params, operation, name)
    return _elementwise[name]


def row_threads(cols):
    """Threads per block for a row kernel: the power of two >= ``cols``, within 32..512."""
    return int(min(512, max(32, 1 << max(0, int(cols) - 1).bit_length())))


def blocks_for(total, threads, limit=65535):
    """Blocks for a grid-stride loop over ``total`` items, ``threads`` per block (at least 1)."""
    return int(max(1, min(limit, -(-int(total) // threads))))


def float16_via_float32(kernel=None, *, statistics=0):
    """``kernel`` with float16 array arguments widened to float32 and float32 results narrowed
    back, except the last ``statistics`` results (mean, rstd, lse: saved for a backward), which
    stay float32 as in ``numpy_ref``. ``@float16_via_float32`` or ``@float16_via_float32(statistics=1)``.

    Written against ``.dtype`` and ``.astype`` only, so it works for NumPy and CuPy arrays.
    """
    if kernel is None:
        return functools.partial(float16_via_float32, statistics=statistics)

    def is_half(a):
        return getattr(a, "dtype", None) == np.float16

    @functools.wraps(kernel)  # keeps the name, docstring and (via __wrapped__) the signature
    def wrapper(*args):
        if not any(is_half(a) for a in args):
            return kernel(*args)
        result = kernel(*(a.astype(np.float32) if is_half(a) else a for a in args))
        if not isinstance(result, tuple):
            return result.astype(np.float16) if result.dtype == np.float32 else result
        narrowed = len(result) - statistics
        return tuple(r.astype(np.float16) if i < narrowed and r.dtype == np.float32 else r for i, r in enumerate(result))

    return wrapper
