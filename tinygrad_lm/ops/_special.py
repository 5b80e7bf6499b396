"""Special functions NumPy lacks: the error function erf.

NumPy has no ``erf``. On the CPU we compile ``math.erf`` (correctly rounded to float64
precision) into a NumPy ufunc with Numba's ``vectorize``; it also runs with
``NUMBA_DISABLE_JIT=1``, just slowly. On the GPU, CuPy ships ``cupyx.scipy.special.erf``.
float16 is computed in float32 and rounded back.
"""

import math

import numba
import numpy as np

from ..engine import array_module


@numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
def _erf_cpu(x):
    return math.erf(x)


def erf(x):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise, keeping x's dtype."""
    xp = array_module(x)
    if xp is np:
        if x.dtype == np.float16:
            return _erf_cpu(x.astype(np.float32)).astype(np.float16)
        return _erf_cpu(x)
    import cupyx.scipy.special  # only reached with CuPy arrays

    return cupyx.scipy.special.erf(x)
