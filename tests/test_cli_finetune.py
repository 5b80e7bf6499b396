"""``tinygrad-lm finetune``, ``classify`` and ``eval``: the run, the --json contract, resume, and one-line errors.

The tiny stand-in encoder of ``tests/train/test_finetune_helpers.py`` replaces MiniLM (the
command runs in-process, so the patch applies); one test fine-tunes the real MiniLM for two
steps on 32 sentences when it is cached or downloadable (marked slow: about 10 s).
"""

import importlib.util
import json
from pathlib import Path

import pytest

from tinygrad_lm.cli import main
from tinygrad_lm.data.pretrained_files import (
    PretrainedUnavailableError,
    fetch_pretrained,
)


def _helpers():
    path = Path(__file__).parent / "train" / "test_finetune_helpers.py"
    spec = importlib.util.spec_from_file_location("finetune_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


helpers = _helpers()
SHORT = ["--no-progress", "batch_size=8", "lr=1e-2", "max_iters=30", "early_stopping_patience=0"]


def run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, argv):
    code, out, err = run(capsys, argv)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


@pytest.fixture
def data(tmp_path, monkeypatch):
    helpers.use_tiny_encoder(monkeypatch)
    return helpers.write_csv(tmp_path / "reviews.csv", n=60)


def test_finetune_writes_a_run_and_classify_json_keeps_the_contract(data, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, _ = run(capsys, ["finetune", "--data", str(data), "--out", str(out), *SHORT])
    assert code == 0 and "test accuracy" in stdout and "macro avg" in stdout
    assert {"checkpoint.safetensors", "best.safetensors", "log.jsonl", "test_metrics.json"} <= {
        p.name for p in out.iterdir()}
    metrics = json.loads((out / "test_metrics.json").read_text())
    assert metrics["n_test"] == 6 and 0.0 <= metrics["test_accuracy"] <= 1.0
    code, stdout, _ = run(capsys, ["classify", "--checkpoint", str(out), "--json", "the plot was really superb .",
                                   "the cast was really tedious ."])
    results = json.loads(stdout)
    assert code == 0 and isinstance(results, list) and len(results) == 2
    for result in results:
        assert set(result) == {"label", "probability"} and result["label"] in ("neg", "pos")
        assert 0.5 <= result["probability"] <= 1.0  # the most probable of two labels
    code, stdout, _ = run(capsys, ["classify", "--checkpoint", str(out), "a film"])
    assert code == 0 and stdout.count("\n") == 1 and stdout.rstrip().endswith("\ta film")
    code, stdout, _ = run(capsys, ["eval", "--checkpoint", str(out), "--json"])  # the best weights, as the test score
    report = json.loads(stdout)
    assert code == 0 and report["model"] == "classifier" and report["test"]["texts"] == metrics["n_test"]
    for key in ("loss", "accuracy", "f1"):
        assert report["test"][key] == metrics[f"test_{key}"]
    assert report["val"]["texts"] == 6 and 0.0 <= report["val"]["accuracy"] <= 1.0
    code, stdout, _ = run(capsys, ["eval", "--checkpoint", str(out)])
    assert code == 0 and [line.split(":")[0] for line in stdout.splitlines()[1:]] == ["val", "test"]


def test_rerunning_finetune_resumes_and_a_complete_run_is_left_alone(data, tmp_path, capsys):
    out = tmp_path / "run"
    assert run(capsys, ["finetune", "--data", str(data), "--out", str(out), *SHORT[:-2], "max_iters=6"])[0] == 0
    code, _, err = run(capsys, ["finetune", "--data", str(data), "--out", str(out), *SHORT[:-2], "max_iters=6"])
    assert code == 0 and "already complete" in err


def test_run_length_follows_the_training_split(data, tmp_path, capsys):
    code, stdout, _ = run(capsys, ["finetune", "--data", str(data), "--out", str(tmp_path / "r"), "--no-progress",
                                   "batch_size=8", "max_iters=2"])
    assert code == 0 and "(2 steps, 6 per epoch" in stdout  # 48 training rows of 60, 8 per batch


def test_classify_refuses_a_gpt_checkpoint(tmp_path, capsys):
    gpt = tmp_path / "gpt"
    assert run(capsys, ["train", "--preset", "tiny", "--out", str(gpt), "--no-progress", "max_iters=2",
                        "eval_interval=2", "eval_iters=1"])[0] == 0
    err = one_line_error(capsys, ["classify", "--checkpoint", str(gpt), "some text"])
    assert "holds a gpt run, not a classifier" in err


@pytest.mark.parametrize(("argv", "words"), [
    (["--freeze-layers", "3"], "freeze_layers=3 but the encoder has 2 layers"),
    (["batch_size=100"], "fewer than batch_size=100"),
    (["layer_lr_decay=2"], "layer_lr_decay must be in (0, 1]"),
])
def test_finetune_errors_are_one_line(data, tmp_path, capsys, argv, words):
    argv = ["finetune", "--data", str(data), "--out", str(tmp_path / "r"), "--no-progress", *argv]
    assert words in one_line_error(capsys, argv)
    assert not (tmp_path / "r").exists()  # refused before the run directory is made: no empty one left behind


def test_an_unknown_dataset_is_one_line(tmp_path, capsys, monkeypatch):
    helpers.use_tiny_encoder(monkeypatch)
    err = one_line_error(capsys, ["finetune", "--dataset", "imdb", "--out", str(tmp_path / "r")])
    assert "'imdb'" in err and "pang-lee" in err


@pytest.mark.parametrize(("body", "words"), [
    ("text,stars\na fine film,5\n", "no 'label'"),
    ("text,label\na fine film,pos\n  ,neg\n", "line 3: the text is empty"),
    ("text,label\na fine film,pos\na good film,pos\n", "only the label 'pos'"),
])
def test_a_bad_data_file_is_one_line_and_leaves_no_run_directory(tmp_path, capsys, monkeypatch, body, words):
    helpers.use_tiny_encoder(monkeypatch)
    bad = tmp_path / "bad.csv"
    bad.write_text(body, encoding="utf-8")
    assert words in one_line_error(capsys, ["finetune", "--data", str(bad), "--out", str(tmp_path / "r")])
    assert not (tmp_path / "r").exists()


def test_classify_without_a_run_is_one_line(tmp_path, capsys):
    assert "no best.safetensors or checkpoint.safetensors" in one_line_error(
        capsys, ["classify", "--checkpoint", str(tmp_path), "text"])


@pytest.mark.slow  # 10-12 s on 2 shared cores: loading MiniLM and writing its 360 MB of checkpoints
def test_minilm_fine_tunes_two_steps_on_32_sentences(tmp_path, capsys):
    try:
        fetch_pretrained("all-MiniLM-L6-v2")
    except PretrainedUnavailableError as reason:
        pytest.skip(f"all-MiniLM-L6-v2 could not be downloaded: {reason}")
    data = helpers.write_csv(tmp_path / "small.csv", n=40)  # 32 training sentences
    out = tmp_path / "minilm"
    code, stdout, _ = run(capsys, ["finetune", "--data", str(data), "--out", str(out), "--freeze-layers", "4",
                                   "--no-progress", "batch_size=16", "max_iters=2", "eval_interval=2"])
    assert code == 0 and "all-MiniLM-L6-v2" in stdout
    code, stdout, _ = run(capsys, ["classify", "--checkpoint", str(out), "--json", "a lovely film"])
    assert code == 0 and json.loads(stdout)[0]["label"] in ("neg", "pos")


def encoder_without_pooler(monkeypatch):
    """The tiny stand-in encoder built without BERT's pooler (as a sentence-transformers export may be)."""
    from tinygrad_lm.models import BertConfig, BertModel
    from tinygrad_lm.train import classifier_task

    model, tokenizer = helpers.tiny_encoder()
    bare = BertModel(BertConfig.from_dict({**model.config.to_dict(), "pooler": False}))
    monkeypatch.setattr(classifier_task, "load_pretrained", lambda name: (bare, tokenizer))


def test_cls_pooling_without_a_pooler_is_refused_before_the_run_directory(tmp_path, capsys, monkeypatch):
    encoder_without_pooler(monkeypatch)
    data = helpers.write_csv(tmp_path / "reviews.csv", n=60)
    err = one_line_error(capsys, ["finetune", "--data", str(data), "--out", str(tmp_path / "r"), *SHORT, "pooling=cls"])
    assert "pooling='cls' needs a pooler" in err
    assert not (tmp_path / "r").exists()


def test_texts_are_cut_to_the_encoders_positions_when_block_size_is_longer(data, tmp_path, capsys):
    long_text = " ".join(["the film was really good ."] * 12)  # 72 tokens; the tiny encoder has 32 positions
    data.write_text(data.read_text(encoding="utf-8") + "".join(f"{long_text},pos\n" for _ in range(4)))
    out = tmp_path / "run"
    assert run(capsys, ["finetune", "--data", str(data), "--out", str(out), *SHORT[:3], "max_iters=4",
                        "block_size=40"])[0] == 0
    code, stdout, _ = run(capsys, ["classify", "--checkpoint", str(out), long_text])
    assert code == 0 and stdout.startswith(("neg\t", "pos\t"))


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_only_cls_pooling_keeps_the_pooler_in_the_model_and_the_optimizer(data, tmp_path, pooling):
    """Mean pooling never reads the pooler: no parameter without a gradient in the optimizer or its decay group."""
    import dataclasses

    from tinygrad_lm.train import Trainer, preset

    config = dataclasses.replace(preset("finetune"), text_path=str(data), pooling=pooling, batch_size=8, max_iters=2,
                                 lr_decay_iters=2, warmup_iters=0, eval_interval=2, eval_iters=1)
    trainer = Trainer(config, tmp_path / "run", progress=False)
    trainer.lock.release()
    in_model = [name for name, _ in trainer.model.named_parameters() if name.startswith("bert.pooler.")]
    optimized = [name for group in trainer.optimizer.param_groups for name in group["param_names"]]
    in_optimizer = [name for name in optimized if name.startswith("bert.pooler.")]
    expected = ["bert.pooler.bias", "bert.pooler.weight"] if pooling == "cls" else []
    assert sorted(in_model) == sorted(in_optimizer) == expected


def test_scoring_texts_whose_labels_the_model_never_saw_is_one_line(monkeypatch):
    from tinygrad_lm.data import ClassificationData
    from tinygrad_lm.models import BertForSequenceClassification
    from tinygrad_lm.train.classifier_task import split_metrics

    encoder, tokenizer = helpers.tiny_encoder()
    model = BertForSequenceClassification(encoder.config, 2, "mean")
    known = ("neg", "pos")
    data = ClassificationData(["the film was really good .", "the plot was really dull ."], [1, 0], ("pos", "neg"))
    scores = split_metrics(model, tokenizer, data, 16, "test", known)  # matched by name, not by id
    reordered = ClassificationData(data.texts, [0, 1], known)  # the same names: "neg", "pos"
    assert scores == split_metrics(model, tokenizer, reordered, 16, "test", known)
    odd = ClassificationData(["a film ."] * 3, [0, 1, 2], ("meh", "neg", "pos"))
    with pytest.raises(ValueError, match=r"label 'meh' .* not among the model's classes \('neg', 'pos'\)") as caught:
        split_metrics(model, tokenizer, odd, 16, "test", known)
    assert "\n" not in str(caught.value)
