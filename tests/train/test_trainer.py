"""The trainer: losses fall, resume is bit-exact, bad resumes and configs are refused."""

import dataclasses
import json

import numpy as np
import pytest

from tinygrad_lm.train import (
    CheckpointError,
    ConfigError,
    Trainer,
    apply_overrides,
    load_model,
    preset,
)
from tinygrad_lm.train.trainer import BEST, CHECKPOINT, CURVE, LOG


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, write_corpus):
    """A longer corpus than conftest's: 3,000 words."""
    return str(write_corpus(tmp_path_factory.mktemp("corpus") / "text.txt", 3000))


def _config(corpus, **changes):
    base = dataclasses.replace(preset("tiny"), text_path=corpus, n_embd=16, block_size=16, batch_size=4,
                               max_iters=20, eval_interval=10, eval_iters=2, warmup_iters=2, lr_decay_iters=40)
    return dataclasses.replace(base, **changes)


def _train_losses(out_dir):
    return [r["loss"] for r in map(json.loads, (out_dir / LOG).read_text().splitlines()) if r["kind"] == "train"]


def test_training_lowers_the_loss_and_writes_its_outputs(tmp_path, corpus):
    summary = Trainer(_config(corpus, max_iters=60, eval_interval=30), tmp_path, progress=False).run()
    evals = [r for r in map(json.loads, (tmp_path / LOG).read_text().splitlines()) if r["kind"] == "eval"]
    assert [e["step"] for e in evals] == [0, 30, 60]
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] - 0.5
    assert summary["steps"] == 60 and summary["final_eval"]["step"] == 60
    for name in (CHECKPOINT, BEST, CURVE):
        assert (tmp_path / name).exists(), name


@pytest.mark.parametrize("steps", [40, pytest.param(200, marks=pytest.mark.slow)])
def test_resume_is_bit_exact(tmp_path, corpus, steps):
    """N steps straight == N/2 steps, stop, resume for N/2 more (with dropout on)."""
    straight, halves = tmp_path / "straight", tmp_path / "halves"
    settings = {"dropout": 0.1, "eval_interval": steps // 4, "lr_decay_iters": steps}
    Trainer(_config(corpus, max_iters=steps, **settings), straight, progress=False).run()
    Trainer(_config(corpus, max_iters=steps // 2, **settings), halves, progress=False).run()
    Trainer(_config(corpus, max_iters=steps, **settings), halves, progress=False).run()
    assert len(_train_losses(straight)) == steps
    assert _train_losses(halves) == _train_losses(straight)  # exact float equality
    a, _, _ = load_model(straight / CHECKPOINT)
    b, _, _ = load_model(halves / CHECKPOINT)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(x, y, err_msg=name)


def test_resume_with_another_model_shape_is_refused_and_harmless(tmp_path, corpus):
    Trainer(_config(corpus, max_iters=10), tmp_path, progress=False).run()
    before = (tmp_path / CHECKPOINT).read_bytes()
    with pytest.raises(CheckpointError, match=r"another config \(n_embd: 16 -> 32\)"):
        Trainer(_config(corpus, n_embd=32), tmp_path, progress=False)
    assert (tmp_path / CHECKPOINT).read_bytes() == before


def test_early_stopping_stops_when_validation_stalls(tmp_path, corpus):
    config = _config(corpus, max_iters=200, eval_interval=2, lr=0.0, min_lr=0.0, early_stopping_patience=2)
    summary = Trainer(config, tmp_path, progress=False).run()
    assert summary["steps"] < 200


def test_overrides_are_typed_and_checked():
    config = apply_overrides(preset("tiny"), ["max_iters=7", "lr=0.01", "bias=false", "corpus=shakespeare"])
    assert (config.max_iters, config.lr, config.bias, config.corpus) == (7, 0.01, False, "shakespeare")
    with pytest.raises(ConfigError, match="unknown key; valid keys: batch_size"):
        apply_overrides(preset("tiny"), ["nope=1"])
    with pytest.raises(ConfigError, match=r"max_iters=ten: expected int"):
        apply_overrides(preset("tiny"), ["max_iters=ten"])
    with pytest.raises(ConfigError, match="expected key=value"):
        apply_overrides(preset("tiny"), ["max_iters"])
    with pytest.raises(ConfigError, match="divisible"):
        apply_overrides(preset("tiny"), ["n_embd=31"])
    with pytest.raises(ConfigError, match="unknown preset 'big'; choose one of"):
        preset("big")


def test_shakespeare_char_preset_is_nanogpts_cpu_configuration():
    c = preset("shakespeare-char")
    assert (c.n_layer, c.n_head, c.n_embd, c.block_size, c.batch_size, c.dropout) == (4, 4, 128, 64, 12, 0.0)
    assert (c.lr, c.warmup_iters, c.min_lr, c.lr_decay_iters, c.max_iters) == (1e-3, 100, 1e-4, 2000, 2000)
    assert (c.beta1, c.beta2, c.weight_decay, c.grad_clip) == (0.9, 0.99, 0.1, 1.0)
