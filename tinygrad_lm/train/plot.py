"""Draw the loss curve of a run from its ``log.jsonl`` into a PNG.

matplotlib is an optional extra (``pip install tinygrad_lm[plot]``); without it the curve is
skipped and ``plot_losses`` returns False, since a missing picture must never stop training.
The figure is a bare ``matplotlib.figure.Figure`` saved by its own Agg canvas, never pyplot: no
backend is selected and no window opened, so training in a Jupyter notebook (a chapter's
``Trainer.run()``) leaves the notebook's inline backend and its figures alone.
Damaged log lines are skipped (``rundir.read_log``). The PNG is drawn into a temporary file
and renamed over the old one, and the temporary file is removed if that fails; an OSError
(the log or the PNG path unusable, a full disk) propagates for the trainer to report.

A BERT run's log also holds held-out accuracies: they get a second panel (MLM accuracy beside
its most-frequent-token baseline, NSP accuracy beside chance).
"""

import os

from .rundir import read_log


def plot_losses(log_path, png_path, ylabel="cross-entropy (nats/token)"):
    """Plot per-step training loss and the evaluated train/val losses; True if a PNG was written.

    ``ylabel`` names the loss on the y-axis: the trainer passes its task's ``loss_label``.
    """
    try:
        from matplotlib.figure import Figure  # not pyplot: see the module docstring
    except ImportError:
        return False
    records, _ = read_log(log_path)
    train = [r for r in records if r["kind"] == "train" and "loss" in r]
    evals = [r for r in records if r["kind"] == "eval" and "train_loss" in r and "val_loss" in r]
    accuracies = [r for r in evals if "val_mlm_accuracy" in r and "val_nsp_accuracy" in r]
    if accuracies:
        fig = Figure(figsize=(11, 4))
        ax, right = fig.subplots(1, 2)
        _plot_accuracies(right, accuracies)
    else:
        fig = Figure(figsize=(7, 4))
        ax = fig.subplots()
    ax.plot([r["step"] for r in train], [r["loss"] for r in train], lw=0.6, alpha=0.5, label="train (batch)")
    ax.plot([e["step"] for e in evals], [e["train_loss"] for e in evals], "o-", label="train (estimate)")
    ax.plot([e["step"] for e in evals], [e["val_loss"] for e in evals], "s-", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = f"{png_path}.tmp.png"
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, png_path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return True


def _plot_accuracies(ax, evals):
    steps = [e["step"] for e in evals]
    ax.plot(steps, [e["val_mlm_accuracy"] for e in evals], "o-", label="MLM accuracy (held out)")
    ax.plot(steps, [e["mlm_baseline_accuracy"] for e in evals], ":", label="MLM: most frequent token")
    ax.plot(steps, [e["val_nsp_accuracy"] for e in evals], "s-", label="NSP accuracy (held out)")
    ax.axhline(0.5, color="gray", lw=0.8, ls="--", label="NSP: chance")
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.grid(alpha=0.3)
