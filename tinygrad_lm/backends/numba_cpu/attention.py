"""Scaled dot-product attention on the CPU: BLAS for the products, Numba for the softmax.

Attention is four matrix products around a row softmax. The products are what BLAS does
best, so they stay NumPy matmuls (batched over B, the folded batch and head axes); the
elementwise work between them, which the reference spreads over half a dozen NumPy passes
and temporaries (scale, mask, max, exp, sum, divide, log), is one Numba loop over the rows
of the (B, Tq, Tk) score matrix, in place:

    forward    s = q k^T                               (BLAS)
               p = softmax(scale s, masked), lse        (one row loop, in place on s)
               out = (p * keep) v                       (BLAS)
    backward   s = q k^T;  p = exp(scale s - lse)       (BLAS, then one row loop: p rebuilt)
               gv = (p * keep)^T gout;  gp = gout v^T   (BLAS)
               gs = scale p (gp keep - delta)           (one row loop, in place on gp;
                                                         delta_i = gout_i . out_i)
               gq = gs k;  gk = gs^T q                  (BLAS)

Causal masking is a loop bound: query i sees keys j < i + (Tk - Tq) + 1 (bottom-right
aligned); the entries past it are written as exact zeros. A row with no visible key gets
p = 0, out = 0, lse = -inf and zero gradients, as in the reference; a NaN or +inf among a
row's visible scores makes its sum, and so the row, NaN (a row of NaN scores only, whose
maximum comes out -inf, is told apart from a fully masked one). float16 inputs run as
float32 and lse stays float32 (``_wrappers.float16_via_float32``). Row sums are reassociated
into SIMD lanes and float32 rows use the vectorisable exp of ``_math.py``; rows are split
between threads, and each row's arithmetic does not depend on the thread count.

Causal rows have every length from 1 to Tk, and a vectorised loop ends in a scalar tail of up
to a SIMD step's worth of elements, one exp polynomial each: the exp loops therefore run to the
row's end rounded up to ``SIMD_STEP`` elements (never past Tk) and the hidden entries they
touched are overwritten afterwards (exp(-3e38) there is inf or garbage, never read). Each visible
element's arithmetic is unchanged, so results are bit-identical to the unpadded loops. With
48 causal heads of T 64 in float32, on one core: the forward's exp loop 216 -> 148 us,
attention_fwd 1040 -> 975 us and attention_bwd 1480 -> 1330 us.

Formulas and numerics: ``numpy_ref.attention_fwd`` and ``attention_bwd``. Left out: a
flash-style online softmax over key blocks, which never builds the (B, Tq, Tk) matrix. At the
context lengths this library trains on the CPU (T <= 256: 256 KiB per head in float32) the
matrix fits in cache, and an earlier version that walked one row of scores at a time with
its own dot products ran 3-4 times slower than this one (benchmarks/results/kernels_cpu.json).
"""

import math

import numpy as np
from numba import njit, prange

from ._math import exp_nonpositive_of
from ._wrappers import as_input, float16_via_float32, launch, loop

SIMD_STEP = 8  # elements the exp loops round their length up to (see the module docstring)


@njit(cache=True, error_model="numpy")
def _key_end(i, tq, tk, causal):
    """One past the last key query i may see by position: i + (Tk - Tq) + 1 if causal, else Tk."""
    if causal:
        return max(0, min(tk, i + tk - tq + 1))
    return tk


@njit(cache=True, error_model="numpy")
def _padded_end(end, tk):
    """``end`` rounded up to a multiple of ``SIMD_STEP``, at most Tk: how far an exp loop runs."""
    return min(tk, (end + SIMD_STEP - 1) // SIMD_STEP * SIMD_STEP)


def _mask_args(mask, dropout_keep, scores_shape, dtype):
    """(mask, has_mask, keep, has_keep), each given array broadcast to the scores' shape
    (B, Tq, Tk) and made contiguous. A tiny unused array stands in for None, so each kernel
    compiles once per dtype instead of once per combination of optional arguments."""
    def full(a, a_dtype):  # broadcastable -> (B, Tq, Tk), contiguous
        return as_input(np.broadcast_to(np.asarray(a, dtype=a_dtype), scores_shape))

    has_mask, has_keep = mask is not None, dropout_keep is not None
    mask = full(mask, np.bool_) if has_mask else as_input(np.ones((1, 1, 1), dtype=np.bool_))
    keep = full(dropout_keep, dtype) if has_keep else as_input(np.ones((1, 1, 1), dtype=dtype))
    return mask, has_mask, keep, has_keep


@loop(fastmath={"reassoc"})
def _softmax_scores(s, mask, has_mask, causal, scale, fast, lse):
    """In place: s (B, Tq, Tk) of raw products q.k -> probabilities; lse (B, Tq) written."""
    batch, tq, tk = s.shape
    for row in prange(batch * tq):  # row (b, i) of the score matrix
        b, i = row // tq, row % tq
        end = _key_end(i, tq, tk, causal)
        m = -math.inf  # maximum of the visible scaled scores
        for j in range(end):
            x = s[b, i, j] * scale
            if has_mask and not mask[b, i, j]:
                x = -math.inf
            s[b, i, j] = x
            m = max(m, s[b, i, j])  # the stored value: float32 rounds x, and the maximum's exp must be 1
        for j in range(end, tk):  # causally hidden keys
            s[b, i, j] = 0.0
        if m == -math.inf:  # no visible key (p = 0, lse = -inf), or NaN scores only (NaN)
            fill = 0.0
            for j in range(end):
                if s[b, i, j] != s[b, i, j]:
                    fill = math.nan
            for j in range(end):
                s[b, i, j] = fill
            lse[b, i] = -math.inf if fill == 0.0 else math.nan
            continue
        padded = _padded_end(end, tk)  # exp over whole SIMD steps: no scalar tail
        for j in range(padded):  # a masked x = -inf gives 0 (float32: 1.7e-48, stored as 0)
            s[b, i, j] = exp_nonpositive_of(s[b, i, j] - m, fast)
        for j in range(end, padded):  # hidden keys the padding touched: back to 0
            s[b, i, j] = 0.0
        total = 0.0  # float64 sum of the stored exp(x - m), >= 1; its own loop, so both vectorise
        for j in range(end):
            total += s[b, i, j]
        inverse = 1.0 / total
        for j in range(end):
            s[b, i, j] *= inverse
        lse[b, i] = m + math.log(total)


@float16_via_float32(statistics=1)
def attention_fwd(q, k, v, mask, dropout_keep, causal, scale):
    """out (B, Tq, Dv) and lse (B, Tq) of softmax(scale q k^T, masked) v; numpy_ref.attention_fwd.

    q (B, Tq, D), k (B, Tk, D), v (B, Tk, Dv), mask None or bool and dropout_keep None or
    float, each (B, Tq, Tk) or broadcastable to it. Trick: the two products are BLAS matmuls;
    scaling, masking, the max-subtracted exp, the sum and the division are one parallel loop
    over the score rows, in place; causal masking is a loop bound.
    """
    q, k, v = as_input(q), as_input(k), as_input(v)
    mask, has_mask, keep, has_keep = _mask_args(mask, dropout_keep, (*q.shape[:2], k.shape[1]), q.dtype)
    probs = np.matmul(q, np.swapaxes(k, 1, 2))  # (B, Tq, D) @ (B, D, Tk) -> (B, Tq, Tk)
    lse = np.empty(q.shape[:2], dtype=q.dtype)  # (B, Tq)
    launch(_softmax_scores, probs.size, probs, mask, has_mask, bool(causal), float(scale),
           q.dtype == np.float32, lse)
    if has_keep:
        probs *= keep  # dropout acts on the probabilities
    out = np.matmul(probs, v)  # (B, Tq, Tk) @ (B, Tk, Dv) -> (B, Tq, Dv)
    return out, lse


@loop()
def _rebuild_probabilities(s, mask, has_mask, causal, scale, lse, fast):
    """In place: s (B, Tq, Tk) of raw products q.k -> p = exp(scale s - lse), 0 where hidden
    (NaN everywhere in a NaN row, as the reference's exp(-inf - NaN) and its forward give)."""
    batch, tq, tk = s.shape
    for row in prange(batch * tq):  # row (b, i)
        b, i = row // tq, row % tq
        row_lse = lse[b, i]
        end = 0 if row_lse == -math.inf else _key_end(i, tq, tk, causal)  # no visible key: p = 0
        fill = 0.0 if row_lse == row_lse else math.nan  # p where hidden
        padded = _padded_end(end, tk)  # whole SIMD steps; [end, padded) is overwritten below
        for j in range(padded):
            s[b, i, j] *= scale  # rounded to s's dtype, as the forward's scores were (lse is too)
        for j in range(padded):
            s[b, i, j] = exp_nonpositive_of(s[b, i, j] - row_lse, fast)
        if has_mask:
            for j in range(end):
                if not mask[b, i, j]:
                    s[b, i, j] = fill
        for j in range(end, tk):
            s[b, i, j] = fill


@loop(fastmath={"reassoc"})
def _score_gradients(p, keep, has_keep, mask, has_mask, causal, out, gout, scale, gp):
    """In place: gp (B, Tq, Tk) = gout v^T -> gs = scale p (gp keep - delta), delta_i = gout_i . out_i,
    and 0 where hidden (no gradient into a masked score, even in a NaN row, as in numpy_ref)."""
    batch, tq, tk = p.shape
    for row in prange(batch * tq):  # row (b, i)
        b, i = row // tq, row % tq
        delta = 0.0  # sum_j p_ij keep_ij gp_ij, computed as gout_i . out_i (FlashAttention)
        for e in range(out.shape[2]):
            delta += gout[b, i, e] * out[b, i, e]
        probe = 0.0  # NaN if any gs is: only then can a hidden one be 0 * NaN
        for j in range(tk):  # where hidden, p = 0 and so gs = 0, unless NaN met it: see below
            kept = gp[b, i, j] * keep[b, i, j] if has_keep else gp[b, i, j]
            gp[b, i, j] = scale * p[b, i, j] * (kept - delta)
            probe += gp[b, i, j]
        if probe != probe:  # a NaN row, or NaN in gout v^T: 0, not NaN * 0, where hidden
            end = _key_end(i, tq, tk, causal)
            for j in range(tk):
                if j >= end or (has_mask and not mask[b, i, j]):
                    gp[b, i, j] = 0.0


@float16_via_float32
def attention_bwd(q, k, v, mask, dropout_keep, out, lse, gout, causal, scale):
    """gq (B, Tq, D), gk (B, Tk, D), gv (B, Tk, Dv) of attention_fwd; numpy_ref.attention_bwd.

    Trick: the probabilities are rebuilt from the saved lse (no (B, Tq, Tk) array is kept
    between forward and backward); delta_i = gout_i . out_i (FlashAttention's identity)
    replaces a reduction over keys; the five products are BLAS matmuls and the elementwise
    work between them is two parallel row loops, in place. Fully masked rows give exactly 0.
    """
    q, k, v, out, gout = (as_input(a) for a in (q, k, v, out, gout))
    lse = as_input(lse, dtype=q.dtype)
    mask, has_mask, keep, has_keep = _mask_args(mask, dropout_keep, (*q.shape[:2], k.shape[1]), q.dtype)
    fast = q.dtype == np.float32
    probs = np.matmul(q, np.swapaxes(k, 1, 2))  # (B, Tq, D) @ (B, D, Tk) -> (B, Tq, Tk)
    launch(_rebuild_probabilities, probs.size, probs, mask, has_mask, bool(causal), float(scale), lse, fast)
    dropped = probs * keep if has_keep else probs
    gv = np.matmul(np.swapaxes(dropped, 1, 2), gout)  # (B, Tk, Tq) @ (B, Tq, Dv) -> (B, Tk, Dv)
    grad_scores = np.matmul(gout, np.swapaxes(v, 1, 2))  # (B, Tq, Dv) @ (B, Dv, Tk) -> (B, Tq, Tk)
    launch(_score_gradients, probs.size, probs, keep, has_keep, mask, has_mask, bool(causal), out, gout, float(scale),
           grad_scores)
    gq = np.matmul(grad_scores, k)  # (B, Tq, Tk) @ (B, Tk, D) -> (B, Tq, D)
    gk = np.matmul(np.swapaxes(grad_scores, 1, 2), q)  # (B, Tk, Tq) @ (B, Tq, D) -> (B, Tk, D)
    return gq, gk, gv
