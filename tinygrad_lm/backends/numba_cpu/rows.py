"""Row kernels in Numba: softmax, log_softmax and layer_norm over the rows of an (N, C) array.

Every kernel here has the same shape: a Python wrapper with the reference's name and
signature makes its inputs C-contiguous and allocates the outputs, then an ``@njit`` loop
does the work, one row per iteration of a ``prange`` (rows are independent, so threads never
write the same element). Inside a row, sums are accumulated in float64 even for float32
input; each row is read two or three times while it sits in the cache. The loops are
compiled with ``fastmath={"reassoc"}``, which lets LLVM split a row's sum into SIMD lanes
(a fixed order, so results still do not depend on the thread count), and float32 rows use the
vectorisable exp of ``_math.py``.

The formulas and the numerics promised are the reference's (``numpy_ref``), non-finite rows
included: a row of -inf only has maximum -inf, which is taken as 0 (so its exponentials are
0, never -inf - -inf = NaN) and its sum of 0 as 1 (softmax 0, log_softmax -inf); a NaN or
+inf in a row makes its sum NaN, and so the whole row. Each docstring here says only which
trick the loop uses. Left out: blocking over the class axis for huge C
(a row of a GPT vocabulary, 50k floats, still fits in L2).
"""

import math

import numpy as np
from numba import njit, prange

from ._math import exp_nonpositive_of
from ._wrappers import ROWS_PARALLEL_FROM, as_input, float16_via_float32, launch, loop

ROWS_PER_BLOCK = 32  # rows per partial sum in layer_norm_bwd's gw and gb (fixed, see there)


# --- softmax and log-softmax ---------------------------------------------------------------
@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def row_shift(x, i, c):
    """max_j x[i, j], or 0 when that is -inf (a row of -inf: its exponentials are then exactly 0)."""
    m = x[i, 0]
    for j in range(1, c):
        m = max(m, x[i, j])
    return 0.0 if m == -math.inf else m


@loop(parallel_from=ROWS_PARALLEL_FROM, fastmath={"reassoc"})
def _softmax_fwd_rows(x, fast, y):
    n, c = x.shape
    for i in prange(n):  # row i
        m = row_shift(x, i, c)  # the row maximum, so every exponent is <= 0
        total = 0.0  # float64 sum of exp(x - m), >= 1 (0 on a row of -inf, NaN on a NaN row)
        for j in range(c):
            e = exp_nonpositive_of(x[i, j] - m, fast)
            y[i, j] = e
            total += e
        inverse = 1.0 / total if total != 0.0 else 1.0
        for j in range(c):
            y[i, j] *= inverse


@float16_via_float32
def softmax_fwd(x):
    """softmax of each row, x (N, C) -> y (N, C); formula: numpy_ref.softmax_fwd.

    Trick: three passes over one cached row (max, exp and sum in float64, scale by 1/sum);
    rows run in parallel.
    """
    x = as_input(x)
    y = np.empty_like(x)  # (N, C)
    launch(_softmax_fwd_rows, x.size, x, x.dtype == np.float32, y)
    return y


@loop(parallel_from=ROWS_PARALLEL_FROM, fastmath={"reassoc"})
def _softmax_bwd_rows(y, gy, gx):
    n, c = y.shape
    for i in prange(n):  # row i
        dot = 0.0  # sum_k gy_k y_k in float64
        for j in range(c):
            dot += gy[i, j] * y[i, j]
        for j in range(c):
            gx[i, j] = y[i, j] * (gy[i, j] - dot)


@float16_via_float32
def softmax_bwd(y, gy):
    """gx = y * (gy - sum_k gy_k y_k) per row, y and gy (N, C) -> gx (N, C); numpy_ref.softmax_bwd.

    Trick: the Jacobian is never formed; one float64 dot product per row, then one pass.
    """
    y, gy = as_input(y), as_input(gy)
    gx = np.empty_like(y)  # (N, C)
    launch(_softmax_bwd_rows, y.size, y, gy, gx)
    return gx


@loop(parallel_from=ROWS_PARALLEL_FROM, fastmath={"reassoc"})
def _log_softmax_fwd_rows(x, fast, y):
    n, c = x.shape
    for i in prange(n):  # row i
        m = row_shift(x, i, c)
        total = 0.0  # float64 sum of exp(x - m), in [1, C]
        for j in range(c):
            total += exp_nonpositive_of(x[i, j] - m, fast)
        log_total = math.log(total) if total != 0.0 else 0.0  # a row of -inf stays -inf
        for j in range(c):
            y[i, j] = (x[i, j] - m) - log_total


@float16_via_float32
def log_softmax_fwd(x):
    """log_softmax of each row, x (N, C) -> y (N, C); formula: numpy_ref.log_softmax_fwd.

    Trick: log-sum-exp with the row maximum subtracted, the sum kept in float64; the
    exponentials are not stored, only summed.
    """
    x = as_input(x)
    y = np.empty_like(x)  # (N, C)
    launch(_log_softmax_fwd_rows, x.size, x, x.dtype == np.float32, y)
    return y


@loop(parallel_from=ROWS_PARALLEL_FROM, fastmath={"reassoc"})
def _log_softmax_bwd_rows(y, gy, fast, gx):
    n, c = y.shape
    for i in prange(n):  # row i
        total = 0.0  # sum_k gy_k in float64
        for j in range(c):
            total += gy[i, j]
        for j in range(c):
            gx[i, j] = gy[i, j] - exp_nonpositive_of(y[i, j], fast) * total


@float16_via_float32
def log_softmax_bwd(y, gy):
    """gx = gy - exp(y) * sum_k gy_k per row, (N, C) -> (N, C); numpy_ref.log_softmax_bwd.

    Trick: the softmax is exp(y), recomputed on the fly instead of stored.
    """
    y, gy = as_input(y), as_input(gy)
    gx = np.empty_like(y)  # (N, C)
    launch(_log_softmax_bwd_rows, y.size, y, gy, y.dtype == np.float32, gx)
    return gx


# --- layer normalisation ---------------------------------------------------------------------
@loop(parallel_from=ROWS_PARALLEL_FROM, fastmath={"reassoc"})
def _layer_norm_fwd_rows(x, weight, bias, eps, y, mean, rstd):
    n, c = x.shape
    for i in prange(n):  # row i
        total = 0.0
        for j in range(c):
            total += x[i, j]
        mu = total / c
        squares = 0.0  # two passes: sum (x - mean)^2, never E[x^2] - mean^2 (cancellation)
        for j in range(c):
            d = x[i, j] - mu
            squares += d * d
        r = 1.0 / math.sqrt(squares / c + eps)  # biased variance, eps inside the root
        for j in range(c):
            y[i, j] = (x[i, j] - mu) * r * weight[j] + bias[j]
        mean[i] = mu
        rstd[i] = r


@float16_via_float32(statistics=2)
def layer_norm_fwd(x, weight, bias, eps):
    """LayerNorm of each row: x (N, C), weight (C,), bias (C,) -> y (N, C), mean (N,), rstd (N,).

    Formula: numpy_ref.layer_norm_fwd. Trick: mean and variance in float64 with two passes
    over the cached row (the variance from centred values), then one pass writes y; float64
    also keeps the squares of float32 rows near 1e20 finite. float16: mean, rstd in float32.
    """
    x = as_input(x)
    weight, bias = as_input(weight, dtype=x.dtype), as_input(bias, dtype=x.dtype)
    n = x.shape[0]
    y = np.empty_like(x)  # (N, C)
    mean, rstd = np.empty(n, dtype=x.dtype), np.empty(n, dtype=x.dtype)  # (N,) each
    launch(_layer_norm_fwd_rows, x.size, x, weight, bias, float(eps), y, mean, rstd)
    return y, mean, rstd


@loop(parallel_from=ROWS_PARALLEL_FROM, fastmath={"reassoc"})
def _layer_norm_bwd_rows(x, weight, mean, rstd, gy, gx, gw_blocks, gb_blocks):
    n, c = x.shape
    for block in prange(gw_blocks.shape[0]):  # rows block*32 .. block*32 + 31
        for i in range(block * ROWS_PER_BLOCK, min(n, (block + 1) * ROWS_PER_BLOCK)):
            mu, r = np.float64(mean[i]), np.float64(rstd[i])  # float64: x - mu of float32 near its max overflows
            mean_g = 0.0  # mean_j(gxhat) over row i
            mean_gx = 0.0  # mean_j(gxhat * xhat)
            for j in range(c):  # the row sums alone in their loop, which then vectorises
                xhat = (np.float64(x[i, j]) - mu) * r
                g = gy[i, j] * weight[j]
                mean_g += g
                mean_gx += g * xhat
            mean_g /= c
            mean_gx /= c
            for j in range(c):
                xhat = (np.float64(x[i, j]) - mu) * r
                gw_blocks[block, j] += gy[i, j] * xhat  # this block's share of gw and gb
                gb_blocks[block, j] += gy[i, j]
                gx[i, j] = r * (gy[i, j] * weight[j] - mean_g - xhat * mean_gx)


@float16_via_float32
def layer_norm_bwd(x, weight, mean, rstd, gy):
    """Gradients of layer_norm_fwd: -> gx (N, C), gw (C,), gb (C,); formula: numpy_ref.layer_norm_bwd.

    Trick: gx is per row, but gw and gb sum over all rows, and threads must not add into the
    same (C,) vector. Rows are cut into fixed blocks of 32; each block sums its rows into its
    own float64 row of ``gw_blocks`` (parallel), then the blocks are added in order (serial).
    The block size does not depend on the thread count, so the result is bit-identical
    whatever the number of threads.
    """
    x, gy = as_input(x), as_input(gy)
    weight, mean, rstd = (as_input(a, dtype=x.dtype) for a in (weight, mean, rstd))
    n, c = x.shape
    blocks = -(-n // ROWS_PER_BLOCK)  # ceil(N / 32)
    gw_blocks = np.zeros((blocks, c))  # (blocks, C) float64 partial sums
    gb_blocks = np.zeros((blocks, c))
    gx = np.empty_like(x)  # (N, C)
    launch(_layer_norm_bwd_rows, x.size, x, weight, mean, rstd, gy, gx, gw_blocks, gb_blocks)
    gw = gw_blocks.sum(axis=0).astype(x.dtype)  # (blocks, C) -> (C,), in block order
    gb = gb_blocks.sum(axis=0).astype(x.dtype)
    return gx, gw, gb
