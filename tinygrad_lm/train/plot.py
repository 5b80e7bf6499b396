"""Draw the loss curve of a run from its ``log.jsonl`` into a PNG.

matplotlib is an optional extra (``pip install tinygrad_lm[plot]``); without it the curve is
skipped and ``plot_losses`` returns False, since a missing picture must never stop training.
Damaged log lines are skipped (``rundir.read_log``). The PNG is drawn into a temporary file
and renamed over the old one, and the temporary file is removed if that fails; an OSError
(the log or the PNG path unusable, a full disk) propagates for the trainer to report.
"""

import os

from .rundir import read_log


def plot_losses(log_path, png_path):
    """Plot per-step training loss and the evaluated train/val losses; True if a PNG was written."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    records, _ = read_log(log_path)
    train = [r for r in records if r["kind"] == "train" and "loss" in r]
    evals = [r for r in records if r["kind"] == "eval" and "train_loss" in r and "val_loss" in r]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([r["step"] for r in train], [r["loss"] for r in train], lw=0.6, alpha=0.5, label="train (batch)")
    ax.plot([e["step"] for e in evals], [e["train_loss"] for e in evals], "o-", label="train (estimate)")
    ax.plot([e["step"] for e in evals], [e["val_loss"] for e in evals], "s-", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = f"{png_path}.tmp.png"
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, png_path)
    finally:
        plt.close(fig)
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return True
