"""The measured study of a trained GPT run: what each compression costs in quality and gains in size and speed.

    python -m tinygrad_lm.compress.study --checkpoint DIR [--out benchmarks/results/compression_shakespeare.json]
                                         [--small]

For the run in DIR (the ``shakespeare-char`` preset's, trained with ``tinygrad-lm train``):

    quantization   each scheme: best.safetensors bytes, validation loss over EVERY validation
                   window (the change against float32 is the target: <= 0.01 nats for int8 per
                   channel), cached generation tokens/s
    sparsity       magnitude pruning (global) at 10%, 30%, ..., 90%: validation loss with no fine-tuning
                   and after FINETUNE_STEPS steps with the masks kept (target at 50%: <= 0.03 nats),
                   and the dense model after the same steps (the fine-tune's own effect)
    structured     half the heads, half the MLP neurons, both: parameters, loss before and after
                   a fine-tune, forward time of one (12, 64) batch
    distillation   a student of half the depth, four ways: teacher's every-other layers or random
                   init, each trained with distillation (alpha 0.5, T 2) or without (alpha 0):
                   validation loss, parameters, generation tokens/s

Timings are medians of ``REPEATS`` calls on this machine as it is, the models of one table timed
in turns (``interleaved_seconds``); ``os.getloadavg()`` is recorded beside them. Validation losses other than the quantization table's use the same
``VAL_WINDOWS`` evenly spaced windows for every model. Writes one JSON, rewritten after each part (and prints it);
``--small`` shrinks every setting for a smoke test. The chapter (tutorials/16_compression.py)
reads the committed JSON.

Left out: the classifier's study (``classifier_study.py`` measures the MiniLM case).
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from ..engine import no_grad
from ..train import load_model, split_loss
from ..train.rundir import BEST, weights_file
from .distill import distill_gpt, gpt_student
from .files import quantize_run
from .loop import calibration_batch, gpt_run_data, train_steps, val_loss
from .prune import Masks, prune_heads, prune_neurons, sparsity_of
from .quantize import SCHEMES

FINETUNE_STEPS = 100
DISTILL_STEPS = 300
REPEATS = 9
NEW_TOKENS = 48
SPARSITIES = (0.1, 0.3, 0.5, 0.7, 0.9)


def interleaved_seconds(runs, repeats):
    """Median seconds of each zero-argument callable in ``runs``, timed in turns: round r calls them
    all once, starting at a rotating position, so a load that changes during the study (a shared
    machine) falls on every contender alike instead of on whichever was timed last."""
    for run in runs:
        run()  # warm-up: Numba kernels load, caches fill
    times = [[] for _ in runs]
    for r in range(repeats):
        for i in [(r + k) % len(runs) for k in range(len(runs))]:
            start = time.perf_counter()
            runs[i]()
            times[i].append(time.perf_counter() - start)
    return [float(np.median(t)) for t in times]


def generation_run(model, vocab_size):
    """Greedy cached generation of NEW_TOKENS after a 16-token prompt, as a callable to time."""
    prompt = np.random.default_rng(0).integers(0, vocab_size, (1, 16))  # (1, 16)
    return lambda: model.generate(prompt, NEW_TOKENS, temperature=0)


def forward_run(model, train_ids):
    """One no-grad forward of a (12, T) batch, as a callable to time."""
    x = calibration_batch(train_ids, model.config.block_size)[0]  # (12, T)

    def run():
        with no_grad():
            model(x)

    return run


def add_tokens_per_s(rows, models, vocab_size, repeats):
    """Write each model's cached-generation tokens/s into its row, all timed in turns."""
    seconds = interleaved_seconds([generation_run(m, vocab_size) for m in models], repeats)
    for row, s in zip(rows, seconds):
        row["tokens_per_s"] = NEW_TOKENS / s


def quantization_table(run, meta, val_ids, repeats, full_val):
    """Rows {scheme, bytes, ratio, val_loss, delta, tokens_per_s} for float32 and each scheme."""
    source = weights_file(run, "train first")
    model = load_model(source)[0].eval()
    windows = None if full_val else 50
    block = model.config.block_size
    base = split_loss(model, val_ids, block, max_windows=windows)
    V = model.config.vocab_size
    rows = [{"scheme": "float32", "bytes": source.stat().st_size, "ratio": 1.0, "val_loss": base, "delta": 0.0}]
    models = [model]
    with tempfile.TemporaryDirectory() as tmp:
        for scheme in SCHEMES:
            report = quantize_run(run, Path(tmp) / scheme, scheme)
            quantized = load_model(Path(tmp) / scheme / BEST)[0].eval()
            loss = split_loss(quantized, val_ids, block, max_windows=windows)
            rows.append({"scheme": scheme, "bytes": report["out_bytes"], "ratio": report["ratio"], "val_loss": loss,
                         "delta": loss - base})
            models.append(quantized)
    add_tokens_per_s(rows, models, V, repeats)
    return rows


def sparsity_curve(run, train_ids, val_ids, sparsities, steps, windows):
    """Rows {sparsity, val_loss_pruned, val_loss_finetuned} for global magnitude pruning, the dense loss, and
    the dense model given the same fine-tuning steps (what the fine-tune alone does to the loss)."""
    dense_model = load_model(weights_file(run, "train first"))[0]
    dense = val_loss(dense_model, val_ids, windows)
    train_steps(dense_model, train_ids, steps, lr=3e-4)
    dense_finetuned = val_loss(dense_model, val_ids, windows)
    rows = []
    for s in sparsities:
        model = load_model(weights_file(run, "train first"))[0]
        masks = Masks.magnitude(model, s)
        masks.apply()
        pruned = val_loss(model, val_ids, windows)
        train_steps(model, train_ids, steps, lr=3e-4, after_step=masks.apply)
        rows.append({"sparsity": s, "measured_sparsity": sparsity_of(model), "val_loss_pruned": pruned,
                     "val_loss_finetuned": val_loss(model, val_ids, windows)})
    return {"dense_val_loss": dense, "dense_val_loss_finetuned": dense_finetuned, "finetune_steps": steps,
            "rows": rows}


def structured_table(run, train_ids, val_ids, steps, windows, repeats):
    """Rows for the dense model, half the heads, half the neurons, and both."""
    rows, runs = [], []
    for name, heads, neurons in (("dense", None, None), ("half the heads", "half", None),
                                 ("half the MLP neurons", None, "half"), ("both", "half", "half")):
        model = load_model(weights_file(run, "train first"))[0]
        if heads:
            x, y = calibration_batch(train_ids, model.config.block_size)  # (12, T) each
            prune_heads(model, model.config.n_head // 2, x, y)
        if neurons:
            prune_neurons(model, model.blocks[0].mlp.fc.out_features // 2)
        before = val_loss(model, val_ids, windows)
        if heads or neurons:
            train_steps(model, train_ids, steps, lr=3e-4)
        rows.append({"model": name, "parameters": model.num_parameters(), "val_loss_pruned": before,
                     "val_loss_finetuned": val_loss(model, val_ids, windows)})
        runs.append(forward_run(model.eval(), train_ids))
    for row, seconds in zip(rows, interleaved_seconds(runs, repeats)):
        row["forward_ms"] = 1e3 * seconds
    return rows


def distillation_table(run, train_ids, val_ids, steps, windows, repeats):
    """The teacher and four half-depth students (init x loss), with loss, parameters and speed."""
    teacher = load_model(weights_file(run, "train first"))[0].eval()
    V = teacher.config.vocab_size
    rows = [{"model": f"teacher ({teacher.config.n_layer} layers)", "parameters": teacher.num_parameters(),
             "val_loss": val_loss(teacher, val_ids, windows)}]
    models = [teacher]
    half = max(1, teacher.config.n_layer // 2)
    for init in ("every-other", "scratch"):
        for alpha, how in ((0.5, "distilled"), (0.0, "no distillation")):
            student = gpt_student(teacher, half, init)
            losses = distill_gpt(teacher, student, train_ids, steps, lr=1e-3, alpha=alpha, temperature=2.0)
            rows.append({"model": f"student {half} layers, {init} init, {how}", "parameters": student.num_parameters(),
                         "val_loss": val_loss(student.eval(), val_ids, windows), "final_train_loss": float(losses[-10:].mean())})
            models.append(student)
    add_tokens_per_s(rows, models, V, repeats)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, metavar="DIR")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/compression_shakespeare.json"))
    parser.add_argument("--small", action="store_true", help="tiny settings: checks the study runs")
    parser.add_argument("--parts", default="quantization,sparsity,structured,distillation")
    args = parser.parse_args(argv)
    _, tokenizer, meta = load_model(weights_file(args.checkpoint, "train first"))
    train_ids, val_ids = gpt_run_data(meta, tokenizer)
    small = args.small
    steps, distill_steps = (3, 3) if small else (FINETUNE_STEPS, DISTILL_STEPS)
    windows, repeats = (10, 2) if small else (200, REPEATS)
    parts = args.parts.split(",")
    result = {"checkpoint": str(weights_file(args.checkpoint, "train first")), "step": meta["step"], "small": small,
              "load_average_before": os.getloadavg(), "cpu_count": os.cpu_count(), "val_windows": windows}
    started = time.time()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    parts_run = {
        "quantization": lambda: quantization_table(args.checkpoint, meta, val_ids, repeats, full_val=not small),
        "sparsity": lambda: sparsity_curve(args.checkpoint, train_ids, val_ids, (0.5,) if small else SPARSITIES,
                                           steps, windows),
        "structured": lambda: structured_table(args.checkpoint, train_ids, val_ids, steps, windows, repeats),
        "distillation": lambda: distillation_table(args.checkpoint, train_ids, val_ids, distill_steps, windows, repeats),
    }
    for part in parts:
        result[part] = parts_run[part]()
        result["load_average_after"], result["wall_s"] = os.getloadavg(), time.time() - started
        args.out.write_text(json.dumps(result, indent=1) + "\n")  # after every part: a long run keeps what it measured
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
