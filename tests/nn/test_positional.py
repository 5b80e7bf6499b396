"""Sinusoidal positional encoding: the formula, the rotation property, the module, GPT's option."""

import math

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.engine.errors import ShapeError
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.nn import SinusoidalPositions, sinusoidal_positions
from tinygrad_lm.optim import AdamW
from tinygrad_lm.testing.gradcheck import check_close


def test_table_follows_the_formula_element_by_element():
    n, dim, base = 7, 6, 10000.0
    table = sinusoidal_positions(n, dim, base=base, dtype="float64")
    assert table.shape == (n, dim) and table.dtype == np.float64
    for p in range(n):
        for i in range(dim // 2):
            angle = p / base ** (2 * i / dim)
            assert table[p, 2 * i] == pytest.approx(math.sin(angle), abs=1e-15)
            assert table[p, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-15)


def test_position_zero_is_alternating_zeros_and_ones_and_odd_dims_end_with_a_sine():
    table = sinusoidal_positions(4, 5)
    assert table.dtype == np.float32
    np.testing.assert_array_equal(table[0], [0, 1, 0, 1, 0])
    assert table[3, 4] == pytest.approx(math.sin(3 / 10000 ** (4 / 5)), rel=1e-6)


def test_a_shift_by_k_is_the_same_rotation_of_every_channel_pair_at_every_position():
    dim, k = 8, 5
    table = sinusoidal_positions(40, dim, dtype="float64")
    for i in range(dim // 2):
        w = 10000 ** (-2 * i / dim)
        # (sin(a + b), cos(a + b)) = [[cos b, sin b], [-sin b, cos b]] (sin a, cos a) with b = w k
        rotation = np.array([[math.cos(w * k), math.sin(w * k)], [-math.sin(w * k), math.cos(w * k)]])
        pairs = table[:, 2 * i: 2 * i + 2]  # (40, 2)
        np.testing.assert_allclose(pairs[:-k] @ rotation.T, pairs[k:], atol=1e-12)


def test_module_is_a_parameter_free_drop_in_for_a_position_embedding():
    module = SinusoidalPositions(16, 6)
    assert module.parameters() == [] and module.state_dict() == {}
    positions = np.array([[0, 3, 15], [2, 2, 1]])
    out = module(positions)
    assert isinstance(out, tg.Tensor) and not out.requires_grad
    assert out.shape == (2, 3, 6) and out.dtype == np.float32
    np.testing.assert_array_equal(out.data, sinusoidal_positions(16, 6)[positions])
    assert repr(module) == "SinusoidalPositions(16, 6, base=10000)"


@pytest.mark.parametrize("positions, message", [
    (np.array([0, 16]), r"positions must lie in \[0, 16\), got values in \[0, 16\]"),
    (np.array([-1, 2]), r"positions must lie in \[0, 16\), got values in \[-1, 2\]"),
    (np.array([0.0, 1.0]), "positions must be integers, got dtype float64"),
])
def test_module_refuses_positions_it_was_not_built_for(positions, message):
    with pytest.raises(ShapeError, match=message):
        SinusoidalPositions(16, 4)(positions)


@pytest.mark.parametrize("args, message", [
    ((0, 4), "n_positions must be a positive int, got 0"),
    ((4, 2.0), "dim must be a positive int, got 2.0"),
    ((4, True), "dim must be a positive int, got True"),
])
def test_bad_sizes_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        sinusoidal_positions(*args)
    with pytest.raises(ValueError, match=message):
        SinusoidalPositions(*args)


def test_base_must_exceed_one():
    with pytest.raises(ValueError, match="base must be > 1, got 1.0"):
        sinusoidal_positions(4, 4, base=1.0)


def test_module_computes_on_the_device_of_the_positions(fake_cuda):
    positions = tg.tensor(np.arange(5), device="cuda").data
    out = SinusoidalPositions(8, 4)(positions)
    assert out.device == "cuda"
    np.testing.assert_array_equal(out.numpy(), sinusoidal_positions(8, 4)[:5])


# --- GPT's option -----------------------------------------------------------------------------
TINY = {"vocab_size": 8, "block_size": 16, "n_layer": 1, "n_head": 2, "n_embd": 16}


def test_gpt_defaults_to_learned_positions_and_old_configs_still_load():
    old = {**TINY, "dropout": 0.0, "bias": True, "seed": 0}  # a checkpoint's config before the field existed
    assert GPTConfig.from_dict(old).position_embedding == "learned"
    with pytest.raises(ValueError, match="position_embedding must be 'learned' or 'sinusoidal', got 'rope'"):
        GPTConfig(**TINY, position_embedding="rope")


def test_gpt_with_sinusoidal_positions_adds_the_table_has_no_wpe_and_learns():
    model = GPT(GPTConfig(**TINY, position_embedding="sinusoidal"))
    assert "wpe.weight" not in dict(model.named_parameters())
    x = np.tile(np.array([0, 3, 1, 4, 1, 5, 2, 6]), 3)
    inputs = np.stack([x[s:s + 16] for s in range(4)])  # (4, 16)
    targets = np.stack([x[s + 1:s + 17] for s in range(4)])
    # the same model with learned positions frozen at the sinusoidal table computes the same logits
    learned = GPT(GPTConfig(**TINY)).load_state_dict({**model.state_dict(), "wpe.weight": sinusoidal_positions(16, 16)})
    check_close(model(inputs)[0], learned(inputs)[0], rtol=1e-6, atol=1e-6)
    optimizer = AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    losses = []
    for _ in range(30):
        _, loss = model(inputs, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], losses
