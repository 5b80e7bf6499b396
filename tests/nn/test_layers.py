"""Linear, Embedding, LayerNorm, Dropout: values against plain NumPy, gradients, errors."""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.engine.errors import ShapeError
from tinygrad_lm.nn import Dropout, Embedding, LayerNorm, Linear, functional_call
from tinygrad_lm.testing.gradcheck import check_close


def test_linear_matches_numpy_and_stores_weight_out_by_in():
    layer = Linear(5, 3, rng=0)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    x = np.random.default_rng(1).standard_normal((2, 4, 5)).astype("float32")
    y = layer(tg.tensor(x))
    assert y.shape == (2, 4, 3) and y.dtype == np.float32
    check_close(y, x.astype(np.float64) @ layer.weight.data.T.astype(np.float64) + layer.bias.data)


def test_linear_accepts_a_single_vector_and_no_bias():
    layer = Linear(4, 2, bias=False, rng=0)
    x = np.arange(4.0, dtype="float32")
    assert layer.bias is None
    check_close(layer(tg.tensor(x)), layer.weight.data.astype(np.float64) @ x)


def test_linear_init_is_uniform_within_one_over_sqrt_fan_in_and_reproducible():
    layer = Linear(100, 50, rng=3)
    bound = 1 / np.sqrt(100)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert abs(layer.weight.data.std() - bound / np.sqrt(3)) < 0.003  # std of U(-b, b) is b / sqrt(3)
    np.testing.assert_array_equal(layer.weight.data, Linear(100, 50, rng=3).weight.data)


def test_linear_names_the_layer_on_a_shape_mismatch():
    with pytest.raises(ShapeError, match=r"Linear\(4, 2, bias=True\): expects inputs whose last axis is "
                                         r"in_features = 4, got shape \(3, 5\)"):
        Linear(4, 2, rng=0)(tg.tensor(np.zeros((3, 5), dtype="float32")))


def test_linear_gradients_match_finite_differences(module_gradcheck):
    layer = Linear(4, 3, rng=0, dtype="float64")
    x = np.random.default_rng(2).standard_normal((2, 5, 4))
    assert module_gradcheck(layer, x)


def test_functional_call_uses_the_stand_in_and_puts_the_parameters_back():
    layer = Linear(2, 2, rng=0, dtype="float64")
    weight = layer.weight
    zero = tg.tensor(np.zeros((2, 2)), requires_grad=True)
    out = functional_call(layer, {"weight": zero}, tg.tensor(np.ones((1, 2))))
    np.testing.assert_array_equal(out.data, layer.bias.data[None])
    out.sum().backward()
    np.testing.assert_array_equal(zero.grad, np.ones((2, 2)))  # the gradient reaches the stand-in
    assert layer.weight is weight and weight.grad is None
    with pytest.raises(KeyError, match="no parameters named"):
        functional_call(layer, {"wieght": zero}, tg.tensor(np.ones((1, 2))))


def test_embedding_picks_rows():
    emb = Embedding(10, 4, rng=0)
    ids = np.array([[1, 1, 9], [0, 3, 2]])
    out = emb(ids)
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out.data, emb.weight.data[ids])


def test_embedding_gradient_accumulates_repeated_ids(module_gradcheck):
    emb = Embedding(6, 3, rng=0, dtype="float64")
    ids = np.array([[1, 1, 4], [4, 0, 1]])
    assert module_gradcheck(emb, ids)


def test_layer_norm_matches_numpy(module_gradcheck):
    x = np.random.default_rng(0).standard_normal((3, 4, 6)) * 5 + 2
    norm = LayerNorm(6, eps=1e-5, dtype="float64")
    norm.weight.data[...] = np.linspace(0.5, 2.0, 6)
    norm.bias.data[...] = np.linspace(-1, 1, 6)
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)  # biased
    expected = (x - mean) / np.sqrt(var + 1e-5) * norm.weight.data + norm.bias.data
    check_close(norm(tg.tensor(x)), expected)
    assert module_gradcheck(norm, x)


def test_layer_norm_without_affine_or_bias():
    assert LayerNorm(4, elementwise_affine=False).parameters() == []
    names = [name for name, _ in LayerNorm(4, bias=False).named_parameters()]
    assert names == ["weight"]
    with pytest.raises(ShapeError, match=r"LayerNorm\(4.*last axis is dim = 4, got shape \(2, 3\)"):
        LayerNorm(4)(tg.tensor(np.zeros((2, 3), dtype="float32")))


def test_dropout_zeroes_about_p_scales_the_rest_and_is_identity_in_eval():
    drop = Dropout(0.25, rng=0)
    x = tg.tensor(np.ones((200, 100), dtype="float32"))
    out = drop(x).data
    assert set(np.unique(out).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.01
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x.data)
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\), got 1.0"):
        Dropout(1.0)
