"""The word-vector subcommands of ``tinygrad-lm``: train Word2Vec or GloVe, evaluate, look up neighbours.

    tinygrad-lm word2vec --text PATH --out FILE [--cbow] [--binary] [--no-progress] [key=value ...]
    tinygrad-lm glove --text PATH --out FILE [--binary] [--no-progress] [key=value ...]
        tokenise the UTF-8 file (tinygrad_lm.vectors.vocab.tokenize), train with a progress bar
        showing words/s (pairs/s for GloVe) and write FILE in the word2vec text format (binary
        with --binary). key=value sets a field of Word2VecConfig / GloveConfig, e.g.
        ``vector_size=50 epochs=10 threads=2``.
    tinygrad-lm evaluate-vectors --vectors FILE [--analogies FILE] [--similarity FILE ...] [--json]
        FILE in the word2vec text format (--binary for binary). Analogy accuracy (3CosAdd, or
        --method 3cosmul) and the Spearman rho of each similarity file, with gensim's conventions
        (most frequent 300,000 words, case-insensitive, unknown words skipped, coverage reported).
        Without --analogies / --similarity the standard sets are used (questions-words.txt;
        wordsim353.tsv and simlex999.txt), fetched once from gensim's wheel on PyPI. --json prints
        ONE object: {"analogy": {"accuracy": fraction in [0, 1], "correct", "total", "coverage",
        ...}, "similarity": {FILE NAME: rho, ...}, "similarity_details": {FILE NAME: {...}}}; a rho
        over fewer than two known pairs is null.
    tinygrad-lm neighbours --vectors FILE [--k 10] WORD...
        the k nearest words by cosine.

Every problem (a tiny corpus, a setting out of range, a malformed vectors file, an unknown query
word, non-UTF-8 text) is a VectorsError or CorpusError: one line from ``cli.main``, exit 2.
Left out: training from a named corpus (the benchmark uses tinygrad_lm.vectors.corpus).
"""

import dataclasses
import json
import math
from pathlib import Path

from tinygrad_lm.data.corpora import load_text_file
from tinygrad_lm.vectors.eval_sets import ANALOGIES, SIMILARITY_SETS, fetch_eval_sets
from tinygrad_lm.vectors.evaluate import (
    METHODS,
    RESTRICT,
    evaluate_analogies,
    evaluate_similarity,
)
from tinygrad_lm.vectors.formats import load_word2vec, save_word2vec
from tinygrad_lm.vectors.glove import GloveConfig, train_glove
from tinygrad_lm.vectors.vocab import VectorsError, tokenize
from tinygrad_lm.vectors.word2vec import Word2VecConfig, train_word2vec


def _parse_overrides(config, overrides):
    """A copy of the dataclass ``config`` with each ``key=value`` applied, typed like the field."""
    types = {f.name: type(getattr(config, f.name)) for f in dataclasses.fields(config)}
    changes = {}
    for item in overrides:
        key, _, value = item.partition("=")
        if key not in types:
            raise VectorsError(f"unknown setting {key!r}; settings are {', '.join(types)}")
        kind = types[key]
        try:
            if kind is bool:
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                changes[key] = value.lower() in ("true", "1")
            else:
                changes[key] = kind(value)
        except ValueError:
            raise VectorsError(f"setting {key}={value!r} is not a valid {kind.__name__}") from None
    return dataclasses.replace(config, **changes)


def _add_training_options(parser):
    parser.add_argument("--text", required=True, metavar="PATH", help="a UTF-8 text file to train on")
    parser.add_argument("--out", required=True, metavar="FILE", help="where to write the vectors")
    parser.add_argument("--binary", action="store_true", help="write the word2vec binary format (default text)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="settings to change")


def add_word2vec_parser(subparsers) -> None:
    parser = subparsers.add_parser("word2vec", help="train Word2Vec (skip-gram or CBOW) word vectors",
                                   description="Skip-gram (default) or CBOW with negative sampling. Settings "
                                   f"(key=value): {', '.join(f.name for f in dataclasses.fields(Word2VecConfig))}.")
    _add_training_options(parser)
    parser.add_argument("--cbow", action="store_true", help="CBOW instead of skip-gram")
    parser.set_defaults(run=run_word2vec)


def add_glove_parser(subparsers) -> None:
    parser = subparsers.add_parser("glove", help="train GloVe word vectors",
                                   description="GloVe: distance-weighted co-occurrences, weighted least squares, "
                                   f"AdaGrad. Settings (key=value): {', '.join(f.name for f in dataclasses.fields(GloveConfig))}.")
    _add_training_options(parser)
    parser.set_defaults(run=run_glove)


def _train(args, config, train):
    tokens = tokenize(load_text_file(args.text))
    vectors = train(tokens, config, progress=not args.no_progress)
    save_word2vec(args.out, vectors, binary=args.binary)
    info = vectors.info
    print(f"{info['vocabulary']:,} words x {vectors.dim} dimensions from {info['corpus_words']:,} tokens in "
          f"{info['seconds']:.1f} s ({info['words_per_second']:,.0f} words/s); wrote {args.out}")
    return 0


def run_word2vec(args) -> int:
    config = _parse_overrides(Word2VecConfig(), args.overrides)
    return _train(args, dataclasses.replace(config, cbow=config.cbow or args.cbow), train_word2vec)


def run_glove(args) -> int:
    return _train(args, _parse_overrides(GloveConfig(), args.overrides), train_glove)


def add_evaluate_vectors_parser(subparsers) -> None:
    parser = subparsers.add_parser("evaluate-vectors", help="analogy accuracy and word-similarity correlation",
                                   description="Score word vectors the way gensim does (most frequent 300,000 "
                                   "words, case-insensitive, questions with unknown words skipped).")
    parser.add_argument("--vectors", required=True, metavar="FILE", help="vectors in the word2vec text format")
    parser.add_argument("--binary", action="store_true", help="FILE is in the word2vec binary format")
    parser.add_argument("--analogies", metavar="FILE", help="analogy questions (default: questions-words.txt)")
    parser.add_argument("--similarity", metavar="FILE", nargs="+", action="extend",
                        help="word-pair files (default: wordsim353.tsv and simlex999.txt)")
    parser.add_argument("--method", choices=METHODS, default="3cosadd", help="analogy rule (default 3cosadd)")
    parser.add_argument("--restrict", type=int, default=RESTRICT, help=f"words considered (default {RESTRICT:,})")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run_evaluate_vectors)


def _finite_or_none(value):
    return value if math.isfinite(value) else None


def run_evaluate_vectors(args) -> int:
    if args.restrict < 1:
        raise VectorsError(f"--restrict must be >= 1, got {args.restrict}")
    vectors = load_word2vec(args.vectors, binary=args.binary)
    folder = fetch_eval_sets() if args.analogies is None or args.similarity is None else None
    analogies = Path(args.analogies) if args.analogies else folder / ANALOGIES
    similarity_files = [Path(p) for p in args.similarity] if args.similarity else [folder / n for n in SIMILARITY_SETS]
    for path in [analogies, *similarity_files]:
        if not path.is_file():
            raise VectorsError(f"evaluation file {str(path)!r} does not exist")
    analogy = evaluate_analogies(vectors, analogies, args.method, args.restrict)
    details = {path.name: evaluate_similarity(vectors, path, args.restrict) for path in similarity_files}
    report = {"vectors": str(args.vectors), "analogy": {**analogy, "file": str(analogies)},
              "similarity": {name: _finite_or_none(d["spearman"]) for name, d in details.items()},
              "similarity_details": {name: {**d, "spearman": _finite_or_none(d["spearman"])} for name, d in details.items()}}
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{args.vectors}: {len(vectors):,} words x {vectors.dim} dimensions")
    print(f"analogies ({analogies.name}, {args.method}): accuracy {analogy['accuracy']:.4f} "
          f"({analogy['correct']:,} of {analogy['total']:,}; coverage {analogy['coverage']:.3f})")
    for name, d in details.items():
        print(f"{name}: Spearman rho {d['spearman']:.4f} over {d['pairs']} of {d['total']} pairs")
    return 0


def add_neighbours_parser(subparsers) -> None:
    parser = subparsers.add_parser("neighbours", help="nearest words by cosine similarity")
    parser.add_argument("--vectors", required=True, metavar="FILE", help="vectors in the word2vec text format")
    parser.add_argument("--binary", action="store_true", help="FILE is in the word2vec binary format")
    parser.add_argument("--k", type=int, default=10, help="how many neighbours (default 10)")
    parser.add_argument("words", nargs="+", metavar="WORD")
    parser.set_defaults(run=run_neighbours)


def run_neighbours(args) -> int:
    if args.k < 1:
        raise VectorsError(f"--k must be >= 1, got {args.k}")
    vectors = load_word2vec(args.vectors, binary=args.binary)
    answers = {word: vectors.nearest(word, args.k) for word in args.words}  # every word checked before printing
    for word, neighbours in answers.items():
        print(f"{word}: " + ", ".join(f"{w} {s:.3f}" for w, s in neighbours))
    return 0


VECTORS_SUBCOMMANDS = (add_word2vec_parser, add_glove_parser, add_evaluate_vectors_parser, add_neighbours_parser)
VECTORS_USER_ERRORS = (VectorsError,)
