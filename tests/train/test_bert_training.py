"""BERT pre-training through the Trainer and the CLI: checkpoints, exact resume, eval, config checks."""

import dataclasses
import json

import numpy as np
import pytest

from tinygrad_lm.backends import use_kernels
from tinygrad_lm.cli import main
from tinygrad_lm.data import WordPieceTokenizer
from tinygrad_lm.engine import no_grad
from tinygrad_lm.models import BertForPreTraining
from tinygrad_lm.train import (
    ConfigError,
    RunConfig,
    Trainer,
    apply_overrides,
    load_checkpoint,
    load_model,
    preset,
)
from tinygrad_lm.train.bert_task import pretraining_losses
from tinygrad_lm.train.rundir import read_log

TOPICS = ["ship sea wave sail storm harbour", "king crown throne court realm duke", "bread oven flour baker salt",
          "star moon night sky planet orbit", "horse field rider saddle gallop", "book page ink letter reader"]


def _write_text(path):
    """Six documents (one per topic) of eight sentences each, in BERT's input format."""
    rng = np.random.default_rng(0)
    docs = []
    for topic in TOPICS:
        words = topic.split()
        docs.append("\n".join(" ".join(rng.choice(words, size=rng.integers(4, 9))) + " ." for _ in range(8)))
    path.write_text("\n\n".join(docs) + "\n")
    return path


def _config(text, **changes):
    values = dict(text_path=str(text), n_layer=1, n_head=2, n_embd=16, intermediate=32, block_size=24,
                  vocab_size=80, batch_size=4, max_iters=4, warmup_iters=1, lr_decay_iters=4, eval_interval=2,
                  eval_iters=1, val_pairs=6)
    return dataclasses.replace(preset("bert-tiny"), **{**values, **changes})


@pytest.fixture
def text(tmp_path):
    return _write_text(tmp_path / "docs.txt")


def test_bert_tiny_preset_is_a_small_bert():
    c = preset("bert-tiny")
    assert (c.model, c.tokenizer, c.n_layer, c.n_embd, c.n_head, c.intermediate, c.lr_schedule) == (
        "bert", "wordpiece", 2, 128, 2, 512, "linear")
    assert c.val_pairs >= 1000


def test_a_bert_run_checkpoints_logs_metrics_and_resumes_exactly(text, tmp_path):
    straight = Trainer(_config(text), tmp_path / "straight", progress=False).run()
    Trainer(_config(text, max_iters=2), tmp_path / "halves", progress=False).run()
    resumed = Trainer(_config(text), tmp_path / "halves", progress=False).run()
    assert resumed["train_losses"] == straight["train_losses"][2:]
    records, _ = read_log(tmp_path / "straight" / "log.jsonl")
    halves, _ = read_log(tmp_path / "halves" / "log.jsonl")
    assert records == [{**r, "elapsed_s": s["elapsed_s"]} if "elapsed_s" in r else r for r, s in zip(halves, records)]
    final = straight["final_eval"]
    assert final["val_pairs"] == 6 and 0 <= final["val_mlm_accuracy"] <= 1 and 0 <= final["val_nsp_accuracy"] <= 1
    assert 0 < final["mlm_baseline_accuracy"] < 1
    assert final["val_loss"] == pytest.approx(final["val_mlm_loss"] + final["val_nsp_loss"])
    a, _ = load_checkpoint(tmp_path / "straight" / "checkpoint.safetensors")
    b, _ = load_checkpoint(tmp_path / "halves" / "checkpoint.safetensors")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    model, tokenizer, meta = load_model(tmp_path / "straight" / "best.safetensors")
    assert isinstance(model, BertForPreTraining) and isinstance(tokenizer, WordPieceTokenizer)
    assert tokenizer.vocab_size == model.config.vocab_size == meta["model_config"]["vocab_size"]


def test_resume_takes_the_vocabulary_from_the_checkpoint(text, tmp_path, monkeypatch):
    Trainer(_config(text, max_iters=2), tmp_path / "run", progress=False).run()

    def refuse(*args, **kwargs):
        raise AssertionError("a resumed run must not learn its vocabulary again")

    monkeypatch.setattr("tinygrad_lm.train.bert_task.train_wordpiece", refuse)
    assert Trainer(_config(text), tmp_path / "run", progress=False).run()["steps"] == 4


def test_the_masked_positions_loss_equals_bert_for_pretraining(text, tmp_path):
    trainer = Trainer(_config(text), tmp_path / "run", progress=False)
    trainer.lock.release()
    batch = trainer.sampler.next_batch()
    model = trainer.model
    model.eval()
    with no_grad():
        mlm, nsp = pretraining_losses(model, batch)
        full = model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"], batch["mlm_labels"],
                     batch["nsp_labels"])
    assert float(mlm.item()) == pytest.approx(float(full.mlm_loss.item()), rel=1e-5)
    assert float(nsp.item()) == pytest.approx(float(full.nsp_loss.item()), rel=1e-5)


def test_cli_trains_evals_and_refuses_to_sample_a_bert(text, tmp_path, capsys):
    out = tmp_path / "cli"
    overrides = [f"{k}={v}" for k, v in _config(text).to_dict().items() if k in (
        "n_layer", "n_embd", "intermediate", "block_size", "vocab_size", "batch_size", "max_iters", "warmup_iters",
        "lr_decay_iters", "eval_interval", "eval_iters", "val_pairs")]
    assert main(["train", "--preset", "bert-tiny", "--text", str(text), "--out", str(out), "--no-progress",
                 *overrides]) == 0
    assert "NSP accuracy" in capsys.readouterr().out
    assert main(["eval", "--checkpoint", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    records, _ = read_log(out / "log.jsonl")
    best = min((r for r in records if r["kind"] == "eval"), key=lambda r: r["val_loss"])
    for key in ("val_mlm_loss", "val_mlm_accuracy", "val_nsp_accuracy", "mlm_baseline_accuracy", "val_pairs"):
        assert report[key] == pytest.approx(best[key], rel=1e-5), key  # the same pairs and the best weights
    assert main(["eval", "--checkpoint", str(out)]) == 0
    assert "next sentence: loss" in capsys.readouterr().out
    assert main(["sample", "--checkpoint", str(out), "--prompt", "a"]) == 2
    assert "sample needs a GPT run" in capsys.readouterr().err


def test_train_help_documents_the_bert_preset(capsys):
    assert main(["train", "--help"]) == 0
    assert "bert-tiny" in capsys.readouterr().out


@pytest.mark.parametrize("change, message", [
    ({"tokenizer": "char"}, "tokenizer must be 'wordpiece' for model='bert'"),
    ({"model": "gpt"}, "tokenizer must be 'char' or 'byte' for model='gpt'"),
    ({"model": "t5"}, "model must be 'gpt' or 'bert'"),
    ({"mask_prob": 0.0}, "mask_prob must be in \\(0, 1\\)"),
    ({"mask_prob": 1.0}, "mask_prob must be in \\(0, 1\\)"),
    ({"val_pairs": 0}, "val_pairs must be an integer >= 1"),
    ({"vocab_size": 0}, "vocab_size must be an integer >= 1"),
    ({"intermediate": 0}, "intermediate must be an integer >= 1"),
    ({"block_size": 4}, "block_size must be an integer >= 5 for a BERT"),
    ({"whole_word_mask": 1}, "whole_word_mask must be true or false"),
    ({"lr_schedule": "step"}, "lr_schedule must be 'cosine' or 'linear'"),
    ({"warmup_iters": 100, "lr_decay_iters": 100}, "warmup_iters must be below lr_decay_iters"),
])
def test_config_validation_of_the_bert_fields(change, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_dict({**preset("bert-tiny").to_dict(), **change})


def test_overrides_and_a_vocabulary_too_small_for_the_text(text, tmp_path):
    config = apply_overrides(_config(text), ["whole_word_mask=true", "mask_prob=0.2"])
    assert config.whole_word_mask is True and config.mask_prob == 0.2
    with pytest.raises(ConfigError, match="vocab_size=10 does not fit this text"):
        Trainer(_config(text, vocab_size=10), tmp_path / "small", progress=False)
    assert not (tmp_path / "small" / "checkpoint.safetensors").exists()


def test_too_few_documents_is_one_clear_error(tmp_path, capsys):
    path = tmp_path / "one.txt"
    path.write_text("one sentence .\nanother one .\n")
    assert main(["train", "--preset", "bert-tiny", "--text", str(path), "--out", str(tmp_path / "r")]) == 2
    assert "needs at least 4" in capsys.readouterr().err


def test_a_bert_run_on_the_fake_gpu_matches_the_cpu(fake_cuda, text, tmp_path):
    with use_kernels("numpy"):  # the fake GPU runs the NumPy reference kernels
        cpu = Trainer(_config(text), tmp_path / "cpu", progress=False).run()
        gpu = Trainer(_config(text, device="cuda"), tmp_path / "gpu", progress=False).run()
    assert gpu["train_losses"] == pytest.approx(cpu["train_losses"], rel=1e-5)
    for key in ("val_mlm_accuracy", "val_nsp_accuracy", "val_mlm_loss"):
        assert gpu["final_eval"][key] == pytest.approx(cpu["final_eval"][key], rel=1e-5)
