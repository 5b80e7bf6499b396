"""BERT's WordPiece tokenizer, from scratch: text -> words -> subword pieces -> int64 ids.

Two stages, as in BERT (Devlin et al. 2019, and Google's ``tokenization.py``):

1. The *basic tokenizer* turns a string into words:
   * cleanup: NUL, U+FFFD and control characters (Unicode categories Cc, Cf, Co, Cn, except
     tab, newline and carriage return) are dropped; whitespace (the Unicode White_Space
     characters that survive that) becomes one space;
   * every CJK ideograph (BERT's code-point blocks, `CJK_RANGES`) gets a space on each side,
     so it becomes a word of its own;
   * when uncased: NFD decomposition, nonspacing marks (category Mn) dropped, then lowercasing
     one character at a time (so a final capital sigma becomes "σ", never "ς");
   * split on whitespace, and around every punctuation character (any Unicode category P*,
     plus the ASCII ranges BERT counts as punctuation, 33-47, 58-64, 91-96 and 123-126, which
     adds $ + < = > ^ ` | ~).
2. *WordPiece* splits each word greedily, longest match first: the longest prefix that is in
   the vocabulary, then the longest continuation after it spelled with ``##``, and so on. A
   word with a part that matches nothing, or longer than `max_input_chars_per_word` (100)
   characters, becomes the single token [UNK].

The five special tokens [PAD] [UNK] [CLS] [SEP] [MASK] must be in the vocabulary. Written
literally in the input text, they are kept whole (as Hugging Face's tokenizer does); pass
``match_special_tokens=False`` to tokenize them like any other text. These choices follow
Hugging Face's ``tokenizers`` (BertNormalizer + BertPreTokenizer + WordPiece), against which the
tests check the ids. Character classes come from Python's `unicodedata` (Unicode 14.0 on
Python 3.11); HF's Rust tables are Unicode 8.0's, so the two differ on characters added or
recategorised since (503 of 1,112,064 code points, in scripts and signs added after 2015; see
tests/data/test_wordpiece_parity.py). Google's original BERT code also asks `unicodedata`.

Character classes are looked up through `str.translate` tables that fill themselves in the
first time they meet a character, and each word's pieces are cached, so encoding runs at C
speed for text it has seen before.

Left out: training a vocabulary (wordpiece_trainer.py), fetching one (pretrained_files.py),
and Hugging Face's decoder "cleanup" that glues punctuation back ("a man ." -> "a man."):
`decode` joins words with single spaces, so it inverts the basic tokenizer exactly.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_lm.data.corpora import write_atomically
from tinygrad_lm.data.tokenizers import (
    TOKENIZER_KINDS,
    TokenizerError,
    _as_id_array,
    _check_id_range,
    _check_kind,
)

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
CONTINUATION_PREFIX = "##"
MAX_INPUT_CHARS_PER_WORD = 100
TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second")

# BERT's "Chinese character" blocks: CJK Unified Ideographs and their extensions A-E, and the
# compatibility ideographs (Hugging Face's table, whose extension D starts at U+2B740).
CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)  # fmt: skip
# Unicode's White_Space property (Rust's char::is_whitespace); those that are also control
# characters (U+000B, U+000C, U+0085) are dropped as controls before this set is consulted.
WHITESPACE = frozenset("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
                       + "".join(map(chr, range(0x2000, 0x200B))))  # fmt: skip
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Co"})
_ASCII_PUNCTUATION = frozenset(chr(c) for lo, hi in ((33, 47), (58, 64), (91, 96), (123, 126))
                               for c in range(lo, hi + 1))  # fmt: skip


def is_cjk(char: str) -> bool:
    """True for a CJK ideograph in BERT's sense (a code point inside `CJK_RANGES`)."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in CJK_RANGES)


def is_punctuation(char: str) -> bool:
    """True for Unicode category P* and for BERT's ASCII punctuation ranges."""
    return char in _ASCII_PUNCTUATION or unicodedata.category(char).startswith("P")


class _CharTable(dict):
    """A `str.translate` table that computes a character's replacement on first sight.

    `str.translate` looks each code point up in the table; a miss calls `__missing__`, which
    asks `rule` (char -> replacement: a str, or None to drop the character) and remembers the
    answer. ASCII is filled in at once, so plain English never misses.
    """

    def __init__(self, rule):
        super().__init__()
        self.rule = rule
        for code in range(128):
            self.__missing__(code)

    def __missing__(self, code: int) -> str | None:
        replacement = self[code] = self.rule(chr(code))
        return replacement


def _clean(char: str) -> str | None:
    """Step 1: drop NUL, U+FFFD and controls, whitespace -> " ", pad CJK ideographs."""
    if char in "\x00\ufffd" or (char not in "\t\n\r"
                                and unicodedata.category(char) in _CONTROL_CATEGORIES):
        return None
    if char in WHITESPACE:
        return " "
    return f" {char} " if is_cjk(char) else char


_CLEAN = _CharTable(_clean)
_DROP_NONSPACING_MARKS = _CharTable(lambda c: None if unicodedata.category(c) == "Mn" else c)
_PAD_PUNCTUATION = _CharTable(lambda c: f" {c} " if is_punctuation(c) else c)


def basic_tokenize(text: str, lowercase: bool = True, strip_accents: bool | None = None) -> list[str]:
    """BERT's basic tokenizer: str -> list of words (see the module docstring for the steps).

    `strip_accents` (NFD, then drop nonspacing marks) follows `lowercase` unless given.
    Example: basic_tokenize("Héllo, 世界!") == ["hello", ",", "世", "界", "!"].
    """
    text = text.translate(_CLEAN)
    strip = lowercase if strip_accents is None else strip_accents
    if strip and not text.isascii():  # NFD and Mn leave ASCII as it is
        text = unicodedata.normalize("NFD", text).translate(_DROP_NONSPACING_MARKS)
    if lowercase:  # str.lower turns a final "Σ" into "ς"; one character at a time it is "σ"
        text = text.replace("Σ", "σ").lower()
    return text.translate(_PAD_PUNCTUATION).split()


class WordPieceTokenizer:
    """BERT's tokenizer over a vocabulary of WordPiece tokens (index = id).

    `encode(text)` gives the ids of the text alone; `encode_pair` and `encode_batch` add
    [CLS] a [SEP] (b [SEP]) with token-type ids, truncate and pad for a model. Options:
    `lowercase` (uncased vocabularies such as MiniLM's), `strip_accents` (None: as lowercase),
    `max_input_chars_per_word`, `match_special_tokens` (see the module docstring); `source`
    names the vocabulary in error messages.
    """

    kind = "wordpiece"

    def __init__(self, vocab: Sequence[str], lowercase: bool = True, strip_accents: bool | None = None,
                 max_input_chars_per_word: int = MAX_INPUT_CHARS_PER_WORD,
                 match_special_tokens: bool = True, source: str = "vocabulary"):  # fmt: skip
        vocab = tuple(vocab)
        self._ids: dict[str, int] = {}
        for index, token in enumerate(vocab):
            if not isinstance(token, str) or not token:
                raise TokenizerError(f"{source}: entry {index} must be a non-empty str, got {token!r}")
            if token in self._ids:
                raise TokenizerError(f"{source}: token {token!r} appears twice, as ids "
                                     f"{self._ids[token]} and {index}; each token must appear once")
            self._ids[token] = index
        for token in SPECIAL_TOKENS:
            if token not in self._ids:
                raise TokenizerError(f"{source} has no special token {token}; a BERT vocabulary "
                                     f"needs all of {' '.join(SPECIAL_TOKENS)}")
        self._vocabulary = vocab
        self.lowercase, self.strip_accents = bool(lowercase), strip_accents
        self.max_input_chars_per_word = int(max_input_chars_per_word)
        self.match_special_tokens = bool(match_special_tokens)
        self._special_ids = frozenset(self._ids[token] for token in SPECIAL_TOKENS)
        self._special_pattern = re.compile("(" + "|".join(map(re.escape, SPECIAL_TOKENS)) + ")")
        # The longest piece worth trying at the start of a word and after it (without "##").
        self._longest_first = max(len(t) for t in vocab if not t.startswith(CONTINUATION_PREFIX))
        self._longest_next = max((len(t) - 2 for t in vocab if t.startswith(CONTINUATION_PREFIX)), default=0)
        self._cache: dict[str, tuple[int, ...]] = {}

    @classmethod
    def from_vocab_file(cls, path: str | os.PathLike[str], lowercase: bool = True,
                        **options: Any) -> WordPieceTokenizer:  # fmt: skip
        """Read a BERT ``vocab.txt``: one token per line, line n (from 1) is id n - 1."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise TokenizerError(f"cannot read vocabulary file {path}: {error}") from None
        tokens = text.split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()  # the newline that ends the last line
        seen: dict[str, int] = {}
        for line, token in enumerate(tokens, start=1):
            token = tokens[line - 1] = token.rstrip("\r")
            if not token:
                raise TokenizerError(f"{path}, line {line}: empty line; each line must hold one token")
            if token in seen:
                raise TokenizerError(f"{path}, line {line}: token {token!r} repeats line {seen[token]}; "
                                     "each token must appear once")
            seen[token] = line
        return cls(tokens, lowercase=lowercase, source=f"vocabulary file {path}", **options)

    def save_vocab(self, path: str | os.PathLike[str]) -> None:
        """Write ``vocab.txt`` (one token per line, in id order), atomically."""
        write_atomically(Path(path), ("\n".join(self._vocabulary) + "\n").encode("utf-8"))

    # --- the vocabulary -----------------------------------------------------------------
    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The tokens, indexed by id."""
        return self._vocabulary

    @property
    def vocab_size(self) -> int:
        return len(self._vocabulary)

    def token_to_id(self, token: str) -> int | None:
        """The id of `token`, or None if it is not in the vocabulary."""
        return self._ids.get(token)

    pad_id = property(lambda self: self._ids["[PAD]"], doc="id of [PAD]")
    unk_id = property(lambda self: self._ids["[UNK]"], doc="id of [UNK]")
    cls_id = property(lambda self: self._ids["[CLS]"], doc="id of [CLS]")
    sep_id = property(lambda self: self._ids["[SEP]"], doc="id of [SEP]")
    mask_id = property(lambda self: self._ids["[MASK]"], doc="id of [MASK]")

    # --- text -> ids ----------------------------------------------------------------------
    def _word_ids(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match-first WordPiece of one word, e.g. "unaffable" -> un ##aff ##able."""
        ids = self._cache.get(word)
        if ids is not None:
            return ids
        if len(word) > self.max_input_chars_per_word:
            ids = (self.unk_id,)
        else:
            pieces, start = [], 0
            while start < len(word):
                prefix = CONTINUATION_PREFIX if start else ""
                end = min(len(word), start + (self._longest_next if start else self._longest_first))
                while end > start and (prefix + word[start:end]) not in self._ids:
                    end -= 1
                if end == start:  # no piece matches here: the whole word is unknown
                    pieces = [self.unk_id]
                    break
                pieces.append(self._ids[prefix + word[start:end]])
                start = end
            ids = tuple(pieces)
        if len(self._cache) >= 1 << 18:  # keep memory bounded on an endless stream of new words
            self._cache.clear()
        self._cache[word] = ids
        return ids

    def clear_cache(self) -> None:
        """Forget the cached pieces of every word seen (to time a cold start, or free memory)."""
        self._cache.clear()

    def _ids_list(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"WordPieceTokenizer expects a str, got {type(text).__name__}")
        if self.match_special_tokens and "[" in text:
            parts = self._special_pattern.split(text)  # text, special, text, special, ...
        else:
            parts = [text]
        ids: list[int] = []
        for index, part in enumerate(parts):
            if index % 2:
                ids.append(self._ids[part])
                continue
            for word in basic_tokenize(part, self.lowercase, self.strip_accents):
                ids.extend(self._word_ids(word))
        return ids

    def tokenize(self, text: str) -> list[str]:
        """str -> WordPiece tokens, e.g. "Unaffable!" -> ["una", "##ffa", "##ble", "!"]."""
        return [self._vocabulary[i] for i in self._ids_list(text)]

    def encode(self, text: str) -> np.ndarray:
        """str -> int64 ids (N,), without [CLS]/[SEP] (see `encode_pair` for those)."""
        return np.array(self._ids_list(text), dtype=np.int64)

    def _truncate(self, a: list[int], b: list[int] | None, max_length: int | None,
                  truncation: str) -> tuple[list[int], list[int] | None]:  # fmt: skip
        """Cut a and b so that they fit `max_length` with their [CLS]/[SEP] tokens.

        longest_first (Hugging Face's rule): if only the longer one must shrink it keeps
        budget - len(shorter); if both must, the shorter keeps budget // 2 and the longer the
        rest (b when they are equally long). only_first / only_second cut just that one.
        """
        if truncation not in TRUNCATION_STRATEGIES:
            raise ValueError(f"truncation={truncation!r} is not supported; use one of "
                             f"{', '.join(TRUNCATION_STRATEGIES)}")
        if max_length is None:
            return a, b
        budget = max_length - (2 if b is None else 3)
        if budget < 0:
            raise ValueError(f"max_length={max_length} leaves no room for the text: [CLS] and [SEP] "
                             f"alone take {max_length - budget} positions")
        n_a, n_b = len(a), 0 if b is None else len(b)
        if n_a + n_b <= budget:
            return a, b
        if b is None or truncation == "only_first":
            if n_b > budget:
                raise ValueError(f"truncation='only_first' cannot fit: the second text alone has "
                                 f"{n_b} tokens, over the {budget} left by max_length={max_length}")
            return a[: budget - n_b], b
        if truncation == "only_second":
            if n_a > budget:
                raise ValueError(f"truncation='only_second' cannot fit: the first text alone has "
                                 f"{n_a} tokens, over the {budget} left by max_length={max_length}")
            return a, b[: budget - n_a]
        short = min(n_a, n_b)
        keep_short, keep_long = short, max(short, budget - short)
        if keep_short + keep_long > budget:
            keep_short, keep_long = budget // 2, budget // 2 + budget % 2
        keep_a, keep_b = (keep_long, keep_short) if n_a > n_b else (keep_short, keep_long)
        return a[:keep_a], b[:keep_b]

    def encode_pair(self, text_a: str, text_b: str | None = None, max_length: int | None = None,
                    truncation: str = "longest_first") -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """[CLS] a [SEP] (b [SEP]) -> (ids, token_type_ids), int64 (T,) each; type 0 for
        [CLS], a and its [SEP], 1 for b and its [SEP]. `max_length` counts the special tokens;
        a single text is cut at its end. An empty text gives just [CLS] [SEP]."""
        a = self._ids_list(text_a)
        b = None if text_b is None else self._ids_list(text_b)
        a, b = self._truncate(a, b, max_length, truncation)
        ids = [self.cls_id, *a, self.sep_id]
        types = [0] * len(ids)
        if b is not None:
            ids += [*b, self.sep_id]
            types += [1] * (len(b) + 1)
        return np.array(ids, dtype=np.int64), np.array(types, dtype=np.int64)

    def encode_batch(self, texts: Sequence[str], pairs: Sequence[str] | None = None,
                     max_length: int | None = None, truncation: str = "longest_first") -> dict[str, np.ndarray]:  # fmt: skip
        """A batch for a BERT model: `encode_pair` of each text (and its pair), right-padded with
        [PAD] to the longest row. Returns int64 (B, T) arrays ``input_ids``, ``token_type_ids``
        and ``attention_mask`` (1 on real tokens, 0 on padding)."""
        if isinstance(texts, str) or not isinstance(texts, Sequence) or not texts:
            got = repr(texts) if isinstance(texts, str) else f"{type(texts).__name__} {texts!r}"
            raise TypeError(f"encode_batch expects a non-empty list of str, got {got:.80}")
        if pairs is not None and (isinstance(pairs, str) or len(pairs) != len(texts)):
            raise ValueError(f"encode_batch: pairs must be a list with one text per text ({len(texts)}), "
                             f"got {pairs!r:.60}")
        rows = []
        for index, text in enumerate(texts):
            pair = None if pairs is None else pairs[index]
            for name, item in (("texts", text), ("pairs", pair)):
                if not isinstance(item, str) and not (name == "pairs" and pairs is None):
                    raise TypeError(f"encode_batch: {name}[{index}] is a {type(item).__name__}, not a str")
            rows.append(self.encode_pair(text, pair, max_length, truncation))
        width = max(len(ids) for ids, _ in rows)
        batch = {name: np.zeros((len(rows), width), dtype=np.int64)
                 for name in ("input_ids", "token_type_ids", "attention_mask")}  # fmt: skip
        batch["input_ids"][:] = self.pad_id  # (B, T)
        for row, (ids, types) in enumerate(rows):
            batch["input_ids"][row, : len(ids)] = ids
            batch["token_type_ids"][row, : len(ids)] = types
            batch["attention_mask"][row, : len(ids)] = 1
        return batch

    # --- ids -> text ----------------------------------------------------------------------
    def decode(self, ids: Iterable[int] | np.ndarray, skip_special_tokens: bool = True) -> str:
        """int ids (N,) -> str: tokens joined by spaces, each ``##`` piece glued to the one before.

        With `skip_special_tokens` the five special tokens ([UNK] included) are left out. For
        text whose words are all in the vocabulary, decode(encode(text)) equals
        " ".join(basic_tokenize(text)).
        """
        ids = _as_id_array(ids, "WordPieceTokenizer")  # (N,)
        _check_id_range(ids, self.vocab_size, "WordPieceTokenizer")
        parts: list[str] = []
        for token_id in ids.tolist():
            if skip_special_tokens and token_id in self._special_ids:
                continue
            token = self._vocabulary[token_id]
            if parts and token.startswith(CONTINUATION_PREFIX):
                parts.append(token[len(CONTINUATION_PREFIX):])
            else:
                parts.append(" " + token if parts else token)
        return "".join(parts)

    # --- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: the kind, the vocabulary (one str per id) and the options."""
        return {"kind": self.kind, "vocabulary": list(self._vocabulary), "lowercase": self.lowercase,
                "strip_accents": self.strip_accents, "max_input_chars_per_word": self.max_input_chars_per_word,
                "match_special_tokens": self.match_special_tokens}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WordPieceTokenizer:
        """Inverse of `to_dict`."""
        _check_kind(d, cls.kind)
        vocabulary = d.get("vocabulary")
        if not isinstance(vocabulary, list):
            raise TokenizerError("wordpiece tokenizer dict needs a 'vocabulary' list of tokens, got "
                                 f"{type(vocabulary).__name__}")
        options = {key: d[key] for key in ("lowercase", "strip_accents", "max_input_chars_per_word",
                                           "match_special_tokens") if key in d}  # fmt: skip
        return cls(vocabulary, source="wordpiece tokenizer dict", **options)

    def _key(self) -> tuple:
        return (self._vocabulary, self.lowercase, self.strip_accents, self.max_input_chars_per_word,
                self.match_special_tokens)  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WordPieceTokenizer):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.kind, *self._key()))

    def __repr__(self) -> str:
        return f"WordPieceTokenizer(vocab_size={self.vocab_size}, lowercase={self.lowercase})"


TOKENIZER_KINDS[WordPieceTokenizer.kind] = WordPieceTokenizer  # so tokenizer_from_dict rebuilds it
