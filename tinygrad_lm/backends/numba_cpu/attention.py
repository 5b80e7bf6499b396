"""Scaled dot-product attention in Numba, forward and backward, on (B, T, D) arrays.

The reference builds the whole (B, Tq, Tk) score matrix; these loops never do. One ``prange``
iteration owns one batch entry b (every batch and head axis is folded into B) and walks its
queries one at a time, keeping a single row of scores (Tk,) in a float64 scratch buffer:

    forward, query i:  s_j = scale * q_i . k_j for the keys i may see   (-inf where masked)
                       m = max_j s_j,  total = sum_j exp(s_j - m)
                       out_i = sum_j exp(s_j - m) * keep_ij * v_j / total,  lse_i = m + log total

Every inner loop runs over a contiguous axis without a running sum, so LLVM turns it into
SIMD code: the row of scores is built as s += q_ie * k^T[e, :] for e = 0..D-1 from a
transposed copy of k (B, D, Tk), not as Tk separate dot products, and out_i, gq_i, gk_j, gv_j
grow as axpy updates along D. Causal masking is a loop bound: query i stops at key
i + (Tk - Tq) (bottom-right aligned), so the masked part is never computed. A row with no
visible key gets out = 0 and lse = -inf, as in the reference. The backward revisits the same
rows; gk and gv collect sums over queries in float64 buffers owned by the thread that owns
b, so no two threads add into one element and the result does not depend on the thread count.

Formulas and numerics: ``numpy_ref.attention_fwd`` and ``attention_bwd``. Left out: a
flash-style online softmax over key blocks (one (Tk,) row per query fits in L1 at the
sequence lengths this library trains), and register blocking (several queries and features
per pass over k^T, as BLAS does); on one thread at T = 64 these loops run about as fast as
the reference's batched matmuls, and they scale with threads.
"""

import math

import numpy as np
from numba import njit, prange

from ._wrappers import as_input, float16_via_float32, launch


@njit(cache=True)
def _key_end(i, tq, tk, causal):
    """One past the last key query i may see by position: i + (Tk - Tq) + 1 if causal, else Tk."""
    if causal:
        return max(0, min(tk, i + tk - tq + 1))
    return tk


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


@njit(cache=True)
def _scores_row(q, kt, mask, has_mask, b, i, end, scale, scores):
    """scores[j] = scale * q_i . k_j for keys j < end, -inf where the mask forbids j."""
    scores[:end] = 0.0
    for e in range(q.shape[2]):  # one feature e at a time: s_j += q_ie k_je for every key j
        q_ie = q[b, i, e]
        for j in range(end):  # contiguous in j: SIMD
            scores[j] += q_ie * kt[b, e, j]
    for j in range(end):
        allowed = not has_mask or mask[b, i, j]
        scores[j] = scores[j] * scale if allowed else -math.inf


@njit(cache=True, parallel=True)
def _attention_fwd_batches(q, kt, v, mask, has_mask, keep, has_keep, causal, scale, out, lse):
    batch, tq, _ = q.shape
    tk, dv = kt.shape[2], v.shape[2]
    for b in prange(batch):  # batch entry b (batch and heads folded)
        scores = np.empty(tk)  # float64 scores of the current query row
        acc = np.empty(dv)  # float64 output row
        for i in range(tq):  # query i
            end = _key_end(i, tq, tk, causal)
            _scores_row(q, kt, mask, has_mask, b, i, end, scale, scores)
            m = -math.inf  # row maximum over visible keys
            for j in range(end):
                m = max(m, scores[j])
            if m == -math.inf:  # no visible key: zeros, and lse = -inf
                out[b, i, :] = 0.0
                lse[b, i] = -math.inf
                continue
            total = 0.0
            acc[:] = 0.0
            for j in range(end):  # key j
                p = math.exp(scores[j] - m)  # unnormalised probability, exactly 0 where masked
                total += p
                if has_keep:
                    p *= keep[b, i, j]  # dropout acts on the probabilities
                if p != 0.0:
                    for e in range(dv):  # acc += p v_j
                        acc[e] += p * v[b, j, e]
            for e in range(dv):
                out[b, i, e] = acc[e] / total
            lse[b, i] = m + math.log(total)


@float16_via_float32
def attention_fwd(q, k, v, mask, dropout_keep, causal, scale):
    """out (B, Tq, Dv) and lse (B, Tq) of softmax(scale q k^T, masked) v; numpy_ref.attention_fwd.

    q (B, Tq, D), k (B, Tk, D), v (B, Tk, Dv), mask None or bool and dropout_keep None or
    float, each (B, Tq, Tk) or broadcastable to it. Trick: one query row of scores at a time
    in a float64 buffer (no (B, Tq, Tk) matrix), built as SIMD axpy updates from k^T;
    causal masking as a loop bound; parallel over B.
    """
    q, v = as_input(q), as_input(v)
    kt = as_input(np.swapaxes(k, 1, 2))  # (B, Tk, D) -> (B, D, Tk), a transposed copy
    batch, tq = q.shape[:2]
    mask, has_mask, keep, has_keep = _mask_args(mask, dropout_keep, (batch, tq, k.shape[1]), q.dtype)
    out = np.empty((batch, tq, v.shape[2]), dtype=q.dtype)  # (B, Tq, Dv)
    lse = np.empty((batch, tq), dtype=q.dtype)  # (B, Tq)
    work = batch * tq * k.shape[1] * (q.shape[2] + v.shape[2])  # multiply-adds of q k^T and p v
    launch(_attention_fwd_batches, work, q, kt, v, mask, has_mask, keep, has_keep, bool(causal), float(scale), out, lse)
    return out, lse


@njit(cache=True, parallel=True)
def _attention_bwd_batches(q, k, kt, vt, mask, has_mask, keep, has_keep, out, lse, gout, causal, scale, gq, gk, gv):
    batch, tq, d = q.shape
    tk, dv = k.shape[1], vt.shape[1]
    for b in prange(batch):  # batch entry b, owned by one thread
        gk_sum = np.zeros((tk, d))  # float64 sums over queries of gs_ij q_i
        gv_sum = np.zeros((tk, dv))  # and of p_ij keep_ij gout_i
        gq_row = np.empty(d)
        scores = np.empty(tk)
        gp = np.empty(tk)  # gout_i . v_j for every key j
        for i in range(tq):  # query i
            gq_row[:] = 0.0
            row_lse = lse[b, i]
            end = _key_end(i, tq, tk, causal)
            if row_lse == -math.inf:  # a row with no visible key has p = 0: no gradient at all
                end = 0
            _scores_row(q, kt, mask, has_mask, b, i, end, scale, scores)
            gp[:end] = 0.0
            for e in range(dv):  # gp_j += gout_ie v_je for every key j (SIMD over j)
                g_ie = gout[b, i, e]
                for j in range(end):
                    gp[j] += g_ie * vt[b, e, j]
            delta = 0.0  # sum_j p_ij gp_ij keep_ij, computed as gout_i . out_i
            for e in range(dv):
                delta += gout[b, i, e] * out[b, i, e]
            for j in range(end):  # key j
                p = math.exp(scores[j] - row_lse)  # probability rebuilt from lse; 0 where masked
                if p == 0.0:
                    continue
                kept = keep[b, i, j] if has_keep else 1.0
                for e in range(dv):  # gv_j += p keep gout_i
                    gv_sum[j, e] += p * kept * gout[b, i, e]
                gs = p * (gp[j] * kept - delta) * scale  # gradient of the score s_ij
                for e in range(d):  # gq_i += gs k_j and gk_j += gs q_i
                    gq_row[e] += gs * k[b, j, e]
                    gk_sum[j, e] += gs * q[b, i, e]
            for e in range(d):
                gq[b, i, e] = gq_row[e]
        for j in range(tk):  # round the float64 sums to the output dtype
            for e in range(d):
                gk[b, j, e] = gk_sum[j, e]
            for e in range(dv):
                gv[b, j, e] = gv_sum[j, e]


@float16_via_float32
def attention_bwd(q, k, v, mask, dropout_keep, out, lse, gout, causal, scale):
    """gq (B, Tq, D), gk (B, Tk, D), gv (B, Tk, Dv) of attention_fwd; numpy_ref.attention_bwd.

    Trick: scores (from k^T) and probabilities (from the saved lse) are recomputed row by row,
    and gout_i . v_j for every key at once from v^T; delta_i = gout_i . out_i (FlashAttention's
    identity) replaces a reduction over keys; gk and gv are summed in float64 buffers private
    to the batch entry's thread, so the result is deterministic for any thread count. Fully
    masked rows contribute exactly 0.
    """
    q, k, out, gout = (as_input(a) for a in (q, k, out, gout))
    kt, vt = as_input(np.swapaxes(k, 1, 2)), as_input(np.swapaxes(v, 1, 2))  # (B, Tk, D) -> (B, D, Tk)
    lse = as_input(lse, dtype=q.dtype)
    mask, has_mask, keep, has_keep = _mask_args(mask, dropout_keep, (*q.shape[:2], k.shape[1]), q.dtype)
    gq, gk, gv = np.empty_like(q), np.empty_like(k), np.empty(v.shape, dtype=q.dtype)
    work = 2 * q.shape[0] * q.shape[1] * k.shape[1] * (q.shape[2] + v.shape[2])
    launch(_attention_bwd_batches, work, q, k, kt, vt, mask, has_mask, keep, has_keep, out, lse, gout,
           bool(causal), float(scale), gq, gk, gv)
    return gq, gk, gv
