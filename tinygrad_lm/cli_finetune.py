"""The fine-tuning subcommands of ``tinygrad-lm``: ``finetune`` a pretrained encoder, ``classify`` with it.

    tinygrad-lm finetune --model all-MiniLM-L6-v2 --dataset pang-lee [--freeze-layers K]
                         [--data FILE] [--out DIR] [key=value ...]
        fine-tunes the encoder with a classification head (``train.classifier_task``, preset
        ``finetune``) through the Trainer: progress bar, log.jsonl, loss_curve.png, atomic
        checkpoints, exact resume (rerun the same command), early stopping on validation
        accuracy. ``--data FILE`` (CSV, TSV or JSONL with ``text`` and ``label``) replaces the
        dataset, split 80/10/10 per class with the run's seed. The run length follows the
        training split: 3 epochs, 10% warm-up, two evaluations per epoch, unless key=value sets
        max_iters, lr_decay_iters, warmup_iters or eval_interval. At the end the best weights
        are scored on the test split: a classification report on stdout, the numbers (and the
        time per epoch) in ``DIR/test_metrics.json``.
    tinygrad-lm classify --checkpoint DIR [--json] TEXT...
        the label of each TEXT and its probability, from the run directory alone (its
        best.safetensors holds the encoder's config, the tokenizer and the label names).
        ``--json`` prints one JSON array with one ``{"label": name, "probability": p}`` per text.

Errors (an unknown dataset, a bad data file, ``--freeze-layers`` beyond the encoder's depth, a
checkpoint of another kind) end in ``cli.main`` as one line and exit 2. Left out: batching texts
from a file, top-k labels, calibration.
"""

import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np

from tinygrad_lm.metrics import classification_report
from tinygrad_lm.train import (
    Trainer,
    apply_overrides,
    load_model,
    preset,
)
from tinygrad_lm.train.classifier_task import (
    data_text,
    load_splits,
    predict_logits,
    split_metrics,
)
from tinygrad_lm.train.config import RunConfig
from tinygrad_lm.train.rundir import BEST, weights_file
from tinygrad_lm.train.state import text_fingerprint

DEFAULT_MODEL = "all-MiniLM-L6-v2"
EPOCHS = 3
EVALS_PER_EPOCH = 2
WARMUP_FRACTION = 0.1
RUN_LENGTH_KEYS = ("max_iters", "lr_decay_iters", "warmup_iters", "eval_interval")


class FinetuneError(ValueError):
    """A fine-tuning request that cannot run (data too small for the batch, a checkpoint of another kind)."""


def add_finetune_parser(subparsers) -> None:
    parser = subparsers.add_parser("finetune", help="fine-tune a pretrained encoder to classify texts",
                                   description="Fine-tune a pretrained BERT encoder with a classification head "
                                   "(mean pooling, dropout, linear), AdamW with warm-up and linear decay; resumes if "
                                   "--out holds a checkpoint. key=value sets any RunConfig field (e.g. lr=3e-5 "
                                   "layer_lr_decay=0.9 batch_size=16).")
    parser.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME|DIR",
                        help=f"pretrained encoder: a known name or a Hugging Face BERT folder (default {DEFAULT_MODEL})")
    parser.add_argument("--dataset", default="pang-lee", help="labelled dataset: pang-lee or vader-movies "
                        "(default pang-lee)")
    parser.add_argument("--data", metavar="FILE", help="a CSV, TSV or JSONL file with text and label columns "
                        "instead of --dataset")
    parser.add_argument("--freeze-layers", type=int, default=0, metavar="K",
                        help="freeze the embeddings and the lowest K layers (default 0: train everything)")
    parser.add_argument("--out", metavar="DIR", help="output directory (default runs/finetune-DATASET)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--overwrite", action="store_true", help="start over instead of resuming --out")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="RunConfig fields to change")
    parser.set_defaults(run=run_finetune)


def finetune_config(args):
    """The RunConfig of a ``finetune`` command line, its run length set from the training split's size."""
    base = dataclasses.replace(preset("finetune"), pretrained=args.model, dataset=args.dataset,
                               text_path=str(Path(args.data).resolve()) if args.data else "",
                               freeze_layers=args.freeze_layers)
    config = apply_overrides(base, args.overrides)
    try:
        n_train = len(load_splits(config)["train"].texts)
    except ValueError as error:
        raise FinetuneError(str(error)) from None
    steps_per_epoch = n_train // config.batch_size
    if steps_per_epoch < 1:
        raise FinetuneError(f"the training split has {n_train} texts, fewer than batch_size={config.batch_size}; "
                            f"pass a smaller batch_size=N or more data")
    given = {item.partition("=")[0] for item in args.overrides}
    max_iters = config.max_iters if "max_iters" in given else EPOCHS * steps_per_epoch
    decay_iters = config.lr_decay_iters if "lr_decay_iters" in given else max_iters
    length = {"max_iters": max_iters, "lr_decay_iters": decay_iters,
              "warmup_iters": math.floor(WARMUP_FRACTION * decay_iters),
              "eval_interval": max(1, steps_per_epoch // EVALS_PER_EPOCH)}
    return dataclasses.replace(config, **{k: v for k, v in length.items() if k not in given}), steps_per_epoch


def run_finetune(args) -> int:
    config, steps_per_epoch = finetune_config(args)
    out = Path(args.out or Path("runs") / f"finetune-{Path(args.data).stem if args.data else args.dataset}")
    source = args.data or args.dataset
    print(f"fine-tuning {config.pretrained} on {source} into {out}/ ({config.max_iters} steps, "
          f"{steps_per_epoch} per epoch, freeze_layers={config.freeze_layers})")
    trainer = Trainer(config, out, progress=not args.no_progress, overwrite=args.overwrite)
    summary = trainer.run()
    model, tokenizer, meta = load_model(out / BEST)
    test = trainer.task.splits["test"]
    scores = split_metrics(model, tokenizer, test, config.block_size, "test", meta["label_names"])
    predicted = predict_logits(model, tokenizer, test.texts, config.block_size).argmax(axis=1)
    print(classification_report(test.labels, predicted, label_names=list(test.label_names), digits=4))
    epoch_s = summary["median_step_ms"] * steps_per_epoch / 1000 if summary["median_step_ms"] else None
    record = {**scores, "best_step": meta["step"], "best_val_accuracy": meta["last_eval"]["val_accuracy"],
              "steps": summary["steps"], "median_step_ms": summary["median_step_ms"], "epoch_s": epoch_s,
              "wall_time_s": summary["wall_time_s"], "n_test": len(test.texts)}
    (out / "test_metrics.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    timing = f"; about {epoch_s:.1f} s per epoch" if epoch_s else ""
    print(f"best weights (step {meta['step']}, val accuracy {record['best_val_accuracy']:.4f}): test accuracy "
          f"{scores['test_accuracy']:.4f}, macro F1 {scores['test_f1']:.4f} on {len(test.texts)} texts{timing}")
    print(f"checkpoints, log.jsonl, loss_curve.png and test_metrics.json are in {out}/")
    return 0


def add_classify_parser(subparsers) -> None:
    parser = subparsers.add_parser("classify", help="label texts with a fine-tuned classifier",
                                   description="Label each TEXT with a run of tinygrad-lm finetune (its best "
                                   "weights, else its latest checkpoint).")
    parser.add_argument("--checkpoint", required=True, metavar="DIR", help="a finetune run directory (or its file)")
    parser.add_argument("--json", action="store_true", help='print one JSON array of {"label", "probability"}')
    parser.add_argument("texts", nargs="+", metavar="TEXT", help="texts to classify (quote each one)")
    parser.set_defaults(run=run_classify)


def run_classify(args) -> int:
    path = weights_file(args.checkpoint, "fine-tune first with tinygrad-lm finetune")
    model, tokenizer, meta = load_model(path)
    kind = meta["run_config"]["model"]
    if kind != "classifier":
        raise FinetuneError(f"{path}: holds a {kind} run, not a classifier; classify needs the --out of "
                            f"fine-tune first with tinygrad-lm finetune")
    logits = predict_logits(model, tokenizer, args.texts, meta["run_config"]["block_size"])  # (N, C)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)  # (N, C) softmax
    best = probs.argmax(axis=1)
    results = [{"label": meta["label_names"][k], "probability": float(probs[i, k])} for i, k in enumerate(best)]
    if args.json:
        print(json.dumps(results))
        return 0
    for text, result in zip(args.texts, results):
        print(f"{result['label']}\t{result['probability']:.4f}\t{text}")
    return 0


def eval_classifier_run(path, model, tokenizer, meta, as_json) -> int:
    """``tinygrad-lm eval`` of a classifier run: loss, accuracy and macro F1 on its validation and test splits."""
    run = RunConfig.from_dict(meta["run_config"])
    splits = load_splits(run)
    if text_fingerprint(data_text(splits)) != meta["text"]:
        print("note: the dataset changed since this run trained on it; the scores are on today's texts",
              file=sys.stderr)
    report = {"checkpoint": str(path), "step": meta["step"], "model": "classifier"}
    for name in ("val", "test"):
        metrics = split_metrics(model, tokenizer, splits[name], run.block_size, name, meta["label_names"])
        report[name] = {key[len(name) + 1:]: value for key, value in metrics.items()} | {
            "texts": len(splits[name].texts)}
    if as_json:
        print(json.dumps(report))
        return 0
    print(f"{path} (step {meta['step']}); labels {', '.join(meta['label_names'])}")
    for name in ("val", "test"):
        m = report[name]
        print(f"{name}: loss {m['loss']:.4f}, accuracy {m['accuracy']:.4f}, macro F1 {m['f1']:.4f} ({m['texts']:,} texts)")
    return 0


FINETUNE_SUBCOMMANDS = (add_finetune_parser, add_classify_parser)
FINETUNE_USER_ERRORS = (FinetuneError,)  # the library's own (ConfigError, CorpusError, ...) are in cli.USER_ERRORS
