"""Classifiers without fine-tuning on the Pang & Lee test split: two zero-shot methods and a linear probe.

    python benchmarks/zero_shot.py [--gpt-checkpoint DIR] [--threads 1] [--out DIR] [--quick]

writes DIR/zero_shot_pang_lee.json and prints its table. The rows, all on the fixed,
seeded test split of ``load_classification_dataset("pang-lee")`` (400 sentences, balanced):

    embedding zero-shot    all-MiniLM-L6-v2; cosine to "a negative movie review" /
                           "a positive movie review" (and, as a second row, the mean of
                           three descriptions per label)
    LM zero-shot           a GPT checkpoint of this project (``--gpt-checkpoint``: a run
                           directory or a .safetensors file; best.safetensors is preferred);
                           log-likelihood of " negative" / " positive" after
                           "{text} This review is"; skipped (with the reason) without one
    linear probe           logistic regression on frozen MiniLM embeddings, trained on the
                           3,200 training sentences with the 400 validation ones for early stopping

Each row has accuracy, macro-F1, the share of "positive" predictions (a method that always
says one label scores 0.5 here) and the seconds it took (embedding included; the probe's
embedding of train+val and its training are also given apart). Chance is 0.5.
``--quick`` uses the first 40 test sentences and 400 training ones (numbers meaningless).

Left out: repeats and medians (each row is one deterministic run; the seconds are wall-clock
once, to give the scale, not a timing comparison), the fine-tuned model (tinygrad-lm finetune), and a
chart (the book's chapter 10 draws the three results side by side).
"""

import argparse
import time
from pathlib import Path

import numpy as np
from _common import (
    RESULTS_DIR,
    command_line,
    machine_info,
    markdown_table,
    pin_threads,
    write_json,
)

from tinygrad_lm.baselines import (
    train_linear_probe,
    zero_shot_by_embedding,
    zero_shot_by_lm,
)
from tinygrad_lm.data import embed, load_classification_dataset, load_pretrained
from tinygrad_lm.metrics import accuracy, precision_recall_f1

SINGLE = ["a negative movie review", "a positive movie review"]
SEVERAL = [["a negative movie review", "a bad film", "I did not like this movie"],
           ["a positive movie review", "a good film", "I liked this movie"]]
LABEL_WORDS = [" negative", " positive"]
PROMPT = "{text} This review is"


def scores_of(method, y_true, y_pred, seconds, **extra):
    return {"method": method, "accuracy": accuracy(y_true, y_pred),
            "macro_f1": float(precision_recall_f1(y_true, y_pred, average="macro")[2]),
            "share_predicted_positive": float(np.mean(y_pred == 1)), "seconds": round(seconds, 2), **extra}


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def gpt_checkpoint_file(path):
    """A run directory's best.safetensors (else checkpoint.safetensors), or the file given."""
    path = Path(path)
    if path.is_dir():
        for name in ("best.safetensors", "checkpoint.safetensors"):
            if (path / name).exists():
                return path / name
        raise SystemExit(f"--gpt-checkpoint {path}: no best.safetensors or checkpoint.safetensors there; "
                         f"train one first (tinygrad-lm train --preset shakespeare-char --out {path})")
    return path


def lm_row(checkpoint, texts, y_true):
    from tinygrad_lm.train import load_model

    path = gpt_checkpoint_file(checkpoint)
    gpt, tokenizer, meta = load_model(path)
    if meta["run_config"]["model"] != "gpt":
        raise SystemExit(f"--gpt-checkpoint {path}: a {meta['run_config']['model']} checkpoint, not a GPT")
    (predicted, loglik), seconds = timed(zero_shot_by_lm, gpt, tokenizer, texts, LABEL_WORDS, PROMPT)
    return scores_of("LM zero-shot", y_true, predicted, seconds, checkpoint=str(path), step=meta["step"],
                     tokenizer=tokenizer.kind, block_size=gpt.config.block_size,
                     val_loss=meta["best_val_loss"], label_words=LABEL_WORDS, prompt=PROMPT,
                     mean_loglik_margin_positive_minus_negative=float(np.mean(loglik[:, 1] - loglik[:, 0])))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpt-checkpoint", type=Path, default=None,
                        help="GPT run directory or .safetensors for the LM zero-shot row (skipped without)")
    parser.add_argument("--threads", type=int, default=1, help="threads for BLAS and Numba (default 1)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for the JSON")
    parser.add_argument("--quick", action="store_true", help="40 test and 400 train sentences: only checks it runs")
    args = parser.parse_args()
    threads = pin_threads(args.threads)
    data = load_classification_dataset("pang-lee")
    train, val, test = data["train"], data["val"], data["test"]
    n_test, n_train = (40, 400) if args.quick else (len(test), len(train))
    texts, y_true = list(test.texts[:n_test]), test.labels[:n_test]
    model, tokenizer = load_pretrained("all-MiniLM-L6-v2")

    rows = []
    for method, descriptions in (("embedding zero-shot (1 description per label)", SINGLE),
                                 ("embedding zero-shot (3 descriptions per label, averaged)", SEVERAL)):
        (predicted, _), seconds = timed(zero_shot_by_embedding, model, tokenizer, texts, descriptions)
        rows.append(scores_of(method, y_true, predicted, seconds, descriptions=descriptions))
    if args.gpt_checkpoint is None:
        rows.append({"method": "LM zero-shot", "skipped": "no --gpt-checkpoint given"})
    else:
        rows.append(lm_row(args.gpt_checkpoint, texts, y_true))

    start = time.perf_counter()
    train_x = embed(model, tokenizer, list(train.texts[:n_train]))  # (N, 384)
    val_x = embed(model, tokenizer, list(val.texts))
    embed_seconds = time.perf_counter() - start
    probe, train_seconds = timed(train_linear_probe, train_x, train.labels[:n_train], 2, lr=1e-2, epochs=200,
                                 weight_decay=1e-4, seed=0, val_features=val_x, val_labels=val.labels)
    predicted, test_seconds = timed(lambda: probe.predict(embed(model, tokenizer, texts)))
    rows.append(scores_of("linear probe (frozen MiniLM)", y_true, predicted,
                          embed_seconds + train_seconds + test_seconds,
                          embed_train_val_seconds=round(embed_seconds, 2), train_seconds=round(train_seconds, 2),
                          best_epoch=probe.best_epoch, epochs_run=len(probe.history),
                          best_val_accuracy=probe.history[probe.best_epoch - 1]["val_accuracy"],
                          recipe={"lr": 1e-2, "epochs": 200, "weight_decay": 1e-4, "batch_size": 64,
                                  "patience": 10, "optimizer": "AdamW", "seed": 0}))

    payload = {"benchmark": "zero_shot_pang_lee", "command": command_line(), "quick": args.quick,
               "threads": threads, "test_sentences": n_test, "train_sentences": n_train, "chance_accuracy": 0.5,
               "rows": rows, "machine": machine_info()}
    name = "zero_shot_pang_lee_quick" if args.quick else "zero_shot_pang_lee"
    write_json(args.out / f"{name}.json", payload)
    done = [r for r in rows if "skipped" not in r]
    print(markdown_table(["method", "accuracy", "macro-F1", "share positive", "seconds"],
                         [[r["method"], f"{r['accuracy']:.3f}", f"{r['macro_f1']:.3f}",
                           f"{r['share_predicted_positive']:.2f}", f"{r['seconds']:.1f}"] for r in done]))


if __name__ == "__main__":
    main()
