"""Scaled dot-product attention on the GPU: a fused forward, a cuBLAS-and-kernel backward.

Forward (``attention.cu``, ``attention_fwd``): flash-style. One thread block of 8 warps per
(batch entry, tile of 8 queries); keys and values pass through shared memory in tiles of up
to 32 rows; each warp keeps its query's running maximum, exp-sum and unnormalised output and
rescales them as the maximum grows (online softmax), so the (B, Tq, Tk) scores never exist.
Only the log-sum-exp (B, Tq) is saved for the backward. Head sizes too large for the 48 KiB of
shared memory a block may use by default (D + Dv beyond about 600 in float32) fall back to
the reference's composition of CuPy operations (``numpy_ref.attention_fwd``).

Backward (``_attention_bwd``): written against ``xp``. Batched matmuls (cuBLAS through
``cupy.matmul`` on (B, T, D) arrays) give q k^T and gout v^T; one fused elementwise CUDA
kernel (``attention_score_grads``) rebuilds p = exp(scale q k^T - lse) with the masks and
turns the two (B, Tq, Tk) buffers, in place, into the score gradient and the dropped
probabilities; three more batched matmuls give gq, gk and gv. The composition takes that
step as an argument, so tests/backends/test_cupy_gpu_numpy.py runs it with NumPy arrays
and a NumPy step against ``numpy_ref.attention_bwd``.

Formulas and numerics (fully masked rows: out = 0, lse = -inf, zero gradients):
``numpy_ref``. Left out: a fused flash-style backward (it would save the two (B, Tq, Tk)
buffers), tensor cores, and more than one query per warp.
"""

import numpy as np

from ...engine import array_module
from .. import numpy_ref
from ._compile import blocks_for, cupy, float16_via_float32, function

QUERIES = 8  # queries (warps) per block in attention_fwd; must equal QUERIES in attention.cu
SHARED_LIMIT = 48 * 1024  # bytes of shared memory a block may use without opting in
THREADS = 256  # threads per block of attention_score_grads


def _key_tile(d, dv, itemsize):
    """The largest key tile (32, 16 or 8 rows) whose shared memory fits, with its size in bytes."""
    for tile in (32, 16, 8):
        size = itemsize * (QUERIES * d + tile * (d + 1) + tile * dv + QUERIES * dv + QUERIES * 32)
        if size <= SHARED_LIMIT:
            return tile, size
    return None, None


def _optional(cp, a, shape, dtype):
    """(array, flag) for an optional mask or dropout_keep: broadcast to ``shape`` and made
    contiguous, or a one-element stand-in with flag 0 (a kernel argument cannot be None)."""
    if a is None:
        return cp.ones(1, dtype), np.int32(0)
    return cp.ascontiguousarray(cp.broadcast_to(cp.asarray(a, dtype=dtype), shape)), np.int32(1)


@float16_via_float32(statistics=1)
def attention_fwd(q, k, v, mask, dropout_keep, causal, scale):
    """out (B, Tq, Dv) and lse (B, Tq) of attention; formula: numpy_ref.attention_fwd.

    CUDA: flash-style online softmax over key tiles in shared memory, one warp per query,
    one block per (b, 8 queries); mask (B, Tq, Tk) bool and causal are tested per score,
    dropout_keep multiplies the probabilities after normalisation (as the reference does), a
    query with no visible key gets out = 0 and lse = -inf. See the module docstring.
    """
    cp = cupy("attention_fwd")
    q, k, v = (cp.ascontiguousarray(a) for a in (q, k, v))
    (batch, tq, d), tk, dv = q.shape, k.shape[1], v.shape[2]
    tile, shared = _key_tile(d, dv, q.dtype.itemsize)
    if tile is None:  # head too large for one block's shared memory: the reference's composition
        return numpy_ref.attention_fwd(q, k, v, mask, dropout_keep, causal, scale)
    out, lse = cp.empty((batch, tq, dv), q.dtype), cp.empty((batch, tq), q.dtype)
    mask, has_mask = _optional(cp, mask, (batch, tq, tk), np.bool_)
    keep, has_keep = _optional(cp, dropout_keep, (batch, tq, tk), q.dtype)
    if batch * tq == 0:
        return out, lse
    grid = batch * -(-tq // QUERIES)
    function("attention.cu", "attention_fwd", q.dtype)(
        (grid,), (32 * QUERIES,),
        (q, k, v, mask, keep, out, lse, np.int64(tq), np.int64(tk), np.int64(d), np.int64(dv),
         has_mask, has_keep, np.int32(bool(causal)), q.dtype.type(scale), np.int32(tile)),
        shared_mem=shared)
    return out, lse


def _score_grads(scores, grads, lse, delta, mask, keep, causal, scale):
    """The CUDA step of the backward, in place on (B, Tq, Tk): scores (q k^T, unscaled) becomes
    p (grads keep - delta) scale and grads (gout v^T) becomes p keep, p = exp(scale scores - lse)
    where allowed, else 0. lse and delta are (B, Tq)."""
    cp = cupy("attention_bwd")
    batch, tq, tk = scores.shape
    mask, has_mask = _optional(cp, mask, scores.shape, np.bool_)
    keep, has_keep = _optional(cp, keep, scores.shape, scores.dtype)
    if scores.size == 0:
        return
    function("attention.cu", "attention_score_grads", scores.dtype)(
        (blocks_for(scores.size, THREADS),), (THREADS,),
        (scores, grads, cp.ascontiguousarray(lse), cp.ascontiguousarray(delta), mask, keep,
         np.int64(scores.size), np.int64(tq), np.int64(tk), has_mask, has_keep,
         np.int32(bool(causal)), scores.dtype.type(scale)))


def _attention_bwd(q, k, v, mask, dropout_keep, out, lse, gout, causal, scale, score_grads):
    """attention_bwd with its elementwise step ``score_grads`` (see ``_score_grads``) given:
    batched matmuls around it, written against ``xp`` (cuBLAS on CuPy arrays)."""
    xp = array_module(q)
    scores = xp.ascontiguousarray(q @ xp.swapaxes(k, 1, 2))  # (B, Tq, D) @ (B, D, Tk) -> (B, Tq, Tk)
    grads = xp.ascontiguousarray(gout @ xp.swapaxes(v, 1, 2))  # (B, Tq, Dv) @ (B, Dv, Tk) -> (B, Tq, Tk)
    delta = (gout * out).sum(axis=2)  # (B, Tq, Dv) -> (B, Tq): sum_j p_ij gp_ij, FlashAttention's trick
    score_grads(scores, grads, lse, delta, mask, dropout_keep, causal, scale)  # -> gscores, dropped probs
    gv = xp.swapaxes(grads, 1, 2) @ gout  # (B, Tk, Tq) @ (B, Tq, Dv) -> (B, Tk, Dv)
    gq = scores @ k  # (B, Tq, Tk) @ (B, Tk, D) -> (B, Tq, D)
    gk = xp.swapaxes(scores, 1, 2) @ q  # (B, Tk, Tq) @ (B, Tq, D) -> (B, Tk, D)
    return gq, gk, gv


@float16_via_float32
def attention_bwd(q, k, v, mask, dropout_keep, out, lse, gout, causal, scale):
    """gq (B, Tq, D), gk (B, Tk, D), gv (B, Tk, Dv); formula: numpy_ref.attention_bwd.

    CUDA: cuBLAS batched matmuls for q k^T, gout v^T and the three gradients, around one
    fused elementwise kernel that rebuilds p from the saved lse (no probabilities are kept
    from the forward) and applies masks, dropout and delta = sum_d gout out. Fully masked
    rows give exactly 0.
    """
    cupy("attention_bwd")
    return _attention_bwd(q, k, v, mask, dropout_keep, out, lse, gout, causal, scale, _score_grads)
