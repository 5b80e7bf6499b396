"""exp and erf for float32 kernels, as loops of multiply-adds that LLVM turns into SIMD code.

Numba calls the C library's ``exp`` and ``erf`` once per element (3-10 ns each here), and a
loop containing such a call is never vectorised. NumPy's own float32 ``exp`` is vectorised,
which made the reference table faster than Numba on every exp-bound kernel. For float32
data (24-bit mantissa) a polynomial computed in float64 is accurate enough, and a loop of
multiply-adds vectorises: 0.6 ns per element against 3.3 ns for the C library's ``exp``.
float64 data keeps the C library's functions (``exp``, ``erf``), which are exact to float64:
every kernel picks with a loop-invariant flag ``fast = (dtype is float32)``, and LLVM
compiles the loop twice, once per value of the flag.

exp, for arguments t <= 0 (every exponent in a softmax, a log-sum-exp, exp(-x^2 / 2)):

    exp(t) = exp(t / 1024) ^ 1024:   u = t / 1024 in [-0.11, 0], e^u by its Taylor polynomial
                                      of degree 7 (error < u^8 / 8! = 5e-13), then 10 squarings

The squarings multiply the relative error by 1024, so the result is within 5e-10 relative of
exp(t), about 1/100 of float32's rounding step (measured: every float32 result on 2e5
points in [-104, 0] rounded to the correctly rounded value). Below t = -110 (exp = 1.7e-48,
under float32's smallest subnormal) the result is exactly 0, so that x * exp(-x^2 / 2) is 0
for huge |x| too (1.7e-48 times x = 1e4 would not be); -inf gives 0, NaN gives NaN, and the
polynomial, though meant for t <= 0, still overflows to inf for t >= 710.

erf, for any x: the rational approximation Eigen and XLA use for float32,

    erf(x) ~ x P(x^2) / Q(x^2),   x clamped to [-4, 4] (erf(4) = 1 - 1.5e-8),

P of degree 6 and Q of degree 4 in x^2; largest absolute error 6.5e-8 over the real line
(measured against ``math.erf`` on 2 million points), below float32's half-ulp at 1. The
ratio itself reaches 1 + 4.9e-8 at |x| = 4, so the result is clamped to [-1, 1]: without
that, 1 + erf(x) was -4.9e-8 for x <= -4 and exact GELU(-20) came out positive (+4.9e-7).
NaN stays NaN through both clamps (``max(nan, c)`` is nan when nan comes first).

Both functions are plain Python under ``NUMBA_DISABLE_JIT=1``. Every kernel here is compiled
with ``error_model="numpy"``: Numba's default ("python") checks each float division for a zero
divisor so that it can raise ZeroDivisionError, and that branch alone stops vectorisation
(the erf loop ran 8 times slower with it). With "numpy", x / 0 gives inf or nan, as in NumPy.
"""

import math

from numba import njit

EXP_FLOOR = -110.0  # exp(-110) = 1.7e-48: 0 once rounded to float32
EXP_TAYLOR = tuple(1.0 / math.factorial(n) for n in range(7, -1, -1))  # u^7 ... u^0 of e^u
ERF_P = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
         -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02)  # x^12 ... x^0 of P
ERF_Q = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
         -1.42647390514189e-02)  # x^8 ... x^0 of Q


@njit(cache=True, error_model="numpy")
def exp_nonpositive(t):
    """exp(t) for t <= 0 to 5e-10 relative: exp(t / 1024)^1024; exactly 0 below -110, NaN for NaN."""
    t = float(t)  # float64 also in plain Python
    u = max(t, EXP_FLOOR) * (1.0 / 1024.0)  # NaN first, so it stays NaN
    e = EXP_TAYLOR[0]
    for c in EXP_TAYLOR[1:]:
        e = e * u + c  # Horner's rule: e = sum_n u^n / n!, n = 0..7
    for _ in range(10):  # e^(u 2^k) for k = 1..10
        e = e * e
    return 0.0 if t < EXP_FLOOR else e  # a select, so the loop still vectorises


@njit(cache=True, error_model="numpy")
def exp_nonpositive_of(t, fast):
    """exp(t), t <= 0: the polynomial when ``fast`` (float32 data), else the C library's exp."""
    return exp_nonpositive(t) if fast else math.exp(t)


@njit(cache=True, error_model="numpy")
def erf_rational(x):
    """erf(x) to 6.5e-8 absolute: x P(x^2) / Q(x^2) on [-4, 4], clamped to [-1, 1]; NaN stays NaN."""
    x = min(max(float(x), -4.0), 4.0)  # the argument first in max and min: NaN stays NaN
    x2 = x * x
    p = ERF_P[0]
    for c in ERF_P[1:]:
        p = p * x2 + c  # Horner's rule in x^2
    q = ERF_Q[0]
    for c in ERF_Q[1:]:
        q = q * x2 + c
    return min(max(x * p / q, -1.0), 1.0)  # the ratio is 1 + 4.9e-8 at |x| = 4


@njit(cache=True, error_model="numpy")
def erf_of(x, fast):
    """erf for one element: the rational approximation when ``fast`` (float32 data), else math.erf."""
    return erf_rational(x) if fast else math.erf(x)
