"""What every Numba kernel wrapper does around its compiled loop: arrays in, threads, float16.

``as_input(a)``: a C-contiguous, read-only view of ``a`` (copied only when ``a`` is not
contiguous or has another dtype). Numba compiles one machine-code version per combination of
argument types, and a read-only array is a different type from a writeable one; inputs come
as both (``numpy.broadcast_to`` views are read-only), so without this one kernel would compile
up to 2^inputs versions per dtype. Read-only also makes a loop that writes into its input
fail to compile.

``@loop(...)``: the body of a ``prange`` loop, compiled on its first call in the version that
call needs: ``serial`` (one thread, ``prange`` is ``range``) or ``parallel`` (``prange`` split
between Numba's threads). ``launch(loop, work, *args)`` picks the parallel version only when
``work`` (about the number of elements the call touches) reaches the loop's ``parallel_from``
and Numba may use more than one thread. Waking other threads costs microseconds on an idle
machine, and on a busy one a parallel region waits until every thread it uses is scheduled
again: milliseconds. So each loop says from which size a second thread pays
(``PARALLEL_FROM`` for elementwise work, ``ROWS_PARALLEL_FROM`` for row loops whose rows are
short), and a run compiles only the versions it calls: a parallel loop takes about twice
as long to compile as a serial one, and one-thread runs, gradient checks and small models
never compile a parallel version at all. Both versions do the same arithmetic in the same
order per element or row (``prange`` only splits the iterations), so they agree bit for bit
(tests/backends/test_numba_parity.py). Keep a reassociated sum in a loop of its own, with no
store beside it: LLVM then vectorises it the same way in both (layer_norm_bwd's row sums,
once in the loop that also wrote gw, were vectorised only in the parallel version, and the
two versions' gx differed in the last bits).

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
import types

import numba
import numpy as np

PARALLEL_FROM = 1 << 15  # elements of work from which an elementwise loop runs on all of Numba's threads
ROWS_PARALLEL_FROM = 1 << 17  # the same for loops over rows (a GPT step's (768, 128) rows stay serial)
LOOPS = []  # every loop made by @loop, so a test can force them all parallel
# NumPy steps around the loops (matmul, casts) meet inf and NaN as IEEE arithmetic has them,
# without warnings, as the compiled loops and numpy_ref do.
quiet = np.errstate(invalid="ignore", over="ignore", divide="ignore")

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP workers sleep: see the docstring


def as_input(a, dtype=None):
    """``a`` as a C-contiguous, read-only array (a view when no copy is needed)."""
    view = np.ascontiguousarray(a, dtype=dtype).view()  # a view: the caller's flags stay
    view.flags.writeable = False
    return view


class Loop:
    """A ``prange`` loop body and its two compiled versions, each compiled on its first call."""

    def __init__(self, body, parallel_from, options):
        self.parallel_from = parallel_from
        self.parallel = numba.njit(cache=True, parallel=True, error_model="numpy", **options)(body)
        serial_body = types.FunctionType(body.__code__, body.__globals__, body.__name__, body.__defaults__,
                                         body.__closure__)
        serial_body.__qualname__ = f"{body.__qualname__}_serial"  # its own entries in Numba's cache
        self.serial = numba.njit(cache=True, error_model="numpy", **options)(serial_body)
        LOOPS.append(self)


def loop(parallel_from=PARALLEL_FROM, **options):
    """``@loop(fastmath=...)``: a ``Loop`` of the decorated body; ``options`` go to ``numba.njit``."""
    return lambda body: Loop(body, parallel_from, options)


def launch(kernel_loop, work, *args):
    """``kernel_loop``'s parallel version when ``work`` reaches its ``parallel_from`` and Numba
    may use more than one thread here, else its serial version, called with ``args``."""
    if work >= kernel_loop.parallel_from and numba.get_num_threads() > 1:
        return kernel_loop.parallel(*args)
    return kernel_loop.serial(*args)


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
