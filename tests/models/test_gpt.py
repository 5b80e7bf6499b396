"""GPT: config checks, initialisation, causality, the KV cache, weight tying, training, generation."""

import dataclasses

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.engine.errors import ShapeError
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.nn import functional_call
from tinygrad_lm.optim import AdamW
from tinygrad_lm.testing.gradcheck import check_close, gradcheck

TINY = {"vocab_size": 11, "block_size": 8, "n_layer": 2, "n_head": 2, "n_embd": 8}


def tiny(dtype="float32", **changes):
    return GPT(GPTConfig(**{**TINY, **changes}), dtype=dtype)


def ids(batch, time, vocab=11, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, (batch, time))


# --- the config -------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, message", [
    ({"n_embd": 10, "n_head": 4}, r"n_embd \(10\) must be divisible by n_head \(4\)"),
    ({"vocab_size": 0}, "vocab_size must be a positive int, got 0"),
    ({"block_size": -3}, "block_size must be a positive int, got -3"),
    ({"n_layer": 2.0}, "n_layer must be a positive int, got 2.0"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
    ({"seed": -1}, "seed must be an int >= 0, got -1"),
])
def test_config_validation_names_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        GPTConfig(**{**TINY, **changes})


def test_config_bias_must_be_a_bool():
    with pytest.raises(TypeError, match="bias must be True or False, got 1"):
        GPTConfig(**{**TINY, "bias": 1})


def test_config_is_frozen_and_round_trips_through_a_dict():
    config = GPTConfig(**TINY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.n_layer = 3
    assert GPTConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match=r"unknown fields \['n_heads'\]"):
        GPTConfig.from_dict({**config.to_dict(), "n_heads": 2})


# --- structure and initialisation -------------------------------------------------------------
def test_parameter_names_and_tied_head():
    model = tiny()
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == ["wte.weight", "wpe.weight", "blocks.0.ln1.weight", "blocks.0.ln1.bias"]
    assert "blocks.1.attn.qkv.weight" in names and names[-2:] == ["ln_f.weight", "ln_f.bias"]
    assert not any("head" in name for name in names)  # the head is wte.weight itself
    C, V, T, L = 8, 11, 8, 2
    per_block = 2 * C + (3 * C * C + 3 * C) + (C * C + C) + 2 * C + (4 * C * C + 4 * C) + (4 * C * C + C)
    assert model.num_parameters() == V * C + T * C + L * per_block + 2 * C
    assert "parameters=" in repr(model) and "(blocks): ModuleList(" in repr(model)


def test_gpt2_initialisation_statistics():
    model = GPT(GPTConfig(vocab_size=500, block_size=64, n_layer=3, n_head=4, n_embd=64))
    residual_std = 0.02 / np.sqrt(2 * 3)
    for name, p in model.named_parameters():
        if name.endswith("proj.weight"):  # attn.proj and mlp.proj write into the residual stream
            assert abs(p.data.std() / residual_std - 1) < 0.05, name
        elif name.endswith(".weight") and p.ndim == 2:  # wte, wpe, qkv, fc
            assert abs(p.data.std() / 0.02 - 1) < 0.05, name
        elif name.endswith(".bias"):
            assert np.all(p.data == 0), name
        else:  # LayerNorm scales
            assert np.all(p.data == 1), name


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = tiny(), tiny(), tiny(seed=1)
    np.testing.assert_array_equal(a.wte.weight.data, b.wte.weight.data)
    assert not np.array_equal(a.wte.weight.data, c.wte.weight.data)


def test_state_dict_round_trip_reproduces_the_logits():
    source, target = tiny(seed=1), tiny(seed=2)
    x = ids(2, 5)
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target(x)[0].data, source(x)[0].data)


# --- forward ----------------------------------------------------------------------------------
def test_forward_shapes_and_loss_is_the_mean_cross_entropy():
    model = tiny(dtype="float64")
    x, y = ids(3, 6), ids(3, 6, seed=1)
    logits, loss = model(x, y)
    assert logits.shape == (3, 6, 11) and model(x)[1] is None
    z = logits.data - logits.data.max(-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_p, y[..., None], axis=-1).mean()
    check_close(loss, expected)
    assert abs(loss.item() - np.log(11)) < 0.1  # small init: nearly uniform predictions


def test_too_long_input_names_t_and_block_size():
    model = tiny()
    with pytest.raises(ShapeError, match="sequence length T=9 exceeds block_size=8"):
        model(ids(1, 9))
    cache = model.new_cache()
    model(ids(1, 6), cache=cache)
    with pytest.raises(ShapeError, match="T=3 after 6 cached positions exceeds block_size=8"):
        model(ids(1, 3), cache=cache)


def test_bad_token_ids_are_named():
    with pytest.raises(ShapeError, match=r"idx must be integer token ids of shape \(batch, time\), got int64 "
                                         r"array of shape \(4,\)"):
        tiny()(np.arange(4))
    with pytest.raises(ShapeError, match="got float64"):
        tiny()(np.zeros((1, 4)))


def test_logits_at_t_do_not_depend_on_later_tokens():
    model = tiny(dtype="float64")
    x = ids(2, 8)
    changed = x.copy()
    changed[:, 5:] = (changed[:, 5:] + 1) % 11
    before, after = model(x)[0].data, model(changed)[0].data
    np.testing.assert_array_equal(before[:, :5], after[:, :5])
    assert not np.allclose(before[:, 5:], after[:, 5:])


@pytest.mark.parametrize("dtype, rtol, atol", [("float64", 1e-10, 1e-12), ("float32", 1e-5, 1e-5)])
def test_kv_cache_decoding_equals_full_recomputation_at_every_step(dtype, rtol, atol):
    model = tiny(dtype=dtype)
    x = ids(2, 8)
    full = model(x)[0].data  # (B, T, V)
    cache = model.new_cache()
    logits = model(x[:, :3], cache=cache)[0].data  # the prompt, then one token at a time
    check_close(logits, full[:, :3], rtol=rtol, atol=atol)
    for t in range(3, 8):
        step = model(x[:, t:t + 1], cache=cache)[0].data
        check_close(step[:, 0], full[:, t], rtol=rtol, atol=atol, name=f"step {t}")
    assert len(cache) == 8


def test_tied_embedding_gets_both_gradients_and_they_match_finite_differences():
    model = tiny(dtype="float64", n_layer=1, vocab_size=7, n_embd=4)
    x, y = ids(2, 4, vocab=7), ids(2, 4, vocab=7, seed=1)
    x[:, :] = np.where(x == 6, 5, x)  # token 6 never appears in the input
    model(x, y)[1].backward()
    assert np.any(model.wte.weight.grad[6] != 0)  # only the head can reach an unused row

    def loss_of(weight):
        return functional_call(model, {"wte.weight": weight}, x, y)[1]

    assert gradcheck(loss_of, model.wte.weight)


def test_dropout_makes_training_forwards_differ_and_eval_deterministic():
    model = tiny(dropout=0.2)
    x = ids(1, 8)
    assert not np.array_equal(model(x)[0].data, model(x)[0].data)
    model.eval()
    np.testing.assert_array_equal(model(x)[0].data, model(x)[0].data)


def test_loss_falls_when_training_on_a_repeated_sequence():
    model = tiny(vocab_size=8, block_size=16, n_embd=16)
    pattern = np.tile(np.array([0, 3, 1, 4, 1, 5, 2, 6]), 3)  # period 8, length 24
    x = np.stack([pattern[s:s + 16] for s in range(4)])  # (4, 16)
    y = np.stack([pattern[s + 1:s + 17] for s in range(4)])
    optimizer = AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    losses = []
    for _ in range(30):
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0], losses


# --- generation -------------------------------------------------------------------------------
def greedy_by_hand(model, prompt, steps):
    seq = prompt.copy()
    for _ in range(steps):
        logits = model(seq[:, -model.config.block_size:])[0].data[:, -1]
        seq = np.concatenate([seq, logits.argmax(-1)[:, None]], axis=1)
    return seq


def test_greedy_generation_with_and_without_cache_matches_recomputation_past_block_size():
    model = tiny(dtype="float64")
    prompt = ids(2, 3)
    expected = greedy_by_hand(model, prompt, 9)  # 12 tokens > block_size 8: the window slides
    np.testing.assert_array_equal(model.generate(prompt, 9, temperature=0), expected)
    np.testing.assert_array_equal(model.generate(prompt, 9, temperature=0, use_cache=False), expected)
    long_prompt = ids(1, 10, seed=3)  # longer than block_size from the start
    np.testing.assert_array_equal(model.generate(long_prompt, 2, temperature=0),
                                  greedy_by_hand(model, long_prompt, 2))


def test_seeded_sampling_is_reproducible_and_cache_independent():
    model = tiny(dtype="float64")
    prompt = ids(3, 2)
    a = model.generate(prompt, 6, temperature=1.5, top_k=5, top_p=0.9, rng=42)
    b = model.generate(prompt, 6, temperature=1.5, top_k=5, top_p=0.9, rng=np.random.default_rng(42),
                       use_cache=False)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 8) and a.dtype == np.int64


def test_generate_restores_modes_and_builds_no_graph():
    model = tiny(dropout=0.1)
    model.blocks[1].eval()  # a mixed state must survive
    before = [(name, m.training) for name, m in model.named_modules()]
    out = model.generate(tg.tensor(ids(1, 2)), 3, temperature=0)
    assert out.shape == (1, 5)
    assert [(name, m.training) for name, m in model.named_modules()] == before
    assert all(p.grad is None for p in model.parameters())


def test_generate_stops_at_the_stop_token():
    model = tiny(dtype="float64")
    prompt = ids(1, 2)
    greedy = model.generate(prompt, 6, temperature=0)
    stop = int(greedy[0, 3])  # the second generated token
    np.testing.assert_array_equal(model.generate(prompt, 6, temperature=0, stop_token=stop),
                                  greedy[:, :greedy[0, 2:].tolist().index(stop) + 3])
