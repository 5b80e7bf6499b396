"""exp and erf for float32 kernels, as loops of multiply-adds that LLVM turns into SIMD code.

Two kinds: ``exp_nonpositive`` computes in float64 for float32 data (softmax, cross-entropy and
attention rows, whose sums run in float64 anyway), ``exp_f32`` and ``erf_f32`` compute in
float32 (GELU, whose every element is independent).

Numba calls the C library's ``exp`` and ``erf`` once per element (3-10 ns each here), and a
loop containing such a call is never vectorised. NumPy's own float32 ``exp`` is vectorised,
which made the reference table faster than Numba on every exp-bound kernel. For float32
data (24-bit mantissa) a polynomial computed in float64 is accurate enough, and a loop of
multiply-adds vectorises: 0.6 ns per element against 3.3 ns for the C library's ``exp``.
float64 data keeps the C library's functions (``exp``, ``erf``), which are exact to float64:
the row kernels pick with a loop-invariant flag ``fast = (dtype is float32)``
(``exp_nonpositive_of``), and LLVM compiles the loop twice, once per value of the flag; GELU
has a float32 loop of its own.

exp, for arguments t <= 0 (every exponent in a softmax, a log-sum-exp, exp(-x^2 / 2)):

    exp(t) = exp(t / 1024) ^ 1024:   u = t / 1024 in [-0.11, 0], e^u by its Taylor polynomial
                                      of degree 7 (error < u^8 / 8! = 5e-13), then 10 squarings

The squarings multiply the relative error by 1024, so the result is within 5e-10 relative of
exp(t), about 1/100 of float32's rounding step (measured: every float32 result on 2e5
points in [-104, 0] rounded to the correctly rounded value). Below t = -110 (exp = 1.7e-48,
under float32's smallest subnormal) the result is exactly 0, so that x * exp(-x^2 / 2) is 0
for huge |x| too (1.7e-48 times x = 1e4 would not be); -inf gives 0, NaN gives NaN, and the
polynomial, though meant for t <= 0, still overflows to inf for t >= 710.

erf, for any x, in float32 (``erf_f32``): the rational approximation Eigen and XLA use,

    erf(x) ~ x P(x^2) / Q(x^2),   x clamped to [-4, 4] (erf(4) = 1 - 1.5e-8),

P of degree 6 and Q of degree 4 in x^2, float32 coefficients and arithmetic: largest absolute
error 4.2e-7, 7 float32 steps near |erf| = 1 (measured against ``math.erf`` on 400k points of
[-6, 6]; in float64 arithmetic the same ratio is within 6.5e-8). The ratio can pass 1 near |x| = 4, so the result is
clamped to [-1, 1]: without that, 1 + erf(x) could be negative for x <= -4 and exact
GELU(-20) came out positive. NaN stays NaN through both clamps (``max(nan, c)`` is nan when
nan comes first).

exp in float32 (``exp_f32``, t <= 0): Cephes' expf. t = n ln 2 + r with n the nearest integer
to t / ln 2 and |r| <= ln 2 / 2 (ln 2 split in two parts so r is exact), e^r by a degree-7
polynomial, and 2^n made from its IEEE bits ((n + 127) << 23, one bitcast, an LLVM intrinsic
under the JIT and a NumPy view in plain Python). Within one float32 step of the true value
(measured on 400k points of [-87.3, 0]); 0 below -87.33, where the C library's results are
subnormal (< 1.2e-38).

All of them are plain Python under ``NUMBA_DISABLE_JIT=1``. Every kernel here is compiled
with ``error_model="numpy"``: Numba's default ("python") checks each float division for a zero
divisor so that it can raise ZeroDivisionError, and that branch alone stops vectorisation
(the erf loop ran 8 times slower with it). With "numpy", x / 0 gives inf or nan, as in NumPy.
"""

import math

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

EXP_FLOOR = -110.0  # exp(-110) = 1.7e-48: 0 once rounded to float32
EXP_TAYLOR = tuple(1.0 / math.factorial(n) for n in range(7, -1, -1))  # u^7 ... u^0 of e^u
ERF_P = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
         -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02)  # x^12 ... x^0 of P
ERF_Q = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
         -1.42647390514189e-02)  # x^8 ... x^0 of Q
F32 = np.float32
EXP32_FLOOR = F32(-87.33)  # float32's smallest normal is exp(-87.34); below this exp_f32 gives 0
LOG2E, LN2_HI, LN2_LO = F32(1.4426950408889634), F32(0.693359375), F32(-2.12194440e-4)  # ln 2 = HI + LO
EXP32_POLY = tuple(F32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                                    1.6666665459e-1, 5.0000001201e-1))  # Cephes expf: r^5 ... r^0 of (e^r - 1 - r) / r^2
ERF32_P, ERF32_Q = tuple(F32(c) for c in ERF_P), tuple(F32(c) for c in ERF_Q)


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


# --- float32 arithmetic (for kernels that compute in float32, such as GELU) -----------------
if numba.config.DISABLE_JIT:  # plain Python: NumPy reinterprets the scalar's bits
    def float32_from_bits(bits):
        """The float32 whose IEEE bit pattern is the int32 ``bits``."""
        return np.int32(bits).view(np.float32)
else:
    @intrinsic
    def float32_from_bits(typingctx, bits):
        """The float32 whose IEEE bit pattern is the int32 ``bits`` (one LLVM bitcast; vectorises)."""
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.FloatType())
        return types.float32(types.int32), codegen


@njit(cache=True, error_model="numpy")
def exp_f32(t):
    """exp(t) for float32 t <= 0 in float32 arithmetic (Cephes expf): t = n ln2 + r, |r| <= ln2 / 2,
    e^r by a degree-7 polynomial, times 2^n built from its exponent bits. Within one float32 step
    of the true value; 0 below -87.33 (where the C library gives subnormals, < 1.2e-38), NaN stays NaN."""
    t = max(t, EXP32_FLOOR - F32(1.0))  # NaN first, so it stays NaN; keeps n >= -127
    n = np.int32(t * LOG2E - F32(0.5))  # truncation of a value <= 0 toward 0: the nearest integer (+-1)
    r = (t - F32(n) * LN2_HI) - F32(n) * LN2_LO  # Cody-Waite: ln 2 in two parts, r exact to float32
    p = EXP32_POLY[0]
    for c in EXP32_POLY[1:]:
        p = p * r + c  # Horner's rule
    scale = float32_from_bits((n + np.int32(127)) << np.int32(23))  # 2^n: biased exponent, zero mantissa
    return F32(0.0) if t < EXP32_FLOOR else (p * r * r + r + F32(1.0)) * scale


@njit(cache=True, error_model="numpy")
def erf_f32(x):
    """erf(x) for float32 x in float32 arithmetic: x P(x^2) / Q(x^2) on [-4, 4] with float32
    coefficients (Eigen's float32 erf); within 5e-7 absolute of the true value, clamped to [-1, 1]."""
    x = min(max(x, F32(-4.0)), F32(4.0))  # NaN stays NaN
    x2 = x * x
    p = ERF32_P[0]
    for c in ERF32_P[1:]:
        p = p * x2 + c
    q = ERF32_Q[0]
    for c in ERF32_Q[1:]:
        q = q * x2 + c
    return min(max(x * p / q, F32(-1.0)), F32(1.0))
