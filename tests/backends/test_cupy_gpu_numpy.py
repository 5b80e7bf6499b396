"""The parts of the CuPy kernel table written against ``xp``, run on NumPy arrays, and its launch shapes.

These run on every machine; the CUDA kernels themselves are covered by test_cupy_gpu.py
(compilation, launch arguments, and GPU parity where a GPU exists). Here:

- embedding_bwd's segments (stable argsort, segment starts), summed in order the way
  embedding.cu sums them, are bit-identical to ``numpy.add.at`` (the reference);
- attention_bwd's composition of batched matmuls, with a NumPy stand-in for its fused CUDA
  step (same contract as attention.cu's attention_score_grads), matches the reference;
- a NumPy model of attention.cu's forward loop (query tiles, key tiles up to the tile's
  causal end, online rescaling, all-masked tiles skipped) matches the reference forward,
  fully masked rows included, and on extreme inputs (NaN, +-inf, +-max) NaN for NaN; so do
  NumPy models of rows.cu's row kernels (softmax, log_softmax, cross_entropy: the shift of a
  row of -inf, the zero sum, the double smoothing sum) and layer_norm.cu's double sums. These
  check the algorithms, not the CUDA code;
- launch-shape helpers (threads per row, grid sizes, attention's shared-memory tiles, the
  QUERIES constant shared with attention.cu) and the float16-via-float32 wrapper.
"""

import functools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_lm.backends import numpy_ref as R
from tinygrad_lm.backends.cupy_gpu import _compile, attention, embedding
from tinygrad_lm.testing import check_close
from tinygrad_lm.testing import strategies as ts

ROOT = Path(__file__).resolve().parents[2]
DTYPES = [np.float32, np.float64]


def close(got, want, scale):
    """Same dtype, and within 512 epsilons of ``max(|want|, scale)`` plus 64 epsilons."""
    eps = float(np.finfo(want.dtype).eps)
    assert got.dtype == want.dtype
    check_close(got, want, rtol=512 * eps, atol=64 * eps, scale=scale)


def ordered_segment_sums(ids, grad, vocab_size):
    """What embedding.cu computes, in NumPy: each segment's rows added in order, from 0."""
    order, starts, rows = embedding.segments(ids)
    dweight = np.zeros((vocab_size, grad.shape[1]), grad.dtype)
    for s, row in enumerate(rows):
        total = np.zeros(grad.shape[1], grad.dtype)
        for p in range(starts[s], starts[s + 1]):
            total += grad[order[p]]  # one addition per position, in position order
        dweight[row] = total
    return dweight, order, starts, rows


@given(st.sampled_from(DTYPES), st.integers(1, 7), st.integers(1, 9), st.data())
def test_embedding_segments_summed_in_order_are_bit_identical_to_add_at(dtype, vocab, dim, data):
    ids = data.draw(hnp.arrays(np.int64, data.draw(st.integers(0, 25)), elements=st.integers(0, vocab - 1)))
    grad = data.draw(ts.float_arrays((ids.size, dim), dtype))
    got, order, starts, rows = ordered_segment_sums(ids, grad, vocab)
    np.testing.assert_array_equal(got, R.embedding_bwd(ids, grad, vocab))
    assert np.all(np.diff(rows) > 0) and starts[0] == 0 and starts[-1] == ids.size  # each id once, ascending
    for s, row in enumerate(rows):
        positions = order[starts[s]:starts[s + 1]]
        assert np.all(ids[positions] == row) and np.all(np.diff(positions) > 0)  # in position order


def allowed_scores(shape, mask, causal):
    """(B, Tq, Tk) bool: where a query may attend (the mask, and key j <= i + Tk - Tq if causal)."""
    _, tq, tk = shape
    allowed = np.ones(shape, bool) if mask is None else np.broadcast_to(mask, shape)
    return allowed & np.tril(np.ones((tq, tk), bool), k=tk - tq) if causal else allowed


def numpy_score_grads(scores, grads, lse, delta, mask, keep, causal, scale):
    """The contract of attention.cu's attention_score_grads, in NumPy, in place."""
    allowed = allowed_scores(scores.shape, mask, causal)
    lse = np.where(np.isneginf(lse), 0, lse)[..., None]  # no visible key: p = exp(-inf - 0) = 0
    hidden = np.where(np.isnan(lse), np.nan, 0)  # p where not allowed: NaN in a NaN row
    p = np.where(allowed, np.exp(np.where(allowed, scores * scale - lse, 0)), hidden)
    kept = 1 if keep is None else keep
    scores[...] = np.where(allowed, p * (grads * kept - delta[..., None]) * scale, 0)
    grads[...] = p * kept


@st.composite
def attention_cases(draw, extreme=False):
    """q, k, v, gout, mask (none, random with fully masked rows, or padding), keep, causal, scale.

    ``extreme``: q holds NaN, +-inf, +-1e4, ... anywhere, k only at keys every query may see;
    v stays finite (numpy_ref.attention_fwd: the flash kernel never reads a key whose whole
    tile has probability 0, so 0 * inf there is not formed). No +-max: whether M * 4 - M * 4
    is NaN or inf depends on the order of the dot product and on FMA, in any two BLAS."""
    dtype = draw(st.sampled_from(DTYPES))
    b, tq, tk, d, dv = (draw(st.integers(1, hi)) for hi in (3, 7, 7, 5, 4))
    q, k, v, gout = (draw(ts.float_arrays(s, dtype)) for s in [(b, tq, d), (b, tk, d), (b, tk, dv), (b, tq, dv)])
    kind = draw(st.sampled_from(["none", "random", "padding"]))
    mask = None
    if kind == "random":
        mask = draw(hnp.arrays(np.bool_, (b, tq, tk)))
    elif kind == "padding":  # entry i sees its first lengths[i] keys; (B, 1, Tk) broadcasts
        lengths = np.array(draw(st.lists(st.integers(0, tk), min_size=b, max_size=b)))
        mask = np.arange(tk)[None, None, :] < lengths[:, None, None]
    keep = ((draw(hnp.arrays(np.bool_, (b, tq, tk)))) / 0.75).astype(dtype) if draw(st.booleans()) else None
    causal = draw(st.booleans())
    if extreme:
        def no_max(a):
            return np.where(np.abs(a) == np.finfo(dtype).max, np.sign(a) * 1e4, a).astype(dtype)

        q = no_max(draw(ts.extreme_float_arrays(q.shape, dtype)))
        seen = allowed_scores((b, tq, tk), mask, causal).all(axis=1)[..., None]  # (B, Tk, 1): by every query
        k = np.where(seen, no_max(draw(ts.extreme_float_arrays(k.shape, dtype))), k)
    return q, k, v, gout, mask, keep, causal, float(draw(st.sampled_from([0.3, 1.7])))


@given(attention_cases())
def test_attention_backward_composition_matches_the_reference_on_numpy(case):
    q, k, v, gout, mask, keep, causal, scale = case
    out, lse = R.attention_fwd(q, k, v, mask, keep, causal, scale)
    got = attention._attention_bwd(q, k, v, mask, keep, out, lse, gout, causal, scale, numpy_score_grads)
    size = 1 + np.abs(q).max() * np.abs(k).max() * q.shape[2] * np.abs(gout).max() * (np.abs(v).max() + 1)
    for g, w in zip(got, R.attention_bwd(q, k, v, mask, keep, out, lse, gout, causal, scale)):
        close(g, w, scale=size * max(q.shape[1], k.shape[1]))


@given(attention_cases(extreme=True))
def test_attention_backward_composition_gives_nan_where_the_reference_does(case):
    q, k, v, gout, mask, keep, causal, scale = case
    with np.errstate(invalid="ignore", over="ignore"):
        out, lse = R.attention_fwd(q, k, v, mask, keep, causal, scale)
        got = attention._attention_bwd(q, k, v, mask, keep, out, lse, gout, causal, scale, numpy_score_grads)
        want = R.attention_bwd(q, k, v, mask, keep, out, lse, gout, causal, scale)
    for g, w in zip(got, want):
        assert np.array_equal(np.isnan(g), np.isnan(w)) and np.array_equal(np.isinf(g), np.isinf(w))


def max_op(a, b):
    """common.cuh's MaxOp: the larger, and NaN whichever side it is on."""
    return a if (a != a or a > b) else b


@np.errstate(invalid="ignore", over="ignore")
def flash_model(q, k, v, mask, keep, causal, scale, queries, tile):
    """attention.cu's attention_fwd loop in NumPy: query tiles, key tiles of ``tile`` rows up
    to the tile's causal end, online rescaling, all-masked tiles skipped."""
    (batch, tq, _), tk = q.shape, k.shape[1]
    out, lse = np.zeros((batch, tq, v.shape[2]), q.dtype), np.empty((batch, tq), q.dtype)
    allowed = allowed_scores((batch, tq, tk), mask, causal)
    for b in range(batch):
        for first in range(0, tq, queries):
            last = min(first + queries, tq) - 1
            key_end = min(tk, max(0, last + tk - tq + 1)) if causal else tk
            for i in range(first, last + 1):
                m, total, acc = -np.inf, 0.0, np.zeros(v.shape[2])
                for start in range(0, key_end, tile):
                    j = np.arange(start, min(start + tile, key_end))
                    s = np.where(allowed[b, i, j], scale * (k[b, j] @ q[b, i]), -np.inf)
                    if s.max() == -np.inf:
                        continue
                    m_new = max_op(m, s.max())  # numpy's max lets NaN win, as the warp reduction does
                    correction, p = np.exp(m - m_new), np.exp(s - m_new)
                    total, m = total * correction + p.sum(), m_new
                    acc = acc * correction + (p if keep is None else p * keep[b, i, j]) @ v[b, j]
                out[b, i] = acc / total if total != 0 else 0
                lse[b, i] = m + np.log(total) if total != 0 else -np.inf
    return out, lse


@given(attention_cases(), st.sampled_from([(1, 1), (2, 3), (8, 32)]))
def test_the_tiled_online_softmax_of_attention_cu_matches_the_reference(case, tiles):
    q, k, v, _, mask, keep, causal, scale = case
    out, lse = R.attention_fwd(q, k, v, mask, keep, causal, scale)
    got_out, got_lse = flash_model(q, k, v, mask, keep, causal, scale, *tiles)
    size = (1 + scale * np.abs(q).sum(axis=2).max() * np.abs(k).max()) * (1 + np.abs(v).max() * k.shape[1])
    close(got_out, out, scale=size)
    close(got_lse, lse, scale=size + np.abs(np.where(np.isfinite(lse), lse, 0)))
    assert np.array_equal(np.isneginf(got_lse), np.isneginf(lse)) and np.all(got_out[np.isneginf(lse)] == 0)


def same_nonfinite(got, want):
    """NaN and +-inf at the same places, and the finite values close (within 1e-6 of their size)."""
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.where(np.isinf(got), np.sign(got), 0), np.where(np.isinf(want), np.sign(want), 0))
    finite = np.isfinite(got) & np.isfinite(want)
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.all(np.abs(got[finite] - want[finite]) <= 1e-6 * (1 + np.abs(want[finite])))


@given(attention_cases(extreme=True), st.sampled_from([(1, 1), (2, 3), (8, 32)]))
def test_the_tiled_online_softmax_gives_nan_where_the_reference_does(case, tiles):
    q, k, v, _, mask, keep, causal, scale = case
    with np.errstate(invalid="ignore", over="ignore"):
        out, lse = R.attention_fwd(q, k, v, mask, keep, causal, scale)
    got_out, got_lse = flash_model(q, k, v, mask, keep, causal, scale, *tiles)
    assert np.array_equal(np.isnan(got_out), np.isnan(out)) and np.array_equal(np.isnan(got_lse), np.isnan(lse))
    assert np.array_equal(np.isneginf(got_lse), np.isneginf(lse))
    finite = np.isfinite(q).all() and np.isfinite(k).all() and np.isfinite(v).all() and np.abs(q).max() < 5
    if finite:  # only ordinary values: the values too (extremes round differently in the two orders)
        close(got_out, out, scale=(1 + scale * np.abs(q).sum() * np.abs(k).max()) * (1 + np.abs(v).max() * k.shape[1]))


@np.errstate(invalid="ignore", over="ignore", divide="ignore")
def rows_model(x, targets, weight, smoothing):
    """rows.cu in NumPy, one row at a time: softmax, log_softmax, and cross_entropy's losses
    and lse (row_shift, row_shift_and_log_total, the smoothing sum in double)."""
    n, c = x.shape
    soft, log_soft = np.empty_like(x), np.empty_like(x)
    losses, lse = np.empty(n, x.dtype), np.empty(n, x.dtype)
    for i, row in enumerate(x):
        m = functools.reduce(max_op, row.tolist(), -np.inf)
        m = x.dtype.type(0 if m == -np.inf else m)  # row_shift
        e = np.exp(row - m)
        total = e.sum()
        soft[i] = e / (1 if total == 0 else total)
        log_total = x.dtype.type(0 if total == 0 else np.log(total))
        log_soft[i] = (row - m) - log_total
        t = targets[i] if targets[i] >= 0 else 0
        terms = log_total.astype(np.float64) - (row.astype(np.float64) - np.float64(m))  # double
        loss = (1 - smoothing) * weight[t] * terms[t] + ((smoothing / c) * (weight * terms).sum() if smoothing else 0)
        losses[i] = loss if targets[i] >= 0 else 0
        lse[i] = -np.inf if total == 0 else m + log_total
    return soft, log_soft, losses, lse


@given(st.sampled_from(DTYPES), st.sampled_from([0.0, 0.1]), st.data())
def test_the_row_kernels_of_rows_cu_match_the_reference_on_extreme_rows(dtype, smoothing, data):
    x = data.draw(ts.extreme_float_arrays((data.draw(st.integers(1, 5)), data.draw(st.integers(1, 6))), dtype))
    targets = data.draw(hnp.arrays(np.int64, x.shape[0], elements=st.integers(-1, x.shape[1] - 1)))
    weight = np.ones(x.shape[1], dtype)
    soft, log_soft, losses, lse = rows_model(x, targets, weight, smoothing)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        same_nonfinite(soft, R.softmax_fwd(x))
        same_nonfinite(log_soft, R.log_softmax_fwd(x))
        want = R.cross_entropy_fwd(x, targets, weight, -1, smoothing)
    same_nonfinite(losses, want[0])
    same_nonfinite(lse, want[1])


@given(st.sampled_from(DTYPES), st.data())
def test_the_double_sums_of_layer_norm_cu_match_the_reference_on_extreme_rows(dtype, data):
    x = data.draw(ts.extreme_float_arrays((data.draw(st.integers(1, 5)), data.draw(st.integers(1, 6))), dtype))
    with np.errstate(invalid="ignore", over="ignore"):
        mean = x.astype(np.float64).mean(axis=1)  # layer_norm_fwd: both sums in double
        var = ((x.astype(np.float64) - mean[:, None]) ** 2).mean(axis=1)
        rstd = (1 / np.sqrt(var + 1e-5)).astype(dtype)
        want = R.layer_norm_fwd(x, np.ones(x.shape[1], dtype), np.zeros(x.shape[1], dtype), 1e-5)
    same_nonfinite(mean.astype(dtype), want[1])
    same_nonfinite(rstd, want[2])


def test_launch_shapes():
    assert [_compile.row_threads(c) for c in (0, 1, 33, 64, 65, 5000)] == [32, 32, 64, 64, 128, 512]
    assert _compile.blocks_for(0, 256) == 1 and _compile.blocks_for(257, 256) == 2
    assert _compile.blocks_for(10**12, 256) == 65535  # grid-stride loops cover the rest
    assert attention._key_tile(64, 64, 4)[0] == 32 and attention._key_tile(64, 64, 8)[0] == 32
    tile, size = attention._key_tile(256, 256, 4)  # float32 heads of 256: the smallest tile
    assert tile == 8 and size <= attention.SHARED_LIMIT
    assert attention._key_tile(1024, 1024, 8) == (None, None)  # falls back to the reference
    cuda = (ROOT / "tinygrad_lm/backends/cupy_gpu/attention.cu").read_text(encoding="utf-8")
    assert f"#define QUERIES {attention.QUERIES}\n" in cuda  # the wrapper's grid matches the kernel
    with pytest.raises(TypeError, match="softmax_fwd: the CUDA kernels take float32 or float64 arrays, got int64"):
        _compile.ctype(np.int64, "softmax_fwd")


def test_float16_goes_through_float32_and_comes_back():
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float16)
    calls = []

    def kernel(a, weight, bias, eps):
        calls.append(a.dtype)
        return R.layer_norm_fwd(a, weight, bias, eps)

    got = _compile.float16_via_float32(kernel)(x, np.ones(4, np.float16), np.zeros(4, np.float16), 1e-5)
    assert calls == [np.float32] and [g.dtype for g in got] == [np.float16] * 3
    check_close(got[0], R.layer_norm_fwd(x.astype(np.float64), np.ones(4), np.zeros(4), 1e-5)[0], dtype=np.float16)
