"""Special functions NumPy lacks: the error function erf.

NumPy has no ``erf``. On the CPU we compile ``math.erf`` (correctly rounded to float64
precision) into a NumPy ufunc with Numba's ``vectorize``; it also runs with
``NUMBA_DISABLE_JIT=1``, just slowly. Where Numba cannot be imported, the same ``math.erf``
runs through ``numpy.vectorize`` (exact, about 50x slower). On the GPU, CuPy ships
``cupyx.scipy.special.erf``. float16 is computed in float32 and rounded back.
"""

import math

import numpy as np

from ..engine import array_module

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; this keeps a broken install usable
    numba = None

if numba is not None:

    @numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
    def _erf_cpu(x):
        return math.erf(x)

else:  # pragma: no cover
    _erf_vectorized = np.vectorize(math.erf, otypes=[np.float64])

    def _erf_cpu(x):
        return _erf_vectorized(x).astype(x.dtype)


def erf(x):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise, keeping x's dtype."""
    xp = array_module(x)
    if xp is np:
        if x.dtype == np.float16:
            return _erf_cpu(x.astype(np.float32)).astype(np.float16)
        return _erf_cpu(x)
    import cupyx.scipy.special  # only reached with CuPy arrays

    return cupyx.scipy.special.erf(x)
