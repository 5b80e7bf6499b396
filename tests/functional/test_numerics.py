"""The numerics we promise (DESIGN.md), checked on both versions of each op.

- softmax, log_softmax and cross_entropy stay finite and correct for float32 logits of +-1e4.
- Attention: a fully masked row gives zeros and zero gradients, never NaN; masks are -inf,
  so a masked key has no influence at all; causal masking means an output never depends on
  later keys or values; Tq < Tk is aligned bottom-right (a KV-cache step sees every key).
- LayerNorm: biased variance, eps inside the square root; a constant row stays finite.
- GELU: both forms against an independent scalar evaluation with ``math.erf``/``math.tanh``.
"""

import math

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.functional import composed, fused
from tinygrad_lm.testing import check_close

VERSIONS = [pytest.param(fused, id="fused"), pytest.param(composed, id="composed")]
RNG = np.random.default_rng(20)


def reference_log_softmax(x):
    """log softmax along the last axis, in float64 with the maximum subtracted."""
    x = x.astype(np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


HUGE = np.array([[1e4, -1e4, 0.0, 9999.0], [-1e4, -1e4, -9998.0, -1e4]], dtype=np.float32)


@pytest.mark.parametrize("version", VERSIONS)
def test_softmax_and_log_softmax_are_finite_and_right_for_float32_logits_of_1e4(version):
    want = reference_log_softmax(HUGE)
    x = tg.tensor(HUGE, requires_grad=True)
    log_p = version.log_softmax(x)
    p = version.softmax(x)
    assert log_p.dtype == p.dtype == np.float32
    # |log p| reaches 2e4, where a float32 ulp is ~2e-3: compare relative to the logits' size.
    check_close(log_p, want, dtype=np.float32, scale=np.abs(HUGE), name="log_softmax")
    check_close(p, np.exp(want), dtype=np.float32, name="softmax")
    (log_p.sum() + p.sum()).backward()
    assert np.isfinite(x.grad).all()


@pytest.mark.parametrize("version", VERSIONS)
def test_cross_entropy_is_finite_and_right_for_float32_logits_of_1e4(version):
    targets = np.array([1, 2])  # the least likely class in row 0, the most likely in row 1
    x = tg.tensor(HUGE, requires_grad=True)
    loss = version.cross_entropy(x, targets, reduction="none")
    want = -reference_log_softmax(HUGE)[[0, 1], targets]
    check_close(loss, want, dtype=np.float32, scale=1e4, name="losses")
    assert loss.data[0] == pytest.approx(2e4 + math.log1p(math.exp(-1)), rel=1e-6)  # lse + 1e4
    loss.sum().backward()
    probs = np.exp(reference_log_softmax(HUGE))
    # The fused backward rebuilds p = exp(x - lse) from the saved float32 lse ~ 1e4, which is
    # rounded to the float32 grid there (spacing ~1e-3): p carries that much relative error,
    # the same as moving the logits by the rounding they already have.
    ulp = float(np.spacing(np.float32(1e4)))
    check_close(x.grad, probs - np.eye(4)[targets], rtol=ulp, atol=1e-6, name="gradient")


# --- attention -----------------------------------------------------------------------------
def qkv(b, tq, tk, d=4, dv=3, dtype=np.float64):
    return [tg.tensor(RNG.standard_normal(s).astype(dtype), requires_grad=True)
            for s in ((b, tq, d), (b, tk, d), (b, tk, dv))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("version", VERSIONS)
def test_a_fully_masked_row_gives_zeros_and_zero_gradients(version, dtype):
    q, k, v = qkv(2, 3, 4, dtype=dtype)
    mask = np.ones((2, 3, 4), dtype=bool)
    mask[1, 2] = False  # batch 1, query 2 may attend to nothing
    out = version.scaled_dot_product_attention(q, k, v, mask=mask)
    out.backward(RNG.standard_normal(out.shape).astype(dtype))
    assert np.all(out.data[1, 2] == 0)
    assert np.all(q.grad[1, 2] == 0)
    for grad in (q.grad, k.grad, v.grad):
        assert np.isfinite(grad).all()
    assert np.abs(k.grad[1]).sum() > 0  # the other rows of batch 1 still get gradients


def test_fused_attention_with_a_fully_masked_row_passes_detect_anomaly():
    q, k, v = qkv(1, 2, 3)
    with tg.detect_anomaly():
        out = fused.scaled_dot_product_attention(q, k, v, mask=np.array([[True, False, True], [False] * 3]))
        out.sum().backward()
    assert np.all(out.data[0, 1] == 0) and np.all(q.grad[0, 1] == 0)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_masked_key_has_no_influence_even_when_its_score_is_huge(version):
    q, k, v = qkv(1, 2, 4)
    k.data[0, 3] = 1e3 * q.data[0].sum(axis=0)  # a score -1e4 masking could not hide
    mask = np.array([True, True, True, False])
    out = version.scaled_dot_product_attention(q, k, v, mask=mask)
    without = version.scaled_dot_product_attention(q, k[:, :3], v[:, :3])
    check_close(out, without.data, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("version", VERSIONS)
def test_causal_output_never_depends_on_later_keys_or_values(version):
    q, k, v = qkv(2, 5, 5)
    out = version.scaled_dot_product_attention(q, k, v, causal=True).data
    for t in range(5):
        k2, v2 = k.data.copy(), v.data.copy()
        k2[:, t + 1:] += 10 * RNG.standard_normal(k2[:, t + 1:].shape)
        v2[:, t + 1:] += 10 * RNG.standard_normal(v2[:, t + 1:].shape)
        changed = version.scaled_dot_product_attention(q, tg.tensor(k2), tg.tensor(v2), causal=True).data
        np.testing.assert_array_equal(changed[:, : t + 1], out[:, : t + 1])
        if t < 4:
            assert not np.allclose(changed[:, t + 1:], out[:, t + 1:])


@pytest.mark.parametrize("version", VERSIONS)
def test_causal_with_fewer_queries_than_keys_is_aligned_bottom_right(version):
    q, k, v = qkv(1, 2, 5)
    out = version.scaled_dot_product_attention(q, k, v, causal=True)
    # query 0 is the 4th of 5 positions: it sees keys 0..3; query 1 (the last) sees all 5.
    first = version.scaled_dot_product_attention(q[:, :1], k[:, :4], v[:, :4])
    last = version.scaled_dot_product_attention(q[:, 1:], k, v)
    check_close(out.data[:, :1], first.data, rtol=1e-12, atol=1e-14)
    check_close(out.data[:, 1:], last.data, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_kv_cache_step_sees_every_key(version):
    q, k, v = qkv(2, 1, 6)
    causal = version.scaled_dot_product_attention(q, k, v, causal=True)
    full = version.scaled_dot_product_attention(q, k, v)
    np.testing.assert_array_equal(causal.data, full.data)


@pytest.mark.parametrize("version", VERSIONS)
def test_attention_matches_a_numpy_reference(version):
    q, k, v = qkv(3, 4, 6)
    mask = RNG.random((3, 4, 6)) < 0.7
    mask[..., 0] = True
    scores = q.data @ k.data.transpose(0, 2, 1) / 2.0  # scale 1/sqrt(4)
    scores = np.where(mask, scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    want = weights / weights.sum(-1, keepdims=True) @ v.data
    check_close(version.scaled_dot_product_attention(q, k, v, mask=mask), want, rtol=1e-12, atol=1e-14)


# --- layer norm and gelu -------------------------------------------------------------------
@pytest.mark.parametrize("version", VERSIONS)
def test_layer_norm_uses_biased_variance_with_eps_inside_the_square_root(version):
    x = RNG.standard_normal((3, 5)) * 1e-3  # var ~ 1e-6, comparable to eps: eps placement shows
    weight, bias = RNG.standard_normal(5), RNG.standard_normal(5)
    eps = 1e-6
    centered = x - x.mean(-1, keepdims=True)
    want = centered / np.sqrt((centered**2).sum(-1, keepdims=True) / 5 + eps) * weight + bias
    check_close(version.layer_norm(tg.tensor(x), tg.tensor(weight), tg.tensor(bias), eps=eps), want,
                rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("version", VERSIONS)
def test_layer_norm_of_a_constant_row_is_finite(version):
    x = tg.tensor(np.full((2, 4), 3.0, dtype=np.float32), requires_grad=True)
    y = version.layer_norm(x, bias=tg.tensor(np.arange(4, dtype=np.float32)))
    check_close(y, np.tile(np.arange(4.0), (2, 1)), dtype=np.float32)
    y.backward(RNG.standard_normal((2, 4)).astype(np.float32))
    assert np.isfinite(x.grad).all()


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("version", VERSIONS)
def test_gelu_matches_a_scalar_evaluation(version, approximate):
    xs = np.linspace(-8, 8, 33)
    if approximate == "none":
        want = [0.5 * x * (1 + math.erf(x / math.sqrt(2))) for x in xs]
    else:
        want = [0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))) for x in xs]
    check_close(version.gelu(tg.tensor(xs), approximate=approximate), want, rtol=1e-13, atol=1e-15)
    # the tanh form approximates the exact one to about 1e-3
    assert np.max(np.abs(version.gelu(tg.tensor(xs), "tanh").data - version.gelu(tg.tensor(xs)).data)) < 1e-3


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_every_op_keeps_its_input_dtype(version, dtype):
    x = tg.tensor(RNG.standard_normal((2, 3)).astype(dtype), requires_grad=True)
    outputs = [version.softmax(x), version.log_softmax(x), version.gelu(x), version.layer_norm(x),
               version.cross_entropy(x, np.array([0, 2])),
               version.scaled_dot_product_attention(x[None], x[None], x[None], causal=True)]
    for out in outputs:
        assert out.dtype == dtype
        out.sum().backward()
    assert x.grad.dtype == dtype
