"""GELU in Numba, forward and backward, elementwise over an array of any shape.

The wrapper flattens a C-contiguous view (or copy) of the input to one axis (N,), an
``@njit`` loop runs over the elements in parallel, and the result is reshaped back, so a 0-d
input stays 0-d. Each element is computed in the array's own precision (see below).

The tanh form is evaluated through the logistic sigmoid, an exact identity:

    0.5 x (1 + tanh(u)) = x sigma(2u),   sigma(z) = 1 / (1 + exp(-z)),   since 1 + tanh(u) = 2 sigma(2u)

with e = exp(-|z|) <= 1, so the exponent is never positive: sigma(z) = 1 / (1 + e) for z >= 0
and e / (1 + e) for z < 0. One ``exp`` costs far less than a ``tanh``, and 1 + tanh(u), which
cancels to 0 for large negative x, is never formed. The backward uses
1 - tanh(u)^2 = 4 sigma (1 - sigma). Past |x| ~ 22 sigma(2u) is exactly 0 or 1, so an x^3 that
overflows (float64 past 1e102) changes nothing; in the backward, x^2 is capped at 1e300 so that
0 * x^2 stays 0 there (the reference clips x to +-100 instead, to the same effect), while
x = +-inf still gives NaN.

Arithmetic follows the data: float64 arrays are computed in float64 with the C library's
exact ``erf`` and ``exp``; float32 arrays in float32 with ``_math.py``'s ``erf_f32`` and
``exp_f32`` (Eigen's and Cephes' float32 polynomials), as PyTorch computes float32 GELU. The
float32 loops are pure multiply-adds, so they run as SIMD code in float32 lanes (exact fwd +
bwd of a (768, 512) activation through gelu_fwd/gelu_bwd on one core of the idle machine, the
previous float64-arithmetic polynomial against these, median of 3 alternating processes: 1.38
-> 0.86 ms; libm's float64 erf and exp on float64 data take 7.95 ms); against the float64
reference they are off by a few float32 steps (erf_f32 is within 5e-7 absolute; tests/backends/test_numba_math.py,
and the parity tests' 256-eps tolerance). Where 1 + erf cancels, for negative x, that is an
absolute error: exact GELU(-4.7) = -6.4e-6 may be off by 1e-6 (PyTorch's 1-ulp erf: 1.4e-7),
harmless next to the activations around it. Both keep the limits exact: erf is clamped to [-1, 1]
and exp is exactly 0 far below 0, so GELU is never positive for negative x and its gradient is
exactly 0 where the true value underflows (x <= -15 in float32); at x = +-inf the formula's
0 * inf gives NaN, as in the reference. The float32 tanh form's backward caps x^2 at 1e30 and
forms sigma (1 - sigma) as e / (1 + e)^2, which float32's 1 - sigma near 1 would round badly. (Numba's cache does not notice a change in ``_math.py``: after editing it, touch
this file.)

Formulas: ``numpy_ref.gelu_fwd`` and ``gelu_bwd``.
"""

import math

import numpy as np
from numba import njit, prange

from ._math import erf_f32, exp_f32
from ._wrappers import as_input, float16_via_float32, launch, loop

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
INV_SQRT_2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
GELU_CUBIC = 0.044715
F32 = np.float32  # the float32 loops' constants, so that no operation widens to float64
HALF, ONE, TWO, X2_CAP = F32(0.5), F32(1.0), F32(2.0), F32(1e30)
SQRT_2_OVER_PI_F32, INV_SQRT_2_F32, INV_SQRT_2PI_F32 = F32(SQRT_2_OVER_PI), F32(INV_SQRT_2), F32(INV_SQRT_2PI)
GELU_CUBIC_F32, GELU_CUBIC3_F32 = F32(GELU_CUBIC), F32(3.0 * GELU_CUBIC)


@njit(cache=True, error_model="numpy")
def _sigmoid_of_2u(x):
    """sigma(2u), u = sqrt(2/pi) (x + 0.044715 x^3), float64: the tanh form's 0.5 (1 + tanh(u))."""
    z = 2.0 * SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)
    e = math.exp(-abs(z))  # in (0, 1]
    return 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)


@njit(cache=True, error_model="numpy")
def _sigmoid_of_2u_f32(x):
    """``_sigmoid_of_2u`` in float32 arithmetic."""
    z = TWO * SQRT_2_OVER_PI_F32 * (x + GELU_CUBIC_F32 * x * x * x)
    e = exp_f32(-abs(z))
    return ONE / (ONE + e) if z >= F32(0.0) else e / (ONE + e)


@loop()
def _gelu_fwd_flat(x, tanh_form, y):
    for i in prange(x.shape[0]):  # element i, float64
        xi = x[i]
        if tanh_form:
            y[i] = xi * _sigmoid_of_2u(xi)  # = 0.5 x (1 + tanh(u))
        else:
            y[i] = 0.5 * xi * (1.0 + math.erf(xi * INV_SQRT_2))  # x Phi(x)


@loop()
def _gelu_fwd_flat_f32(x, tanh_form, y):
    for i in prange(x.shape[0]):  # element i, float32
        xi = x[i]
        if tanh_form:
            y[i] = xi * _sigmoid_of_2u_f32(xi)
        else:
            y[i] = HALF * xi * (ONE + erf_f32(xi * INV_SQRT_2_F32))


@float16_via_float32
def gelu_fwd(x, approximate):
    """GELU of every element, x (any shape) -> y (same shape); formula: numpy_ref.gelu_fwd.

    approximate "none" uses erf, "tanh" GPT-2's tanh form, as x sigma(2u). Trick: one parallel
    loop over the flattened array, in the data's precision (float32 with the vectorisable
    polynomials of ``_math.py``).
    """
    shape = np.shape(x)
    x = as_input(x).reshape(-1)  # (...) -> (N,)
    y = np.empty_like(x)
    launch(_gelu_fwd_flat_f32 if x.dtype == np.float32 else _gelu_fwd_flat, x.size, x, approximate == "tanh", y)
    return y.reshape(shape)  # (N,) -> (...), so a 0-d input gives a 0-d output


@loop()
def _gelu_bwd_flat(x, gy, tanh_form, gx):
    for i in prange(x.shape[0]):  # element i, float64
        xi = x[i]
        if tanh_form:
            s = _sigmoid_of_2u(xi)  # 0.5 (1 + t), t = tanh(u)
            du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * min(xi * xi, 1e300))  # d/dx of u; x^2 capped
            slope = s + xi * (2.0 * s * (1.0 - s)) * du  # 0.5 (1 + t) + 0.5 x (1 - t^2) du; never 2 x = inf
        else:
            cdf = 0.5 * (1.0 + math.erf(xi * INV_SQRT_2))  # Phi(x)
            slope = cdf + xi * INV_SQRT_2PI * math.exp(-0.5 * xi * xi)  # Phi(x) + x phi(x)
        gx[i] = gy[i] * slope


@loop()
def _gelu_bwd_flat_f32(x, gy, tanh_form, gx):
    for i in prange(x.shape[0]):  # element i, float32
        xi = x[i]
        if tanh_form:
            z = TWO * SQRT_2_OVER_PI_F32 * (xi + GELU_CUBIC_F32 * xi * xi * xi)
            e = exp_f32(-abs(z))
            d = ONE / (ONE + e)
            s = d if z >= F32(0.0) else e * d  # sigma(z)
            du = SQRT_2_OVER_PI_F32 * (ONE + GELU_CUBIC3_F32 * min(xi * xi, X2_CAP))
            slope = s + xi * (TWO * e * d * d) * du  # s (1 - s) = e / (1 + e)^2: no 1 - s to cancel
        else:
            cdf = HALF * (ONE + erf_f32(xi * INV_SQRT_2_F32))
            slope = cdf + xi * INV_SQRT_2PI_F32 * exp_f32(-HALF * xi * xi)
        gx[i] = gy[i] * slope


@float16_via_float32
def gelu_bwd(x, gy, approximate):
    """gx = gy * GELU'(x), elementwise, x and gy of one shape; formula: numpy_ref.gelu_bwd.

    Trick: the slope is recomputed from x (nothing but x is saved by the forward), in the data's
    precision, in the same parallel loop that multiplies by gy.
    """
    shape = np.shape(x)
    x = as_input(x).reshape(-1)  # (...) -> (N,)
    gy = as_input(gy, dtype=x.dtype).reshape(-1)
    gx = np.empty_like(x)
    launch(_gelu_bwd_flat_f32 if x.dtype == np.float32 else _gelu_bwd_flat, x.size, x, gy, approximate == "tanh", gx)
    return gx.reshape(shape)  # (N,) -> (...)
