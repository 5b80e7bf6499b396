"""Fine-tuning a classifier through the Trainer: frozen layers, layer-wise lr, weight-decay groups, resume.

A tiny stand-in encoder (``test_finetune_helpers``) replaces MiniLM, and the data is a CSV of
48 synthetic sentences, so every run here takes about a second.
"""

import dataclasses
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lm.train import Trainer, load_model, preset
from tinygrad_lm.train.config import ConfigError
from tinygrad_lm.train.trainer import BEST, CHECKPOINT, LOG


def _helpers():
    """test_finetune_helpers.py as a module (the tests folder is not a package)."""
    spec = importlib.util.spec_from_file_location("finetune_helpers", Path(__file__).with_name("test_finetune_helpers.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


use_tiny_encoder, write_csv = _helpers().use_tiny_encoder, _helpers().write_csv


@pytest.fixture
def config(tmp_path, monkeypatch):
    use_tiny_encoder(monkeypatch)
    data = write_csv(tmp_path / "data.csv")
    return dataclasses.replace(preset("finetune"), text_path=str(data), batch_size=8, max_iters=8, lr_decay_iters=8,
                               warmup_iters=2, eval_interval=4, eval_iters=2, lr=1e-2)


def weights(model):
    return {name: p.numpy().copy() for name, p in model.named_parameters()}


def test_frozen_layers_do_not_change_and_get_no_optimizer_state(config, tmp_path):
    trainer = Trainer(dataclasses.replace(config, freeze_layers=1), tmp_path / "run", progress=False)
    before = weights(trainer.model)
    trainer.run()
    after = weights(trainer.model)
    frozen = [name for name in before if name.startswith(("bert.embeddings.", "bert.blocks.0."))]
    assert frozen and all(np.array_equal(before[name], after[name]) for name in frozen)
    trained = [name for name in before if name not in frozen and not name.startswith("bert.pooler.")]  # mean pooling
    assert all(not np.array_equal(before[name], after[name]) for name in trained)
    optimized = [name for group in trainer.optimizer.param_groups for name in group["param_names"]]
    assert sorted(optimized) == sorted(set(before) - set(frozen))


def test_layer_lr_decay_gives_each_depth_its_lr_and_no_decay_on_biases_and_layernorm(config, tmp_path):
    decay = 0.5
    trainer = Trainer(dataclasses.replace(config, layer_lr_decay=decay), tmp_path / "run", progress=False)
    trainer.step = 3
    trainer.train_step()
    expected_scale = {"classifier": 1.0, "bert.pooler": 1.0, "bert.blocks.1": decay, "bert.blocks.0": decay**2,
                      "bert.embeddings": decay**3}  # L = 2 blocks
    for group in trainer.optimizer.param_groups:
        for name, param in zip(group["param_names"], group["params"]):
            prefix = next(p for p in expected_scale if name.startswith(p + "."))
            assert math.isclose(group["lr"], trainer.lr_at(3) * expected_scale[prefix]), name
            assert group["weight_decay"] == (0.0 if param.ndim < 2 else config.weight_decay), name
    assert any(group["weight_decay"] == 0.0 for group in trainer.optimizer.param_groups)


def test_resume_is_exact_and_the_checkpoint_carries_labels_and_tokenizer(config, tmp_path):
    straight = tmp_path / "straight"
    Trainer(config, straight, progress=False).run()
    halves = tmp_path / "halves"
    Trainer(dataclasses.replace(config, max_iters=4), halves, progress=False).run()
    Trainer(config, halves, progress=False).run()

    def losses(directory):
        return [r["loss"] for r in map(json.loads, (directory / LOG).read_text().splitlines()) if r["kind"] == "train"]

    assert losses(straight) == losses(halves) and len(losses(straight)) == 8
    first, _, _ = load_model(straight / CHECKPOINT)
    second, tokenizer, meta = load_model(halves / CHECKPOINT)
    for (name, a), (_, b) in zip(first.named_parameters(), second.named_parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert meta["label_names"] == ["neg", "pos"] and tokenizer.kind == "wordpiece"
    assert type(second).__name__ == "BertForSequenceClassification" and second.pooling == "mean"


def test_the_classifier_learns_and_best_weights_follow_val_accuracy(config, tmp_path):
    run = dataclasses.replace(config, max_iters=40, lr_decay_iters=40, eval_interval=5, early_stopping_patience=0)
    summary = Trainer(run, tmp_path / "run", progress=False).run()
    records = [r for r in map(json.loads, (tmp_path / "run" / LOG).read_text().splitlines()) if r["kind"] == "eval"]
    assert records[0]["val_accuracy"] <= 0.6 and summary["final_eval"]["val_accuracy"] >= 0.8
    _, _, meta = load_model(tmp_path / "run" / BEST)
    best = max(r["val_accuracy"] for r in records)
    last_best = [r for r in records if r["val_accuracy"] == best][-1]  # a tie rewrites best.safetensors
    assert meta["step"] == last_best["step"] and meta["val_loss"] == last_best["val_loss"]
    assert meta["monitor"] == {"name": "1 - val_accuracy", "value": pytest.approx(1.0 - best)}


def test_freezing_more_layers_than_the_encoder_has_is_refused(config, tmp_path):
    with pytest.raises(ConfigError, match="freeze_layers=3 but the encoder has 2 layers"):
        Trainer(dataclasses.replace(config, freeze_layers=3), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()  # refused before the run directory is made


@pytest.mark.parametrize(("key", "value", "words"), [
    ("layer_lr_decay", 0.0, "layer_lr_decay must be in \\(0, 1\\]"),
    ("freeze_layers", -1, "freeze_layers must be an integer >= 0"),
    ("pooling", "max", "pooling must be 'mean' or 'cls'"),
    ("tokenizer", "char", "tokenizer must be 'wordpiece' for model='classifier'"),
])
def test_classifier_settings_are_checked(key, value, words):
    with pytest.raises(ConfigError, match=words):
        dataclasses.replace(preset("finetune"), **{key: value})
