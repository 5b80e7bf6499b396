"""What pruning and distillation share for a GPT run: its data, a short training loop, saving.

    gpt_run_data(meta)           (train ids, val ids) of the text a GPT run trained on
    train_steps(model, ids, ...) AdamW steps on random windows; ``loss_fn(x, y)`` replaces the
                                 model's own loss (distillation), ``after_step()`` runs after
                                 each update (pruning re-applies its masks there)
    val_loss(model, val_ids)     the exact validation loss over evenly spaced windows
    calibration_batch(ids, T)    the first 12 windows and their targets (head importance, timing)
    save_run(model, meta, out)   ``out/best.safetensors`` in the safe format, role "best"

The loop is deliberately smaller than ``train.Trainer`` (no run directory, resume or logs):
compression fine-tunes for tens to hundreds of steps on a model already trained.

Left out: learning-rate schedules (a constant lr: the runs are short), gradient accumulation.
"""

from pathlib import Path

import numpy as np

from ..data import BatchSampler, load_corpus, train_val_split
from ..optim import AdamW, clip_grad_norm_
from ..train import save_checkpoint, split_loss
from ..train.config import VAL_FRACTION
from ..train.rundir import BEST

VAL_WINDOWS = 200  # windows of the validation split scored by val_loss (evenly spaced)


def gpt_run_data(meta, tokenizer):
    """(train ids, val ids) of the text the run in ``meta`` trained on, split as the trainer split it."""
    run = meta["run_config"]
    text = load_corpus(run["corpus"] if not run["text_path"] else None, run["text_path"] or None)
    ids = tokenizer.encode(text)
    return train_val_split(ids, VAL_FRACTION, block_size=meta["model_config"]["block_size"])


def calibration_batch(train_ids, block_size, rows=12):
    """The first ``rows`` windows of ``train_ids`` and their next-token targets: x, y (rows, T)."""
    T = block_size
    return train_ids[:rows * T].reshape(rows, T), train_ids[1:rows * T + 1].reshape(rows, T)  # (N,) -> (rows, T)


def val_loss(model, val_ids, windows=VAL_WINDOWS):
    """Mean next-token loss (nats) over ``windows`` evenly spaced windows of ``val_ids``."""
    return split_loss(model, val_ids, model.config.block_size, max_windows=windows)


def train_steps(model, train_ids, steps, lr=3e-4, batch_size=12, seed=0, loss_fn=None, after_step=None,
                grad_clip=1.0):
    """``steps`` AdamW updates (weight decay 0) of ``model`` on random windows; returns the losses.

    ``loss_fn(x, y) -> 0-d Tensor`` (x, y (B, T) token ids) defaults to the model's loss."""
    block = model.config.block_size
    sampler = BatchSampler(train_ids, block, batch_size, seed=seed)
    optimizer = AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    model.train()
    for _ in range(steps):
        x, y = sampler.next_batch()  # (B, T) each
        loss = model(x, y)[1] if loss_fn is None else loss_fn(x, y)
        optimizer.zero_grad()
        loss.backward()
        if grad_clip:
            clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        if after_step is not None:
            after_step()
        losses.append(float(loss.item()))
    model.eval()
    return np.array(losses)


def save_run(model, meta, out, **extra_meta):
    """Write ``model``'s weights to ``out/best.safetensors`` with ``meta`` (minus the resumable
    state) updated by ``extra_meta``; returns the path."""
    path = Path(out) / BEST
    kept = {k: v for k, v in meta.items() if k not in ("optimizer", "sampler", "model_rng")}
    kept.setdefault("val_loss", meta["best_val_loss"])
    save_checkpoint(path, {f"model.{k}": a for k, a in model.state_dict().items()}, {**kept, **extra_meta},
                    role="best")
    return path
