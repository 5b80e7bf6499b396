"""Byte-level BPE, GPT-2's tokenizer, from scratch: text -> words -> bytes -> merged tokens -> ids.

API (other modules import these names)::

    tok = BPETokenizer.from_files("encoder.json", "vocab.bpe")   # GPT-2's own format
    tok = load_gpt2_tokenizer()                 # bpe_files.py: GPT-2's files, fetched and cached
    tok = train_bpe(texts, vocab_size=1000)     # bpe_trainer.py
    ids = tok.encode("Hello world")             # int64 (N,): [15496, 995] with GPT-2's files
    ids = tok.encode(text, allowed_special="all")        # or {"<|endoftext|>"}: see below
    text = tok.decode(ids)                      # str; tok.decode_bytes(ids) gives the raw bytes
    tok.save(folder)                            # writes encoder.json + vocab.bpe
    tok.vocab_size, tok.token_to_id(s), tok.special_tokens (str -> id), tok.eot_id, tok.to_dict()

How a text is encoded, as OpenAI's ``encoder.py`` does it:

1. Special tokens. ``<|endoftext|>`` is one id (50256 in GPT-2) only where the caller allows
   it: ``allowed_special="all"`` (every special token) or a set of them. By default it is
   *ordinary text* (7 ids, "<", "|", "end", ...), as in GPT-2's own encoder, so a document
   can never smuggle a control token in. (tiktoken raises instead; Hugging Face's
   ``GPT2TokenizerFast`` always matches it, which is ``allowed_special="all"`` here.)
2. The rest is cut into words by GPT-2's regex and each word spelled as bytes
   (bpe_pretokenize.py).
3. Each word's byte-characters are merged: while some adjacent pair is in the merge list,
   the pair of lowest *rank* (line number in vocab.bpe) is merged, all its occurrences left
   to right. The loop keeps the symbols in a doubly linked list and the candidate pairs in a
   heap ordered by (rank, position), so a word of n bytes costs O(n log n), not the O(n^2) of
   re-scanning every pair after each merge; a heap entry whose symbols have changed since it
   was pushed is skipped when popped. Popping by (rank, position) merges the occurrences of
   one pair left to right, as GPT-2's scan does ("aaa" -> "aa" "a"), and is what Hugging
   Face's ``tokenizers`` does. Each word's ids are cached (up to `CACHE_LIMIT` words), so
   text seen before costs one dict lookup per word.

Decoding joins the tokens' *bytes* first and turns them into text once at the end, so a
character split across tokens comes back whole; only bytes that are still not UTF-8 after
joining (ids sampled by a model may stop mid-character) become U+FFFD (``errors="replace"``,
the default; "strict" raises). ``decode_bytes`` is exact for any ids.

Files: ``encoder.json`` maps each token (in byte-characters) to its id; ``vocab.bpe`` holds
``#version: 0.2`` then one merge per line, "left right", best first. A token that is neither
one of the 256 bytes nor the result of a merge is a special token. Left out: training
(bpe_trainer.py), fetching GPT-2's files (bpe_files.py), and offsets/attention masks.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from tinygrad_lm.data.bpe_pretokenize import (
    BYTE_TO_CHAR,
    gpt2_pattern,
    spell_bytes,
    unspell,
)
from tinygrad_lm.data.corpora import write_atomically
from tinygrad_lm.data.tokenizers import (
    _BYTE_DECODE_ERRORS,
    TOKENIZER_KINDS,
    TokenizerError,
    _as_id_array,
    _check_id_range,
    _check_kind,
    code_point,
)

ENDOFTEXT = "<|endoftext|>"
MERGES_HEADER = "#version: 0.2"
ENCODER_FILE, MERGES_FILE = "encoder.json", "vocab.bpe"
CACHE_LIMIT = 1 << 18  # words whose ids are remembered; the cache is emptied when it is full


def merge_word(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """Apply the merges of `ranks` ((left, right) -> rank) to one word's symbols, best rank first.

    O(n log n) for n symbols: `following`/`preceding` link the live symbols, the heap holds
    (rank, position, left, right) of pairs that were adjacent when pushed. An entry is still
    good when position is alive and it and its successor still spell (left, right).
    """
    n = len(symbols)
    if n < 2:
        return symbols
    symbols = list(symbols)
    following, preceding = list(range(1, n + 1)), list(range(-1, n - 1))  # n and -1: no neighbour
    heap = [(ranks[pair], i, *pair) for i, pair in enumerate(itertools.pairwise(symbols)) if pair in ranks]
    heapq.heapify(heap)
    while heap:
        _, i, left, right = heapq.heappop(heap)
        j = following[i]
        if symbols[i] != left or j >= n or symbols[j] != right:
            continue  # stale: one of its symbols was merged into something else since
        symbols[i], symbols[j] = left + right, ""  # "" marks a dead position
        following[i] = following[j]
        if following[i] < n:
            preceding[following[i]] = i
            pair = (symbols[i], symbols[following[i]])
            if pair in ranks:
                heapq.heappush(heap, (ranks[pair], i, *pair))
        if preceding[i] >= 0:
            pair = (symbols[preceding[i]], symbols[i])
            if pair in ranks:
                heapq.heappush(heap, (ranks[pair], preceding[i], *pair))
    return [s for s in symbols if s]


def merge_word_by_rescan(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """The same result as `merge_word` by OpenAI's loop: after each merge, look at every pair again.

    Each round finds the lowest-rank pair among all adjacent pairs (O(n)) and merges its
    occurrences left to right (O(n)); a word that needs m merges costs O(n m), up to O(n^2).
    Kept as the plain statement of the rule, for tests and for timing against `merge_word`.
    """
    symbols = list(symbols)
    while len(symbols) > 1:
        best = min(itertools.pairwise(symbols), key=lambda pair: ranks.get(pair, len(ranks)))
        if best not in ranks:
            break
        merged, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                merged.append(best[0] + best[1])
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return symbols


class BPETokenizer:
    """A byte-level BPE tokenizer: `vocabulary` (id -> token in byte-characters), `merges`
    (best first) and `special_tokens` (tokens that are neither bytes nor merge results).

    Checks on construction, each a one-line `TokenizerError` naming `source`: tokens are
    distinct non-empty strings; all 256 byte-characters are tokens; both halves and the result
    of every merge are tokens; every other token is a declared special token. With
    ``special_tokens=None`` the leftover tokens are taken as the special ones.
    """

    kind = "bpe"

    def __init__(self, vocabulary: Sequence[str], merges: Sequence[tuple[str, str]],
                 special_tokens: Collection[str] | None = None, source: str = "BPE vocabulary"):  # fmt: skip
        self._vocabulary = tuple(vocabulary)
        self._ids: dict[str, int] = {}
        for index, token in enumerate(self._vocabulary):
            if not isinstance(token, str) or not token:
                raise TokenizerError(f"{source}: entry {index} must be a non-empty str, got {token!r}")
            if token in self._ids:
                raise TokenizerError(f"{source}: token {token!r} has two ids, {self._ids[token]} and {index}")
            self._ids[token] = index
        missing = [b for b, c in BYTE_TO_CHAR.items() if c not in self._ids]
        if missing:
            raise TokenizerError(f"{source} lacks {len(missing)} of the 256 byte tokens (first: byte {missing[0]}, "
                                 f"written {BYTE_TO_CHAR[missing[0]]!r}); is it a byte-level BPE vocabulary?")
        self.merges = tuple((str(a), str(b)) for a, b in merges)
        self._ranks: dict[tuple[str, str], int] = {}
        for rank, (left, right) in enumerate(self.merges):
            for part in (left, right, left + right):
                if part not in self._ids:
                    raise TokenizerError(f"{source} does not match its merges: merge {rank + 1} ({left} {right}) "
                                         f"needs token {part!r}, which the vocabulary lacks; were the "
                                         f"vocabulary and merges files made together?")
            self._ranks.setdefault((left, right), rank)
        made = set(BYTE_TO_CHAR.values()) | {a + b for a, b in self.merges}
        leftover = [t for t in self._vocabulary if t not in made]
        declared = leftover if special_tokens is None else list(special_tokens)
        for token in declared:
            if token not in self._ids:
                raise TokenizerError(f"{source} has no special token {token!r}; add it to the vocabulary "
                                     f"or leave it out of special_tokens")
            if token in made:
                raise TokenizerError(f"{source}: special token {token!r} is also a byte or a merge result; a "
                                     f"special token must be a string of its own, such as <|pad|>")
        stray = [t for t in leftover if t not in declared]
        if stray:
            raise TokenizerError(f"{source}: token {stray[0]!r} (id {self._ids[stray[0]]}) is neither a byte, a "
                                 f"merge result nor a special token; the vocabulary does not match its merges")
        self.special_tokens = {token: self._ids[token] for token in declared}
        # Bytes of each id, for decode: a token's byte-characters unspelled; a special token's UTF-8.
        self._bytes = [t.encode("utf-8") if t in self.special_tokens else unspell(t) for t in self._vocabulary]
        self._special_patterns: dict[frozenset[str], re.Pattern[str]] = {}
        self._cache: dict[str, tuple[int, ...]] = {}

    # --- files ------------------------------------------------------------------------------
    @classmethod
    def from_files(cls, encoder_path: str | os.PathLike[str], merges_path: str | os.PathLike[str],
                   special_tokens: Collection[str] | None = None) -> BPETokenizer:  # fmt: skip
        """Read GPT-2's ``encoder.json`` (token -> id, ids 0..V-1) and ``vocab.bpe`` (merges)."""
        encoder_path, merges_path = Path(encoder_path), Path(merges_path)
        try:
            encoder = json.loads(encoder_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise TokenizerError(f"cannot read vocabulary file {encoder_path}: {error}") from None
        if not isinstance(encoder, dict) or not all(isinstance(i, int) for i in encoder.values()):
            raise TokenizerError(f"{encoder_path} must hold one JSON object mapping each token to an int id")
        if sorted(encoder.values()) != list(range(len(encoder))):
            raise TokenizerError(f"{encoder_path}: the ids must be 0..{len(encoder) - 1}, each once")
        try:
            lines = merges_path.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError) as error:
            raise TokenizerError(f"cannot read merges file {merges_path}: {error}") from None
        merges = []
        for number, line in enumerate(lines, start=1):
            line = line.rstrip("\r")
            if (number == 1 and line.startswith("#version")) or not line:
                continue
            parts = line.split(" ")
            if len(parts) != 2 or not all(parts):
                raise TokenizerError(f"{merges_path}, line {number}: {line!r} is not a merge 'left right'")
            merges.append((parts[0], parts[1]))
        vocabulary = sorted(encoder, key=encoder.__getitem__)
        return cls(vocabulary, merges, special_tokens, source=f"vocabulary file {encoder_path}")

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``encoder.json`` and ``vocab.bpe`` into `folder` (created), atomically; returns it."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        encoder = json.dumps(self._ids, ensure_ascii=False)
        merges = "".join(f"{a} {b}\n" for a, b in self.merges)
        write_atomically(folder / ENCODER_FILE, encoder.encode("utf-8"))
        write_atomically(folder / MERGES_FILE, f"{MERGES_HEADER}\n{merges}".encode())
        return folder

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"kind": "bpe", "vocabulary": [...], "merges": ["a b", ...], "special_tokens": [...]}."""
        return {"kind": self.kind, "vocabulary": list(self._vocabulary),
                "merges": [f"{a} {b}" for a, b in self.merges], "special_tokens": list(self.special_tokens)}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BPETokenizer:
        """Inverse of `to_dict`."""
        _check_kind(d, cls.kind)
        try:
            merges = [tuple(m.split(" ")) for m in d["merges"]]
            return cls(d["vocabulary"], merges, d["special_tokens"], source="bpe tokenizer dict")
        except (KeyError, TypeError, AttributeError) as error:
            raise TokenizerError(f"bpe tokenizer dict needs 'vocabulary', 'merges' and 'special_tokens' lists "
                                 f"({type(error).__name__}: {error})") from None

    # --- the vocabulary -----------------------------------------------------------------------
    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The tokens in byte-characters, indexed by id."""
        return self._vocabulary

    @property
    def vocab_size(self) -> int:
        return len(self._vocabulary)

    @property
    def eot_id(self) -> int | None:
        """The id of ``<|endoftext|>``, or None when it is not a special token here."""
        return self.special_tokens.get(ENDOFTEXT)

    @property
    def merge_ranks(self) -> Mapping[tuple[str, str], int]:
        """(left, right) -> rank (0 = the first merge learned), read-only: what `merge_word` takes."""
        return MappingProxyType(self._ranks)

    def token_to_id(self, token: str) -> int | None:
        """The id of `token` (in byte-characters, or a special token), or None."""
        return self._ids.get(token)

    # --- text -> ids --------------------------------------------------------------------------
    def _word_ids(self, word: str) -> tuple[int, ...]:
        ids = self._cache.get(word)
        if ids is None:
            try:
                spelled = spell_bytes(word.encode("utf-8"))
            except UnicodeEncodeError as error:
                char = word[error.start]
                raise TokenizerError(f"BPETokenizer.encode: {char!r} ({code_point(char)}) is a lone surrogate, "
                                     "which has no UTF-8 bytes; was the text decoded with "
                                     "errors='surrogateescape'?") from None
            ids = tuple(self._ids[s] for s in merge_word(list(spelled), self._ranks))
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[word] = ids
        return ids

    def _special_pattern(self, allowed: frozenset[str]) -> re.Pattern[str]:
        if allowed not in self._special_patterns:
            unknown = sorted(allowed - set(self.special_tokens))
            if unknown:
                raise TokenizerError(f"allowed_special names {unknown[0]!r}, which is not a special token here; "
                                     f"the special tokens are {sorted(self.special_tokens)}")
            longest_first = sorted(allowed, key=len, reverse=True)
            self._special_patterns[allowed] = re.compile("(" + "|".join(map(re.escape, longest_first)) + ")")
        return self._special_patterns[allowed]

    def encode_ordinary(self, text: str) -> list[int]:
        """The ids of `text` with no special tokens (their text is encoded like any other)."""
        if not isinstance(text, str):
            raise TypeError(f"BPETokenizer.encode expects a str, got {type(text).__name__}")
        cache, ids = self._cache, []
        for word in gpt2_pattern().findall(text):
            ids.extend(cache.get(word) or self._word_ids(word))
        return ids

    def encode_list(self, text: str, allowed_special: Literal["all"] | Collection[str] = ()) -> list[int]:
        """`encode` as a Python list of ints."""
        allowed = frozenset(self.special_tokens if allowed_special == "all" else allowed_special)
        if not allowed:
            return self.encode_ordinary(text)
        ids: list[int] = []
        for index, part in enumerate(self._special_pattern(allowed).split(text)):  # text, special, text, ...
            if index % 2:
                ids.append(self.special_tokens[part])
            elif part:
                ids.extend(self.encode_ordinary(part))
        return ids

    def encode(self, text: str, allowed_special: Literal["all"] | Collection[str] = ()) -> np.ndarray:
        """str -> int64 ids (N,). Special tokens are matched only if in `allowed_special` ("all": every one)."""
        return np.array(self.encode_list(text, allowed_special), dtype=np.int64)

    def clear_cache(self) -> None:
        """Forget every cached word (to time a cold start, or free memory)."""
        self._cache.clear()

    # --- ids -> text --------------------------------------------------------------------------
    def decode_bytes(self, ids: Iterable[int] | np.ndarray) -> bytes:
        """int ids (N,) -> the exact bytes they stand for. Raises `TokenIdOutOfRangeError`."""
        ids = _as_id_array(ids, "BPETokenizer")  # (N,)
        _check_id_range(ids, self.vocab_size, "BPETokenizer")
        table = self._bytes
        return b"".join([table[i] for i in ids.tolist()])

    def decode(self, ids: Iterable[int] | np.ndarray, errors: str = "replace") -> str:
        """int ids (N,) -> str: the bytes joined, then UTF-8 decoded once with `errors`."""
        if errors not in _BYTE_DECODE_ERRORS:
            raise ValueError(f"BPETokenizer.decode: errors={errors!r} is not supported; use one of "
                             f"{', '.join(_BYTE_DECODE_ERRORS)}")
        data = self.decode_bytes(ids)
        try:
            return data.decode("utf-8", errors)
        except UnicodeDecodeError as error:
            raise TokenizerError(f"BPETokenizer.decode: bytes {error.start}..{error.end - 1} are not valid UTF-8 "
                                 f"({error.reason}); pass errors='replace' to get U+FFFD there") from None

    def tokenize(self, text: str, allowed_special: Literal["all"] | Collection[str] = ()) -> list[str]:
        """The tokens of `text` in byte-characters, e.g. "Hello world" -> ["Hello", "Ġworld"]."""
        return [self._vocabulary[i] for i in self.encode_list(text, allowed_special)]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BPETokenizer):
            return NotImplemented
        return (self._vocabulary, self.merges, self.special_tokens) == (other._vocabulary, other.merges,
                                                                        other.special_tokens)

    def __hash__(self) -> int:
        return hash((self.kind, self._vocabulary, self.merges))

    def __repr__(self) -> str:
        return (f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
                f"special_tokens={list(self.special_tokens)})")


TOKENIZER_KINDS[BPETokenizer.kind] = BPETokenizer  # so tokenizer_from_dict rebuilds it
