"""Distilling a fine-tuned BERT classifier (MiniLM on Pang & Lee) into a shallower student.

    python -m tinygrad_lm.compress.distill_classifier --teacher DIR [--student-layers 2] [--steps 300]
                                                     [--out benchmarks/results/compression_classifier.json]

The teacher is a ``tinygrad-lm finetune`` run. Its logits on every training text are computed
once (``predict_logits``: the teacher is fixed, so recomputing them each step would only cost
time); each step then runs the student alone on a batch and takes ``distill.distillation_loss``
of its logits against the stored ones (alpha 0.5, T 2), AdamW (lr 1e-4, weight decay 0.01,
clipping at 1) with the student's dropout on. The student is the teacher's config with
``n_layers`` blocks, initialised from the teacher's layers i * L // N (DistilBERT) with its
embeddings and head, or the same init trained with alpha = 0 (the baseline without
distillation). Measured on the test split: accuracy, parameters, and the seconds to classify
it (median of ``REPEATS``, ``os.getloadavg()`` beside them); the 2.5x speed target is the
teacher's time over the student's. Also measured: the teacher with int8 per-channel weights
(accuracy change, target <= 0.5 points) and pruned by magnitude to 30/50/70% without
fine-tuning (``sparsity_no_finetune``).

Left out: a student narrower than its teacher, the hidden-state term (the stored logits are
all this loop keeps of the teacher), data augmentation.
"""

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np

from ..models import BertForSequenceClassification
from ..optim import AdamW, clip_grad_norm_, param_groups_for_weight_decay
from ..train import RunConfig, load_model
from ..train.classifier_task import (
    EpochSampler,
    encode,
    label_ids_of_model,
    load_splits,
    predict_logits,
)
from ..train.rundir import weights_file
from .distill import DistillError, copy_from_teacher, distillation_loss, picked_layers
from .prune import Masks
from .quantize import quantize_model, require_float, weight_bytes

REPEATS = 3
SPARSITIES = (0.3, 0.5, 0.7)


def classifier_student(teacher, n_layers, init="every-other"):
    """A BertForSequenceClassification of ``n_layers`` blocks shaped like ``teacher``."""
    picked = picked_layers(teacher.config.n_layers, n_layers)
    student = BertForSequenceClassification(dataclasses.replace(teacher.config, n_layers=n_layers), teacher.n_classes,
                                            teacher.pooling)
    if init == "every-other":
        return copy_from_teacher(student, teacher, "bert.blocks.", picked)
    if init != "scratch":
        raise DistillError(f"init must be 'every-other' or 'scratch', got {init!r}")
    return student


def distill_classifier(student, tokenizer, texts, labels, teacher_logits, steps, lr=1e-4, alpha=0.5, temperature=2.0,
                       batch_size=32, max_length=64, seed=0):
    """``steps`` AdamW steps of ``student`` on batches of ``texts`` against the stored ``teacher_logits`` (N, C)."""
    if teacher_logits.shape[1] != student.n_classes:
        raise DistillError(f"the teacher has {teacher_logits.shape[1]} classes and the student {student.n_classes}")
    sampler = EpochSampler(len(texts), batch_size, seed)
    optimizer = AdamW(param_groups_for_weight_decay(student.named_parameters(), 0.01), lr=lr)
    student.train()
    losses = []
    for _ in range(steps):
        rows = sampler.next_rows()
        inputs = encode(tokenizer, [texts[i] for i in rows], max_length, student.device)
        loss = distillation_loss(student(*inputs)[0], teacher_logits[rows], labels[rows], temperature, alpha)
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(student.parameters(), 1.0)
        optimizer.step()
        losses.append(float(loss.item()))
    student.eval()
    return np.array(losses)


def _test_row(name, model, tokenizer, test, labels, max_length):
    """{model, parameters, test_accuracy, test_seconds}: accuracy and median time over the test split."""
    times, logits = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        logits = predict_logits(model, tokenizer, test.texts, max_length)
        times.append(time.perf_counter() - start)
    return {"model": name, "parameters": model.num_parameters(), "weight_bytes": weight_bytes(model),
            "test_accuracy": float((logits.argmax(axis=1) == labels).mean()), "test_seconds": float(np.median(times))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", required=True, metavar="DIR")
    parser.add_argument("--student-layers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--train-texts", type=int, default=None, help="use only the first N training texts")
    parser.add_argument("--test-texts", type=int, default=None, help="score only the first N test texts (a smoke test)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/compression_classifier.json"))
    args = parser.parse_args(argv)
    teacher, tokenizer, meta = load_model(weights_file(args.teacher, "fine-tune first with tinygrad-lm finetune"))
    if not isinstance(teacher, BertForSequenceClassification):
        raise DistillError(f"{args.teacher}: not a classifier run")
    require_float(teacher, "distill")
    run = RunConfig.from_dict(meta["run_config"])
    splits = load_splits(run)
    train, test = splits["train"], splits["test"]
    if args.test_texts:
        test = dataclasses.replace(test, texts=test.texts[:args.test_texts], labels=test.labels[:args.test_texts])
    n = args.train_texts or len(train.texts)
    texts, train_labels = train.texts[:n], label_ids_of_model(train, meta["label_names"])[:n]
    test_labels = label_ids_of_model(test, meta["label_names"])
    load_before = os.getloadavg()
    teacher_logits = predict_logits(teacher, tokenizer, texts, run.block_size)  # (N, C), once
    rows = [_test_row(f"teacher ({teacher.config.n_layers} layers)", teacher, tokenizer, test, test_labels,
                      run.block_size)]
    for init, alpha, how in (("every-other", 0.5, "distilled"), ("every-other", 0.0, "no distillation")):
        student = classifier_student(teacher, args.student_layers, init)
        losses = distill_classifier(student, tokenizer, texts, train_labels, teacher_logits, args.steps, alpha=alpha,
                                    max_length=run.block_size)
        row = _test_row(f"student {args.student_layers} layers, {init} init, {how}", student, tokenizer, test,
                        test_labels, run.block_size)
        rows.append({**row, "final_train_loss": float(losses[-10:].mean())})
    int8 = quantize_model(load_model(weights_file(args.teacher, "fine-tune first"))[0], "int8-channel")
    rows.append({**_test_row("teacher, int8-channel weights", int8, tokenizer, test, test_labels, run.block_size),
                 "parameters": teacher.num_parameters()})  # its int8 weights are arrays, not Parameters
    for row in rows[1:]:
        row["accuracy_kept"] = row["test_accuracy"] / rows[0]["test_accuracy"]
        row["speedup"] = rows[0]["test_seconds"] / row["test_seconds"]
    sparsity = []
    for s in SPARSITIES:  # the teacher pruned by magnitude, no fine-tuning
        pruned = load_model(weights_file(args.teacher, "fine-tune first"))[0]
        Masks.magnitude(pruned, s).apply()
        logits = predict_logits(pruned, tokenizer, test.texts, run.block_size)
        sparsity.append({"sparsity": s, "test_accuracy": float((logits.argmax(axis=1) == test_labels).mean())})
    result = {"teacher": args.teacher, "sparsity_no_finetune": sparsity, "steps": args.steps, "train_texts": n, "test_texts": len(test.texts),
              "load_average_before": load_before, "load_average_after": os.getloadavg(), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
