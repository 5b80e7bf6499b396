"""The ``tinygrad-lm`` command: one subcommand per task, each a small function.

Subcommands:

    tinygrad-lm train [--preset NAME] [--corpus shakespeare|stdlib] [--text PATH] [--out DIR]
                      [--kernels numba|numpy] [--device cpu|cuda] [--no-progress] [--overwrite]
                      [key=value ...]
        trains a GPT, or pre-trains a BERT with ``--preset bert-tiny`` (masked-LM + next-sentence
        prediction; see ``tinygrad_lm.train.config`` for presets and keys); resumes when
        DIR already holds a checkpoint of the same run, does nothing when that run is
        complete, and refuses a DIR holding a run's files but no checkpoint. ``--overwrite``
        deletes the run's files in DIR first and starts over. ``key=value`` overrides may
        come anywhere among the options.
    tinygrad-lm sample --checkpoint DIR --prompt TEXT [--max-new-tokens N] [--temperature T]
                       [--top-k K] [--top-p P] [--seed S] [--device cpu|cuda]
        continues the prompt with the best weights of a GPT run.
    tinygrad-lm eval --checkpoint DIR [--device cpu|cuda] [--json]
        a GPT run: exact train and validation loss and perplexity of its best weights; a BERT
        run: masked-LM loss and accuracy (and the most-frequent-token baseline) and
        next-sentence accuracy on its held-out pairs; a classifier run: validation and test loss,
        accuracy and macro F1 (``cli_finetune.eval_classifier_run``); a translation run: validation
        and test cross-entropy without label smoothing, and perplexity
        (``cli_seq2seq.eval_translation_run``). ``--json`` prints one JSON object.
    tinygrad-lm demo [--seed S] [--batch B] [--features C] [--hidden H]
        builds loss = sum(tanh(x @ w) ** 2) for x of shape (B, C) and w of shape (C, H),
        runs backward, prints values and gradients, then proves the gradients with
        ``tinygrad_lm.testing.gradcheck`` (float64 central differences).
    tinygrad-lm tokenize [--tokenizer NAME|DIR] [--json] TEXT...
    tinygrad-lm embed [--model NAME|DIR] [--json] TEXT...
        WordPiece ids and sentence embeddings of pretrained models: see ``cli_text.py``.
    tinygrad-lm finetune --model NAME --dataset NAME [--freeze-layers K] [--data FILE] [key=value]
    tinygrad-lm classify --checkpoint DIR [--json] TEXT...
        fine-tune a pretrained encoder to classify texts, and use it: see ``cli_finetune.py``.

How to add one: write
``add_NAME_parser(subparsers)`` that declares its options and sets ``run=run_NAME``,
write ``run_NAME(args) -> int``, and list the adder in ``SUBCOMMANDS``.

Errors in what the user typed or pointed at (an unknown option, a batch of 0, ``--device cuda``
on a machine without CuPy or a GPU, a damaged checkpoint, a locked or full run directory, a
run that diverged) print one line to stderr and give exit code 2, never a traceback: argparse
errors, ``UsageError`` (an unusable device becomes one) and the library's user errors
(``USER_ERRORS``, printed after their class name, e.g. ``CheckpointError: ...``) all end in
``main``. A failure inside the library is a bug and keeps its traceback. A reader that closes
stdout early (``tinygrad-lm check-port ... | head``) ends any subcommand quietly, exit code 141
(``BROKEN_PIPE_EXIT``), as a program killed by SIGPIPE would. This file leaves out
everything a subcommand does beyond calling the library.
"""

import argparse
import dataclasses
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

from tinygrad_lm import active_backend, tensor, testing, use_kernels
from tinygrad_lm.backends import kernel_backends
from tinygrad_lm.cli_compress import COMPRESS_SUBCOMMANDS, COMPRESS_USER_ERRORS
from tinygrad_lm.cli_finetune import (
    FINETUNE_SUBCOMMANDS,
    FINETUNE_USER_ERRORS,
    eval_classifier_run,
)
from tinygrad_lm.cli_metrics import METRICS_SUBCOMMANDS, METRICS_USER_ERRORS
from tinygrad_lm.cli_porting import PORTING_SUBCOMMANDS, PORTING_USER_ERRORS
from tinygrad_lm.cli_seq2seq import (
    SEQ2SEQ_SUBCOMMANDS,
    SEQ2SEQ_USER_ERRORS,
    eval_translation_run,
)
from tinygrad_lm.cli_text import TEXT_SUBCOMMANDS, TEXT_USER_ERRORS
from tinygrad_lm.cli_vectors import VECTORS_SUBCOMMANDS, VECTORS_USER_ERRORS
from tinygrad_lm.data import CorpusError, TokenizerError, load_corpus, train_val_split
from tinygrad_lm.engine import DEVICES, DeviceError, check_device
from tinygrad_lm.train import (
    PRESETS,
    CheckpointError,
    ConfigError,
    NonFiniteLossError,
    RunDirError,
    Trainer,
    apply_overrides,
    load_model,
    preset,
    split_loss,
)
from tinygrad_lm.train.bert_task import evaluate_pretraining
from tinygrad_lm.train.config import VAL_FRACTION, RunConfig, check_text_length
from tinygrad_lm.train.evaluate import perplexity
from tinygrad_lm.train.rundir import weights_file
from tinygrad_lm.train.state import text_fingerprint

PROG = "tinygrad-lm"
BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE (13): what a shell reports for a writer whose reader closed
DEMO_MAX_SIZE = 16  # largest B, C or H the demo accepts: it prints every entry
MIN_TEMPERATURE = 1e-6  # below it sampling is greedy in all but name, and logits / T can overflow


class UsageError(Exception):
    """The user asked for something impossible; main prints the message and returns 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of printing usage and exiting."""

    def error(self, message):
        raise UsageError(message)


def _int_between(low: int, high: int):
    """An argparse type accepting an integer from low to high, with a one-line error otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _temperature(text: str) -> float:
    """An argparse type: 0 (greedy) or a finite temperature >= MIN_TEMPERATURE; nan, inf and 1e-320 are refused."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if value != 0 and not (math.isfinite(value) and value >= MIN_TEMPERATURE):
        raise argparse.ArgumentTypeError(f"must be 0 (greedy) or a finite number >= {MIN_TEMPERATURE:g}, "
                                         f"got {text!r}")
    return value


def demo_loss(x, w):
    """loss = sum(tanh(x @ w) ** 2): x (B, C), w (C, H) -> a 0-d Tensor."""
    return ((x @ w).tanh() ** 2).sum()  # (B, C) @ (C, H) -> (B, H) -> ()


def _show(name: str, array) -> None:
    """Print a labelled array with its shape, four decimals per entry."""
    print(f"{name} {tuple(np.shape(array))} =")
    print(np.array2string(np.asarray(array), precision=4, suppress_small=True))


def add_demo_parser(subparsers) -> None:
    """Declare ``demo`` and its options."""
    parser = subparsers.add_parser(
        "demo",
        help="backpropagate through a tiny expression and gradient-check it",
        description="Build loss = sum(tanh(x @ w) ** 2) from random float64 x (B, C) and "
        "w (C, H), print values and gradients, and check them with gradcheck.",
    )
    size = _int_between(1, DEMO_MAX_SIZE)
    parser.add_argument("--seed", type=_int_between(0, 2**32 - 1), default=0,
                        help="seed of the random x and w (default 0)")
    parser.add_argument("--batch", type=size, default=2, help="B, rows of x (default 2)")
    parser.add_argument("--features", type=size, default=3, help="C, columns of x (default 3)")
    parser.add_argument("--hidden", type=size, default=2, help="H, columns of w (default 2)")
    parser.set_defaults(run=run_demo)


def run_demo(args) -> int:
    """Forward, backward and gradcheck of demo_loss on random inputs; returns 0."""
    rng = np.random.default_rng(args.seed)
    x = tensor(rng.standard_normal((args.batch, args.features)), requires_grad=True, dtype="float64")
    w = tensor(rng.standard_normal((args.features, args.hidden)), requires_grad=True, dtype="float64")
    loss = demo_loss(x, w)
    loss.backward()

    print("loss = sum(tanh(x @ w) ** 2)")
    _show("x", x.numpy())
    _show("w", w.numpy())
    print(f"loss = {loss.item():.6f}")
    _show("dloss/dx", x.grad)
    _show("dloss/dw", w.grad)
    testing.gradcheck(demo_loss, x, w)
    print("gradcheck(demo_loss, x, w): passed (float64 finite differences agree with backward)")
    return 0


def add_train_parser(subparsers) -> None:
    """Declare ``train`` and its options."""
    parser = subparsers.add_parser("train", help="train a GPT (or pre-train a BERT) and write checkpoints, a log "
                                   "and a loss curve",
                                   description="Train a model from a preset, with key=value overrides "
                                   "(e.g. max_iters=500 dropout=0.1), anywhere among the options. Resumes if --out holds a "
                                   "checkpoint, does nothing if that run is complete; --overwrite starts over. "
                                   "--preset bert-tiny pre-trains a small BERT (2 layers, width 128) with masked-LM and "
                                   "next-sentence prediction on the standard library's docstrings (one module per "
                                   "document, every tenth held out), with a WordPiece vocabulary learned from them, and "
                                   "logs MLM loss/accuracy (beside the most-frequent-token baseline) and NSP accuracy; "
                                   "--corpus shakespeare uses the plays, --text PATH a file with one sentence per line "
                                   "and blank lines between documents.")
    parser.add_argument("--preset", default="shakespeare-char", help=f"one of {', '.join(PRESETS)} (default "
                        "shakespeare-char: a character-level GPT)")
    parser.add_argument("--corpus", choices=["shakespeare", "stdlib"], help="override the preset's corpus")
    parser.add_argument("--text", metavar="PATH", help="train on this UTF-8 text file instead")
    parser.add_argument("--out", metavar="DIR", help="output directory (default runs/PRESET)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--overwrite", action="store_true", help="delete the checkpoints, log and loss curve "
                        "already in --out (a finished or unfinished run) and start over at step 0")
    parser.add_argument("--kernels", choices=kernel_backends(), help="kernel table for the fused ops "
                        "(default: numba when it imports; or set TINYGRAD_LM_KERNELS)")
    _add_device_option(parser, "where to train (default: the preset's, cpu)", default=None)
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="RunConfig fields to change")
    parser.set_defaults(run=run_train)


def _add_device_option(parser, text, default="cpu"):
    parser.add_argument("--device", choices=DEVICES, default=default,
                        help=f"{text}; cuda needs CuPy (pip install 'tinygrad_lm[gpu]') and an NVIDIA GPU")


def _usable_device(device):
    """``device`` if this machine can run it, else a UsageError saying why (CuPy or a GPU missing).

    Only this check is a user error: a DeviceError from inside a run is a bug and keeps its traceback."""
    try:
        return check_device(device, "--device")
    except DeviceError as error:
        raise UsageError(str(error)) from None


def run_train(args) -> int:
    config = apply_overrides(preset(args.preset), args.overrides)
    if args.corpus and args.text:
        raise UsageError("give either --corpus or --text, not both")
    if args.corpus:
        config = dataclasses.replace(config, corpus=args.corpus, text_path="")
    if args.text:
        config = dataclasses.replace(config, text_path=str(Path(args.text).resolve()))
    if args.device:
        config = dataclasses.replace(config, device=args.device)
    _usable_device(config.device)
    out = Path(args.out or Path("runs") / args.preset)
    with use_kernels(args.kernels or active_backend()):
        print(f"training {args.preset} into {out}/ ({config.max_iters} steps, {active_backend()} kernels, "
              f"on {config.device})")
        summary = Trainer(config, out, progress=not args.no_progress, overwrite=args.overwrite).run()
    final = summary["final_eval"]
    if summary["already_complete"]:
        print(f"nothing to do: {out}/ holds a complete run at step {summary['steps']}; "
              f"train loss {final['train_loss']:.4f}, val loss {final['val_loss']:.4f}")
        return 0
    print(f"done: {summary['steps']} steps in {summary['wall_time_s']:.1f} s "
          f"(median step {summary['median_step_ms'] or 0:.1f} ms); "
          f"train loss {final['train_loss']:.4f}, val loss {final['val_loss']:.4f}")
    if "val_mlm_accuracy" in final:
        print(f"held-out ({final['val_pairs']} pairs): MLM accuracy {final['val_mlm_accuracy']:.4f} (most-frequent-"
              f"token baseline {final['mlm_baseline_accuracy']:.4f}), NSP accuracy {final['val_nsp_accuracy']:.4f}")
    print(f"checkpoints, log.jsonl and loss_curve.png are in {out}/")
    return 0


def add_sample_parser(subparsers) -> None:
    """Declare ``sample`` and its options."""
    parser = subparsers.add_parser("sample", help="generate text from a trained run")
    parser.add_argument("--checkpoint", required=True, metavar="DIR", help="a run directory (or checkpoint file)")
    parser.add_argument("--prompt", default="\n", help="text to continue (default: a newline)")
    parser.add_argument("--max-new-tokens", type=_int_between(1, 100_000), default=500)
    parser.add_argument("--temperature", type=_temperature, default=0.8,
                        help=f"0 means greedy; otherwise at least {MIN_TEMPERATURE:g} (default 0.8)")
    parser.add_argument("--top-k", type=_int_between(1, 10**9), default=None)
    parser.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass in (0, 1]")
    parser.add_argument("--seed", type=_int_between(0, 2**32 - 1), default=0)
    _add_device_option(parser, "where to run the model (default cpu)")
    parser.set_defaults(run=run_sample)


def run_sample(args) -> int:
    if args.top_p is not None and not 0 < args.top_p <= 1:
        raise UsageError(f"--top-p must be in (0, 1], got {args.top_p}")
    _usable_device(args.device)
    model, tokenizer, meta = load_model(weights_file(args.checkpoint, "train first with tinygrad-lm train"), device=args.device)
    if meta["run_config"].get("model", "gpt") != "gpt":
        raise UsageError(f"{args.checkpoint} holds a {meta['run_config']['model']} run, which does not generate text; "
                         f"sample needs a GPT run (tinygrad-lm eval measures a BERT)")
    if not args.prompt:
        raise UsageError("--prompt is empty; give at least one character")
    ids = tokenizer.encode(args.prompt)[None, :]  # (T,) -> (1, T)
    block = model.config.block_size
    if ids.shape[1] > block:
        print(f"note: the prompt has {ids.shape[1]} tokens; the model sees only the last {block}",
              file=sys.stderr)
    out = model.generate(ids, args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                         top_p=args.top_p, rng=args.seed)
    print(tokenizer.decode(out[0]))
    return 0


def add_eval_parser(subparsers) -> None:
    """Declare ``eval``."""
    parser = subparsers.add_parser("eval", help="exact train/val loss and perplexity of a trained run (a BERT: "
                                   "held-out MLM and NSP accuracy; a classifier: val/test loss, accuracy, F1; "
                                   "a translation run: val/test cross-entropy and perplexity)")
    parser.add_argument("--checkpoint", required=True, metavar="DIR", help="a run directory (or checkpoint file)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    _add_device_option(parser, "where to run the model (default cpu)")
    parser.set_defaults(run=run_eval)


def run_eval(args) -> int:
    _usable_device(args.device)
    path = weights_file(args.checkpoint, "train first with tinygrad-lm train")
    model, tokenizer, meta = load_model(path, device=args.device)
    run = meta["run_config"]
    kind = run.get("model", "gpt")
    if kind != "gpt":
        evaluate = {"bert": _eval_bert, "classifier": eval_classifier_run, "seq2seq": eval_translation_run}[kind]
        return evaluate(path, model, tokenizer, meta, args.json)
    text = load_corpus(run["corpus"] if not run["text_path"] else None, run["text_path"] or None)
    if text_fingerprint(text) != meta["text"]:
        print("note: the text changed since this run trained on it; the losses are on today's text",
              file=sys.stderr)
    block = model.config.block_size
    ids = tokenizer.encode(text)
    check_text_length(model.config, len(ids))
    train_ids, val_ids = train_val_split(ids, VAL_FRACTION, block_size=block)
    val_windows = (len(val_ids) - 1) // block
    report = {"checkpoint": str(path), "step": meta["step"], "model": "gpt"}
    if not args.json:
        print(f"{path} (step {meta['step']}); every validation window, and as many evenly spaced training windows")
    for split, ids in (("train", train_ids), ("val", val_ids)):
        loss = split_loss(model, ids, block, max_windows=val_windows)
        used = min(val_windows, (len(ids) - 1) // block) * block
        report[split] = {"loss": loss, "perplexity": perplexity(loss), "tokens": used}
        if not args.json:
            print(f"{split}: loss {loss:.4f} nats/token, perplexity {perplexity(loss):.3f} "
                  f"({used:,} of {len(ids):,} tokens)")
    if args.json:
        print(json.dumps(report))
    return 0


def _eval_bert(path, model, tokenizer, meta, as_json):
    """Held-out MLM and NSP metrics of a BERT run (the pairs its evaluations used)."""
    fingerprint, metrics = evaluate_pretraining(model, tokenizer, RunConfig.from_dict(meta["run_config"]))
    if fingerprint != meta["text"]:
        print("note: the text changed since this run trained on it; the pairs are drawn from today's text",
              file=sys.stderr)
    if as_json:
        print(json.dumps({"checkpoint": str(path), "step": meta["step"], "model": "bert", **metrics}))
        return 0
    print(f"{path} (step {meta['step']}); {metrics['val_pairs']:,} held-out pairs")
    print(f"masked LM: loss {metrics['val_mlm_loss']:.4f} nats/token, accuracy {metrics['val_mlm_accuracy']:.4f} "
          f"(always the most frequent token: {metrics['mlm_baseline_accuracy']:.4f})")
    print(f"next sentence: loss {metrics['val_nsp_loss']:.4f}, accuracy {metrics['val_nsp_accuracy']:.4f} (chance 0.5)")
    return 0


SUBCOMMANDS = (add_train_parser, add_sample_parser, add_eval_parser, add_demo_parser, *TEXT_SUBCOMMANDS,
               *VECTORS_SUBCOMMANDS,
               *PORTING_SUBCOMMANDS, *FINETUNE_SUBCOMMANDS,
               *COMPRESS_SUBCOMMANDS,
               *SEQ2SEQ_SUBCOMMANDS,
               *METRICS_SUBCOMMANDS)
USER_ERRORS = (UsageError, ConfigError, CorpusError, CheckpointError, TokenizerError, RunDirError,
               *VECTORS_USER_ERRORS,
               NonFiniteLossError, *TEXT_USER_ERRORS, *PORTING_USER_ERRORS, *FINETUNE_USER_ERRORS,
               *COMPRESS_USER_ERRORS,
               *SEQ2SEQ_USER_ERRORS,
               *METRICS_USER_ERRORS)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand in SUBCOMMANDS."""
    parser = _Parser(prog=PROG, description="Language-model machinery from scratch.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for add_parser in SUBCOMMANDS:
        add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    """Run ``tinygrad-lm`` with ``argv`` (default: sys.argv[1:]); return the exit code."""
    try:
        code = _dispatch(argv)
        sys.stdout.flush()  # a reader gone away (``| head``) shows here, not in the interpreter's exit flush
        return code
    except BrokenPipeError:
        # Python's usual idiom: point stdout at devnull so the exit-time flush of what is left is quiet too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE_EXIT


def _dispatch(argv):
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        overrides = [item for item in extra if "=" in item and not item.startswith("-")]
        takes_settings = hasattr(args, "overrides")  # the commands with a key=value positional
        if extra and (not takes_settings or len(overrides) < len(extra)):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if overrides:  # key=value after an option: argparse takes one run of positionals only
            args.overrides = [*args.overrides, *overrides]
        return args.run(args)
    except USER_ERRORS as error:
        message = f"{error} (see {PROG} --help)" if isinstance(error, UsageError) else f"{type(error).__name__}: {error}"
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help prints and exits through argparse
        return done.code or 0


if __name__ == "__main__":
    sys.exit(main())
