"""MultiHeadAttention against a plain-NumPy reference, its gradients, and the KV cache."""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.engine.errors import ShapeError
from tinygrad_lm.nn import LayerCache, MultiHeadAttention
from tinygrad_lm.testing.gradcheck import check_close


def reference_attention(mha, x, context=None, mask=None, causal=False):
    """The layer recomputed in float64 NumPy from its weights, one head at a time."""
    def linear(layer, h):
        return h @ layer.weight.data.T + layer.bias.data

    B, T, C = x.shape
    H, D = mha.n_heads, mha.head_dim
    if mha.cross:
        q = linear(mha.q, x)
        k, v = np.split(linear(mha.kv, context), 2, axis=-1)
    else:
        q, k, v = np.split(linear(mha.qkv, x), 3, axis=-1)
    S = k.shape[1]
    allowed = np.ones((B, H, T, S), dtype=bool) if mask is None else np.broadcast_to(mask, (B, H, T, S))
    if causal:
        allowed = allowed & np.tril(np.ones((T, S), dtype=bool), k=S - T)
    out = np.zeros((B, T, C))
    for h in range(H):
        cols = slice(h * D, (h + 1) * D)
        scores = q[:, :, cols] @ k[:, :, cols].transpose(0, 2, 1) / np.sqrt(D)  # (B, T, S)
        scores = np.where(allowed[:, h], scores, -np.inf)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        out[:, :, cols] = weights @ v[:, :, cols]
    return linear(mha.proj, out)


def data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_matches_numpy(causal):
    mha = MultiHeadAttention(8, 2, rng=0, dtype="float64")
    x = data(2, 5, 8)
    check_close(mha(tg.tensor(x), causal=causal), reference_attention(mha, x, causal=causal))


def test_self_attention_with_a_padding_mask_matches_numpy():
    mha = MultiHeadAttention(8, 4, rng=1, dtype="float64")
    x = data(2, 4, 8)
    mask = np.ones((2, 1, 1, 4), dtype=bool)
    mask[1, ..., 3] = False  # the last key of sequence 1 is padding
    check_close(mha(tg.tensor(x), mask=mask), reference_attention(mha, x, mask=mask))


def test_cross_attention_takes_keys_from_the_context():
    mha = MultiHeadAttention(6, 3, cross=True, rng=2, dtype="float64")
    assert [name for name, _ in mha.named_parameters()] == [
        "q.weight", "q.bias", "kv.weight", "kv.bias", "proj.weight", "proj.bias"]
    x, context = data(2, 3, 6, seed=1), data(2, 7, 6, seed=2)
    out = mha(tg.tensor(x), context=tg.tensor(context))
    assert out.shape == (2, 3, 6)
    check_close(out, reference_attention(mha, x, context=context))


def test_self_attention_gradients(module_gradcheck):
    mha = MultiHeadAttention(4, 2, rng=3, dtype="float64")
    assert module_gradcheck(mha, data(2, 3, 4), call_kwargs={"causal": True})


def test_cross_attention_gradients(module_gradcheck):
    mha = MultiHeadAttention(4, 2, cross=True, rng=4, dtype="float64")
    assert module_gradcheck(mha, data(2, 3, 4, seed=1), data(2, 5, 4, seed=2))  # (x, context)


@pytest.mark.parametrize("dtype, rtol, atol", [("float64", 1e-12, 1e-12), ("float32", 1e-5, 1e-6)])
def test_kv_cache_one_token_at_a_time_equals_full_recomputation(dtype, rtol, atol):
    mha = MultiHeadAttention(8, 2, rng=5, dtype=dtype)
    x = data(2, 6, 8, seed=3).astype(dtype)
    full = mha(tg.tensor(x), causal=True).data
    cache = LayerCache()
    prefix = mha(tg.tensor(x[:, :2]), causal=True, cache=cache).data  # a two-token prompt
    steps = [mha(tg.tensor(x[:, t:t + 1]), causal=True, cache=cache).data for t in range(2, 6)]
    assert len(cache) == 6 and cache.keys.shape == (2, 2, 6, 4)
    check_close(np.concatenate([prefix, *steps], axis=1), full, rtol=rtol, atol=atol)


def test_attention_dropout_uses_the_training_flag():
    mha = MultiHeadAttention(8, 2, dropout=0.5, rng=6)
    x = tg.tensor(data(1, 4, 8).astype("float32"))
    assert not np.array_equal(mha(x).data, mha(x).data)
    mha.eval()
    np.testing.assert_array_equal(mha(x).data, mha(x).data)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"dim \(10\) must be divisible by n_heads \(4\)"):
        MultiHeadAttention(10, 4)
    mha = MultiHeadAttention(4, 2, rng=0)
    x = tg.tensor(np.zeros((1, 3, 4), dtype="float32"))
    with pytest.raises(ShapeError, match=r"x must be \(batch, time, 4\), got shape \(3, 4\)"):
        mha(tg.tensor(np.zeros((3, 4), dtype="float32")))
    with pytest.raises(ValueError, match="context= is for cross-attention"):
        mha(x, context=x)
    cross = MultiHeadAttention(4, 2, cross=True, rng=0)
    with pytest.raises(ShapeError, match=r"context must be \(1, S, 4\), got None"):
        cross(x)
    cache = LayerCache()
    cross(x, context=x, cache=cache)
    with pytest.raises(ShapeError, match="the cache holds 1 rows, x has 2; select"):
        wide = tg.tensor(np.zeros((2, 3, 4), dtype="float32"))
        cross(wide, context=wide, cache=cache)


@pytest.mark.parametrize("dtype, rtol, atol", [("float64", 1e-12, 1e-12), ("float32", 1e-5, 1e-6)])
def test_cross_attention_cache_projects_the_context_once_and_equals_recomputation(dtype, rtol, atol):
    cross = MultiHeadAttention(8, 2, cross=True, rng=7, dtype=dtype)
    x, context = tg.tensor(data(2, 5, 8).astype(dtype)), tg.tensor(data(2, 3, 8, seed=1).astype(dtype))
    mask = np.array([[True, True, True], [True, True, False]])[:, None, None, :]  # (B, 1, 1, S)
    full = cross(x, context=context, mask=mask).data
    cache = LayerCache()
    steps = [cross(x[:, t:t + 1], context=context, mask=mask, cache=cache).data for t in range(5)]
    assert len(cache) == 3 and cache.keys.shape == (2, 2, 3, 4)
    check_close(np.concatenate(steps, axis=1), full, rtol=rtol, atol=atol)
    stored = cache.keys
    cross(x[:, :1], context=tg.tensor(np.zeros((2, 3, 8), dtype=dtype)), mask=mask, cache=cache)
    assert cache.keys is stored  # a filled cache is reused: the context is not projected again


def test_layer_cache_select_reorders_rows():
    cache = LayerCache()
    keys = tg.tensor(data(3, 2, 4, 2))
    cache.append(keys, keys * 2.0)
    cache.select(np.array([2, 2, 0]))
    np.testing.assert_array_equal(cache.keys.data, keys.data[[2, 2, 0]])
    np.testing.assert_array_equal(cache.values.data, 2.0 * keys.data[[2, 2, 0]])
