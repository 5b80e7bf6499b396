"""Kernel tables: which implementation the fused functional ops call.

A fused op (``tinygrad_lm/functional/fused.py``) computes nothing itself. It looks its kernels
up by name in the *active kernel table* and calls them on raw arrays. A table is a module that
defines every name in ``KERNEL_NAMES`` with exactly the signatures of ``numpy_ref``, the
reference table and the truth every other table is tested against:

    name     module                          what it is
    numpy    tinygrad_lm.backends.numpy_ref  plain vectorised NumPy, written against ``xp``
    numba    tinygrad_lm.backends.numba_cpu  compiled, parallel CPU loops (``@numba.njit``)
    cupy     tinygrad_lm.backends.cupy_gpu   CUDA kernels through CuPy, for arrays on the GPU

A table's module is imported the first time the table is used, so a missing optional
dependency only matters to whoever needs it. The CPU tables (numpy, numba) are chosen by the
user; the table of a device (``DEVICE_TABLES``: cuda -> cupy) is chosen by where the arrays
live, so a fused op asks ``kernels(x)`` with one of its input arrays:

    from tinygrad_lm.backends import kernels, set_kernels, use_kernels
    y = kernels(x2d)["softmax_fwd"](x2d)      # CuPy kernels for a GPU array, else the active CPU table
    with use_kernels("numpy"):                # for one block, then the previous CPU table again
        ...

The table in use until ``set_kernels`` picks another is ``default_backend()``, decided on first
use: the name in the environment variable ``TINYGRAD_LM_KERNELS`` (``numba`` or ``numpy``) if
it is set, else ``numba`` when Numba imports, else ``numpy``, with one warning saying why.

The contract every table keeps (the reference's docstrings give each kernel's formula):

- Arrays in, arrays out. Row kernels (softmax, log_softmax, layer_norm, cross_entropy) take
  C-contiguous 2-D rows (N, C); elementwise kernels (gelu, dropout, mse, kl_div) arrays of
  one contiguous shape, any shape; attention kernels 3-D (B, T, D) with every batch and head
  axis folded into B. The functional layer does the reshaping and the reductions, so kernels
  never see an ``axis`` argument.
- Outputs are new arrays of the input's dtype, except the statistics a forward saves for its
  backward (layer_norm's mean and rstd, the lse of cross_entropy and attention), which are
  float32 for float16 inputs. Only ``adamw_step`` writes in place.
- A backward kernel takes what its forward saw and returned (inputs, outputs, statistics),
  then the upstream gradient, then the forward's settings, in that order, and returns one
  gradient per differentiable input.
- Kernels do not validate arguments (``tinygrad_lm.functional`` does) and keep no state.

Threads: ``set_kernels`` makes a process-wide choice, seen by every thread not inside a
``use_kernels`` block; ``use_kernels`` changes only the thread that enters it, like
``no_grad``, so a thread can run one block on the NumPy table while others keep theirs. A new
thread starts with the process-wide choice. ``set_kernels`` inside a ``use_kernels`` block
also switches that block (this thread sees its choice at once); when the block ends, this
thread follows the process-wide choice again.
"""

import contextlib
import importlib
import os
import threading
import warnings

from ..engine.device import device_of

ENV_VAR = "TINYGRAD_LM_KERNELS"

BACKENDS = {
    "numpy": "tinygrad_lm.backends.numpy_ref",
    "numba": "tinygrad_lm.backends.numba_cpu",
    "cupy": "tinygrad_lm.backends.cupy_gpu",
}

# Arrays on these devices always use this table, whatever the active CPU table is.
DEVICE_TABLES = {"cuda": "cupy"}

KERNEL_NAMES = (
    "softmax_fwd", "softmax_bwd", "log_softmax_fwd", "log_softmax_bwd", "gelu_fwd", "gelu_bwd",
    "layer_norm_fwd", "layer_norm_bwd", "cross_entropy_fwd", "cross_entropy_bwd",
    "attention_fwd", "attention_bwd", "adamw_step", "embedding_bwd",
    "dropout_fwd", "dropout_bwd", "mse_fwd", "mse_bwd", "kl_div_fwd", "kl_div_bwd",
)

_state = {"active": None, "default": None}  # process-wide; both decided on first use (default_backend)
_tables = {}  # backend name -> {kernel name: function}, filled on first use
_lock = threading.Lock()  # guards the first-use decisions above against two threads at once


class _Block(threading.local):
    """The table of this thread's innermost ``use_kernels`` block (None outside any block)."""

    table = None


_block = _Block()


def kernel_backends():
    """The names ``set_kernels`` accepts (the CPU tables), sorted."""
    return sorted(name for name in BACKENDS if name not in DEVICE_TABLES.values())


def default_backend():
    """The table used until ``set_kernels`` picks another, decided once, on first use.

    ``$TINYGRAD_LM_KERNELS`` if set (it must name a backend); otherwise "numba" when the Numba
    table imports, else "numpy" with one warning that says why.
    """
    with _lock:
        if _state["default"] is None:
            _state["default"] = _choose_default()
    return _state["default"]


def _choose_default():
    """The environment's table, else numba if it imports, else numpy (warning once)."""
    chosen = os.environ.get(ENV_VAR, "")
    if chosen and chosen not in BACKENDS:
        raise ValueError(
            f"{ENV_VAR}={chosen!r} is not a kernel backend; valid values are "
            f"{', '.join(kernel_backends())} (unset it to use numba when Numba imports)"
        )
    if not chosen:
        chosen = "numba"
        try:
            load_kernels("numba")
        except ImportError as error:
            warnings.warn(
                f"tinygrad_lm: the Numba kernels are unavailable ({error}); using the slower "
                f"NumPy reference kernels. Install numba, or set {ENV_VAR}=numpy to choose "
                f"them explicitly.",
                RuntimeWarning, stacklevel=3,  # the caller of default_backend
            )
            chosen = "numpy"
    return chosen


def active_backend():
    """The name of the table the fused ops use now, in this thread."""
    if _block.table is not None:
        return _block.table
    if _state["active"] is None:
        _state["active"] = default_backend()
    return _state["active"]


def load_kernels(backend):
    """The table of ``backend`` as a dict ``{kernel name: function}`` (imports it once)."""
    _check_known(backend)
    if backend not in _tables:
        try:
            module = importlib.import_module(BACKENDS[backend])
        except ImportError as error:
            raise ImportError(
                f"kernel table {backend!r} ({BACKENDS[backend]}) cannot be imported: {error}; "
                f"install what it needs or choose another table ({', '.join(kernel_backends())})"
            ) from error
        missing = [name for name in KERNEL_NAMES if not callable(getattr(module, name, None))]
        if missing:
            raise ImportError(f"kernel table {backend!r} ({BACKENDS[backend]}) lacks {missing}")
        _tables[backend] = {name: getattr(module, name) for name in KERNEL_NAMES}
    return _tables[backend]


def kernels(like=None):
    """The table as a dict ``{kernel name: function}`` for arrays like ``like``.

    A GPU array gets its device's table (``DEVICE_TABLES``); a CPU array, or no array, gets the
    active CPU table.
    """
    device = "cpu" if like is None else device_of(like)
    return load_kernels(DEVICE_TABLES.get(device) or active_backend())


def get_kernel(name, like=None):
    """The kernel called ``name`` for arrays like ``like``, e.g. ``get_kernel("softmax_fwd", x)``."""
    if name not in KERNEL_NAMES:
        raise KeyError(f"get_kernel: no kernel named {name!r}; the kernels are {', '.join(KERNEL_NAMES)}")
    return kernels(like)[name]


def set_kernels(backend):
    """Make ``backend`` (a name from ``kernel_backends()``) the CPU table of every thread.

    Process-wide: threads inside their own ``use_kernels`` block keep that block's table until
    it ends (the calling thread's block, if any, switches too).
    """
    _check_cpu_table(backend)
    load_kernels(backend)  # fail here, not inside the first fused op, if it cannot load
    _state["active"] = backend
    if _block.table is not None:
        _block.table = backend


@contextlib.contextmanager
def use_kernels(backend):
    """Use ``backend``'s table in this thread inside a ``with`` block, then the previous one."""
    _check_cpu_table(backend)
    table = load_kernels(backend)
    previous, _block.table = _block.table, backend
    try:
        yield table
    finally:
        _block.table = previous


def _check_cpu_table(backend):
    if backend in DEVICE_TABLES.values():
        raise ValueError(
            f"the {backend!r} kernels run by themselves for arrays on their device; set_kernels "
            f"chooses the CPU table, one of {', '.join(kernel_backends())}"
        )
    _check_known(backend)


def _check_known(backend):
    if backend not in BACKENDS:
        raise ValueError(
            f"unknown kernel backend {backend!r}; the known backends are {', '.join(kernel_backends())}"
        )


__all__ = [
    "BACKENDS", "DEVICE_TABLES", "ENV_VAR", "KERNEL_NAMES", "active_backend", "default_backend", "get_kernel",
    "kernel_backends", "kernels", "load_kernels", "set_kernels", "use_kernels",
]
