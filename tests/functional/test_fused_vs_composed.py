"""Fused == composed: every fused functional op equals its composition in value and gradient.

The composed versions (``functional/composed.py``) are the specification, built from
primitives whose backwards the op registry proves; the fused ones (``functional/fused.py``)
call the kernels of the active table. For each op, Hypothesis draws float64 inputs with
size-1 axes, non-contiguous layouts, any class axis, broadcastable attention masks and
batch axes, and every option (reductions, log_target, zero teacher probabilities); both
versions run forward and backward with the same random upstream gradient, and values and
every input gradient must agree to float64 rounding. Dropout, which draws its mask from the
same rng state in both versions, must agree bit for bit.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lm as tg
from tinygrad_lm.functional import composed, fused
from tinygrad_lm.testing import check_close
from tinygrad_lm.testing import strategies as ts

RTOL, ATOL = 1e-9, 1e-11  # float64; the versions round differently, so not bit-identical


def run(version, call, arrays, seed=0):
    """Forward ``call(version, *tensors)``, backward a seeded random upstream; (out, grads)."""
    tensors = [tg.tensor(a, requires_grad=True) for a in arrays]
    out = call(version, *tensors)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    return out.data, [t.grad for t in tensors]


def assert_versions_agree(call, *arrays):
    fused_out, fused_grads = run(fused, call, arrays)
    composed_out, composed_grads = run(composed, call, arrays)
    check_close(fused_out, composed_out, rtol=RTOL, atol=ATOL, name="value")
    for i, (got, want) in enumerate(zip(fused_grads, composed_grads)):
        check_close(got, want, rtol=RTOL, atol=ATOL, name=f"gradient of input {i}")


def layouts(shape_strategy, min_value=-4.0, max_value=4.0):
    """float64 arrays of the drawn shape, contiguous or not."""
    arrays = ts.float_arrays(shape_strategy, min_value=min_value, max_value=max_value)
    return st.one_of(arrays, ts.noncontiguous(arrays))


@st.composite
def array_and_axis(draw):
    x = draw(layouts(ts.shapes(min_dims=1, max_dims=4)))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


# --- row ops and elementwise -------------------------------------------------------------
@given(array_and_axis())
def test_softmax(case):
    x, axis = case
    assert_versions_agree(lambda F, x: F.softmax(x, axis=axis), x)


@given(array_and_axis())
def test_log_softmax(case):
    x, axis = case
    assert_versions_agree(lambda F, x: F.log_softmax(x, axis=axis), x)


@given(layouts(ts.shapes(max_dims=3), -6.0, 6.0), st.sampled_from(["none", "tanh"]))
def test_gelu(x, approximate):
    assert_versions_agree(lambda F, x: F.gelu(x, approximate=approximate), x)


@st.composite
def layer_norm_inputs(draw):
    shape = draw(ts.shapes(min_dims=1, max_dims=4))
    x = draw(layouts(st.just(shape)))
    params = draw(st.sampled_from(["both", "weight", "bias", "none"]))
    weight = draw(layouts(st.just(shape[-1:]))) if params in ("both", "weight") else None
    bias = draw(layouts(st.just(shape[-1:]))) if params in ("both", "bias") else None
    return x, weight, bias, draw(st.sampled_from([1e-5, 1e-2]))


@given(layer_norm_inputs())
def test_layer_norm(case):
    x, weight, bias, eps = case
    arrays = [a for a in (x, weight, bias) if a is not None]

    def call(F, x, *params):
        named = dict(zip([n for n, a in (("weight", weight), ("bias", bias)) if a is not None], params))
        return F.layer_norm(x, eps=eps, **named)

    assert_versions_agree(call, *arrays)


@st.composite
def linear_inputs(draw):
    shape = draw(ts.shapes(min_dims=1, max_dims=4))
    out_features = draw(st.integers(1, 5))
    x = draw(layouts(st.just(shape)))
    weight = draw(layouts(st.just((out_features, shape[-1]))))
    bias = draw(layouts(st.just((out_features,)))) if draw(st.booleans()) else None
    return x, weight, bias


@given(linear_inputs())
def test_linear(case):
    x, weight, bias = case
    if bias is None:
        assert_versions_agree(lambda F, x, w: F.linear(x, w), x, weight)
    else:
        assert_versions_agree(lambda F, x, w, b: F.linear(x, w, b), x, weight, bias)


# --- cross-entropy -------------------------------------------------------------------------
@st.composite
def cross_entropy_inputs(draw):
    shape = draw(ts.shapes(min_dims=1, max_dims=3, max_side=6))
    logits = draw(layouts(st.just(shape)))
    classes = shape[-1]
    targets = draw(hnp.arrays(np.int64, shape[:-1], elements=st.integers(0, classes - 1)))
    ignored = draw(hnp.arrays(np.bool_, shape[:-1]))
    targets = np.where(ignored, -100, targets)
    weight = draw(st.none() | ts.float_arrays((classes,), max_value=3.0).map(lambda w: np.abs(w) + 0.1))
    options = {
        "label_smoothing": draw(st.sampled_from([0.0, 0.1, 1.0])),
        "reduction": draw(st.sampled_from(["mean", "sum", "none"])),
        "weight": weight,
    }
    return logits, targets, options


@given(cross_entropy_inputs())
def test_cross_entropy(case):
    logits, targets, options = case
    assert_versions_agree(lambda F, x: F.cross_entropy(x, targets, **options), logits)


def test_cross_entropy_with_a_custom_ignore_index():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((2, 4, 5))
    targets = rng.integers(0, 5, size=(2, 4))
    targets[0, 1] = targets[1, 3] = 7
    assert_versions_agree(lambda F, x: F.cross_entropy(x, targets, ignore_index=7), logits)


# --- attention -----------------------------------------------------------------------------
@st.composite
def attention_inputs(draw):
    case = draw(ts.attention_shapes_and_masks())
    b, h, tq, tk, d = case.batch, case.heads, case.q_len, case.k_len, case.head_dim
    dv = draw(st.integers(1, 4))
    kv_heads = draw(st.sampled_from([h, 1]))  # k and v shared by every head: broadcast batch axes
    q = draw(layouts(st.just((b, h, tq, d)), -2.0, 2.0))
    k = draw(layouts(st.just((b, kv_heads, tk, d)), -2.0, 2.0))
    v = draw(layouts(st.just((b, kv_heads, tk, dv))))
    mask = draw(st.sampled_from([case.mask, None]))
    causal = draw(st.booleans())
    scale = draw(st.sampled_from([None, 0.3]))
    return q, k, v, {"mask": mask, "causal": causal, "scale": scale}


@given(attention_inputs())
def test_scaled_dot_product_attention(case):
    q, k, v, options = case
    assert_versions_agree(lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, **options), q, k, v)


def test_attention_with_fully_masked_rows_agrees():
    rng = np.random.default_rng(4)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 3))
    mask = rng.random((2, 3, 5)) < 0.5
    mask[0, 1] = mask[1, 2] = False  # two rows that may attend to nothing
    assert_versions_agree(lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, mask=mask), q, k, v)


@given(st.integers(0, 2**32 - 1), st.sampled_from([0.1, 0.5]))
def test_attention_dropout_draws_the_same_mask_in_both_versions(seed, p):
    rng = np.random.default_rng(5)
    q, k, v = rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((2, 2, 6, 4)), rng.standard_normal((2, 2, 6, 4))

    def call(F, q, k, v):
        drop = np.random.default_rng(seed)
        return F.scaled_dot_product_attention(q, k, v, causal=True, dropout_p=p, rng=drop)

    assert_versions_agree(call, q, k, v)


@st.composite
def self_attention_inputs(draw):
    case = draw(ts.attention_shapes_and_masks())
    b, h, t, d = case.batch, case.heads, case.q_len, case.head_dim
    qkv = draw(layouts(st.just((b, t, 3 * h * d)), -2.0, 2.0))
    mask = None
    if draw(st.booleans()):  # self-attention: a (T, T) mask, broadcast over batch and heads
        mask = draw(hnp.arrays(bool, (t, t))) | np.eye(t, dtype=bool)  # every query may see itself
    return qkv, h, {"mask": mask, "causal": draw(st.booleans()), "scale": draw(st.sampled_from([None, 0.3]))}


@given(self_attention_inputs())
def test_self_attention(case):
    qkv, heads, options = case
    assert_versions_agree(lambda F, qkv: F.self_attention(qkv, heads, **options), qkv)


@given(st.integers(0, 2**32 - 1))
def test_self_attention_dropout_draws_the_same_mask_in_both_versions(seed):
    qkv = np.random.default_rng(7).standard_normal((2, 5, 12))

    def call(F, qkv):
        return F.self_attention(qkv, 2, causal=True, dropout_p=0.3, rng=np.random.default_rng(seed))

    assert_versions_agree(call, qkv)


def test_self_attention_is_scaled_dot_product_attention_per_head():
    # The packed op against the unpacked one, written out: heads cut from qkv by hand.
    rng = np.random.default_rng(8)
    qkv = rng.standard_normal((2, 4, 3 * 3 * 2))  # B=2, T=4, H=3, D=2
    q, k, v = (qkv[..., i * 6:(i + 1) * 6].reshape(2, 4, 3, 2).transpose(0, 2, 1, 3) for i in range(3))
    want = fused.scaled_dot_product_attention(tg.tensor(q), tg.tensor(k), tg.tensor(v), causal=True)
    got = fused.self_attention(tg.tensor(qkv), 3, causal=True)
    check_close(got.data, want.data.transpose(0, 2, 1, 3).reshape(2, 4, 6), rtol=RTOL, atol=ATOL, name="value")


# --- dropout and the pointwise losses ------------------------------------------------------
@given(layouts(ts.shapes(max_dims=3)), st.sampled_from([0.0, 0.3]), st.booleans(), st.integers(0, 2**32 - 1))
def test_dropout_is_bit_identical(x, p, training, seed):
    def call(F, x):
        return F.dropout(x, p, training, rng=np.random.default_rng(seed))

    fused_out, fused_grads = run(fused, call, [x])
    composed_out, composed_grads = run(composed, call, [x])
    np.testing.assert_array_equal(fused_out, composed_out)
    np.testing.assert_array_equal(fused_grads[0], composed_grads[0])


def test_dropout_with_p1_agrees():
    x = np.random.default_rng(6).standard_normal((3, 4))
    assert_versions_agree(lambda F, x: F.dropout(x, 1.0, rng=np.random.default_rng(0)), x)


@st.composite
def loss_pair(draw, teacher_probabilities=False):
    """(a, b) float64 arrays of one drawn shape, each contiguous or not; with
    ``teacher_probabilities`` b is >= 0 with some entries exactly 0."""
    shape = draw(ts.shapes(max_dims=3))
    a = draw(layouts(st.just(shape)))
    b = draw(layouts(st.just(shape)))
    if teacher_probabilities:
        zeros = draw(hnp.arrays(np.bool_, shape))
        b = np.where(zeros, 0.0, np.abs(b))
    return a, b


@given(loss_pair(), st.sampled_from(["mean", "sum", "none"]))
def test_mse_loss(case, reduction):
    assert_versions_agree(lambda F, a, b: F.mse_loss(a, b, reduction=reduction), *case)


@given(st.data(), st.booleans(), st.sampled_from(["batchmean", "sum", "mean", "none"]))
def test_kl_div(data, log_target, reduction):
    student, teacher = data.draw(loss_pair(teacher_probabilities=not log_target))
    if reduction == "batchmean" and student.ndim == 0:
        student, teacher = student.reshape(1), teacher.reshape(1)  # batchmean needs a batch axis

    def call(F, s, t):
        return F.kl_div(s, t, reduction=reduction, log_target=log_target)

    assert_versions_agree(call, student, teacher)
