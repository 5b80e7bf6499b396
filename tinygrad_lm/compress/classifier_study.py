"""The measured classifier study: does a distilled 2-layer MiniLM beat the same student trained without it?

    python -m tinygrad_lm.compress.classifier_study --teacher DIR [--student-layers 2] [--steps 120]
                 [--lr 1e-4] [--lr-schedule constant|linear] [--augment K] [--seeds 0 1 2]
                 [--cache FILE.npz] [--out benchmarks/results/compression_classifier.json]

The teacher is a ``tinygrad-lm finetune`` run on Pang & Lee. Every student has the same shape
(the teacher's config with ``--student-layers`` blocks, from its layers i * L // N), the same
``--steps`` AdamW steps of 32 texts at ``--lr`` on the same ``--lr-schedule``, and the same
selection rule: the validation accuracy every ``CHECK_EVERY`` steps and at the end, the best
check's weights kept. Then:

    baseline       labelled training texts, cross-entropy only (alpha = 0), one run per seed
    distilled      the labelled texts plus the transfer set (``transfer.py``: VADER's movie
                   snippets with every Pang & Lee text kept out) and, with ``--augment K``, up to K
                   variants of each of those texts (``transfer.augmented``: crops and word dropout),
                   which only the teacher labels;
                   alpha, T and the sentence-vector cosine weight chosen among ``CANDIDATES`` on
                   the VALIDATION accuracy of seed 0, then run with the other seeds

The teacher's logits and sentence vectors (training and transfer texts) are computed once and
cached in ``--cache``. Measured on the 400 test texts: accuracy (one text = 0.25 points),
parameters, weight bytes, and the seconds to classify them (median of ``REPEATS``,
``os.getloadavg()`` beside them). The speedup is measured once, side by side: teacher and a
student classify the test split in turn, ``REPEATS`` rounds, the ratio of the medians. Last
(after every student), the teacher with int8 per-channel weights (its accuracy change) and
pruned by magnitude without fine-tuning. The JSON is rewritten after every run, so a run cut
short keeps what it finished.

Left out: a grid over the learning rate, the schedule, the step count and the augmentation
(fixed for every student by the options; benchmarks/results/compression_classifier_recipe.json
holds the validation runs that chose them), and the sentence-vector cosine term in the grid
(``--hidden-weight`` adds it to every distilled run; the shared 2-core machine had time for two
candidates).
"""

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np

from ..models import BertForSequenceClassification
from ..train import RunConfig, load_model
from ..train.classifier_task import (
    label_ids_of_model,
    load_splits,
    predict_logits,
    predict_outputs,
)
from ..train.rundir import weights_file
from .distill import UNLABELLED, DistillError
from .distill_classifier import LR_SCHEDULES, classifier_student, distill_classifier
from .prune import Masks
from .quantize import quantize_model, require_float, weight_bytes
from .study import interleaved_seconds
from .transfer import augmented, pang_lee_transfer_set

REPEATS = 3
CHECK_EVERY = 25
SPARSITIES = (0.3, 0.5, 0.7)
CANDIDATES = ({"alpha": 0.5, "temperature": 2.0}, {"alpha": 0.9, "temperature": 4.0})


def measure_test_split(name, model, tokenizer, test, labels, max_length, repeats=REPEATS):
    """{model, parameters, weight_bytes, test_accuracy, test_seconds} over the test split (median time)."""
    times, logits = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        logits = predict_logits(model, tokenizer, test.texts, max_length)
        times.append(time.perf_counter() - start)
    return {"model": name, "parameters": model.num_parameters(), "weight_bytes": weight_bytes(model),
            "test_accuracy": float((logits.argmax(axis=1) == labels).mean()), "test_seconds": float(np.median(times))}


def interleaved_speed(teacher, student, tokenizer, texts, max_length, repeats=REPEATS):
    """Median seconds for teacher and student to classify ``texts``, timed in turns (``study.interleaved_seconds``)
    so that both see the same machine load: {teacher_seconds, student_seconds, speedup}."""
    teacher_s, student_s = interleaved_seconds([lambda model=model: predict_logits(model, tokenizer, texts, max_length)
                                                for model in (teacher, student)], repeats)
    return {"teacher_seconds": teacher_s, "student_seconds": student_s, "speedup": teacher_s / student_s,
            "repeats": repeats, "load_average": os.getloadavg()}


def cached_teacher_outputs(teacher, tokenizer, texts, max_length, cache):
    """``predict_outputs`` (logits, sentence vectors) for ``texts``, read from ``cache`` (.npz) when it holds exactly these texts."""
    if cache and Path(cache).exists():
        stored = np.load(cache)
        if stored["texts"].tolist() == list(texts):
            return stored["logits"], stored["sentences"]
    logits, sentences = predict_outputs(teacher, tokenizer, texts, max_length)
    if cache:
        np.savez(cache, texts=np.array(texts), logits=logits, sentences=sentences)
    return logits, sentences


def _summary(runs, chosen):
    """Per kind: the seeds, their test accuracies and the mean (distilled: the chosen settings' runs only)."""
    summary = {}
    for kind in ("baseline", "distilled"):
        rows = [r for r in runs if r["kind"] == kind and (kind == "baseline" or
                                                          (chosen and {k: r[k] for k in chosen} == chosen))]
        if rows:
            accuracies = [r["test_accuracy"] for r in rows]
            summary[kind] = {"seeds": [r["seed"] for r in rows], "test_accuracy": accuracies,
                             "mean_test_accuracy": float(np.mean(accuracies))}
    return summary


def _teacher_extras(args, tokenizer, test, test_labels, block):
    """The teacher with int8 per-channel weights (one timed pass) and pruned by magnitude without fine-tuning."""
    int8 = quantize_model(load_model(weights_file(args.teacher, "fine-tune first"))[0], "int8-channel")
    row = measure_test_split("teacher, int8-channel weights", int8, tokenizer, test, test_labels, block, 1)
    sparsity = []
    for s in SPARSITIES:
        pruned = load_model(weights_file(args.teacher, "fine-tune first"))[0]
        Masks.magnitude(pruned, s).apply()
        logits = predict_logits(pruned, tokenizer, test.texts, block)
        sparsity.append({"sparsity": s, "test_accuracy": float((logits.argmax(axis=1) == test_labels).mean())})
    return row, sparsity


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", required=True, metavar="DIR")
    parser.add_argument("--student-layers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="constant")
    parser.add_argument("--augment", type=int, default=0, metavar="K", help="variants of each distillation text")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--hidden-weight", type=float, default=0.0, help="weight of the sentence-vector cosine term")
    parser.add_argument("--cache", type=Path, default=None, help="an .npz for the teacher's outputs")
    parser.add_argument("--limit", type=int, default=None, help="use only N texts of every split (a smoke test)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/compression_classifier.json"))
    args = parser.parse_args(argv)
    teacher, tokenizer, meta = load_model(weights_file(args.teacher, "fine-tune first with tinygrad-lm finetune"))
    if not isinstance(teacher, BertForSequenceClassification):
        raise DistillError(f"{args.teacher}: not a classifier run")
    require_float(teacher, "distill")
    run = RunConfig.from_dict(meta["run_config"])
    block, splits = run.block_size, load_splits(run)
    transfer = pang_lee_transfer_set(splits)[:args.limit]
    splits = {k: dataclasses.replace(v, texts=v.texts[:args.limit], labels=v.labels[:args.limit])
              for k, v in splits.items()}
    train, val, test = splits["train"], splits["val"], splits["test"]
    labels = {k: label_ids_of_model(v, meta["label_names"]) for k, v in splits.items()}
    load_before = os.getloadavg()
    texts = list(train.texts) + transfer
    texts += augmented(texts, args.augment)
    all_labels = np.concatenate([labels["train"], np.full(len(texts) - len(train.texts), UNLABELLED)])  # (N,)
    start = time.perf_counter()
    logits, sentences = cached_teacher_outputs(teacher, tokenizer, texts, block, args.cache)
    result = {"teacher": str(args.teacher), "steps": args.steps, "batch_size": 32, "lr": args.lr,
              "lr_schedule": args.lr_schedule, "check_every": CHECK_EVERY, "train_texts": len(train.texts),
              "transfer_texts": len(transfer), "augmented_texts": len(texts) - len(train.texts) - len(transfer),
              "val_texts": len(val.texts), "test_texts": len(test.texts), "teacher_outputs_seconds":
              time.perf_counter() - start, "load_average_before": load_before, "runs": []}
    result["rows"] = [measure_test_split(f"teacher ({teacher.config.n_layers} layers)", teacher, tokenizer, test,
                                         labels["test"], block)]
    result["speed"] = interleaved_speed(teacher, classifier_student(teacher, args.student_layers), tokenizer,
                                        test.texts, block)  # every student has this shape: one measurement

    def save():
        result["summary"] = _summary(result["runs"], result.get("chosen"))
        result["load_average_after"] = os.getloadavg()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")

    def train_one(kind, seed, alpha=0.0, temperature=1.0, hidden_weight=0.0):
        student = classifier_student(teacher, args.student_layers)
        n = len(texts) if kind == "distilled" else len(train.texts)  # the baseline cannot use unlabelled text
        started = time.perf_counter()
        training = distill_classifier(student, tokenizer, texts[:n], all_labels[:n], logits[:n], args.steps,
                                      alpha=alpha, temperature=temperature, max_length=block, seed=seed,
                                      teacher_sentences=sentences[:n], hidden_weight=hidden_weight,
                                      val=(val.texts, labels["val"]), check_every=CHECK_EVERY, lr=args.lr,
                                      lr_schedule=args.lr_schedule)
        row = measure_test_split(f"student {args.student_layers} layers, {kind}", student, tokenizer, test, labels["test"], block)
        teacher_row = result["rows"][0]
        row.update(kind=kind, seed=seed, alpha=alpha, temperature=temperature, hidden_weight=hidden_weight,
                   best_step=training.best_step, val_accuracy=max(c["val_accuracy"] for c in training.checks),
                   checks=training.checks, train_seconds=time.perf_counter() - started,
                   accuracy_kept=row["test_accuracy"] / teacher_row["test_accuracy"])
        result["runs"].append(row)
        save()
        return row

    seed0, *others = args.seeds
    grid = [{**c, "hidden_weight": args.hidden_weight} for c in CANDIDATES]
    candidates = [train_one("distilled", seed0, **c) for c in grid]
    chosen = grid[int(np.argmax([row["val_accuracy"] for row in candidates]))]  # first of the best on val
    result["chosen"] = chosen
    train_one("baseline", seed0)
    for seed in others:
        train_one("baseline", seed)
        train_one("distilled", seed, **chosen)
    int8_row, result["sparsity_no_finetune"] = _teacher_extras(args, tokenizer, test, labels["test"], block)
    teacher_row = result["rows"][0]  # the int8 weights are arrays, not Parameters: the teacher's count
    result["rows"].append({**int8_row, "parameters": teacher_row["parameters"],
                           "accuracy_change": int8_row["test_accuracy"] - teacher_row["test_accuracy"]})
    save()
    print(json.dumps(result["summary"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
