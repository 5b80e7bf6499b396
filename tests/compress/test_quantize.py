"""Quantization: the int8 formulas, the quantized layers, quantized checkpoints and their errors."""

import numpy as np
import pytest

from tinygrad_lm import functional as F
from tinygrad_lm import tensor
from tinygrad_lm.compress import (
    QuantizationError,
    QuantizedLinear,
    quantize_model,
    require_float,
)
from tinygrad_lm.compress.files import quantize_run
from tinygrad_lm.compress.loop import gpt_run_data, val_loss
from tinygrad_lm.compress.quantize import (
    dequantize,
    load_quantized_state,
    quantize_int8,
    quantized_state,
)
from tinygrad_lm.nn import Linear
from tinygrad_lm.train import CheckpointError, load_model
from tinygrad_lm.train.rundir import BEST


@pytest.mark.parametrize("group", [None, 64])
def test_int8_round_trip_error_is_at_most_half_a_step(group):
    w = np.random.default_rng(0).standard_normal((5, 150)).astype(np.float32)  # 150: a short last group
    w[2] = 0.0  # an all-zero channel gets scale 1 and q = 0
    q, s = quantize_int8(w, group)
    assert q.dtype == np.int8 and q.shape == w.shape and np.abs(q).max() == 127
    assert s.shape == ((5,) if group is None else (5, 3))
    step = np.repeat(s, 64, axis=1)[:, :150] if group else s[:, None]
    assert np.all(np.abs(dequantize(q, s) - w) <= step / 2 + 1e-7)
    assert np.all(q[2] == 0)


def test_group_scales_follow_their_own_columns():
    w = np.ones((1, 128), np.float32)
    w[0, 64:] = 100.0  # a large second group must not coarsen the first
    q, s = quantize_int8(w, 64)
    np.testing.assert_allclose(s[0], [1 / 127, 100 / 127], rtol=1e-6)
    np.testing.assert_allclose(dequantize(q, s), w, rtol=1e-6)


@pytest.mark.parametrize("scheme", ["int8-channel", "int8-group64", "float16"])
def test_quantized_linear_is_linear_on_the_dequantized_weight_and_passes_gradients(scheme):
    layer = Linear(64, 8, rng=0)
    quantized = QuantizedLinear(layer, scheme)
    x = tensor(np.random.default_rng(1).standard_normal((3, 64)), requires_grad=True, dtype="float32")
    y = quantized(x)
    expected = F.linear(x, tensor(quantized.dequantized()), layer.bias).numpy()
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(y.numpy(), layer(x).numpy(), atol=0.02)  # close to the float layer
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.broadcast_to(quantized.dequantized().sum(axis=0), (3, 64)), rtol=1e-5)


def test_int8_gemm_path_matches_the_dequantized_path():
    pytest.importorskip("numba")
    quantized = QuantizedLinear(Linear(64, 16, rng=0), "int8-channel", gemm="int8")
    x = tensor(np.random.default_rng(2).standard_normal((4, 5, 64)), dtype="float32")
    fast = quantized(x).numpy()
    quantized.gemm = "dequant"
    np.testing.assert_allclose(fast, quantized(x).numpy(), atol=0.05)  # activation rounding only


def test_quantizing_twice_and_training_a_quantized_model_are_refused(gpt_run):
    model, _, _ = load_model(gpt_run / BEST)
    quantize_model(model, "int8-channel")
    with pytest.raises(QuantizationError, match="already quantized"):
        quantize_model(model, "float16")
    with pytest.raises(QuantizationError, match="no float32 weights"):
        require_float(model, "prune")
    with pytest.raises(QuantizationError, match="unknown quantization scheme"):
        quantize_model(load_model(gpt_run / BEST)[0], "int4")


def test_load_refuses_arrays_of_the_wrong_dtype(gpt_run):
    model = quantize_model(load_model(gpt_run / BEST)[0], "int8-channel")
    state = quantized_state(model)
    state["blocks.0.mlp.fc.qweight"] = state["blocks.0.mlp.fc.qweight"].astype(np.float32)
    with pytest.raises(QuantizationError, match=r"blocks.0.mlp.fc.qweight: expected int8"):
        load_quantized_state(model, state)


@pytest.mark.parametrize("scheme", ["int8-channel", "int8-group64", "float16"])
def test_quantized_checkpoint_round_trip_is_smaller_and_close(gpt_run, tmp_path, scheme):
    report = quantize_run(gpt_run, tmp_path / "q", scheme)
    assert report["ratio"] > (1.8 if scheme == "float16" else 3.0)  # tiny model: LayerNorms and biases weigh more
    model, tokenizer, meta = load_model(tmp_path / "q" / BEST)
    assert meta["quantization"] == {"scheme": scheme}
    assert isinstance(model.blocks[0].attn.qkv, QuantizedLinear)
    reference, _, _ = load_model(gpt_run / BEST)
    _, val_ids = gpt_run_data(meta, tokenizer)
    assert abs(val_loss(model, val_ids, 20) - val_loss(reference, val_ids, 20)) < 0.02
    with pytest.raises(QuantizationError, match="already quantized"):
        quantize_run(tmp_path / "q", tmp_path / "q2", "int8-channel")
    with pytest.raises(QuantizationError, match="already exists"):
        quantize_run(gpt_run, tmp_path / "q", scheme)


def test_damaged_quantization_metadata_is_a_checkpoint_error(gpt_run, tmp_path):
    from tinygrad_lm.train import load_checkpoint, save_checkpoint

    quantize_run(gpt_run, tmp_path / "q", "int8-channel")
    arrays, meta = load_checkpoint(tmp_path / "q" / BEST)
    save_checkpoint(tmp_path / "bad.safetensors", arrays, {**meta, "quantization": {"scheme": "int3"}}, role="best")
    with pytest.raises(CheckpointError, match="int3"):
        load_model(tmp_path / "bad.safetensors")
