"""The translation subcommands of ``tinygrad-lm``: ``translate`` texts, ``evaluate-translation`` a run.

    tinygrad-lm train --preset translate-en-es [--out DIR] [key=value ...]
        (the ordinary ``train``) trains the English -> Spanish encoder-decoder on KJV / Reina-Valera
        1909 verse pairs (``train.seq2seq_task``); ``--text FILE`` trains on source<TAB>target lines.
    tinygrad-lm translate --checkpoint DIR [--beam N] [--length-penalty A] [--json] TEXT...
        one translation per TEXT, one per line (``--json``: one JSON array of strings), from the
        run directory alone (its weights file holds the model config and the BPE tokenizer).
        ``--beam 1`` (the default) is greedy decoding; N > 1 is beam search with GNMT's length
        penalty (alpha 0.6 by default).
    tinygrad-lm evaluate-translation --checkpoint DIR [--beam N ...] [--split test|validation]
                                     [--limit K] [--save DIR] [--json]
        corpus BLEU (13a, sacrebleu's conventions) and chrF of the run on its held-out split (the
        test books by default), once per ``--beam`` (default: 1 and 4, greedy and beam-4).
        ``--save DIR`` writes the sources, references and each beam's hypotheses, one per line.
        (``tinygrad-lm eval`` of a translation run gives the held-out cross-entropy and perplexity
        instead, through ``eval_translation_run`` here: decoding is what makes BLEU slow.)

Bad input ends in ``cli.main`` as one line and exit 2: a checkpoint of another kind, an empty
TEXT, a beam below 1. A TEXT longer than the model's positions is cut to its first
``block_size`` tokens (a note on stderr says so), never refused. Left out: reading texts from a
file or stdin, n-best lists, sampling.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from tinygrad_lm.metrics import corpus_bleu, corpus_chrf
from tinygrad_lm.train.config import RunConfig
from tinygrad_lm.train.evaluate import perplexity
from tinygrad_lm.train.seq2seq_task import (
    TranslationError,
    data_text,
    encode_pairs,
    length_sorted_batches,
    load_translation_pairs,
    load_translator,
    mean_loss,
    translate,
)
from tinygrad_lm.train.state import text_fingerprint


def _beam(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--beam must be an integer >= 1 (1 = greedy), got {text!r}")
    return value


def add_translate_parser(subparsers) -> None:
    parser = subparsers.add_parser("translate", help="translate texts with a trained translation run",
                                   description="Translate each TEXT with the best weights of a translation run "
                                   "(e.g. tinygrad-lm train --preset translate-en-es).")
    parser.add_argument("--checkpoint", required=True, metavar="DIR", help="a translation run directory (or file)")
    parser.add_argument("--beam", type=_beam, default=1, metavar="N", help="beam width; 1 = greedy (default)")
    parser.add_argument("--length-penalty", type=float, default=0.6, metavar="ALPHA",
                        help="GNMT length penalty for beam search (default 0.6; 0 = none)")
    parser.add_argument("--json", action="store_true", help="print one JSON array of translations")
    parser.add_argument("texts", nargs="+", metavar="TEXT", help="texts in the source language")
    parser.set_defaults(run=run_translate)


def run_translate(args) -> int:
    for number, text in enumerate(args.texts, start=1):
        if not text.strip():
            raise TranslationError(f"TEXT {number} is empty; give each text to translate as one argument")
    model, tokenizer, _ = load_translator(args.checkpoint)
    outputs, cut = translate(model, tokenizer, args.texts, args.beam, args.length_penalty)
    if cut:
        print(f"note: {cut} text(s) longer than the model's {model.config.max_positions} positions were cut to their "
              f"first {model.config.max_positions} tokens", file=sys.stderr)
    print(json.dumps(outputs, ensure_ascii=False) if args.json else "\n".join(outputs))
    return 0


def add_evaluate_parser(subparsers) -> None:
    parser = subparsers.add_parser("evaluate-translation", help="BLEU and chrF of a translation run on held-out pairs",
                                   description="Translate the held-out split of a translation run (the test books by "
                                   "default) greedily and with beam search, and score it with corpus BLEU (13a) "
                                   "and chrF against the references.")
    parser.add_argument("--checkpoint", required=True, metavar="DIR", help="a translation run directory (or file)")
    parser.add_argument("--beam", type=_beam, action="append", metavar="N",
                        help="beam width to score, repeatable (default: 1 and 4)")
    parser.add_argument("--split", choices=("test", "validation"), default="test")
    parser.add_argument("--limit", type=int, default=0, metavar="K", help="score only the first K pairs (0 = all)")
    parser.add_argument("--save", metavar="DIR", help="write source.txt, reference.txt and beamN.txt here")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run_evaluate_translation)


def run_evaluate_translation(args) -> int:
    model, tokenizer, meta = load_translator(args.checkpoint)
    run = RunConfig.from_dict(meta["run_config"])
    splits = load_translation_pairs(run)
    if text_fingerprint(data_text(splits)) != meta["text"]:
        print("note: the pairs changed since this run trained on them; the scores are on today's pairs",
              file=sys.stderr)
    pairs = splits[args.split][:args.limit] if args.limit > 0 else splits[args.split]
    sources, references = [s for s, _ in pairs], [t for _, t in pairs]
    report = {"checkpoint": str(args.checkpoint), "step": meta.get("step"), "split": args.split,
              "pairs": len(pairs), "scores": {}}
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
        for name, lines in (("source", sources), ("reference", references)):
            (Path(args.save) / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for beam in args.beam or [1, 4]:
        started = time.perf_counter()
        hypotheses, cut = translate(model, tokenizer, sources, beam)
        bleu = corpus_bleu(hypotheses, [references])
        scores = {"bleu": bleu.score, "bleu_signature": f"13a, exp smoothing, brevity penalty {bleu.bp:.3f}",
                  "chrf": corpus_chrf(hypotheses, [references]).score, "sources_cut": cut,
                  "seconds": time.perf_counter() - started}
        report["scores"][f"beam{beam}"] = scores
        if args.save:
            (Path(args.save) / f"beam{beam}.txt").write_text("\n".join(hypotheses) + "\n", encoding="utf-8")
        if not args.json:
            how = "greedy" if beam == 1 else f"beam {beam}"
            print(f"{args.split} ({len(pairs):,} pairs), {how}: BLEU {scores['bleu']:.2f} (13a; brevity penalty "
                  f"{bleu.bp:.3f}), chrF {scores['chrf']:.2f}, {scores['seconds']:.0f} s")
    if args.json:
        print(json.dumps(report))
    return 0


def eval_translation_run(path, model, tokenizer, meta, as_json) -> int:
    """``tinygrad-lm eval`` of a translation run: the exact cross-entropy (no label smoothing) and perplexity per
    target token on its validation and test pairs that fit its block_size; BLEU is ``evaluate-translation``'s."""
    run = RunConfig.from_dict(meta["run_config"])
    splits = load_translation_pairs(run)
    if text_fingerprint(data_text(splits)) != meta["text"]:
        print("note: the pairs changed since this run trained on them; the losses are on today's pairs",
              file=sys.stderr)
    report = {"checkpoint": str(path), "step": meta["step"], "model": "seq2seq"}
    for split, name in (("validation", "val"), ("test", "test")):
        encoded = encode_pairs(tokenizer, splits[split], run.block_size)
        loss, tokens = mean_loss(model, length_sorted_batches(encoded))
        report[name] = {"loss": loss, "perplexity": perplexity(loss), "tokens": tokens, "pairs": len(encoded),
                        "pairs_too_long": len(splits[split]) - len(encoded)}
    if as_json:
        print(json.dumps(report))
        return 0
    print(f"{path} (step {meta['step']}); cross-entropy without label smoothing (BLEU: tinygrad-lm "
          f"evaluate-translation)")
    for name in ("val", "test"):
        m = report[name]
        print(f"{name}: loss {m['loss']:.4f} nats/token, perplexity {m['perplexity']:.3f} ({m['pairs']:,} pairs, "
              f"{m['tokens']:,} target tokens; {m['pairs_too_long']} longer than block_size left out)")
    return 0


SEQ2SEQ_SUBCOMMANDS = (add_translate_parser, add_evaluate_parser)
SEQ2SEQ_USER_ERRORS = (TranslationError,)
