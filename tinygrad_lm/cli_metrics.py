"""The scoring subcommands of ``tinygrad-lm``: ``bleu`` and ``rouge`` over files, one segment per line.

    tinygrad-lm bleu --hyp FILE --ref FILE [--ref FILE ...] [--tokenize 13a|intl|none]
                     [--smooth exp|floor|add-k|none] [--lowercase] [--json]
        corpus BLEU (``metrics.corpus_bleu``, sacrebleu's conventions; defaults 13a and exp,
        as sacrebleu's command) and chrF2 (sacrebleu's defaults: case-sensitive whatever
        --lowercase says, as sacrebleu's own ``-m chrf`` without ``--chrf-lowercase``). Each
        --ref file is one reference stream: line i of every file is a reference of line i
        of --hyp. ``--json`` prints one object: ``score`` (0-100), ``counts``, ``totals``,
        ``precisions`` (0-100), ``bp``, ``sys_len``, ``ref_len``, ``chrf`` (0-100), and the
        settings ``tokenize``, ``smooth``, ``lowercase``, ``refs``, ``segments``.
    tinygrad-lm rouge --hyp FILE --ref FILE [--ref FILE ...] [--stem] [--json]
        ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum (``metrics.corpus_rouge``, rouge-score's
        conventions), each precision, recall and F the mean over segments. ``--stem`` uses the
        Porter stemmer. With several --ref files each segment takes, per ROUGE type, the
        reference with the best F (rouge-score's ``score_multi``). ``--json`` prints
        ``{"rouge1": {"precision": P, "recall": R, "fmeasure": F}, "rouge2": ..., "rougeL": ...,
        "rougeLsum": ...}``. A segment is one line, so ROUGE-Lsum's sentence breaks are written
        as the two characters ``\\n`` (backslash, n) inside it: "A cat sat.\\nIt slept." is one
        segment of two sentences. Every ``\\n`` becomes a line break before scoring (the
        tokeniser treats it as a space for ROUGE-1, -2 and -L).

Files are read as sacrebleu's command reads them: UTF-8, split at "\\n" only, trailing whitespace
(and so a "\\r") stripped from each line, the final newline ending the last line rather than
starting an empty one. An empty line is a valid, empty segment (sacrebleu scores it as a
hypothesis of length 0, or a reference of length 0). One-line errors, exit 2: a missing or empty
file (no segments at all), files with different numbers of lines, bytes that are not UTF-8
(naming the file and the line). Left out: reading stdin, sacrebleu's test-set download, TER,
confidence intervals and significance tests.
"""

import json
from pathlib import Path

from tinygrad_lm.metrics import corpus_bleu, corpus_chrf, corpus_rouge
from tinygrad_lm.metrics.bleu import SMOOTH_DEFAULTS
from tinygrad_lm.metrics.mt_tokenizers import TOKENIZERS
from tinygrad_lm.metrics.rouge import ROUGE_TYPES

SENTENCE_BREAK = "\\n"  # the two characters that stand for a line break inside a ROUGE segment


class MetricsInputError(Exception):
    """A hypothesis or reference file that cannot be scored; main prints it on one line (exit 2)."""


def read_segments(path: str) -> list:
    """The lines of a UTF-8 file, trailing whitespace stripped (sacrebleu's reading), or a MetricsInputError."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise MetricsInputError(f"cannot read {path}: {error.strerror or error}") from None
    if not data:
        raise MetricsInputError(f"{path} is empty; give one segment per line (an empty line is an empty segment)")
    raw_lines = data.split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()  # the newline that ends the last line
    lines = []
    for number, raw in enumerate(raw_lines, 1):
        try:
            lines.append(raw.decode("utf-8").rstrip())
        except UnicodeDecodeError as error:
            raise MetricsInputError(f"{path}: line {number} is not UTF-8 ({error.reason} at byte {error.start} of "
                                    "the line); convert the file to UTF-8") from None
    return lines


def read_corpus(hyp: str, refs: list) -> tuple:
    """(hypotheses, reference streams) with one line per segment in every file, or a MetricsInputError."""
    hypotheses = read_segments(hyp)
    streams = [read_segments(ref) for ref in refs]
    for ref, stream in zip(refs, streams):
        if len(stream) != len(hypotheses):
            raise MetricsInputError(f"{ref} has {len(stream)} lines but {hyp} has {len(hypotheses)}; "
                                    "give one reference line per hypothesis line")
    return hypotheses, streams


def _add_files(parser) -> None:
    parser.add_argument("--hyp", required=True, metavar="FILE", help="system output, one segment per line (UTF-8)")
    parser.add_argument("--ref", required=True, action="append", metavar="FILE",
                        help="references, one line per --hyp line; repeat for several references")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def add_bleu_parser(subparsers) -> None:
    """Declare ``bleu`` and its options."""
    parser = subparsers.add_parser("bleu", help="corpus BLEU and chrF of a file against reference files "
                                   "(sacrebleu-compatible)",
                                   description="Corpus BLEU (sacrebleu 2.x's conventions) and chrF2 of --hyp "
                                   "against one or more --ref files, one segment per line.")
    _add_files(parser)
    parser.add_argument("--tokenize", choices=list(TOKENIZERS), default="13a",
                        help="13a: mteval-v13a (default, WMT's); intl: Unicode punctuation and symbols; none: as is")
    parser.add_argument("--smooth", choices=list(SMOOTH_DEFAULTS), default="exp",
                        help="for n-gram orders without a match: exp (default), floor (0.1), add-k (1), none")
    parser.add_argument("--lowercase", action="store_true", help="lowercase hypotheses and references (BLEU only)")
    parser.set_defaults(run=run_bleu)


def run_bleu(args) -> int:
    hypotheses, streams = read_corpus(args.hyp, args.ref)
    bleu = corpus_bleu(hypotheses, streams, smooth_method=args.smooth, lowercase=args.lowercase,
                       tokenize=args.tokenize)
    chrf = corpus_chrf(hypotheses, streams)
    if args.json:
        print(json.dumps({**bleu.to_dict(), "chrf": chrf.score, "tokenize": args.tokenize, "smooth": args.smooth,
                          "lowercase": args.lowercase, "refs": len(streams), "segments": len(hypotheses)}))
        return 0
    print(bleu)
    print(chrf)
    print(f"{len(hypotheses)} segments, {len(streams)} reference{'s' * (len(streams) > 1)}; tokenize {args.tokenize}, "
          f"smooth {args.smooth}, case {'lowercased' if args.lowercase else 'mixed'}")
    return 0


def add_rouge_parser(subparsers) -> None:
    """Declare ``rouge`` and its options."""
    parser = subparsers.add_parser("rouge", help="ROUGE-1/2/L/Lsum of a file against reference files "
                                   "(rouge-score-compatible)",
                                   description="ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum (rouge-score's "
                                   "conventions) of --hyp against --ref, one segment per line, averaged over "
                                   "segments. Write ROUGE-Lsum's sentence breaks inside a line as \\n.")
    _add_files(parser)
    parser.add_argument("--stem", action="store_true", help="Porter-stem tokens longer than 3 characters")
    parser.set_defaults(run=run_rouge)


def run_rouge(args) -> int:
    hypotheses, streams = read_corpus(args.hyp, args.ref)
    hypotheses = [line.replace(SENTENCE_BREAK, "\n") for line in hypotheses]
    streams = [[line.replace(SENTENCE_BREAK, "\n") for line in stream] for stream in streams]
    scores = corpus_rouge(hypotheses, streams, ROUGE_TYPES, use_stemmer=args.stem)
    if args.json:
        print(json.dumps({name: score._asdict() for name, score in scores.items()}))
        return 0
    for name, score in scores.items():
        print(f"{name:<9}  P {score.precision:.4f}  R {score.recall:.4f}  F {score.fmeasure:.4f}")
    print(f"mean over {len(hypotheses)} segments, {len(streams)} reference{'s' * (len(streams) > 1)}, "
          f"stemmer {'on' if args.stem else 'off'}")
    return 0


METRICS_SUBCOMMANDS = (add_bleu_parser, add_rouge_parser)
METRICS_USER_ERRORS = (MetricsInputError,)
