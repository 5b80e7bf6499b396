"""Fused == composed on non-finite and extreme inputs, and the values both must give there.

Runs once per CPU kernel table (conftest.py). Inputs come from
``strategies.extreme_float_arrays`` (+-inf, NaN, +-max, +-1e4, subnormals mixed with ordinary
values); both versions run forward and backward with the same ordinary upstream gradient, and
must agree: NaN exactly where the other has NaN, infinities at the same places with the same
sign, finite values close (see ``agree``). The rules they keep are in ``numpy_ref``'s
docstrings; the fixed cases below pin them with known values. Values marked "PyTorch 2.13"
were printed by torch 2.13.0 (CPU) for the same call, e.g.
``torch.nn.functional.cross_entropy(torch.tensor([[M, -M, M, -M, M, -M, 0.]]), torch.tensor([0]))``;
none of these tests needs torch.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lm as tg
from tinygrad_lm.backends import numpy_ref as R
from tinygrad_lm.functional import composed, fused
from tinygrad_lm.testing import strategies as ts

# Composed ops are primitives: their NumPy steps may warn about overflow at float max (the
# kernels may not; test_numba_extremes.py checks that), and so may the tolerances below.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                                        "ignore:invalid value encountered:RuntimeWarning",
                                        "ignore:divide by zero:RuntimeWarning")
VERSIONS = [pytest.param(fused, id="fused"), pytest.param(composed, id="composed")]
DTYPES = st.sampled_from([np.float32, np.float64])
M32 = float(np.finfo(np.float32).max)
inf, nan = math.inf, math.nan


def run(version, call, arrays, upstream):
    tensors = [tg.tensor(a, requires_grad=True) for a in arrays]
    out = call(version, *tensors)
    out.backward(upstream.astype(out.dtype))
    return out.data, [t.grad for t in tensors]


def agree(got, want, rtol, scale=1.0, name="value"):
    """NaN and +-inf at the same places; finite values within rtol * (|want| + scale)."""
    g, w = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert np.array_equal(np.isnan(g), np.isnan(w)), f"{name}: NaN differs\n{g}\n{w}"
    assert np.array_equal(np.where(np.isinf(g), np.sign(g), 0), np.where(np.isinf(w), np.sign(w), 0)), \
        f"{name}: inf differs\n{g}\n{w}"
    finite = np.isfinite(g) & np.isfinite(w)
    bound = rtol * (np.abs(w) + np.broadcast_to(np.asarray(scale, np.float64), w.shape))
    bound = np.where(np.isnan(bound), inf, bound)  # a bound from float max: positions only
    assert np.all(np.abs(g - w)[finite] <= bound[finite]), f"{name}: values differ\n{g}\n{w}"


def versions_agree(call, arrays, rtol=1e-4, scale=1.0, grad_scale=None):
    upstream = np.random.default_rng(0).uniform(-1, 1, call(composed, *map(tg.tensor, arrays)).shape)
    fused_out, fused_grads = run(fused, call, arrays, upstream)
    composed_out, composed_grads = run(composed, call, arrays, upstream)
    agree(fused_out, composed_out, rtol, scale, "value")
    for i, (g, w) in enumerate(zip(fused_grads, composed_grads)):
        agree(g, w, rtol, scale if grad_scale is None else grad_scale, f"gradient of input {i}")


def row_size(x):
    """max |x| over the finite entries of each row (kept), in float64, + 1."""
    return np.where(np.isfinite(x), np.abs(x.astype(np.float64)), 0).max(axis=-1, keepdims=True) + 1


@st.composite
def extreme_rows(draw):
    dtype = draw(DTYPES)
    return draw(ts.extreme_float_arrays((draw(st.integers(1, 4)), draw(st.integers(1, 5))), dtype))


@given(extreme_rows())
def test_softmax_and_log_softmax(x):
    versions_agree(lambda F, x: F.softmax(x), [x])
    versions_agree(lambda F, x: F.log_softmax(x), [x], scale=2 * row_size(x))


@given(st.data(), DTYPES, st.sampled_from(["none", "tanh"]))
def test_gelu(data, dtype, approximate):
    x = data.draw(ts.extreme_float_arrays((data.draw(st.integers(1, 6)),), dtype))
    versions_agree(lambda F, x: F.gelu(x, approximate=approximate), [x], scale=np.abs(x.astype(np.float64)) + 1)


@given(extreme_rows())
def test_layer_norm(x):
    # float64 has no wider type: a sum or square past float64's max overflows in an order-
    # dependent way (reassociated sums differ from NumPy's pairwise ones), so +-max is left out.
    if x.dtype == np.float64:
        x = np.where(np.abs(x) == np.finfo(x.dtype).max, np.sign(x) * 1e4, x)
    weight = np.linspace(0.5, 1.5, x.shape[-1]).astype(x.dtype)
    versions_agree(lambda F, x, w: F.layer_norm(x, w), [x, weight], scale=x.shape[-1] + 1)


@given(extreme_rows(), st.sampled_from([0.0, 0.1]), st.sampled_from(["mean", "sum", "none"]), st.data())
def test_cross_entropy(x, smoothing, reduction, data):
    n, c = x.shape
    targets = data.draw(hnp.arrays(np.int64, n, elements=st.sampled_from([*range(c), -100])))
    # The fused backward rebuilds p from the saved lse, so p carries lse's rounding (spacing(lse)
    # relative; see numpy_ref.cross_entropy_bwd): the gradients' tolerance grows with it.
    lse = R.cross_entropy_fwd(x, targets, np.ones(c, x.dtype), -100, smoothing)[1]
    spacing = np.spacing(np.where(np.isfinite(lse), np.abs(lse), 0).astype(x.dtype)).astype(np.float64)
    p_error = np.expm1(np.minimum(spacing / np.finfo(x.dtype).eps, 700.0)).max() * 1e4
    versions_agree(lambda F, x: F.cross_entropy(x, targets, label_smoothing=smoothing, reduction=reduction), [x],
                   scale=2 * row_size(x).sum(), grad_scale=1 + p_error)


@given(st.sampled_from([np.float16, np.float32, np.float64]), st.data())
def test_attention(dtype, data):
    b, tq, tk = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    q = data.draw(ts.extreme_float_arrays((b, tq, 2), dtype))
    # No +-max: whether q k^T * scale, and the gradients' products, overflow to inf depends on
    # where the scale is multiplied in (the composed op scales the scores, the fused one folds
    # the scale into the score gradient), so the two may differ there by inf against finite.
    q = np.where(np.abs(q) == np.finfo(dtype).max, np.sign(q) * 1e4, q).astype(dtype)
    k, v = (data.draw(ts.float_arrays(s, dtype)) for s in [(b, tk, 2), (b, tk, 2)])
    mask, causal = data.draw(st.none() | hnp.arrays(np.bool_, (b, tq, tk))), data.draw(st.booleans())
    size = (np.where(np.isfinite(q), np.abs(q.astype(np.float64)), 0).max() + 1) * 64
    versions_agree(lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, mask=mask, causal=causal), [q, k, v],
                   rtol=3e-3 if dtype == np.float16 else 1e-4, scale=size)


# --- the rules, pinned with known values ------------------------------------------------------
def forward_backward_quietly(call, x, upstream, quiet=True):
    """(value, gradient), with every NumPy warning an error when ``quiet``. The kernels never
    warn; the composed ops' primitives may, at +-inf (-inf * 0) and near float max."""
    x = tg.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error" if quiet else "ignore")
        out = call(x)
        out.backward(np.asarray(upstream, dtype=x.dtype))
    return out.data, x.grad


@pytest.mark.parametrize("version", VERSIONS)
def test_a_row_of_minus_inf_has_softmax_0_and_log_softmax_minus_inf(version):
    # Issue 9, defect 8 (was NaN with a NumPy warning). PyTorch 2.13 gives NaN; we give what a
    # fully masked attention row gives.
    x = np.array([[-inf, -inf, -inf], [-inf, 0.0, 1.0]], np.float32)
    g = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], np.float32)
    y, gx = forward_backward_quietly(version.softmax, x, g)
    np.testing.assert_array_equal(y[0], 0) and np.testing.assert_array_equal(gx[0], 0)
    np.testing.assert_allclose(y[1], [0, 0.26894143, 0.7310586], rtol=1e-6)  # PyTorch 2.13
    np.testing.assert_allclose(gx[1], [0, -0.19661194, 0.19661193], rtol=1e-5)  # gy = [1, 2, 3]
    y, gx = forward_backward_quietly(version.log_softmax, x, g)
    np.testing.assert_array_equal(y[0], -inf)
    np.testing.assert_array_equal(gx[0], g[0])  # each entry's own slope, 1; softmax 0 takes nothing
    np.testing.assert_allclose(y[1, 1:], [-1.3132616, -0.31326166], rtol=1e-6)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("row", [[inf, 0.0, 1.0], [nan, 0.0, 1.0], [inf, inf, 0.0], [-inf, nan, -inf]])
def test_nan_or_plus_inf_in_a_row_makes_the_whole_row_nan(version, row):
    # Issue 17, item 14: the composed softmax gave [nan, 0, 0] for [inf, 0, 1]. PyTorch 2.13: all NaN.
    x = np.array([row, [0.0, 1.0, 2.0]])
    for op in (version.softmax, version.log_softmax):
        y, gx = forward_backward_quietly(op, x, np.ones_like(x))
        assert np.isnan(y[0]).all() and np.isnan(gx[0]).all() and np.isfinite(y[1]).all() and np.isfinite(gx[1]).all()


@pytest.mark.parametrize("version", VERSIONS)
def test_cross_entropy_of_float32_max_logits_is_log_3(version):
    # Issue 17, item 13: Numba gave 0.0, NumPy and composed NaN. PyTorch 2.13: 1.0986123.
    x = np.array([[M32, -M32, M32, -M32, M32, -M32, 0.0]], np.float32)
    loss = version.cross_entropy(tg.tensor(x), np.array([0]))
    assert loss.dtype == np.float32 and loss.item() == pytest.approx(math.log(3), rel=1e-7)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_target_logit_of_minus_inf_gives_inf_and_a_finite_gradient(version):
    # PyTorch 2.13: loss inf, gradient [-1, 0.26894143, 0.7310586] (p - onehot); smoothing 0.1: inf.
    x = np.array([[-inf, 0.0, 1.0]], np.float32)
    loss, gx = forward_backward_quietly(lambda t: version.cross_entropy(t, np.array([0])), x, 1.0, version is fused)
    assert loss == inf
    np.testing.assert_allclose(gx, [[-1.0, 0.26894143, 0.7310586]], rtol=1e-6)
    loss, gx = forward_backward_quietly(lambda t: version.cross_entropy(t, np.array([1]), label_smoothing=0.1), x, 1.0,
                                        version is fused)
    assert loss == inf
    np.testing.assert_allclose(gx, [[-0.03333334, -0.6643919, 0.6977252]], rtol=1e-5)  # PyTorch 2.13


@pytest.mark.parametrize("version", VERSIONS)
def test_float16_layer_norm_of_a_large_deviation(version):
    # Issue 17, item 11: 750^2 overflows float16, and the NumPy table and composed op gave 0.
    # PyTorch 2.13 (float16): y = [1.732, -0.5771, -0.5771, -0.5771].
    x = np.array([[1000.0, 0.0, 0.0, 0.0]], np.float16)
    y, gx = forward_backward_quietly(version.layer_norm, x, [[0.0, 1.0, 2.0, 3.0]])
    assert y.dtype == gx.dtype == np.float16
    np.testing.assert_allclose(y, [[1.732, -0.5771, -0.5771, -0.5771]], rtol=1e-3)
    np.testing.assert_allclose(gx, [[0.0, -0.0023098, 0.0, 0.0023098]], atol=2e-6)  # PyTorch 2.13


@pytest.mark.parametrize("version", VERSIONS)
def test_float32_layer_norm_of_rows_near_1e20(version):
    # (1e20)^2 overflows float32; computed in float64, y is (x - mean) / std exactly as for
    # [1, 0, 0, 0]. (PyTorch 2.13 gives NaN here.)
    x = np.array([[1e20, 0.0, 0.0, 0.0], [3e38, -3e38, 3e38, -3e38]], np.float32)
    y, gx = forward_backward_quietly(version.layer_norm, x, np.zeros((2, 4)), quiet=version is fused)
    np.testing.assert_allclose(y, [[math.sqrt(3)] + [-1 / math.sqrt(3)] * 3, [1, -1, 1, -1]], rtol=1e-6)
    assert np.isfinite(gx).all()


@pytest.mark.parametrize("version", VERSIONS)
def test_exact_gelu_is_never_positive_for_negative_x_and_its_gradient_underflows_to_0(version):
    # Issue 9, defect 1: the Numba table gave GELU(-20) = +4.9e-7 and a gradient of -2.47e-8.
    x = np.array([-5.0, -5.7, -15.0, -20.0, -1e4, -1e15], np.float32)
    y, gx = forward_backward_quietly(version.gelu, x, np.ones(6))
    assert np.all(y <= 0) and np.all(y[2:] == 0) and np.all(gx[2:] == 0)
    np.testing.assert_allclose(y[0], -1.4333e-6, rtol=0.2)  # true value; PyTorch 2.13: -1.19e-06


@pytest.mark.parametrize("version", VERSIONS)
def test_gelu_at_infinities_follows_its_formula(version):
    # 0.5 x (1 + erf(x / sqrt 2)) at -inf is -inf * 0: NaN (PyTorch 2.13 float64: NaN, inf; gradients NaN).
    for approximate in ("none", "tanh"):
        y, gx = forward_backward_quietly(lambda t, a=approximate: version.gelu(t, a), np.array([-inf, inf, nan]), np.ones(3),
                                         quiet=version is fused)
        assert np.isnan(y[0]) and y[1] == inf and np.isnan(y[2]) and np.isnan(gx).all()


@pytest.mark.parametrize("version", VERSIONS)
def test_attention_of_a_nan_query_row_is_nan_in_that_row_only(version):
    # Issue 17, item 14: the Numba table gave 0 there, the NumPy one NaN. PyTorch 2.13: NaN row,
    # NaN gradients for every key (the NaN query reads them all).
    q = tg.tensor(np.array([[[nan, 0.0], [1.0, 0.0]]]), requires_grad=True)
    k = tg.tensor(np.array([[[1.0, 0.0], [0.0, 1.0]]]), requires_grad=True)
    v = tg.tensor(np.array([[[1.0, 2.0], [3.0, 4.0]]]), requires_grad=True)
    out = version.scaled_dot_product_attention(q, k, v)
    out.backward(np.ones((1, 2, 2)))
    assert np.isnan(out.data[0, 0]).all() and np.isnan(q.grad[0, 0]).all()
    np.testing.assert_allclose(out.data[0, 1], [1.6604768, 2.6604768], rtol=1e-6)  # PyTorch 2.13
    np.testing.assert_allclose(q.grad[0, 1], [-0.6255943, 0.6255943], rtol=1e-6)
    assert np.isnan(k.grad).all() and np.isnan(v.grad).all()


@pytest.mark.parametrize("version", VERSIONS)
def test_float16_attention_of_std_100_scores_is_right(version):
    # Issue 17, item 12: NumPy table NaN, Numba dv off by up to 1108 (true values <= 7.2).
    rng = np.random.default_rng(12)
    q, k = (tg.tensor((rng.standard_normal((2, 8, 64)) * 100).astype(np.float16), requires_grad=True) for _ in "qk")
    v = tg.tensor(rng.standard_normal((2, 8, 64)).astype(np.float16), requires_grad=True)
    g = rng.standard_normal((2, 8, 64))
    out = version.scaled_dot_product_attention(q, k, v, causal=True)
    out.backward(g.astype(np.float16))
    exact = [tg.tensor(t.data.astype(np.float64), requires_grad=True) for t in (q, k, v)]
    want = version.scaled_dot_product_attention(*exact, causal=True)
    want.backward(g)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.data, want.data, atol=4e-3)
    for got, truth in zip((q.grad, k.grad, v.grad), exact):
        assert np.isfinite(got).all() and np.abs(got - truth.grad).max() < 1e-2 * (1 + np.abs(truth.grad).max())
