"""Cross-entropy kernels in Numba: per-row losses of logits (N, C) against integer targets (N,).

Like the other row kernels, a wrapper with the reference's signature makes the arrays
contiguous (targets int64, class weights in the logits' dtype) and allocates outputs; an
``@njit`` loop handles one row per ``prange`` iteration. Ignore_index, class weights and
label smoothing are handled inside the row loop, so no (N, C) temporary is ever built.
As in ``rows.py``, sums may be reassociated into SIMD lanes (``fastmath={"reassoc"}``) and
float32 logits use the vectorisable exp of ``_math.py``.

Formulas and numerics: ``numpy_ref.cross_entropy_fwd`` and ``cross_entropy_bwd``: every term
relative to the row maximum (L - (x_t - m), never lse - x_t, which rounds to 0 at float32's
max), the row maximum from ``rows.row_shift`` (a row of -inf: m = 0, lse = -inf). Left out:
reducing the losses (the functional layer sums or averages them).
"""

import math

import numpy as np
from numba import prange

from ._math import exp_nonpositive_of
from ._wrappers import ROWS_PARALLEL_FROM, as_input, float16_via_float32, launch, loop
from .rows import row_shift


@loop(parallel_from=ROWS_PARALLEL_FROM, fastmath={"reassoc"})
def _cross_entropy_fwd_rows(logits, targets, weight, ignore_index, smoothing, fast, losses, lse):
    n, c = logits.shape
    for i in prange(n):  # row i
        m = row_shift(logits, i, c)
        total = 0.0  # float64 sum of exp(x - m)
        for j in range(c):
            total += exp_nonpositive_of(logits[i, j] - m, fast)
        log_total = math.log(total) if total != 0.0 else 0.0  # L, in [0, log C]
        lse[i] = m + log_total if total != 0.0 else -math.inf  # log-sum-exp, never log(softmax)
        t = targets[i]
        if t == ignore_index:
            losses[i] = 0.0
            continue
        nll = weight[t] * (log_total - (logits[i, t] - m))  # -w_t log p_t
        smooth = 0.0  # sum_c -w_c log p_c, the uniform target's share
        if smoothing != 0.0:
            for j in range(c):
                smooth += weight[j] * (log_total - (logits[i, j] - m))
            nll = (1.0 - smoothing) * nll + (smoothing / c) * smooth
        losses[i] = nll


@float16_via_float32(statistics=1)
def cross_entropy_fwd(logits, targets, weight, ignore_index, label_smoothing):
    """Per-row losses (N,) and log-sum-exps (N,) of logits (N, C); formula: numpy_ref.cross_entropy_fwd.

    Trick: one row per thread; max, then the float64 exp-sum, then lse = max + log(sum), and
    log p_c = x_c - lse is used directly (no softmax array, no log of a probability). The
    smoothing sum is skipped when label_smoothing is 0.
    """
    logits = as_input(logits)
    targets = as_input(targets, dtype=np.int64)
    weight = as_input(weight, dtype=logits.dtype)
    n = logits.shape[0]
    losses, lse = np.empty(n, dtype=logits.dtype), np.empty(n, dtype=logits.dtype)  # (N,) each
    launch(_cross_entropy_fwd_rows, logits.size, logits, targets, weight, int(ignore_index), float(label_smoothing),
           logits.dtype == np.float32, losses, lse)
    return losses, lse


@loop(parallel_from=ROWS_PARALLEL_FROM, fastmath={"reassoc"})
def _cross_entropy_bwd_rows(logits, targets, weight, lse, grad_losses, ignore_index, smoothing, fast,
                            glogits):
    n, c = logits.shape
    weight_sum = 0.0  # W = sum_c w_c
    for j in range(c):
        weight_sum += weight[j]
    for i in prange(n):  # row i
        t = targets[i]
        if t == ignore_index:
            for j in range(c):
                glogits[i, j] = 0.0
            continue
        g = grad_losses[i]
        w_t = weight[t]
        scale = (1.0 - smoothing) * w_t + (smoothing / c) * weight_sum  # multiplies p_ic
        row_lse = lse[i] if lse[i] != -math.inf else 0.0  # a row of -inf: p = 0
        for j in range(c):
            p = exp_nonpositive_of(logits[i, j] - row_lse, fast)  # softmax rebuilt from the saved lse
            d = scale * p - (smoothing / c) * weight[j]  # dloss_i / dx_ij, in float64
            if j == t:
                d -= (1.0 - smoothing) * w_t  # the one-hot target's term
            glogits[i, j] = g * d


@float16_via_float32
def cross_entropy_bwd(logits, targets, weight, lse, grad_losses, ignore_index, label_smoothing):
    """glogits (N, C) of cross_entropy_fwd's losses; formula: numpy_ref.cross_entropy_bwd.

    Trick: p = exp(x - lse) from the saved lse (N,), computed and used in one pass; the
    one-hot term is subtracted at the target column before the store; ignored rows are zero.
    """
    logits = as_input(logits)
    targets = as_input(targets, dtype=np.int64)
    weight, lse, grad_losses = (as_input(a, dtype=logits.dtype) for a in (weight, lse, grad_losses))
    glogits = np.empty_like(logits)  # (N, C)
    launch(_cross_entropy_bwd_rows, logits.size, logits, targets, weight, lse, grad_losses, int(ignore_index),
           float(label_smoothing), logits.dtype == np.float32, glogits)
    return glogits
