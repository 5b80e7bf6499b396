"""Magnitude masks (exact counts, kept through training), and structured pruning that shrinks the model."""

import numpy as np
import pytest

from tinygrad_lm.compress.loop import gpt_run_data, train_steps, val_loss
from tinygrad_lm.compress.prune import (
    Masks,
    PruneError,
    iterative_prune,
    keep_heads,
    prunable_weights,
    prune_heads,
    prune_neurons,
    shrink_to,
    sparsity_of,
    structure_of,
)
from tinygrad_lm.engine import no_grad
from tinygrad_lm.train import load_model
from tinygrad_lm.train.rundir import BEST


@pytest.fixture
def model_and_data(gpt_run):
    model, tokenizer, meta = load_model(gpt_run / BEST)
    return model, *gpt_run_data(meta, tokenizer)


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_masks_remove_exactly_the_smallest_weights(model_and_data, scope):
    model, _, _ = model_and_data
    before = {name: p.numpy().copy() for name, p in prunable_weights(model)}
    masks = Masks.magnitude(model, 0.3, scope)
    masks.apply()
    assert sparsity_of(model) == pytest.approx(0.3, abs=1e-4) and masks.sparsity() == pytest.approx(0.3, abs=1e-4)
    for name, _, mask in masks.pairs:
        kept, dropped = np.abs(before[name][mask]), np.abs(before[name][~mask])
        if scope == "layer":
            assert mask.mean() == pytest.approx(0.7, abs=1e-3) and dropped.max() <= kept.min()
    if scope == "global":
        every = [(np.abs(before[n][m]), np.abs(before[n][~m])) for n, _, m in masks.pairs]
        assert max(d.max() for _, d in every) <= min(k.min() for k, _ in every)


def test_pruned_weights_stay_zero_through_fine_tuning(model_and_data):
    model, train_ids, _ = model_and_data
    masks = Masks.magnitude(model, 0.5)
    masks.apply()
    train_steps(model, train_ids, 5, lr=1e-2, after_step=masks.apply)
    for _, parameter, mask in masks.pairs:
        assert np.all(parameter.numpy()[~mask] == 0) and np.all(parameter.numpy()[mask] != 0)
    train_steps(model, train_ids, 2, lr=1e-2)  # without the masks AdamW's momentum revives them
    assert sparsity_of(model) < 0.5
    assert Masks.from_zeros(model).sparsity() == pytest.approx(sparsity_of(model))


def test_iterative_pruning_reaches_the_target(model_and_data):
    model, train_ids, val_ids = model_and_data
    iterative_prune(model, train_ids, 0.6, rounds=3, steps=2)
    assert sparsity_of(model) == pytest.approx(0.6, abs=1e-4) and np.isfinite(val_loss(model, val_ids, 10))


@pytest.mark.parametrize("sparsity", [0, 1, 1.5, -0.1])
def test_sparsity_outside_the_open_interval_is_refused(model_and_data, sparsity):
    with pytest.raises(PruneError, match="strictly between 0 and 1"):
        Masks.magnitude(model_and_data[0], sparsity)


def test_keeping_every_head_changes_nothing_and_fewer_heads_shrink_the_matrices(model_and_data):
    model, train_ids, _ = model_and_data
    T = model.config.block_size
    x = train_ids[:4 * T].reshape(4, T)
    with no_grad():
        reference = model(x)[0].numpy()
        keep_heads(model.blocks[0].attn, [1, 0])  # all heads, listed in another order
        np.testing.assert_allclose(model(x)[0].numpy(), reference, rtol=1e-5, atol=1e-6)
    scores = prune_heads(model, 1, x, train_ids[1:4 * T + 1].reshape(4, T))
    assert scores.shape == (2, 2)
    attn = model.blocks[0].attn
    assert attn.n_heads == 1 and attn.qkv.weight.shape == (3 * 32, 64) and attn.proj.weight.shape == (64, 32)
    with no_grad():
        assert np.all(np.isfinite(model(x)[0].numpy()))
    with pytest.raises(PruneError, match="keep must be an int from 1 to 1"):
        prune_heads(model, 2, x, x)


def test_neuron_pruning_keeps_the_strongest_and_shrink_to_rebuilds_the_shapes(model_and_data, gpt_run):
    model, _, _ = model_and_data
    fc, proj = model.blocks[1].mlp.fc.weight.numpy(), model.blocks[1].mlp.proj.weight.numpy()
    strongest = np.argmax(np.linalg.norm(fc, axis=1) * np.linalg.norm(proj, axis=0))
    prune_neurons(model, 10)
    assert model.blocks[1].mlp.fc.weight.shape == (10, 64) and model.blocks[1].mlp.proj.weight.shape == (64, 10)
    assert any(np.array_equal(row, fc[strongest]) for row in model.blocks[1].mlp.fc.weight.numpy())
    fresh = shrink_to(load_model(gpt_run / BEST)[0], structure_of(model))
    assert structure_of(fresh) == {"n_heads": [2, 2], "mlp_hidden": [10, 10]}
    fresh.load_state_dict(model.state_dict())


def test_a_head_pruned_gpt_generates_the_same_tokens_with_and_without_the_kv_cache(model_and_data):
    model, train_ids, _ = model_and_data
    T = model.config.block_size
    prune_heads(model, 1, train_ids[:4 * T].reshape(4, T), train_ids[1:4 * T + 1].reshape(4, T))
    prompt = train_ids[None, :5]
    cached = model.generate(prompt, 12, temperature=0.0, use_cache=True)
    assert np.array_equal(cached, model.generate(prompt, 12, temperature=0.0, use_cache=False))
