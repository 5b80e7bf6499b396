"""The loss curve PNG (``train/plot.py``): its y-axis names what the task plots, and drawing never
switches a Jupyter notebook off its inline backend.

A classifier run plots a cross-entropy per text (and picks its best weights by accuracy), a BERT
run the sum of two losses: none of them is "nats/token" except the GPT's. The tiny stand-in
encoder of ``test_finetune_helpers.py`` makes the classifier run take about a second.
"""

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from tinygrad_lm.train import Trainer, plot, preset, trainer
from tinygrad_lm.train.bert_task import BertTask
from tinygrad_lm.train.classifier_task import ClassifierTask
from tinygrad_lm.train.tasks import GPTTask


def _helpers():
    spec = importlib.util.spec_from_file_location("finetune_helpers", Path(__file__).with_name("test_finetune_helpers.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_log(path):
    records = [{"kind": "train", "step": s, "loss": 1.0 / (s + 1)} for s in range(4)]
    records += [{"kind": "eval", "step": s, "train_loss": 0.5, "val_loss": 0.6} for s in (0, 3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def drawn_ylabels(monkeypatch):
    """Record the y labels of every figure saved from now on."""
    labels = []

    def savefig(fig, fname, **kwargs):
        labels.append([ax.get_ylabel() for ax in fig.axes])
        Path(fname).write_bytes(b"png")

    monkeypatch.setattr(Figure, "savefig", savefig)
    return labels


def test_the_y_axis_says_what_was_given(tmp_path, monkeypatch):
    labels = drawn_ylabels(monkeypatch)
    assert plot.plot_losses(write_log(tmp_path / "log.jsonl"), tmp_path / "c.png", ylabel="cross-entropy (nats/text)")
    assert labels == [["cross-entropy (nats/text)"]]


def test_each_task_names_its_own_loss():
    assert "nats/token" in GPTTask.loss_label
    assert "token" not in ClassifierTask.loss_label and "text" in ClassifierTask.loss_label
    assert "MLM + NSP" in BertTask.loss_label


def test_a_classifier_run_is_not_plotted_in_nats_per_token(tmp_path, monkeypatch):
    helpers = _helpers()
    helpers.use_tiny_encoder(monkeypatch)
    given = []
    monkeypatch.setattr(trainer, "plot_losses", lambda log, png, **kwargs: given.append(kwargs))
    config = dataclasses.replace(preset("finetune"), text_path=str(helpers.write_csv(tmp_path / "data.csv")),
                                 batch_size=8, max_iters=2, lr_decay_iters=2, warmup_iters=0, eval_interval=2,
                                 eval_iters=1)
    Trainer(config, tmp_path / "run", progress=False).run()
    assert given and all(kwargs == {"ylabel": ClassifierTask.loss_label} for kwargs in given)


def test_drawing_leaves_a_notebooks_backend_alone(tmp_path, monkeypatch):
    """Inside Jupyter (ipykernel imported) the inline backend must survive a training run's plot."""
    monkeypatch.setitem(sys.modules, "ipykernel", sys)  # any module object: only the name is looked up
    chosen = []
    monkeypatch.setattr(matplotlib, "use", lambda backend, **kwargs: chosen.append(backend))
    png = tmp_path / "c.png"
    assert plot.plot_losses(write_log(tmp_path / "log.jsonl"), png)
    assert chosen == [] and png.read_bytes().startswith(b"\x89PNG")
