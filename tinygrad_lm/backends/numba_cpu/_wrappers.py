"""What every Numba kernel wrapper does around its compiled loop: arrays in, threads, float16.

``as_input(a)``: a C-contiguous, read-only view of ``a`` (copied only when ``a`` is not
contiguous or has another dtype). Numba compiles one machine-code version per combination of
argument types, and a read-only array is a different type from a writeable one; inputs come
as both (``numpy.broadcast_to`` views are read-only), so without this one kernel would compile
up to 2^inputs versions per dtype. Read-only also makes a loop that writes into its input
fail to compile.

``launch(loop, work, *args)``: calls the loop, on the calling thread alone when ``work`` (about
the number of elements it touches) is below ``PARALLEL_FROM``. Waking other threads costs
microseconds on an idle machine, and on a busy one a parallel region waits until every thread
it uses is scheduled again: milliseconds. A gradient check makes thousands of tiny calls, and
a tiny call has nothing to split anyway. ``numba.set_num_threads`` is per calling thread.

Importing this module sets ``OMP_WAIT_POLICY=PASSIVE`` unless the variable is already set.
Numba's OpenMP threads otherwise busy-wait after every parallel loop, taking the cores that
NumPy's BLAS threads need next (with 2 cores, a GPT training step ran 4 times slower). The
OpenMP runtime reads the variable once, when Numba starts its threads at the first parallel
call, so it has to be set before that.

``float16_via_float32``: Numba compiles float32 and float64 arithmetic but has no float16
type, so a wrapped kernel gets float16 arrays as float32 copies and returns its float32
results as float16: one extra rounding, well inside float16's tolerance. The statistics a
forward saves for its backward (layer_norm's mean and rstd, the lse of cross_entropy and
attention) stay float32: attention's lse of float16 scores near 1e4 rounded to float16's
grid there (spacing 8) would rebuild probabilities off by a factor up to e^4.
"""

import functools
import os

import numba
import numpy as np

PARALLEL_FROM = 1 << 15  # elements of work from which a loop runs on all of Numba's threads
# NumPy steps around the loops (matmul, casts) meet inf and NaN as IEEE arithmetic has them,
# without warnings, as the compiled loops and numpy_ref do.
quiet = np.errstate(invalid="ignore", over="ignore", divide="ignore")

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP workers sleep: see the docstring


def as_input(a, dtype=None):
    """``a`` as a C-contiguous, read-only array (a view when no copy is needed)."""
    view = np.ascontiguousarray(a, dtype=dtype).view()  # a view: the caller's flags stay
    view.flags.writeable = False
    return view


def launch(loop, work, *args):
    """``loop(*args)``, single-threaded when ``work`` < PARALLEL_FROM, else on every Numba thread."""
    if work >= PARALLEL_FROM:
        return loop(*args)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return loop(*args)
    finally:
        numba.set_num_threads(threads)


def float16_via_float32(kernel=None, *, statistics=0):
    """``kernel`` with float16 array arguments widened to float32 and its results narrowed back,
    except the last ``statistics`` results (saved for a backward), which stay float32.
    ``@float16_via_float32`` or ``@float16_via_float32(statistics=2)``."""
    if kernel is None:
        return functools.partial(float16_via_float32, statistics=statistics)

    @functools.wraps(kernel)  # keeps the name, docstring and (via __wrapped__) the signature
    @quiet  # narrowing 1e5 to float16 gives inf without a warning
    def wrapper(*args):
        if not any(isinstance(a, np.ndarray) and a.dtype == np.float16 for a in args):
            return kernel(*args)
        widened = [a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == np.float16 else a for a in args]
        result = kernel(*widened)
        if not isinstance(result, tuple):
            return result.astype(np.float16) if result.dtype == np.float32 else result
        narrowed = len(result) - statistics
        return tuple(r.astype(np.float16) if i < narrowed and r.dtype == np.float32 else r for i, r in enumerate(result))

    return wrapper
