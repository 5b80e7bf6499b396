"""The training loop: batches in, checkpoints, logs and a loss curve out.

What is trained is a task (``tasks.py``): a GPT on a token stream (``model="gpt"``), a BERT
pre-trained on sentence pairs (``model="bert"``, ``bert_task.py``) or a pretrained encoder
fine-tuned to classify texts (``model="classifier"``, ``classifier_task.py``); the task builds
the model, draws batches, computes the loss and evaluates. This file is the same for all.
A task may also give ``param_groups(weight_decay)`` (AdamW groups of its trainable parameters,
each with an ``lr_scale`` the schedule's lr is multiplied by: layer-wise lr decay, frozen
layers left out), ``extra_meta`` (a dict stored in both checkpoint files) and a ``monitor``
entry in its evaluation (lower is better; what best weights and early stopping follow
instead of val_loss).

One step: draw a batch, set the learning rate from the schedule, forward, backward,
clip the global gradient norm, AdamW update. Every ``eval_interval`` steps (and at the end)
the task's train and validation losses (and, for a BERT, accuracies) are estimated, a line is appended to ``log.jsonl``, the loss
curve is redrawn, and the full state is checkpointed to ``checkpoint.safetensors``; when the
validation loss improves, the weights also go to ``best.safetensors`` (used for sampling).

Exact validation (GPT runs, the config field ``exact_val=true``): the task's validation loss is
an estimate over ``eval_iters`` random windows drawn anew at each step, so with few windows
its noise can exceed what the weights improve between two evaluations and exhaust the
patience of a run that is still improving (tests/train/test_exact_validation.py shows one).
With ``exact_val`` each evaluation also logs ``val_loss_exact``, the mean loss over every
non-overlapping block_size window of the validation split (``evaluate.split_loss``: the same
windows each time, so the same weights give the same number), and best weights and early
stopping follow it. It costs one forward pass over the validation split per evaluation. A
resume cannot switch it (it is part of the config a resume must match): the best loss so far
would compare the two kinds of number.

Resume is exact: the checkpoint holds the weights, the optimizer moments, the step, the
batch sampler's RNG state and the model's dropout RNG state, so 100 steps + resume + 100
steps give bit-identical losses to 200 steps straight. A run resumes when its output
directory already holds a checkpoint; the run-length knobs (max_iters, eval_interval,
eval_iters, early_stopping_patience) may change between the two halves, nothing else, and
the text must be the same (its sha256 and length are in the checkpoint). A BERT's WordPiece
vocabulary is learned once and read back from the checkpoint on resume. A run that is
complete (at max_iters, or stopped early with the same patience) is left alone: ``run()``
says so and returns without evaluating, logging or saving. The run directory is locked and
checked first (``rundir.py``); what a checkpoint must hold is checked by ``state.py``.

Before anything is written, the task checks the text (a GPT: one block_size + 1 window in
each split, ``config.check_text_length``; a BERT: enough documents) and the memory estimate
(``config.check_memory``).

Divergence: a NaN or infinite training loss (or estimated loss) stops the run with a
``NonFiniteLossError`` before the update (or the save), so no checkpoint ever holds the
state that produced it; the last checkpoint written is the last good state. A failed
checkpoint write (a full disk) stops it with a one-line ``RunDirError``; a failed log or
curve write warns once and training goes on.

Devices: with ``device="cuda"`` the model (and so the optimizer state) lives on the GPU; each
step copies its batch there explicitly (``tensor(x, device=...)``), and only the loss
comes back (``loss.item()``). Checkpoints hold host copies, so a run may resume on the other
device (``device`` is one of the run-length knobs that may change).

Memory: ``run()`` first calls ``engine.memory.keep_freed_memory()``, so glibc's malloc reuses
the arrays a step frees instead of returning them to the kernel (a process-wide setting; see
that module).

Left out: mixed precision, gradient accumulation in the loop (the optimizer module shows
the pattern), multi-process data loading, saving on Ctrl-C (the last evaluation's
checkpoint is what survives).
"""

import math
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..engine import check_device
from ..engine.memory import keep_freed_memory
from ..optim import (
    AdamW,
    clip_grad_norm_,
    linear_decay,
    param_groups_for_weight_decay,
    warmup_cosine,
)
from ..optim.schedules import inverse_sqrt_warmup
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .evaluate import split_loss
from .plot import plot_losses
from .rundir import (
    BEST,
    CHECKPOINT,
    CURVE,
    LOG,
    RunDirError,
    RunLog,
    check_out_path,
    open_run_dir,
    warn,
)
from .state import ROLE_OF_NAME, load_model, read_meta, text_fingerprint
from .tasks import make_task, model_config

__all__ = ["BEST", "CHECKPOINT", "CURVE", "LOG", "NonFiniteLossError", "Trainer", "load_model", "model_config"]
RESUMABLE_CHANGES = {"max_iters", "eval_interval", "eval_iters", "early_stopping_patience", "device"}


class NonFiniteLossError(ValueError):
    """Training produced a NaN or infinite loss; the run stopped without saving that state."""


class Trainer:
    """Train the model ``config`` names (a GPT or a BERT), writing everything under ``out_dir``.

    ``Trainer(config, out_dir).run()`` returns a summary dict (final losses, step time). The
    constructor checks the text and the memory estimate, then locks ``out_dir`` (released when
    ``run`` returns or raises) and loads its checkpoint, if any; ``overwrite=True`` deletes a
    previous run's files first instead of resuming. ``config.exact_val`` (a GPT run only) follows
    the exact validation loss (see the module docstring).
    """

    def __init__(self, config, out_dir, progress=True, overwrite=False):
        self.config, self.out_dir, self.progress = config, Path(out_dir), progress
        self.device = check_device(config.device, "train")  # before any work: fail fast without a GPU
        check_out_path(self.out_dir)
        self.task = make_task(config)  # reads and checks the text (and the memory estimate)
        self.text = text_fingerprint(self.task.text)
        self.lock = open_run_dir(self.out_dir, overwrite)
        try:
            saved = self._saved_state()
            self.task.build(self.device, None if saved is None else saved[2])
            self.model, self.tokenizer, self.sampler = self.task.model, self.task.tokenizer, self.task.sampler
            if hasattr(self.task, "param_groups"):
                groups = self.task.param_groups(config.weight_decay)
            else:
                groups = param_groups_for_weight_decay(self.model.named_parameters(), config.weight_decay)
            self.lr_scales = [group.pop("lr_scale", 1.0) for group in groups]
            self.optimizer = AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2))
            self.step, self.best_val, self.stale_evals, self.last_eval = 0, math.inf, 0, None
            self.monitor_name = "val_loss_exact" if config.exact_val else getattr(self.task, "monitor_name", "val_loss")
            self.best_val_loss = math.inf  # the validation loss of the best weights (= best_val for a GPT)
            self.saved_step, self.plot_broken = None, False
            self.log = RunLog(self.out_dir / LOG)
            if saved is not None:
                self._restore(*saved)
                self.log.keep_until(self.step)
        except BaseException:
            self.lock.release()
            raise

    # --- checkpoints -----------------------------------------------------------------------
    def _saved_state(self):
        """(arrays, meta, tokenizer) of the run's checkpoint after checking it fits this config and text;
        None if none."""
        path = self.out_dir / CHECKPOINT
        if not path.exists():
            return None
        arrays, meta = load_checkpoint(path, role="checkpoint")
        run, _, tokenizer = read_meta(path, meta)
        saved = run.to_dict()
        changed = sorted(k for k, v in self.config.to_dict().items() if saved[k] != v and k not in RESUMABLE_CHANGES)
        if changed:
            details = ", ".join(f"{k}: {saved[k]!r} -> {getattr(self.config, k)!r}" for k in changed)
            raise CheckpointError(f"{path}: was made with another config ({details}); "
                                  f"use another --out directory or the same settings to resume")
        if meta["text"] != self.text:
            source = self.config.text_path or f"corpus {self.config.corpus!r}"
            old, new = meta["text"], self.text
            raise CheckpointError(f"{path}: the text {source} changed since this run started (sha256 "
                                  f"{old['sha256'][:12]} -> {new['sha256'][:12]}, {old['chars']:,} -> {new['chars']:,} "
                                  f"characters); restore it to resume, or start over with --overwrite or a new --out")
        if self.task.tokenizer is not None and tokenizer != self.task.tokenizer:
            raise CheckpointError(f"{path}: its tokenizer does not match its own text; the file is damaged")
        if meta["step"] > self.config.max_iters:
            raise CheckpointError(f"{path}: the run is at step {meta['step']}, beyond max_iters="
                                  f"{self.config.max_iters}; pass max_iters >= {meta['step']} to resume it")
        return arrays, meta, tokenizer

    def _restore(self, arrays, meta, _tokenizer):
        path = self.out_dir / CHECKPOINT
        weights = {k[len("model."):]: a for k, a in arrays.items() if k.startswith("model.")}
        optim = {k[len("optim."):]: a for k, a in arrays.items() if k.startswith("optim.")}
        try:
            self.model.load_state_dict(weights)
            self.optimizer.load_state_dict({"meta": meta["optimizer"], "arrays": optim})
            self.sampler.load_state_dict(meta["sampler"])
            self.task.rng.bit_generator.state = meta["model_rng"]
        except (KeyError, TypeError, ValueError) as error:
            problem = f"lacks {error}" if isinstance(error, KeyError) else str(error)
            raise CheckpointError(f"{path}: the saved state does not fit this run ({problem})") from None
        self.step, self.stale_evals, self.best_val_loss = meta["step"], meta["stale_evals"], meta["best_val_loss"]
        # files older than "best_monitor" kept the monitored value under best_val_loss
        self.best_val = meta.get("best_monitor", {}).get("value", meta["best_val_loss"])
        self.last_eval, self.saved_step = meta["last_eval"], meta["step"]

    def _meta(self):
        return {"run_config": self.config.to_dict(), "model_config": self.model.config.to_dict(),
                "tokenizer": self.tokenizer.to_dict(), "step": self.step, "best_val_loss": self.best_val_loss,
                "best_monitor": {"name": self.monitor_name, "value": self.best_val},
                "stale_evals": self.stale_evals, "text": self.text, "last_eval": self.last_eval,
                **getattr(self.task, "extra_meta", {})}

    def save(self, val_loss):
        """Write the best weights when ``val_loss`` improved, then the resumable state.

        Best first: if the second write fails, a resume redoes the steps and writes best again.
        A failed write (a full disk) stops the run with a one-line RunDirError."""
        weights = {f"model.{k}": a for k, a in self.model.state_dict().items()}
        optim = {f"optim.{k}": a for k, a in self.optimizer.state_arrays().items()}
        resumable = {**self._meta(), "optimizer": self.optimizer.state_meta(), "sampler": self.sampler.state_dict(),
                     "model_rng": self.task.rng.bit_generator.state}
        best = {**self._meta(), "val_loss": self.last_eval["val_loss"], "monitor": {"name": self.monitor_name,
                                                                                   "value": val_loss}}
        files = [(BEST, weights, best)] if val_loss <= self.best_val else []
        for name, arrays, meta in [*files, (CHECKPOINT, {**weights, **optim}, resumable)]:
            try:
                save_checkpoint(self.out_dir / name, arrays, meta, role=ROLE_OF_NAME[name])
            except OSError as error:
                kept = (f"{CHECKPOINT} of step {self.saved_step} is intact" if self.saved_step is not None
                        else "no checkpoint was written yet")
                raise RunDirError(f"{self.out_dir / name}: could not write it ({error.strerror or error}); {kept}: "
                                  f"free some space (or fix the directory) and rerun the same command") from None
        self.saved_step = self.step

    # --- the loop --------------------------------------------------------------------------
    def lr_at(self, step):
        c = self.config
        if c.lr_schedule == "linear":
            return linear_decay(step, c.lr, c.lr_decay_iters, c.min_lr, c.warmup_iters)
        if c.lr_schedule == "inverse_sqrt":  # the paper's factor chosen so that the peak (at warmup_iters) is c.lr
            return inverse_sqrt_warmup(step, c.lr * math.sqrt(c.n_embd * c.warmup_iters), c.n_embd, c.warmup_iters)
        return warmup_cosine(step, c.lr, c.warmup_iters, c.lr_decay_iters, c.min_lr)

    def _diverged(self, what):
        kept = f"{CHECKPOINT} of step {self.saved_step}" if self.saved_step is not None else "no checkpoint"
        return NonFiniteLossError(f"{what} (lr {self.lr_at(self.step):.3g}); stopped without saving it, so "
                                  f"{self.out_dir}/{kept} is the last good state; lower lr (or raise warmup_iters, "
                                  f"set grad_clip) and start over with --overwrite or a new --out")

    def train_step(self):
        """One optimisation step on a fresh batch; returns the batch loss (a float).

        A non-finite loss raises NonFiniteLossError before the update, leaving the model as it was."""
        lr = self.lr_at(self.step)
        for group, scale in zip(self.optimizer.param_groups, self.lr_scales):
            group["lr"] = lr * scale
        loss = self.task.train_loss()  # a fresh batch, copied to the device, through the model
        value = float(loss.item())
        if not math.isfinite(value):
            raise self._diverged(f"the training loss of step {self.step + 1} is {value}")
        self.optimizer.zero_grad()
        loss.backward()
        if self.config.grad_clip > 0:
            clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.step += 1
        return value

    def evaluate(self):
        """The task's metrics at this step: {"train_loss", "val_loss", ...} (see tasks.py); with
        ``exact_val`` also "val_loss_exact", which is then the "monitor" best and early stopping follow."""
        metrics = self.task.evaluate(self.step)
        if self.config.exact_val:
            exact = split_loss(self.model, self.task.val_ids, self.config.block_size, self.config.batch_size)
            metrics = {**metrics, "val_loss_exact": exact, "monitor": exact}
        return metrics

    def _describe(self, record):
        exact = f"; exact val loss {record['val_loss_exact']:.4f}" if "val_loss_exact" in record else ""
        return self.task.describe(record) + exact

    def _checkpoint_and_log(self, started):
        metrics = self.evaluate()
        if not all(math.isfinite(metrics[key]) for key in ("val_loss", "train_loss", "monitor") if key in metrics):
            raise self._diverged(f"the estimated loss at step {self.step} is train {metrics['train_loss']}, "
                                 f"val {metrics['val_loss']}")
        val = metrics.get("monitor", metrics["val_loss"])
        improved = val < self.best_val
        if val <= self.best_val:  # as save(): a tie rewrites best.safetensors
            self.best_val_loss = metrics["val_loss"]
        self.stale_evals = 0 if improved else self.stale_evals + 1
        self.best_val = min(self.best_val, val)
        record = {"kind": "eval", "step": self.step, **metrics, "elapsed_s": time.perf_counter() - started}
        self.log.append(record)
        self.last_eval = record
        self.save(val)
        self._plot()
        return record

    def _plot(self):
        if self.plot_broken or self.log.broken:
            return
        try:
            plot_losses(self.out_dir / LOG, self.out_dir / CURVE, ylabel=self.task.loss_label)
        except OSError as error:
            self.plot_broken = True
            warn(f"{self.out_dir / CURVE}: cannot be drawn ({error.strerror or error}); training goes on without it")

    def _complete(self):
        """Why the loaded run needs no more steps ("" if it does)."""
        c = self.config
        if self.step >= c.max_iters:
            return f"step {self.step} of max_iters={c.max_iters}; raise max_iters to train on"
        if c.early_stopping_patience and self.stale_evals >= c.early_stopping_patience:
            return (f"stopped early at step {self.step}, no val improvement in {self.stale_evals} evaluations; "
                    f"raise early_stopping_patience to train on")
        return ""

    def run(self):
        """Train until ``max_iters`` (or early stopping); returns a summary dict. Releases the lock."""
        if not self.lock.held:
            raise RuntimeError("Trainer.run: this trainer has run (and released its directory); make a new "
                               "Trainer to resume")
        try:
            return self._run()
        finally:
            self.lock.release()

    def _run(self):
        c = self.config
        keep_freed_memory()  # reuse freed arrays instead of page-faulting new ones each step
        started, step_times, losses = time.perf_counter(), [], []
        done = self._complete()
        if done:
            print(f"note: {self.out_dir} holds a run that is already complete ({done}); nothing to do "
                  f"(--overwrite starts over)", file=sys.stderr)
            return self._summary(losses, step_times, started, already_complete=True)
        last_eval = None
        bar = tqdm(total=c.max_iters, initial=self.step, disable=not self.progress, unit="step",
                   dynamic_ncols=True)
        while self.step < c.max_iters:
            if self.step % c.eval_interval == 0 and self.step != self.saved_step:  # a resumed step is saved
                last_eval = self._checkpoint_and_log(started)
                bar.write(self._describe(last_eval))
                if self._complete():
                    bar.write(f"early stopping: no val improvement in {self.stale_evals} evaluations")
                    break
            tick = time.perf_counter()
            loss = self.train_step()
            step_times.append(time.perf_counter() - tick)
            losses.append(loss)
            self.log.append({"kind": "train", "step": self.step, "loss": loss, "lr": self.lr_at(self.step - 1)})
            tokens_per_s = self.task.tokens_per_batch / step_times[-1]
            bar.set_postfix(loss=f"{loss:.4f}", tok_s=f"{tokens_per_s:,.0f}")
            bar.update(1)
        if self.step == c.max_iters and (last_eval is None or last_eval["step"] != self.step):
            bar.write(self._describe(self._checkpoint_and_log(started)))
        bar.close()
        return self._summary(losses, step_times, started, already_complete=False)

    def _summary(self, losses, step_times, started, already_complete):
        return {"steps": self.step, "train_losses": losses, "final_eval": self.last_eval,
                "median_step_ms": 1000 * float(np.median(step_times)) if step_times else None,
                "wall_time_s": time.perf_counter() - started, "out_dir": str(self.out_dir),
                "already_complete": already_complete}
