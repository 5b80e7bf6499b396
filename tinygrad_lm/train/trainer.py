"""The training loop for a GPT: batches in, checkpoints, logs and a loss curve out.

One step: draw a (B, T) batch, set the learning rate from the schedule, forward, backward,
clip the global gradient norm, AdamW update. Every ``eval_interval`` steps (and at the end)
the train and validation losses are estimated, a line is appended to ``log.jsonl``, the loss
curve is redrawn, and the full state is checkpointed to ``checkpoint.safetensors``; when the
validation loss improves, the weights also go to ``best.safetensors`` (used for sampling).

Resume is exact: the checkpoint holds the weights, the optimizer moments, the step, the
batch sampler's RNG state and the model's dropout RNG state, so 100 steps + resume + 100
steps give bit-identical losses to 200 steps straight. A run resumes when its output
directory already holds a checkpoint; the run-length knobs (max_iters, eval_interval,
eval_iters, early_stopping_patience) may change between the two halves, nothing else.

Devices: with ``device="cuda"`` the model (and so the optimizer state) lives on the GPU; each
step copies its (B, T) batch there explicitly (``tensor(x, device=...)``), and only the loss
comes back (``loss.item()``). Checkpoints hold host copies, so a run may resume on the other
device (``device`` is one of the run-length knobs that may change).

Memory: ``run()`` first calls ``engine.memory.keep_freed_memory()``, so glibc's malloc reuses
the arrays a step frees instead of returning them to the kernel (a process-wide setting; see
that module).

Left out: mixed precision, gradient accumulation in the loop (the optimizer module shows
the pattern), multi-process data loading, saving on Ctrl-C (the last evaluation's
checkpoint is what survives).
"""

import json
import math
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data import (
    BatchSampler,
    ByteTokenizer,
    CharTokenizer,
    load_corpus,
    tokenizer_from_dict,
    train_val_split,
)
from ..engine import check_device, tensor
from ..engine.memory import keep_freed_memory
from ..models import GPT, GPTConfig
from ..optim import AdamW, clip_grad_norm_, param_groups_for_weight_decay, warmup_cosine
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import RunConfig
from .evaluate import estimate_loss, perplexity
from .plot import plot_losses

CHECKPOINT, BEST, LOG, CURVE = "checkpoint.safetensors", "best.safetensors", "log.jsonl", "loss_curve.png"
RESUMABLE_CHANGES = {"max_iters", "eval_interval", "eval_iters", "early_stopping_patience", "device"}


def model_config(run, vocab_size):
    return GPTConfig(vocab_size=vocab_size, block_size=run.block_size, n_layer=run.n_layer, n_head=run.n_head,
                     n_embd=run.n_embd, dropout=run.dropout, bias=run.bias, seed=run.seed)


def load_model(path, device="cpu"):
    """Rebuild a GPT and its tokenizer from a checkpoint file; returns (model on device, tokenizer, meta)."""
    check_device(device, "load_model")
    arrays, meta = load_checkpoint(path)
    try:
        config = GPTConfig.from_dict(meta["model_config"])
        tokenizer = tokenizer_from_dict(meta["tokenizer"])
        run = RunConfig.from_dict(meta["run_config"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: metadata is incomplete or from another version ({error})") from None
    if tokenizer.vocab_size != config.vocab_size:
        raise CheckpointError(f"{path}: tokenizer has {tokenizer.vocab_size} tokens but the model expects "
                              f"{config.vocab_size}; the file mixes two runs")
    model = GPT(config, dtype=run.dtype)
    weights = {name[len("model."):]: a for name, a in arrays.items() if name.startswith("model.")}
    try:
        model.load_state_dict(weights)
    except ValueError as error:
        raise CheckpointError(f"{path}: weights do not fit the stored config: {error}") from None
    return model.to(device), tokenizer, meta


class Trainer:
    """Train a GPT as ``config`` says, writing everything under ``out_dir``.

    ``Trainer(config, out_dir).run()`` returns a summary dict (final losses, step time).
    """

    def __init__(self, config, out_dir, progress=True):
        self.config, self.out_dir, self.progress = config, Path(out_dir), progress
        self.device = check_device(config.device, "train")  # before any work: fail fast without a GPU
        saved = self._saved_state()
        text = load_corpus(config.corpus if not config.text_path else None, config.text_path or None)
        if saved is not None:
            self.tokenizer = tokenizer_from_dict(saved[1]["tokenizer"])
        elif config.tokenizer == "char":
            self.tokenizer = CharTokenizer.from_text(text)
        else:
            self.tokenizer = ByteTokenizer()
        ids = self.tokenizer.encode(text)
        self.train_ids, self.val_ids = train_val_split(ids, val_fraction=0.1, block_size=config.block_size)
        self.model = GPT(model_config(config, self.tokenizer.vocab_size), dtype=config.dtype).to(self.device)
        groups = param_groups_for_weight_decay(self.model.named_parameters(), config.weight_decay)
        self.optimizer = AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2))
        self.sampler = BatchSampler(self.train_ids, config.block_size, config.batch_size, seed=config.seed)
        self.step, self.best_val, self.stale_evals = 0, math.inf, 0
        if saved is not None:
            self._restore(*saved)

    # --- checkpoints -----------------------------------------------------------------------
    def _saved_state(self):
        path = self.out_dir / CHECKPOINT
        if not path.exists():
            return None
        arrays, meta = load_checkpoint(path)
        saved = meta.get("run_config", {})
        changed = sorted(k for k, v in self.config.to_dict().items() if saved.get(k) != v and k not in RESUMABLE_CHANGES)
        if changed:
            details = ", ".join(f"{k}: {saved.get(k)!r} -> {getattr(self.config, k)!r}" for k in changed)
            raise CheckpointError(f"{path}: was made with another config ({details}); "
                                  f"use another --out directory or the same settings to resume")
        return arrays, meta

    def _restore(self, arrays, meta):
        weights = {k[len("model."):]: a for k, a in arrays.items() if k.startswith("model.")}
        self.model.load_state_dict(weights)
        optim = {k[len("optim."):]: a for k, a in arrays.items() if k.startswith("optim.")}
        self.optimizer.load_state_dict({"meta": meta["optimizer"], "arrays": optim})
        self.sampler.load_state_dict(meta["sampler"])
        self.model.rng.bit_generator.state = meta["model_rng"]
        self.step, self.best_val, self.stale_evals = meta["step"], meta["best_val_loss"], meta["stale_evals"]

    def _meta(self):
        return {"run_config": self.config.to_dict(), "model_config": self.model.config.to_dict(),
                "tokenizer": self.tokenizer.to_dict(), "step": self.step, "best_val_loss": self.best_val,
                "stale_evals": self.stale_evals}

    def save(self, val_loss):
        """Write the resumable state; also the best weights when ``val_loss`` improved."""
        weights = {f"model.{k}": a for k, a in self.model.state_dict().items()}
        optim = {f"optim.{k}": a for k, a in self.optimizer.state_arrays().items()}
        meta = {**self._meta(), "optimizer": self.optimizer.state_meta(), "sampler": self.sampler.state_dict(),
                "model_rng": self.model.rng.bit_generator.state}
        save_checkpoint(self.out_dir / CHECKPOINT, {**weights, **optim}, meta)
        if val_loss <= self.best_val:
            save_checkpoint(self.out_dir / BEST, weights, {**self._meta(), "val_loss": val_loss})

    # --- the loop --------------------------------------------------------------------------
    def lr_at(self, step):
        c = self.config
        return warmup_cosine(step, c.lr, c.warmup_iters, c.lr_decay_iters, c.min_lr)

    def train_step(self):
        """One optimisation step on a fresh batch; returns the batch loss (a float)."""
        x, y = self.sampler.next_batch()  # (B, T) each, on the host
        x, y = tensor(x, device=self.device), tensor(y, device=self.device)  # explicit copy to the device
        lr = self.lr_at(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        _, loss = self.model(x, y)
        self.optimizer.zero_grad()
        loss.backward()
        if self.config.grad_clip > 0:
            clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.step += 1
        return float(loss.item())

    def evaluate(self):
        c = self.config
        losses = {}
        for index, (split, ids) in enumerate((("train", self.train_ids), ("val", self.val_ids))):
            seed = [c.seed, self.step, index]
            losses[split] = estimate_loss(self.model, ids, c.block_size, c.batch_size, c.eval_iters, seed)
        return losses

    def _log(self, record):
        with open(self.out_dir / LOG, "a") as f:
            f.write(json.dumps(record) + "\n")

    def _checkpoint_and_log(self, started):
        losses = self.evaluate()
        val = losses["val"]
        improved = val < self.best_val
        self.stale_evals = 0 if improved else self.stale_evals + 1
        self.best_val = min(self.best_val, val)
        record = {"kind": "eval", "step": self.step, "train_loss": losses["train"], "val_loss": val,
                  "val_perplexity": perplexity(val), "elapsed_s": time.perf_counter() - started}
        self._log(record)
        self.save(val)
        plot_losses(self.out_dir / LOG, self.out_dir / CURVE)
        return record

    def run(self):
        """Train until ``max_iters`` (or early stopping); returns a summary dict."""
        c = self.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        keep_freed_memory()  # reuse freed arrays instead of page-faulting new ones each step
        started, step_times, last_eval, losses = time.perf_counter(), [], None, []
        first = self.step
        bar = tqdm(total=c.max_iters, initial=self.step, disable=not self.progress, unit="step",
                   dynamic_ncols=True)
        while self.step < c.max_iters:
            if self.step % c.eval_interval == 0 and (self.step != first or first == 0):
                last_eval = self._checkpoint_and_log(started)
                bar.write(_describe(last_eval))
                if c.early_stopping_patience and self.stale_evals >= c.early_stopping_patience:
                    bar.write(f"early stopping: no val improvement in {self.stale_evals} evaluations")
                    break
            tick = time.perf_counter()
            loss = self.train_step()
            step_times.append(time.perf_counter() - tick)
            losses.append(loss)
            self._log({"kind": "train", "step": self.step, "loss": loss, "lr": self.lr_at(self.step - 1)})
            tokens_per_s = c.batch_size * c.block_size / step_times[-1]
            bar.set_postfix(loss=f"{loss:.4f}", tok_s=f"{tokens_per_s:,.0f}")
            bar.update(1)
        if self.step == c.max_iters and (last_eval is None or last_eval["step"] != self.step):
            last_eval = self._checkpoint_and_log(started)
            bar.write(_describe(last_eval))
        bar.close()
        return {"steps": self.step, "train_losses": losses, "final_eval": last_eval,
                "median_step_ms": 1000 * float(np.median(step_times)) if step_times else None,
                "wall_time_s": time.perf_counter() - started, "out_dir": str(self.out_dir)}


def _describe(record):
    return (f"step {record['step']}: train loss {record['train_loss']:.4f}, val loss {record['val_loss']:.4f} "
            f"(perplexity {record['val_perplexity']:.2f})")
