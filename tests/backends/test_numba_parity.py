"""numba == numpy_ref: every kernel of the Numba table against the reference, which is the truth.

Hypothesis draws the inputs: odd sizes, a single row, T = 1, batch 1, float32 and float64,
contiguous or not (strided, reversed and transposed views, which the wrappers must copy),
attention masks (random, padding that masks whole rows, causal with Tq > Tk, none), dropout
multipliers, ignore_index, label smoothing, class weights, both GELU forms, teacher
probabilities with zeros and log_target for kl_div. Each Numba kernel
gets the same inputs as the reference (a backward gets the reference forward's outputs) and
must agree within ``atol + rtol * scale``, with rtol and atol a fixed number of the dtype's
epsilons and ``scale`` the size the rounding error grows with: |a| |b| for a dot product,
|x| for a difference that cancels, always computed from absolute values.

Exact properties: embedding_bwd is bit-identical to ``numpy.add.at``; every kernel is
bit-identical with 1 thread (each loop's serial version) and with 2 threads (its parallel
version, however small the input) and from one run to the next. ``test_small_*`` are
fixed small cases of every kernel: tests/backends/test_numba_disable_jit.py runs them again as
plain Python under ``NUMBA_DISABLE_JIT=1``.
"""

import copy
import subprocess
import sys

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_lm.backends import KERNEL_NAMES, load_kernels
from tinygrad_lm.backends import numpy_ref as R
from tinygrad_lm.backends.numba_cpu import _wrappers
from tinygrad_lm.testing import check_close
from tinygrad_lm.testing import strategies as ts

N = load_kernels("numba")
DTYPES = st.sampled_from([np.float32, np.float64])


def same(got, want, scale=None, name="value"):
    """Equal dtype and shape, values within 256 epsilons of ``max(|want|, scale)`` (plus 16 eps)."""
    eps = float(np.finfo(want.dtype).eps)
    assert got.dtype == want.dtype, f"{name}: dtype {got.dtype} != reference {want.dtype}"
    check_close(got, want, rtol=256 * eps, atol=16 * eps, scale=scale, name=name)


@st.composite
def arrays(draw, shape, dtype, low=-4.0, high=4.0):
    """A float array of ``shape``, C-contiguous or laid out as a non-contiguous view."""
    a = draw(ts.float_arrays(tuple(shape), dtype, low, high))
    layout = draw(st.sampled_from(["contiguous", "strided", "reversed", "transposed"]))
    return a if layout == "contiguous" else ts.noncontiguous_copy(a, layout)


@st.composite
def rows(draw, count=2):
    """``count`` arrays (N, C) of one dtype, N in 1..9 and C in 1..13."""
    dtype, n, c = draw(DTYPES), draw(st.integers(1, 9)), draw(st.integers(1, 13))
    return [draw(arrays((n, c), dtype)) for _ in range(count)]


# --- row kernels and GELU ----------------------------------------------------------------
@given(rows())
def test_softmax(case):
    x, gy = case
    same(N["softmax_fwd"](x), R.softmax_fwd(x))
    y = R.softmax_fwd(x)
    spread = np.abs(y) * (np.abs(gy) + (np.abs(gy) * y).sum(axis=1, keepdims=True))  # (N, C)
    same(N["softmax_bwd"](y, gy), R.softmax_bwd(y, gy), scale=spread, name="gx")


@given(rows())
def test_log_softmax(case):
    x, gy = case
    same(N["log_softmax_fwd"](x), R.log_softmax_fwd(x), scale=np.abs(x).max(axis=1, keepdims=True) + np.log(x.shape[1]) + 1)
    y = R.log_softmax_fwd(x)
    spread = np.abs(gy) + np.exp(y) * np.abs(gy).sum(axis=1, keepdims=True)  # (N, C)
    same(N["log_softmax_bwd"](y, gy), R.log_softmax_bwd(y, gy), scale=spread, name="gx")


@st.composite
def same_shape(draw, count, max_dims=3, low=-4.0, high=4.0):
    """``count`` arrays of one drawn shape (0-d included) and dtype."""
    dtype, shape = draw(DTYPES), draw(ts.shapes(max_dims=max_dims))
    return [draw(arrays(shape, dtype, low, high)) for _ in range(count)]


@given(same_shape(2), st.data())
def test_dropout(case, data):
    x, gy = case
    keep = (data.draw(hnp.arrays(np.bool_, x.shape)) / 0.7).astype(x.dtype)  # 0 or 1/(1-p)
    np.testing.assert_array_equal(N["dropout_fwd"](x, keep), R.dropout_fwd(x, keep))  # one rounding each
    np.testing.assert_array_equal(N["dropout_bwd"](keep, gy), R.dropout_bwd(keep, gy))


@given(same_shape(3))
def test_mse(case):
    pred, target, g = case
    same(N["mse_fwd"](pred, target), R.mse_fwd(pred, target), scale=(np.abs(pred) + np.abs(target)) ** 2)
    size = (np.abs(pred) + np.abs(target)) * np.abs(g)  # the difference cancels down from this
    for name, got, want in zip(("gpred", "gtarget"), N["mse_bwd"](pred, target, g), R.mse_bwd(pred, target, g)):
        same(got, want, scale=2 * size, name=name)


@given(same_shape(3), st.booleans(), st.data())
def test_kl_div(case, log_target, data):
    s, t, g = case
    if not log_target:  # probabilities: >= 0, some exactly 0
        t = np.where(data.draw(hnp.arrays(np.bool_, t.shape)), 0, np.abs(t)).astype(t.dtype)
    size = np.exp(t) if log_target else np.abs(t)  # the factor in front of (log t or t) - s
    spread = np.abs(np.log(np.where(t > 0, t, 1))) + np.abs(t) + np.abs(s) + 1  # |(log t or t) - s + 1| before cancelling
    same(N["kl_div_fwd"](s, t, log_target), R.kl_div_fwd(s, t, log_target), scale=size * spread)
    got, want = N["kl_div_bwd"](s, t, g, log_target), R.kl_div_bwd(s, t, g, log_target)
    same(got[0], want[0], scale=size * np.abs(g), name="ginput")
    same(got[1], want[1], scale=size * spread * np.abs(g), name="gtarget")


@given(same_shape(2, low=-6.0, high=6.0), st.sampled_from(["none", "tanh"]))
def test_gelu(case, approximate):
    x, gy = case
    same(N["gelu_fwd"](x, approximate), R.gelu_fwd(x, approximate), scale=np.abs(x))
    same(N["gelu_bwd"](x, gy, approximate), R.gelu_bwd(x, gy, approximate), scale=np.abs(gy) * (1 + np.abs(x)), name="gx")


@given(rows(), st.sampled_from([1e-5, 1e-2]), st.data())
def test_layer_norm(case, eps, data):
    x, gy = case
    weight, bias = (data.draw(arrays(x.shape[1:], x.dtype)) for _ in range(2))
    got, want = N["layer_norm_fwd"](x, weight, bias, eps), R.layer_norm_fwd(x, weight, bias, eps)
    row_size = np.abs(x).max(axis=1)  # (N,): the centred values' rounding grows with it
    same(got[0], want[0], scale=(row_size * want[2])[:, None] * np.abs(weight) + np.abs(bias), name="y")
    same(got[1], want[1], scale=row_size, name="mean")
    same(got[2], want[2], name="rstd")
    _, mean, rstd = want
    xhat = np.abs((x - mean[:, None]) * rstd[:, None]) + (row_size * rstd)[:, None]  # |xhat| + its error
    g = np.abs(gy * weight)
    gx_scale = rstd[:, None] * (g + g.mean(axis=1, keepdims=True) + xhat * (g * xhat).mean(axis=1, keepdims=True))
    got, want = N["layer_norm_bwd"](x, weight, mean, rstd, gy), R.layer_norm_bwd(x, weight, mean, rstd, gy)
    same(got[0], want[0], scale=gx_scale, name="gx")
    same(got[1], want[1], scale=(np.abs(gy) * xhat).sum(axis=0), name="gw")
    same(got[2], want[2], scale=np.abs(gy).sum(axis=0), name="gb")


@given(rows(count=1), st.sampled_from([-100, 0]), st.sampled_from([0.0, 0.1, 1.0]), st.booleans(), st.data())
def test_cross_entropy(case, ignore_index, smoothing, weighted, data):
    (logits,) = case
    n, c = logits.shape
    targets = data.draw(hnp.arrays(np.int64, n, elements=st.sampled_from([*range(c), ignore_index])))
    weight = data.draw(arrays((c,), logits.dtype, 0.1, 2.0)) if weighted else np.ones(c, logits.dtype)
    grad_losses = data.draw(arrays((n,), logits.dtype))
    got = N["cross_entropy_fwd"](logits, targets, weight, ignore_index, smoothing)
    losses, lse = R.cross_entropy_fwd(logits, targets, weight, ignore_index, smoothing)
    size = np.abs(lse) + np.abs(logits).max(axis=1)  # (N,): log p = x - lse cancels down from this
    same(got[0], losses, scale=size * weight.max(), name="losses")
    same(got[1], lse, scale=size, name="lse")
    want = R.cross_entropy_bwd(logits, targets, weight, lse, grad_losses, ignore_index, smoothing)
    got = N["cross_entropy_bwd"](logits, targets, weight, lse, grad_losses, ignore_index, smoothing)
    same(got, want, scale=(np.abs(grad_losses) * weight.max() * (2 + size))[:, None], name="glogits")


def test_cross_entropy_and_softmax_of_float32_logits_of_1e4():
    logits = np.array([[1e4, -1e4, 0.0, 9999.0], [-1e4, -1e4, -9998.0, -1e4]], dtype=np.float32)
    targets, weight = np.array([3, 2]), np.ones(4, np.float32)
    got, want = N["cross_entropy_fwd"](logits, targets, weight, -100, 0.1), R.cross_entropy_fwd(logits, targets, weight, -100, 0.1)
    assert np.all(np.isfinite(got[0])) and np.all(np.isfinite(got[1]))
    same(got[1], want[1], name="lse")
    same(got[0], want[0], scale=2e4, name="losses")  # lse ~ 1e4 is rounded to float32's grid there
    same(N["softmax_fwd"](logits), R.softmax_fwd(logits))
    same(N["log_softmax_fwd"](logits), R.log_softmax_fwd(logits), scale=2e4)


# --- attention ---------------------------------------------------------------------------
@st.composite
def attention_case(draw):
    dtype = draw(DTYPES)
    b, tq, tk = draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    d, dv = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    q, k, v, gout = (draw(arrays(s, dtype)) for s in [(b, tq, d), (b, tk, d), (b, tk, dv), (b, tq, dv)])
    kind = draw(st.sampled_from(["none", "random", "padding"]))
    mask = None
    if kind == "random":  # rows of all False (fully masked) come up too
        mask = draw(hnp.arrays(np.bool_, (b, tq, tk)))
    elif kind == "padding":  # batch entry i sees its first lengths[i] keys; (B, 1, Tk) broadcasts
        lengths = np.array(draw(st.lists(st.integers(0, tk), min_size=b, max_size=b)))
        mask = np.arange(tk)[None, None, :] < lengths[:, None, None]
    keep = None
    if draw(st.booleans()):
        keep = ((draw(hnp.arrays(np.bool_, (b, tq, tk)))) / 0.75).astype(dtype)  # 0 or 1/(1-p)
    causal, scale = draw(st.booleans()), draw(st.sampled_from([1 / np.sqrt(d), 0.3, 1.7]))
    return q, k, v, gout, mask, keep, causal, float(scale)


def probabilities(q, k, mask, keep, causal, scale):
    """The reference's probabilities times ``keep`` (B, Tq, Tk): attention with v = identity."""
    eye = np.broadcast_to(np.eye(k.shape[1], dtype=q.dtype), (k.shape[0], k.shape[1], k.shape[1]))
    return R.attention_fwd(q, k, eye, mask, keep, causal, scale)[0]


@given(attention_case())
def test_attention(case):
    q, k, v, gout, mask, keep, causal, scale = case
    out, lse = R.attention_fwd(q, k, v, mask, keep, causal, scale)
    growth = 1 + scale * np.abs(q).sum(axis=2).max() * np.abs(k).max()  # |s| bound: p's rounding grows with it
    dropped = probabilities(q, k, mask, keep, causal, scale)  # (B, Tq, Tk), >= 0
    got = N["attention_fwd"](q, k, v, mask, keep, causal, scale)
    same(got[0], out, scale=growth * (dropped @ np.abs(v)), name="out")
    same(got[1], lse, scale=growth + np.abs(np.where(np.isfinite(lse), lse, 0)), name="lse")

    probs = probabilities(q, k, mask, None, causal, scale)
    kept = 1 if keep is None else keep
    gscore = probs * ((np.abs(gout) @ np.abs(v).swapaxes(1, 2)) * kept + (np.abs(gout) * np.abs(out)).sum(2, keepdims=True))
    scales = (scale * gscore @ np.abs(k), scale * gscore.swapaxes(1, 2) @ np.abs(q), dropped.swapaxes(1, 2) @ np.abs(gout))
    want = R.attention_bwd(q, k, v, mask, keep, out, lse, gout, causal, scale)
    got = N["attention_bwd"](q, k, v, mask, keep, out, lse, gout, causal, scale)
    for name, g, w, s in zip(("gq", "gk", "gv"), got, want, scales):
        same(g, w, scale=growth * s, name=name)


def test_fully_masked_rows_give_zeros_and_zero_gradients():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s) for s in [(2, 4, 3), (2, 2, 3), (2, 2, 3)])
    mask = np.ones((2, 4, 2), dtype=bool)
    mask[1] = False  # batch entry 1 sees nothing; causal with Tq > Tk also hides queries 0 and 1
    out, lse = N["attention_fwd"](q, k, v, mask, None, True, 0.5)
    assert np.all(out[1] == 0) and np.all(out[0, :2] == 0) and np.all(np.isneginf(lse[1]))
    grads = N["attention_bwd"](q, k, v, mask, None, out, lse, rng.standard_normal((2, 4, 3)), True, 0.5)
    assert all(np.all(np.isfinite(g)) for g in grads)
    assert np.all(grads[0][1] == 0) and np.all(grads[1][1] == 0) and np.all(grads[2][1] == 0)


# --- the optimizer and the embedding backward ---------------------------------------------
@given(same_shape(4), st.sampled_from([0.0, 0.1]))
def test_adamw_step(case, weight_decay):
    param, g1, g2, g3 = case  # param may be a non-contiguous view: the kernel must write into it
    ref = [np.array(param), np.zeros(param.shape, param.dtype), np.zeros(param.shape, param.dtype)]
    mine = [param, np.zeros_like(ref[1]), np.zeros_like(ref[2])]
    settings = {"lr": 0.01, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": weight_decay}
    for step, grad in enumerate((g1, g2, g3), start=1):
        R.adamw_step(ref[0], grad, ref[1], ref[2], step=step, **settings)
        assert N["adamw_step"](mine[0], grad, mine[1], mine[2], step=step, **settings) is None
        for name, got, want in zip(("param", "m", "v"), mine, ref):
            same(got, want, scale=np.abs(want) + 0.01 * step, name=f"{name} after step {step}")


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_float32_adamw_stays_within_its_stated_tolerance_of_float64_arithmetic(weight_decay):
    """float32 weights are updated in float32 arithmetic (numba_cpu/optim.py): over 20 steps of
    GPT-like magnitudes (weights ~0.02, gradients ~1e-3 with a few near 0) every weight stays
    within 8 eps32 (|p| + lr * step) of the float64 reference run on the same float32 grads."""
    rng = np.random.default_rng(3)
    n, lr, eps32 = 5000, 1e-3, float(np.finfo(np.float32).eps)
    param = (0.02 * rng.standard_normal(n)).astype(np.float32)
    mine = [param, np.zeros(n, np.float32), np.zeros(n, np.float32)]
    ref = [param.astype(np.float64), np.zeros(n), np.zeros(n)]
    settings = {"lr": lr, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weight_decay": weight_decay}
    for step in range(1, 21):
        grad = (1e-3 * rng.standard_normal(n) * (rng.random(n) < 0.9)).astype(np.float32)  # some exactly 0
        N["adamw_step"](mine[0], grad, mine[1], mine[2], step=step, **settings)
        R.adamw_step(ref[0], grad.astype(np.float64), ref[1], ref[2], step=step, **settings)
        gap = np.abs(mine[0] - ref[0])
        bound = 8 * eps32 * (np.abs(ref[0]) + lr * step)
        worst = int(np.argmax(gap / bound))
        assert gap[worst] <= bound[worst], (f"step {step}: weight {worst} is {mine[0][worst]!r}, the float64 "
                                            f"reference {ref[0][worst]!r}, off by {gap[worst]:.3g} > {bound[worst]:.3g}")


@given(DTYPES, st.integers(1, 7), st.integers(1, 70), st.data())
def test_embedding_bwd_is_bit_identical_to_add_at(dtype, vocab, dim, data):
    ids = data.draw(hnp.arrays(np.int64, data.draw(st.integers(0, 20)), elements=st.integers(0, vocab - 1)))
    grad = data.draw(arrays((ids.size, dim), dtype))
    got = N["embedding_bwd"](ids, grad, vocab)
    assert got.dtype == dtype and got.shape == (vocab, dim)
    np.testing.assert_array_equal(got, R.embedding_bwd(ids, grad, vocab))


# --- determinism: thread counts and repeated runs ------------------------------------------
def kernel_cases(rng, n, c, batch, tq, tk, positions, vocab, dtype=np.float64):
    """Arguments for every kernel: rows (n, c), attention (batch, tq, tk) with a random mask whose
    last batch entry sees no key, dropout, causal; ``positions`` ids from 0..vocab-1; the
    pointwise kernels on (n, c), kl_div with zero teacher probabilities."""
    x, gy = rng.standard_normal((n, c)), rng.standard_normal((n, c))
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    _, mean, rstd = R.layer_norm_fwd(x, w, b, 1e-5)
    targets = rng.integers(0, c, n)
    targets[0] = 3  # ignore_index below
    _, lse = R.cross_entropy_fwd(x, targets, w * w, 3, 0.1)
    q, k, v = rng.standard_normal((batch, tq, 8)), rng.standard_normal((batch, tk, 8)), rng.standard_normal((batch, tk, 5))
    mask = rng.random((batch, tq, tk)) < 0.8
    mask[-1] = False
    keep = (rng.random((batch, tq, tk)) < 0.9) / 0.9
    out, alse = R.attention_fwd(q, k, v, mask, keep, True, 0.35)
    teacher = np.where(np.abs(gy) < 0.3, 0.0, np.abs(gy))  # probabilities with zeros, no extra draw
    cases = {
        "softmax_fwd": (x,), "softmax_bwd": (x, gy), "log_softmax_fwd": (x,), "log_softmax_bwd": (x, gy),
        "gelu_fwd": (x, "none"), "gelu_bwd": (x, gy, "tanh"), "layer_norm_fwd": (x, w, b, 1e-5),
        "layer_norm_bwd": (x, w, mean, rstd, gy), "cross_entropy_fwd": (x, targets, w * w, 3, 0.1),
        "cross_entropy_bwd": (x, targets, w * w, lse, gy[:, 0], 3, 0.1),
        "attention_fwd": (q, k, v, mask, keep, True, 0.35),
        "attention_bwd": (q, k, v, mask, keep, out, alse, rng.standard_normal((batch, tq, 5)), True, 0.35),
        "adamw_step": (x, gy, np.abs(gy), gy * gy, 0.1, 0.9, 0.95, 1e-8, 0.1, 2),
        "embedding_bwd": (rng.integers(0, vocab, positions), rng.standard_normal((positions, 70)), vocab),
        "dropout_fwd": (x, (rng.random((n, c)) < 0.7) / 0.7), "dropout_bwd": ((rng.random((n, c)) < 0.7) / 0.7, gy),
        "mse_fwd": (x, gy), "mse_bwd": (x, gy, w * x),
        "kl_div_fwd": (x, teacher, False), "kl_div_bwd": (x, teacher, gy, False),
    }
    return {name: tuple(a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args)
            for name, args in cases.items()}


def run(name, args):
    """Every array the kernel returns or updates in place, on copies of ``args``."""
    args = copy.deepcopy(args)
    result = N[name](*args)
    return list(result) if isinstance(result, tuple) else [result] if result is not None else list(args[:4])


@pytest.fixture
def parallel_always(monkeypatch):
    """Launch every loop's parallel version when Numba may use several threads, however small
    its input (see _wrappers.launch): with 1 thread the serial version runs, so a test that
    compares thread counts compares the two compiled versions."""
    for kernel_loop in _wrappers.LOOPS:
        monkeypatch.setattr(kernel_loop, "parallel_from", 0)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs Numba to allow 2 threads")
@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_results_do_not_depend_on_the_thread_count_or_the_run(name, parallel_always):
    args = kernel_cases(np.random.default_rng(7), 97, 33, 6, 17, 13, 300, 11)[name]  # every loop splits
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run(name, args)
        numba.set_num_threads(2)
        two, again = run(name, args), run(name, args)
    finally:
        numba.set_num_threads(before)
    for a, b, c in zip(one, two, again):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(b, c)


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_larger_case_matches_the_reference(name, parallel_always):
    # Past Hypothesis' sizes: layer_norm_bwd's 32-row blocks (97 rows: 3 full, 1 partial),
    # embedding_bwd's 32-column blocks (70 columns), attention with 13 keys per query.
    args = kernel_cases(np.random.default_rng(8), 97, 33, 6, 17, 13, 300, 11)[name]
    reference = getattr(R, name)(*copy.deepcopy(args))
    want = list(reference) if isinstance(reference, tuple) else [reference]
    if reference is None:  # adamw_step: compare the updated arrays
        want = list(copy.deepcopy(args)[:4])
        R.adamw_step(*want, *args[4:])
    for got, expected in zip(run(name, args), want):
        same(got, expected, scale=np.abs(expected).max())


def test_each_loop_compiles_once_per_dtype():
    # Read-only (broadcast), non-contiguous and plain arrays all reach the loop as the same
    # Numba type, so nothing is compiled twice for one dtype.
    from tinygrad_lm.backends.numba_cpu import attention

    rng = np.random.default_rng(4)
    q = rng.standard_normal((2, 3, 4))
    for layout in (q, np.broadcast_to(q[:1], q.shape), ts.noncontiguous_copy(q, "transposed")):
        N["attention_fwd"](layout, q, layout, np.ones((3, 3), bool), None, True, 0.5)
    if numba.config.DISABLE_JIT:
        pytest.skip("nothing is compiled under NUMBA_DISABLE_JIT")
    float64_versions = [sig for sig in attention._softmax_scores.serial.signatures if sig[0].dtype == numba.float64]
    assert len(float64_versions) == 1, float64_versions


def test_a_small_call_compiles_only_the_serial_version():
    # What a run does not call is never compiled: a fresh interpreter calls softmax_fwd on a
    # small array, which compiles (or loads) the serial loop and leaves the parallel one alone.
    if numba.config.DISABLE_JIT:
        pytest.skip("nothing is compiled under NUMBA_DISABLE_JIT")
    code = ("import numpy as np; from tinygrad_lm.backends.numba_cpu import rows, softmax_fwd; "
            "softmax_fwd(np.ones((3, 5), np.float32)); "
            "print(len(rows._softmax_fwd_rows.serial.signatures), len(rows._softmax_fwd_rows.parallel.signatures))")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "0"]


# --- small fixed cases (also run as plain Python by test_numba_disable_jit.py) -------------
def small_cases(dtype):
    """Small inputs for every kernel: 3 rows, T = 1 query against 2 keys, repeated ids."""
    return kernel_cases(np.random.default_rng(3), 3, 5, 2, 1, 2, 6, 3, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_small_case_matches_the_reference(name, dtype):
    args = small_cases(dtype)[name]
    reference = getattr(R, name)(*copy.deepcopy(args))
    want = list(reference) if isinstance(reference, tuple) else [reference]
    if reference is None:  # adamw_step: compare the updated arrays
        want = list(copy.deepcopy(args)[:4])
        R.adamw_step(*want, *args[4:])
    for got, expected in zip(run(name, args), want):
        same(got, expected, scale=1.0)


STATISTICS = {"layer_norm_fwd": 2, "attention_fwd": 1, "cross_entropy_fwd": 1}  # trailing results saved for a backward


@pytest.mark.parametrize("name", ["softmax_fwd", "layer_norm_fwd", "attention_fwd", "cross_entropy_fwd", "adamw_step"])
def test_small_float16_runs_through_float32(name):
    args = small_cases(np.float16)[name]
    reference = getattr(R, name)(*copy.deepcopy(args))
    want = [reference] if not isinstance(reference, tuple) else list(reference)
    if reference is None:
        want = list(copy.deepcopy(args)[:4])
        R.adamw_step(*want, *args[4:])
    got = run(name, args)
    for i, (g, expected) in enumerate(zip(got, want)):
        statistic = i >= len(got) - STATISTICS.get(name, 0)  # mean, rstd, lse stay float32, as in numpy_ref
        assert g.dtype == expected.dtype == (np.float32 if statistic else np.float16), (name, i)
        check_close(g, expected, scale=1.0, name=name)
