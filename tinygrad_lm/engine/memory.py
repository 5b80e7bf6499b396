"""Keeping freed memory for reuse: one malloc setting that a training loop needs on Linux.

Every op returns a new array, so one GPT training step allocates and frees tens of megabytes
in arrays of 0.1 to 2 MiB. glibc's malloc serves a large request with a fresh ``mmap`` and
returns it to the kernel when freed, and trims the top of its heap whenever more than a few
MiB lie free there. Either way, the next step's arrays land on new pages, and the kernel
faults in and zeroes every 4 KiB page again: about 4,500 page faults per step of the
shakespeare-char model, where PyTorch (whose allocator keeps freed blocks) needs 300. On this
project's machine that made the step 82 ms instead of 67-73 ms with the Numba kernels
(benchmarks/README.md, "Memory").

``keep_freed_memory()`` tells glibc to serve requests up to 32 MiB from its heap and to keep
up to 256 MiB of free heap instead of trimming it, through ``mallopt``. The process then keeps
its peak memory instead of handing it back between steps, which is what a training loop
wants. It changes the whole process (every library in it allocates through the same malloc),
so the library never calls it on import: the trainer (``tinygrad-lm train``) and the
benchmarks do, and a user's own training script may.

Left out: other C libraries (musl, macOS, Windows) have no ``mallopt`` with these settings;
there the function does nothing and says so by returning False.
"""

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3


def keep_freed_memory(mmap_threshold=32 << 20, trim_threshold=256 << 20):
    """Make glibc's malloc reuse freed memory for arrays up to ``mmap_threshold`` bytes.

    Returns True when both settings were applied, False where the C library is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None or not hasattr(libc, "gnu_get_libc_version"):  # not glibc
        return False
    applied = mallopt(M_MMAP_THRESHOLD, int(mmap_threshold)) == 1
    return mallopt(M_TRIM_THRESHOLD, int(trim_threshold)) == 1 and applied


__all__ = ["keep_freed_memory"]
