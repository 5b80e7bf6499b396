"""MLP and TransformerBlock: the residual wiring (pre-LN and post-LN), gradients, errors."""

import math

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.nn import MLP, LayerCache, TransformerBlock
from tinygrad_lm.testing.gradcheck import check_close


def data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_mlp_matches_numpy_with_exact_gelu():
    mlp = MLP(4, 6, rng=0, dtype="float64")
    x = data(2, 3, 4)
    h = x @ mlp.fc.weight.data.T + mlp.fc.bias.data
    h = 0.5 * h * (1 + np.vectorize(math.erf)(h / math.sqrt(2)))
    check_close(mlp(tg.tensor(x)), h @ mlp.proj.weight.data.T + mlp.proj.bias.data)


def test_mlp_activations_differ_and_unknown_ones_are_named():
    x = tg.tensor(data(1, 2, 4))
    outs = [MLP(4, rng=0, activation=a, dtype="float64")(x).data for a in ("gelu", "gelu_tanh", "relu")]
    assert not np.allclose(outs[0], outs[1]) and not np.allclose(outs[0], outs[2])
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; choose one of \['gelu', 'gelu_tanh'"):
        MLP(4, activation="swish")


def test_block_parameter_names_in_order():
    names = [name for name, _ in TransformerBlock(8, 2, cross_attention=True, rng=0).named_parameters()]
    assert names == [
        "ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
        "ln_cross.weight", "ln_cross.bias", "cross_attn.q.weight", "cross_attn.q.bias",
        "cross_attn.kv.weight", "cross_attn.kv.bias", "cross_attn.proj.weight", "cross_attn.proj.bias",
        "ln2.weight", "ln2.bias", "mlp.fc.weight", "mlp.fc.bias", "mlp.proj.weight", "mlp.proj.bias",
    ]


def randomize_norms(block, rng):
    """LayerNorms start at (1, 0); move them so a wiring mistake cannot hide behind identity."""
    for name, p in block.named_parameters():
        if name.startswith("ln"):
            p.data[...] = rng.standard_normal(p.shape)


def test_pre_ln_block_is_x_plus_sublayer_of_norm_x():
    block = TransformerBlock(8, 2, cross_attention=True, rng=1, dtype="float64")
    randomize_norms(block, np.random.default_rng(0))
    x, ctx = tg.tensor(data(2, 4, 8)), tg.tensor(data(2, 3, 8, seed=1))
    h = x + block.attn(block.ln1(x), causal=True)
    h = h + block.cross_attn(block.ln_cross(h), context=ctx)
    h = h + block.mlp(block.ln2(h))
    check_close(block(x, context=ctx, causal=True), h.data)


def test_post_ln_block_is_norm_of_x_plus_sublayer():
    block = TransformerBlock(8, 2, norm_first=False, rng=2, dtype="float64")
    randomize_norms(block, np.random.default_rng(1))
    x = tg.tensor(data(2, 4, 8))
    h = block.ln1(x + block.attn(x))
    h = block.ln2(h + block.mlp(h))
    check_close(block(x), h.data)


def test_pre_ln_block_gradients(module_gradcheck):
    block = TransformerBlock(4, 2, rng=3, dtype="float64")
    randomize_norms(block, np.random.default_rng(2))
    assert module_gradcheck(block, data(2, 3, 4), call_kwargs={"causal": True})


def test_post_ln_cross_attention_block_gradients(module_gradcheck):
    block = TransformerBlock(4, 2, norm_first=False, cross_attention=True, mlp_hidden=6, rng=4, dtype="float64")
    randomize_norms(block, np.random.default_rng(3))
    assert module_gradcheck(block, data(2, 3, 4), data(2, 2, 4, seed=1))  # (x, context)


def test_block_kv_cache_equals_full_recomputation():
    block = TransformerBlock(8, 2, rng=5, dtype="float64")
    x = data(1, 5, 8)
    full = block(tg.tensor(x), causal=True).data
    cache = LayerCache()
    steps = [block(tg.tensor(x[:, t:t + 1]), causal=True, cache=cache).data for t in range(5)]
    check_close(np.concatenate(steps, axis=1), full, rtol=1e-12, atol=1e-12)


def test_context_must_match_the_block_kind():
    x = tg.tensor(np.zeros((1, 2, 4), dtype="float32"))
    with pytest.raises(ValueError, match="built without cross_attention=True"):
        TransformerBlock(4, 2, rng=0)(x, context=x)
    with pytest.raises(ValueError, match="needs context="):
        TransformerBlock(4, 2, cross_attention=True, rng=0)(x)
