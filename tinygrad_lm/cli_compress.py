"""The compression subcommands of ``tinygrad-lm``: ``quantize``, ``prune`` and ``distill`` a trained run.

    tinygrad-lm quantize --checkpoint DIR --out DIR2 [--scheme int8-channel|int8-group64|float16]
        writes DIR2/best.safetensors: DIR's best weights with every Linear and Embedding
        quantized (``compress.files``); ``tinygrad-lm sample --checkpoint DIR2`` and
        ``tinygrad-lm eval --checkpoint DIR2`` read it. Prints the file sizes and their ratio.
    tinygrad-lm prune --checkpoint DIR --out DIR2 [--sparsity S] [--scope global|layer]
                      [--rounds R] [--steps N] [--lr LR] [--neurons H] [--heads K|LAYER:K,...]
        a GPT run: magnitude pruning of the block weights to sparsity S (in (0, 1)), in R rounds
        of prune + N fine-tuning steps each (masks re-applied after every step), or structured
        pruning that makes the saved run smaller: ``--neurons H`` keeps the H strongest MLP
        neurons per block, ``--heads K`` the K most important attention heads of every layer
        (importance: the loss increase on a calibration batch when the head is removed),
        ``--heads 0:2,3:1`` only in the layers named; then N fine-tuning steps. Writes
        DIR2/best.safetensors, which ``sample`` and ``eval`` read; prints the validation loss
        before and after.
    tinygrad-lm distill --teacher DIR [--student-layers N] [--out DIR2] [--init every-other|scratch]
                        [key=value ...]
        a GPT run: trains a student of N layers (default half the teacher's) on the teacher's
        text with the distillation loss (``compress.distill``); key=value sets steps, lr,
        alpha, temperature, batch_size, seed, hidden_weight. Writes DIR2/best.safetensors and
        prints teacher and student validation loss.

Errors (a checkpoint already quantized, a sparsity of 0 or 1, 0 or all heads, an unknown
layer, a student deeper than its teacher, an unknown key) end in ``cli.main`` as one line and
exit 2. Left out: pruning and distilling the classifier from the command line
(``python -m tinygrad_lm.compress.classifier_study`` distils one).
"""

import json

from tinygrad_lm.compress.distill import DistillError, distill_gpt_run
from tinygrad_lm.compress.files import quantize_run
from tinygrad_lm.compress.prune import PruneError, prune_run
from tinygrad_lm.compress.quantize import SCHEMES, QuantizationError


def add_quantize_parser(subparsers) -> None:
    parser = subparsers.add_parser("quantize", help="quantize a run's weights to int8 or float16 (a new run directory)",
                                   description="Post-training quantization of every Linear and Embedding weight: "
                                   "symmetric int8 per output channel or per group of 64 input columns, or float16. "
                                   "The output directory holds best.safetensors for sample, eval and classify.")
    parser.add_argument("--checkpoint", required=True, metavar="DIR", help="a run directory (or checkpoint file)")
    parser.add_argument("--out", required=True, metavar="DIR2", help="the new run directory")
    parser.add_argument("--scheme", choices=SCHEMES, default="int8-channel", help="default int8-channel")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run_quantize)


def run_quantize(args) -> int:
    report = quantize_run(args.checkpoint, args.out, args.scheme)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['out']}: {args.scheme}, {report['out_bytes']:,} bytes ({report['source_bytes']:,} before, "
          f"{report['ratio']:.2f}x smaller); weights {report['weight_bytes_before']:,} -> "
          f"{report['weight_bytes_after']:,} bytes")
    return 0


def add_prune_parser(subparsers) -> None:
    parser = subparsers.add_parser("prune", help="prune a GPT run's weights (magnitude, heads or MLP neurons) and fine-tune",
                                   description="Unstructured magnitude pruning with masks kept through fine-tuning, "
                                   "or structured pruning of attention heads and MLP neurons.")
    parser.add_argument("--checkpoint", required=True, metavar="DIR", help="a GPT run directory (or checkpoint file)")
    parser.add_argument("--out", required=True, metavar="DIR2", help="the new run directory")
    parser.add_argument("--sparsity", type=float, default=0.5, help="fraction of block weights set to zero, in (0, 1)")
    parser.add_argument("--scope", choices=("global", "layer"), default="global",
                        help="one threshold for all weights (global) or one per matrix (layer)")
    parser.add_argument("--rounds", type=int, default=1, help="prune + fine-tune rounds up to --sparsity (default 1)")
    parser.add_argument("--steps", type=int, default=100, help="fine-tuning steps per round (default 100; 0: none)")
    parser.add_argument("--lr", type=float, default=3e-4, help="fine-tuning learning rate (default 3e-4)")
    parser.add_argument("--neurons", type=int, metavar="H", help="structured: keep H MLP neurons per layer")
    parser.add_argument("--heads", metavar="K|LAYER:K,...", help="structured: keep the K most important heads of "
                        "every layer, or of the layers named (e.g. 0:2,3:1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run_prune)


def run_prune(args) -> int:
    report = prune_run(args.checkpoint, args.out, sparsity=args.sparsity, scope=args.scope, rounds=args.rounds,
                       steps=args.steps, lr=args.lr, neurons=args.neurons, heads=args.heads)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['out']}: {report['method']}, sparsity {report['sparsity']:.3f}, parameters "
          f"{report['parameters_before']:,} -> {report['parameters_after']:,}; val loss "
          f"{report['val_loss_before']:.4f} -> {report['val_loss_after']:.4f}")
    return 0


def add_distill_parser(subparsers) -> None:
    parser = subparsers.add_parser("distill", help="distil a GPT run into a smaller student",
                                   description="Knowledge distillation: the student learns from the teacher's "
                                   "softened distribution (temperature T, weight alpha) and the true next tokens "
                                   "(1 - alpha). key=value: steps, lr, alpha, temperature, batch_size, seed, "
                                   "hidden_weight.")
    parser.add_argument("--teacher", required=True, metavar="DIR", help="a GPT run directory (or checkpoint file)")
    parser.add_argument("--student-layers", type=int, metavar="N", help="student depth (default half the teacher's)")
    parser.add_argument("--out", metavar="DIR2", help="where to write the student (default DIR-distilled)")
    parser.add_argument("--init", choices=("every-other", "scratch"), default="every-other",
                        help="student initialisation: the teacher's evenly spaced layers (DistilBERT) or random")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="distillation settings to change")
    parser.set_defaults(run=run_distill)


def run_distill(args) -> int:
    report = distill_gpt_run(args.teacher, args.out, student_layers=args.student_layers, init=args.init,
                             overrides=args.overrides)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['out']}: student {report['student_layers']} layers ({report['student_parameters']:,} parameters) "
          f"from teacher {report['teacher_layers']} ({report['teacher_parameters']:,}); val loss teacher "
          f"{report['teacher_val_loss']:.4f}, student {report['student_val_loss']:.4f}")
    return 0


COMPRESS_SUBCOMMANDS = (add_quantize_parser, add_prune_parser, add_distill_parser)
COMPRESS_USER_ERRORS = (QuantizationError, PruneError, DistillError)
