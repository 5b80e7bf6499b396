"""Exact validation for GPT runs: early stopping and best weights follow a number that is not noise.

``estimate_loss`` averages a few random windows (seeded by the step), so on a small validation
split two evaluations of the same weights differ by a few hundredths of a nat here; with a
patience of 1 that noise alone stops a run that is still improving. The config field
``exact_val=True`` adds ``val_loss_exact`` (``split_loss`` over every non-overlapping window of
the validation split) to each evaluation and follows it instead.
"""

import dataclasses
import json

import pytest

from tinygrad_lm.train import ConfigError, Trainer, preset
from tinygrad_lm.train.trainer import LOG


def _config(corpus, **changes):
    base = dataclasses.replace(preset("tiny"), text_path=corpus, n_embd=16, n_layer=1, block_size=16,
                               batch_size=4, max_iters=20, eval_interval=10, eval_iters=2, warmup_iters=0,
                               lr_decay_iters=200, lr=1e-3, min_lr=1e-3)
    return dataclasses.replace(base, **changes)


def _evals(out_dir):
    return [r for r in map(json.loads, (out_dir / LOG).read_text().splitlines()) if r["kind"] == "eval"]


def test_exact_validation_gives_the_same_number_for_the_same_weights(tmp_path, corpus):
    trainer = Trainer(_config(corpus, exact_val=True), tmp_path, progress=False)
    try:
        first = trainer.evaluate()
        trainer.step = 7  # the estimate draws other windows at another step; the weights are the same
        second = trainer.evaluate()
    finally:
        trainer.lock.release()
    assert first["val_loss"] != second["val_loss"]
    assert first["val_loss_exact"] == second["val_loss_exact"]
    assert first["monitor"] == first["val_loss_exact"]


def test_noisy_estimate_stops_early_where_exact_validation_does_not(tmp_path, corpus):
    config = _config(corpus, batch_size=2, max_iters=20, eval_interval=2, eval_iters=1, early_stopping_patience=1)
    noisy = Trainer(config, tmp_path / "noisy", progress=False).run()
    exact = Trainer(dataclasses.replace(config, exact_val=True), tmp_path / "exact", progress=False).run()
    assert noisy["steps"] < 20  # stopped by noise: the weights were still improving
    assert exact["steps"] == 20
    losses = [e["val_loss_exact"] for e in _evals(tmp_path / "exact")]
    assert all(b < a for a, b in zip(losses, losses[1:])), losses  # the exact loss fell at every evaluation


def test_exact_validation_is_refused_for_a_run_that_is_not_a_gpt(corpus):
    with pytest.raises(ConfigError, match="exact_val: only a GPT run"):
        dataclasses.replace(preset("bert-tiny"), text_path=corpus, exact_val=True)


def test_exact_validation_is_a_config_key_and_a_resume_cannot_switch_it(tmp_path, corpus, capsys):
    from tinygrad_lm.cli import main
    from tinygrad_lm.train import load_model

    argv = ["train", "--text", str(corpus), "--out", str(tmp_path), "--no-progress", "n_layer=1", "n_embd=16",
            "n_head=2", "block_size=16", "batch_size=4", "max_iters=4", "eval_interval=2", "eval_iters=1",
            "warmup_iters=0", "lr_decay_iters=200"]
    assert main([*argv, "exact_val=true"]) == 0
    assert all("val_loss_exact" in e for e in _evals(tmp_path))
    assert load_model(tmp_path / "best.safetensors")[2]["run_config"]["exact_val"] is True
    capsys.readouterr()
    assert main([*argv, "max_iters=6"]) == 2  # the same run without exact_val: refused, not silently mixed
    assert "exact_val: True -> False" in capsys.readouterr().err
