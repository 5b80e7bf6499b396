"""Draw the loss curve of a run from its ``log.jsonl`` into a PNG.

matplotlib is an optional extra (``pip install tinygrad_lm[plot]``); without it the curve is
skipped and ``plot_losses`` returns False, since a missing picture must never stop training.
"""

import json
import os


def plot_losses(log_path, png_path):
    """Plot per-step training loss and the evaluated train/val losses; True if a PNG was written."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    steps, losses, evals = [], [], []
    with open(log_path) as f:
        for line in f:
            record = json.loads(line)
            if record["kind"] == "train":
                steps.append(record["step"])
                losses.append(record["loss"])
            else:
                evals.append(record)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, losses, lw=0.6, alpha=0.5, label="train (batch)")
    ax.plot([e["step"] for e in evals], [e["train_loss"] for e in evals], "o-", label="train (estimate)")
    ax.plot([e["step"] for e in evals], [e["val_loss"] for e in evals], "s-", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = f"{png_path}.tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, png_path)
    return True
