"""GELU in Numba, forward and backward, elementwise over an array of any shape.

The wrapper flattens a C-contiguous view (or copy) of the input to one axis (N,), an
``@njit`` loop runs over the elements in parallel, and the result is reshaped back, so a 0-d
input stays 0-d. Each element is computed in float64 and rounded once to the array's dtype.

The tanh form is evaluated through the logistic sigmoid, an exact identity:

    0.5 x (1 + tanh(u)) = x sigma(2u),   sigma(z) = 1 / (1 + exp(-z)),   since 1 + tanh(u) = 2 sigma(2u)

with e = exp(-|z|) <= 1, so the exponent is never positive: sigma(z) = 1 / (1 + e) for z >= 0
and e / (1 + e) for z < 0. One ``exp`` costs far less than a ``tanh``, and 1 + tanh(u), which
cancels to 0 for large negative x, is never formed. The backward uses
1 - tanh(u)^2 = 4 sigma (1 - sigma). Past |x| ~ 22 sigma(2u) is exactly 0 or 1, so an x^3 that
overflows (float64 past 1e102) changes nothing; in the backward, x^2 is capped at 1e300 so that
0 * x^2 stays 0 there (the reference clips x to +-100 instead, to the same effect), while
x = +-inf still gives NaN.

For float32 arrays, exp and erf are the vectorisable polynomials of ``_math.py`` (the whole
loop then runs as SIMD code); float64 arrays use the C library's exact functions. Both keep
the limits exact: erf is clamped to [-1, 1] and exp is exactly 0 below -110, so GELU is never
positive for negative x and its gradient is exactly 0 where the true value underflows
(x <= -15 in float32); at x = +-inf the formula's 0 * inf gives NaN, as in the reference.
(Numba's cache does not notice a change in ``_math.py``: after editing it, touch this file.)

Formulas: ``numpy_ref.gelu_fwd`` and ``gelu_bwd``.
"""

import math

import numpy as np
from numba import njit, prange

from ._math import erf_of, exp_nonpositive_of
from ._wrappers import as_input, float16_via_float32, launch, loop

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
INV_SQRT_2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
GELU_CUBIC = 0.044715


@njit(cache=True, error_model="numpy")
def _sigmoid_of_2u(x, fast):
    """sigma(2u), u = sqrt(2/pi) (x + 0.044715 x^3): the tanh form's 0.5 (1 + tanh(u))."""
    z = 2.0 * SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)
    e = exp_nonpositive_of(-abs(z), fast)  # exp(-|z|), in (0, 1]
    return 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)


@loop()
def _gelu_fwd_flat(x, tanh_form, fast, y):
    for i in prange(x.shape[0]):  # element i
        xi = float(x[i])
        if tanh_form:
            y[i] = xi * _sigmoid_of_2u(xi, fast)  # = 0.5 x (1 + tanh(u))
        else:
            y[i] = 0.5 * xi * (1.0 + erf_of(xi * INV_SQRT_2, fast))  # x Phi(x)


@float16_via_float32
def gelu_fwd(x, approximate):
    """GELU of every element, x (any shape) -> y (same shape); formula: numpy_ref.gelu_fwd.

    approximate "none" uses erf, "tanh" GPT-2's tanh form, as x sigma(2u). Trick: one parallel
    loop over the flattened array, each element in float64; float32 data uses the vectorisable
    exp and erf polynomials of ``_math.py``.
    """
    shape = np.shape(x)
    x = as_input(x).reshape(-1)  # (...) -> (N,)
    y = np.empty_like(x)
    launch(_gelu_fwd_flat, x.size, x, approximate == "tanh", x.dtype == np.float32, y)
    return y.reshape(shape)  # (N,) -> (...), so a 0-d input gives a 0-d output


@loop()
def _gelu_bwd_flat(x, gy, tanh_form, fast, gx):
    for i in prange(x.shape[0]):  # element i
        xi = float(x[i])
        if tanh_form:
            s = _sigmoid_of_2u(xi, fast)  # 0.5 (1 + t), t = tanh(u)
            du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * min(xi * xi, 1e300))  # d/dx of u; x^2 capped
            slope = s + xi * (2.0 * s * (1.0 - s)) * du  # 0.5 (1 + t) + 0.5 x (1 - t^2) du; never 2 x = inf
        else:
            cdf = 0.5 * (1.0 + erf_of(xi * INV_SQRT_2, fast))  # Phi(x)
            slope = cdf + xi * INV_SQRT_2PI * exp_nonpositive_of(-0.5 * xi * xi, fast)  # Phi(x) + x phi(x)
        gx[i] = gy[i] * slope


@float16_via_float32
def gelu_bwd(x, gy, approximate):
    """gx = gy * GELU'(x), elementwise, x and gy of one shape; formula: numpy_ref.gelu_bwd.

    Trick: the slope is recomputed from x (nothing but x is saved by the forward), in float64,
    in the same parallel loop that multiplies by gy.
    """
    shape = np.shape(x)
    x = as_input(x).reshape(-1)  # (...) -> (N,)
    gy = as_input(gy, dtype=x.dtype).reshape(-1)
    gx = np.empty_like(x)
    launch(_gelu_bwd_flat, x.size, x, gy, approximate == "tanh", x.dtype == np.float32, gx)
    return gx.reshape(shape)  # (N,) -> (...)
