"""numba == numpy_ref on non-finite and extreme inputs: +-inf, NaN, +-1e4, +-max, subnormals.

test_numba_parity.py proves the tables equal on ordinary values; here the inputs come from
``strategies.extreme_float_arrays`` (float16, float32, float64), so "proven equal to the
reference" covers the edges too. Equal means: NaN in exactly the same positions, infinities
in the same positions with the same sign, and finite values within ``atol + rtol * scale``
(the scale grows with the inputs' size, as in test_numba_parity.py). The forward kernels get
the extreme inputs; each backward gets the reference forward's outputs (NaN, inf and 0
included) and an ordinary upstream gradient.

The rules both tables keep (stated in numpy_ref's docstrings): NaN in gives NaN out; a
softmax-like row holding +inf is NaN; a row of -inf only has probabilities 0; float16 sums
run in float32. Fixed cases pin the examples the issues reported.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_lm.backends import load_kernels
from tinygrad_lm.backends import numpy_ref as R
from tinygrad_lm.testing import strategies as ts

# Tolerances computed from float max overflow to inf, which accepts any finite value (NaN and
# inf positions are still checked exactly); the kernels themselves run with warnings as errors.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                                        "ignore:invalid value encountered:RuntimeWarning")
N = load_kernels("numba")
DTYPES = st.sampled_from([np.float16, np.float32, np.float64])
M32 = float(np.finfo(np.float32).max)


def agree(got, want, scale=1.0, name="value", rtol_eps=512):
    """Same dtype, NaN and +-inf at the same places, finite values within tolerance of ``scale``."""
    assert got.dtype == want.dtype, f"{name}: dtype {got.dtype} != reference {want.dtype}"
    g, w = got.astype(np.float64), want.astype(np.float64)
    assert np.array_equal(np.isnan(g), np.isnan(w)), f"{name}: NaN at {np.argwhere(np.isnan(g) != np.isnan(w))[:4]}"
    sign = np.where(np.isinf(g), np.sign(g), 0), np.where(np.isinf(w), np.sign(w), 0)
    assert np.array_equal(*sign), f"{name}: inf at {np.argwhere(sign[0] != sign[1])[:4]}\n{g}\n{w}"
    finite = np.isfinite(g) & np.isfinite(w)
    eps = float(np.finfo(want.dtype).eps)
    with np.errstate(invalid="ignore", over="ignore"):
        bound = 16 * eps + rtol_eps * eps * np.broadcast_to(np.abs(np.asarray(scale, np.float64)), g.shape)
        bound = np.where(np.isnan(bound), np.inf, bound)  # an inf or NaN bound accepts: only positions are checked
        bad = finite & ~(np.abs(g - w) <= bound)
    assert not bad.any(), f"{name}: {g[bad][:4]} != reference {w[bad][:4]} (bound {bound[bad][:4]})"


def run_quietly(kernel, *args):
    """Call a kernel with NumPy's warnings turned into errors: no table may warn about inf or NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return kernel(*args)


def mag(a):
    """|a| in float64, so tolerances computed from extreme values do not overflow."""
    return np.abs(np.asarray(a, dtype=np.float64))


def finite_size(a, axis=None):
    """max |a| over finite entries (0 if none), along ``axis`` (kept) or overall."""
    a = np.where(np.isfinite(a), np.abs(a.astype(np.float64)), 0)
    return a.max(axis=axis, keepdims=axis is not None) if a.size else 0.0


@st.composite
def extreme_rows(draw, max_c=7):
    """(x, gy): x (N, C) with extreme entries, gy an ordinary upstream gradient, one dtype."""
    dtype, n, c = draw(DTYPES), draw(st.integers(1, 6)), draw(st.integers(1, max_c))
    x = draw(ts.extreme_float_arrays((n, c), dtype))
    return x, draw(ts.float_arrays((n, c), dtype))


# --- rows ----------------------------------------------------------------------------------
@given(extreme_rows())
def test_softmax_and_log_softmax(case):
    x, gy = case
    size = finite_size(x, axis=1) * 2 + math.log(x.shape[1]) + 1  # |x - m| reaches twice the largest |x|
    for name, scale in (("softmax", 1.0), ("log_softmax", size)):
        y = run_quietly(getattr(R, name + "_fwd"), x)
        agree(run_quietly(N[name + "_fwd"], x), y, scale=scale, name=name)
        spread = finite_size(y) + 1
        agree(run_quietly(N[name + "_bwd"], y, gy), run_quietly(getattr(R, name + "_bwd"), y, gy),
              scale=spread * (mag(gy).sum(axis=1, keepdims=True) + 1), name=name + " gx")


@given(st.data(), DTYPES, st.sampled_from(["none", "tanh"]))
def test_gelu(data, dtype, approximate):
    x = data.draw(ts.extreme_float_arrays(data.draw(ts.shapes(max_dims=2, max_side=6)), dtype))
    gy = data.draw(ts.float_arrays(x.shape, dtype))
    got, want = run_quietly(N["gelu_fwd"], x, approximate), run_quietly(R.gelu_fwd, x, approximate)
    agree(got, want, scale=mag(x), name="gelu")
    assert not np.any(got[x < 0] > 0), "GELU of a negative x is never positive"
    agree(run_quietly(N["gelu_bwd"], x, gy, approximate), run_quietly(R.gelu_bwd, x, gy, approximate),
          scale=mag(gy) * (1 + mag(x)), name="gelu gx")


@given(extreme_rows(), st.data())
def test_layer_norm(case, data):
    x, gy = case
    if x.dtype == np.float64:  # no wider type: overflow past float64's max depends on the sum's order
        x = np.where(np.abs(x) == np.finfo(x.dtype).max, np.sign(x) * 1e4, x)
    weight, bias = (data.draw(ts.float_arrays(x.shape[1:], x.dtype)) for _ in range(2))
    y, mean, rstd = run_quietly(R.layer_norm_fwd, x, weight, bias, 1e-5)
    got = run_quietly(N["layer_norm_fwd"], x, weight, bias, 1e-5)
    # One float32/float16 rounding of xhat ~ sqrt(C) when the row's mean is computed differently.
    agree(got[0], y, scale=(mag(weight) + mag(bias)) * (1 + x.shape[1]), name="y")
    agree(got[1], mean, scale=finite_size(x, axis=1)[:, 0], name="mean")
    agree(got[2], rstd, scale=mag(rstd), name="rstd")
    want = run_quietly(R.layer_norm_bwd, x, weight, mean, rstd, gy)
    got = run_quietly(N["layer_norm_bwd"], x, weight, mean, rstd, gy)
    size = (mag(gy) * (mag(weight) + 1)).sum() * (1 + x.shape[1]) * (finite_size(rstd) + 1)
    for name, g, w in zip(("gx", "gw", "gb"), got, want):
        agree(g, w, scale=size, name=name)


@given(extreme_rows(), st.sampled_from([0.0, 0.1]), st.data())
def test_cross_entropy(case, smoothing, data):
    logits, _ = case
    n, c = logits.shape
    targets = data.draw(hnp.arrays(np.int64, n, elements=st.sampled_from([*range(c), -100])))
    weight = np.ones(c, logits.dtype)
    grad_losses = data.draw(ts.float_arrays((n,), logits.dtype))
    losses, lse = run_quietly(R.cross_entropy_fwd, logits, targets, weight, -100, smoothing)
    got = run_quietly(N["cross_entropy_fwd"], logits, targets, weight, -100, smoothing)
    size = finite_size(logits, axis=1)[:, 0] * 2 + math.log(c) + 1  # |x - m| up to twice the largest |x|
    agree(got[0], losses, scale=size, name="losses")
    agree(got[1], lse, scale=size, name="lse")
    want = run_quietly(R.cross_entropy_bwd, logits, targets, weight, lse, grad_losses, -100, smoothing)
    got = run_quietly(N["cross_entropy_bwd"], logits, targets, weight, lse, grad_losses, -100, smoothing)
    # p = exp(x - lse) carries lse's rounding, spacing(lse) relative: see numpy_ref.cross_entropy_bwd.
    spacing = np.spacing(np.abs(np.where(np.isfinite(lse), lse, 0)).astype(lse.dtype)).astype(np.float64)
    with np.errstate(over="ignore"):
        p_error = np.expm1(spacing / float(np.finfo(logits.dtype).eps))[:, None]
    agree(got, want, scale=(mag(grad_losses) * 2)[:, None] * (1 + p_error), name="glogits")


# --- attention -----------------------------------------------------------------------------
@given(DTYPES, st.data())
def test_attention(dtype, data):
    b, tq, tk, d = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)), 3
    q, k, v = (data.draw(ts.extreme_float_arrays(s, dtype)) for s in [(b, tq, d), (b, tk, d), (b, tk, 2)])
    gout = data.draw(ts.float_arrays((b, tq, 2), dtype))
    mask, causal = data.draw(st.none() | hnp.arrays(np.bool_, (b, tq, tk))), data.draw(st.booleans())
    # Both tables take q k^T, p v and the gradients' products from the same BLAS, so even a
    # NaN at a masked key (0 * NaN in p v) and overflow in q . k land in the same places.
    out, lse = run_quietly(R.attention_fwd, q, k, v, mask, None, causal, 0.5)
    got = run_quietly(N["attention_fwd"], q, k, v, mask, None, causal, 0.5)
    size = (finite_size(q) * finite_size(k) * d + 1) * (finite_size(v) + 1)
    agree(got[0], out, scale=size, name="out")
    agree(got[1], lse, scale=size, name="lse")
    want = run_quietly(R.attention_bwd, q, k, v, mask, None, out, lse, gout, causal, 0.5)
    got = run_quietly(N["attention_bwd"], q, k, v, mask, None, out, lse, gout, causal, 0.5)
    for name, g, w in zip(("gq", "gk", "gv"), got, want):
        agree(g, w, scale=size * (finite_size(q) + finite_size(k) + 1) * tk, name=name)


# --- the reported cases --------------------------------------------------------------------
@pytest.mark.parametrize("table", [R, N], ids=["numpy", "numba"])
def test_exact_gelu_at_large_negative_x_is_not_positive_and_its_gradient_is_zero(table):
    # Issue 9, defect 1: the float32 rational erf returned -(1 + 4.94e-8), so GELU(-20) was +4.9e-7.
    x = np.array([-4.0, -5.6, -5.7, -14.8, -14.9, -20.0, -1e4, -M32], np.float32)
    kernel = table if isinstance(table, dict) else vars(table)
    y, gx = kernel["gelu_fwd"](x, "none"), kernel["gelu_bwd"](x, np.ones_like(x), "none")
    assert np.all(y <= 0)
    assert np.all(y[3:] == 0) and np.all(gx[4:] == 0)  # true |values| < 1e-45: 0 in float32
    assert np.all(gx[:3] < 0)


@pytest.mark.parametrize("table", [R, N], ids=["numpy", "numba"])
def test_cross_entropy_of_float32_max_logits_is_log_3(table):
    # Issue 17, item 13: Numba gave 0.0, NumPy NaN; PyTorch 2.13 gives log 3 = 1.0986123.
    kernel = table if isinstance(table, dict) else vars(table)
    logits = np.array([[M32, -M32, M32, -M32, M32, -M32, 0]], np.float32)
    losses, lse = run_quietly(kernel["cross_entropy_fwd"], logits, np.array([0]), np.ones(7, np.float32), -100, 0.0)
    assert losses[0] == np.float32(math.log(3)) and lse[0] == M32


@pytest.mark.parametrize("table", [R, N], ids=["numpy", "numba"])
def test_float16_attention_of_large_scores_keeps_its_gradients(table):
    # Issue 17, item 12: q, k of std 100, D = 64 in float16: NumPy gave NaN, Numba dv off by 1108.
    kernel = table if isinstance(table, dict) else vars(table)
    rng = np.random.default_rng(12)
    q, k = (rng.standard_normal((2, 16, 64)) * 100 for _ in range(2))
    v, gout = rng.standard_normal((2, 16, 64)), rng.standard_normal((2, 16, 64))
    half = [a.astype(np.float16) for a in (q, k, v, gout)]
    exact = [a.astype(np.float64) for a in half]
    out, lse = R.attention_fwd(*exact[:3], None, None, True, 0.125)
    want = R.attention_bwd(*exact[:3], None, None, out, lse, exact[3], True, 0.125)
    got_out, got_lse = run_quietly(kernel["attention_fwd"], *half[:3], None, None, True, 0.125)
    assert got_out.dtype == np.float16 and got_lse.dtype == np.float32  # the statistic stays wide
    np.testing.assert_allclose(got_out, out, atol=4e-3)
    grads = run_quietly(kernel["attention_bwd"], *half[:3], None, None, got_out, got_lse, half[3], True, 0.125)
    for g, w in zip(grads, want):
        assert np.isfinite(g).all() and np.abs(g - w).max() < 1e-2 * (1 + np.abs(w).max())


# --- where the float32 polynomials switch: erf's clamp at |x| = 4 sqrt 2, exp's floor at -110 ---
SWITCHES = np.concatenate([
    np.linspace(-1e4, 1e4, 2001),  # large |x|, both signs
    *(c + np.linspace(-0.05, 0.05, 101) for c in (-5.657, 5.657)),  # erf's argument crosses +-4
    *(c + np.linspace(-0.3, 0.3, 121) for c in (-14.83, 14.83)),  # gelu_bwd's exp(-x^2 / 2) crosses -110
])
GAPS = np.concatenate([np.linspace(80, 120, 161), [87.3, 103.97, 104.0, 109.99, 110.0, 110.01]])  # exp(-gap)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_agrees_at_large_x_and_where_erf_and_exp_switch(dtype, approximate):
    x = SWITCHES.astype(dtype)
    gy = np.random.default_rng(1).uniform(-1, 1, x.shape).astype(dtype)
    got, want = run_quietly(N["gelu_fwd"], x, approximate), run_quietly(R.gelu_fwd, x, approximate)
    agree(got, want, scale=mag(x), name="gelu")
    assert np.all(got[x < 0] <= 0)  # never positive for negative x
    got = run_quietly(N["gelu_bwd"], x, gy, approximate)
    agree(got, run_quietly(R.gelu_bwd, x, gy, approximate), scale=mag(gy) * (1 + mag(x)), name="gelu gx")
    if dtype == np.float32:
        assert np.all(got[x <= -15] == 0)  # the true slope there is below float32's smallest subnormal


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_kernels_agree_where_exp_underflows(dtype):
    # Rows [0, -gap, -gap/2, 1e4 - gap ...]: exponents cross float32's normal (-87.3) and subnormal
    # (-104) limits and the polynomial's floor (-110), where exp becomes exactly 0.
    gaps = GAPS.astype(dtype)
    x = np.stack([np.zeros_like(gaps), -gaps, -gaps / 2, 1e4 - gaps, np.full_like(gaps, 1e4)], axis=1)  # (N, 5)
    gy = np.random.default_rng(2).uniform(-1, 1, x.shape).astype(dtype)
    for name in ("softmax", "log_softmax"):
        y = run_quietly(getattr(R, name + "_fwd"), x)
        agree(run_quietly(N[name + "_fwd"], x), y, scale=1.0 if name == "softmax" else 2e4, name=name)
        agree(run_quietly(N[name + "_bwd"], y, gy), run_quietly(getattr(R, name + "_bwd"), y, gy), scale=3.0, name=name)
    targets, weight = np.arange(x.shape[0]) % 5, np.ones(5, dtype)
    losses, lse = run_quietly(R.cross_entropy_fwd, x, targets, weight, -100, 0.1)
    got = run_quietly(N["cross_entropy_fwd"], x, targets, weight, -100, 0.1)
    agree(got[0], losses, scale=2e4, name="losses")
    agree(got[1], lse, scale=2e4, name="lse")
    want = run_quietly(R.cross_entropy_bwd, x, targets, weight, lse, gy[:, 0], -100, 0.1)
    agree(run_quietly(N["cross_entropy_bwd"], x, targets, weight, lse, gy[:, 0], -100, 0.1), want, scale=2e4,
          name="glogits")  # p carries lse's rounding near 1e4 (spacing 1e-3)
    # Attention: scores q . k = [0, -gap] per query (keys e0 and -gap e0), one query per gap.
    q = np.zeros((1, gaps.size, 2), dtype)
    q[0, :, 0] = gaps
    k = np.array([[[0.0, 0.0], [-1.0, 0.0]]], dtype)
    v = np.array([[[1.0, 2.0], [3.0, 4.0]]], dtype)
    out, lse = run_quietly(R.attention_fwd, q, k, v, None, None, False, 1.0)
    got = run_quietly(N["attention_fwd"], q, k, v, None, None, False, 1.0)
    agree(got[0], out, scale=4.0, name="out")
    agree(got[1], lse, name="lse")
    gout = gy[:, :2][None]
    for name, g, w in zip(("gq", "gk", "gv"), run_quietly(N["attention_bwd"], q, k, v, None, None, out, lse, gout, False, 1.0),
                          run_quietly(R.attention_bwd, q, k, v, None, None, out, lse, gout, False, 1.0)):
        agree(g, w, scale=4.0 * (1 + mag(q).max()), name=name)
