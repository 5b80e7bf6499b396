"""Character-level and byte-level tokenizers: text <-> 1-D int64 arrays of token ids.

A tokenizer turns a string of N characters into an array of token ids of shape (N',)
and back. Two kinds live here:

* `CharTokenizer`: one id per Unicode character, from a vocabulary of characters that was
  read off the training corpus (sorted unique characters). Tiny vocabularies (about 65 for
  Shakespeare), so a small model learns quickly, but text containing a character the corpus
  never showed cannot be encoded.
* `ByteTokenizer`: one id per UTF-8 byte, vocabulary 256. Every string can be encoded; a
  character may take up to 4 ids, and a model's sampled ids may stop in the middle of a
  character, which is why `decode` replaces invalid UTF-8 by default.

Both serialise to a small JSON-ready dict (`to_dict` / `tokenizer_from_dict`) so a checkpoint
can carry the exact tokenizer it was trained with.

Left out: subword tokenizers (BPE, WordPiece) and special tokens (BOS/EOS/PAD); they belong
in their own modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np

# Python strings may hold lone surrogates (U+D800..U+DFFF); "surrogatepass" lets them travel
# through the UTF-32 code-point view below instead of failing deep inside the codec.
_CODEC_ERRORS = "surrogatepass"
_BYTE_DECODE_ERRORS = ("replace", "strict", "ignore", "backslashreplace")


class TokenizerError(ValueError):
    """Base class for tokenizer errors (a `ValueError`, so callers may catch either)."""


class UnknownCharacterError(TokenizerError):
    """Text contains a character that is not in a `CharTokenizer`'s vocabulary."""

    def __init__(self, char: str, position: int, vocab_size: int):
        self.char = char
        self.position = position
        super().__init__(
            f"CharTokenizer.encode: character {char!r} ({code_point(char)}) at position "
            f"{position} is not in the vocabulary ({vocab_size} characters). The vocabulary "
            "came from the training corpus, so only characters seen there can be encoded; "
            "remove or replace this character, or train with a ByteTokenizer, which "
            "encodes any text."
        )


class TokenIdOutOfRangeError(TokenizerError):
    """`decode` got an id outside [0, vocab_size)."""

    def __init__(self, who: str, token_id: int, position: int, vocab_size: int):
        self.token_id = token_id
        self.position = position
        super().__init__(
            f"{who}.decode: token id {token_id} at position {position} is out of range for "
            f"vocab size {vocab_size} (valid ids are 0..{vocab_size - 1}); were these ids "
            "made by a different tokenizer or a model with a larger vocabulary?"
        )


def code_point(char: str) -> str:
    """The Unicode code point of one character in U+XXXX notation, e.g. 'é' -> 'U+00E9'."""
    return f"U+{ord(char):04X}"


class Tokenizer(Protocol):
    """What the trainer, sampler and checkpoints rely on: any tokenizer kind fits this."""

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> np.ndarray: ...

    def decode(self, ids: Iterable[int] | np.ndarray) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


def _as_id_array(ids: Iterable[int] | np.ndarray, who: str) -> np.ndarray:
    """Check that `ids` is a 1-D integer sequence and return it as an integer array (N,).

    The dtype is kept (uint64 ids above 2**63 must not wrap round to negative ones before
    `_check_id_range` reports them); cast to int64 only after that check."""
    array = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids))
    if array.ndim != 1:
        raise ValueError(
            f"{who}.decode expects a 1-D sequence of token ids, got shape {array.shape}; "
            "decode one row at a time, e.g. [tok.decode(row) for row in batch]"
        )
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(
            f"{who}.decode expects integer token ids, got dtype {array.dtype}; "
            "convert with ids.astype(np.int64) if the values are whole numbers"
        )
    return array


def _check_id_range(ids: np.ndarray, vocab_size: int, who: str) -> None:
    """Raise `TokenIdOutOfRangeError` naming the first id outside [0, vocab_size)."""
    bad = np.flatnonzero((ids < 0) | (ids >= vocab_size))
    if bad.size:
        position = int(bad[0])
        raise TokenIdOutOfRangeError(who, int(ids[position]), position, vocab_size)


def _code_points(text: str) -> np.ndarray:
    """The code point of every character: str of N characters -> uint32 array (N,)."""
    if not isinstance(text, str):
        raise TypeError(f"encode expects a str, got {type(text).__name__}")
    return np.frombuffer(text.encode("utf-32-le", _CODEC_ERRORS), dtype=np.uint32)


class CharTokenizer:
    """One token per character: id i stands for `vocabulary[i]`.

    Build it with `CharTokenizer.from_text(corpus)` (the sorted unique characters of the
    corpus) or `CharTokenizer(vocabulary)` with an explicit list of distinct single
    characters, whose order fixes the ids.

    Encoding is vectorised: the text's code points (N,) are looked up in the vocabulary's
    sorted code points with a binary search (`np.searchsorted`), O(N log V).
    """

    kind = "char"

    def __init__(self, vocabulary: Sequence[str]):
        vocabulary = tuple(vocabulary)
        if not vocabulary:
            raise ValueError("CharTokenizer needs a non-empty vocabulary, got 0 characters")
        seen: set[str] = set()
        for index, char in enumerate(vocabulary):
            if not isinstance(char, str) or len(char) != 1:
                raise ValueError(
                    f"CharTokenizer vocabulary entry {index} must be a single character, "
                    f"got {char!r}"
                )
            if char in seen:
                raise ValueError(
                    f"CharTokenizer vocabulary lists {char!r} ({code_point(char)}) more than "
                    "once; each character must appear exactly once"
                )
            seen.add(char)
        self._vocabulary = vocabulary
        self._codes = _code_points("".join(vocabulary))  # (V,) code point of each id
        self._order = np.argsort(self._codes)  # (V,) ids sorted by code point
        self._sorted_codes = self._codes[self._order].astype(np.int64)  # (V,)

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """The tokenizer whose vocabulary is the sorted unique characters of `text`."""
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.from_text expects a str, got {type(text).__name__}")
        if not text:
            raise ValueError("CharTokenizer.from_text got an empty text; it has no characters")
        return cls(sorted(set(text)))

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The characters, indexed by token id."""
        return self._vocabulary

    @property
    def vocab_size(self) -> int:
        return len(self._vocabulary)

    def encode(self, text: str) -> np.ndarray:
        """str of N characters -> int64 ids (N,). Raises `UnknownCharacterError`."""
        codes = _code_points(text).astype(np.int64)  # (N,)
        slots = np.searchsorted(self._sorted_codes, codes)  # (N,) in [0, V]
        slots = np.minimum(slots, self.vocab_size - 1)  # (N,) in [0, V)
        unknown = np.flatnonzero(self._sorted_codes[slots] != codes)
        if unknown.size:
            position = int(unknown[0])
            raise UnknownCharacterError(text[position], position, self.vocab_size)
        return self._order[slots].astype(np.int64)  # (N,)

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """int ids (N,) -> str of N characters. Raises `TokenIdOutOfRangeError`."""
        ids = _as_id_array(ids, "CharTokenizer")  # (N,)
        _check_id_range(ids, self.vocab_size, "CharTokenizer")
        return self._codes[ids].tobytes().decode("utf-32-le", _CODEC_ERRORS)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: {"kind": "char", "vocabulary": [one str per id]}."""
        return {"kind": self.kind, "vocabulary": list(self._vocabulary)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CharTokenizer:
        """Inverse of `to_dict`."""
        _check_kind(d, cls.kind)
        vocabulary = d.get("vocabulary")
        if not isinstance(vocabulary, list):
            raise TokenizerError(
                "char tokenizer dict needs a 'vocabulary' list of characters, got "
                f"{type(vocabulary).__name__}"
            )
        return cls(vocabulary)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CharTokenizer):
            return NotImplemented
        return self._vocabulary == other._vocabulary

    def __hash__(self) -> int:
        return hash((self.kind, self._vocabulary))

    def __repr__(self) -> str:
        preview = "".join(self._vocabulary[:20])
        more = "..." if self.vocab_size > 20 else ""
        return f"CharTokenizer(vocab_size={self.vocab_size}, vocabulary={preview!r}{more})"


class ByteTokenizer:
    """One token per UTF-8 byte: vocab_size 256, every string encodes.

    A character takes 1 to 4 ids, so ids from a model (which may stop mid-character or put
    a continuation byte first) need not be valid UTF-8. `decode` therefore defaults to
    `errors="replace"`: each invalid byte sequence becomes U+FFFD. Pass `errors="strict"` to
    get an error instead (also "ignore" and "backslashreplace", as in `bytes.decode`).
    """

    kind = "byte"
    vocab_size = 256

    def encode(self, text: str) -> np.ndarray:
        """str -> int64 ids (number of UTF-8 bytes,), each in [0, 256)."""
        if not isinstance(text, str):
            raise TypeError(f"ByteTokenizer.encode expects a str, got {type(text).__name__}")
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as error:
            char = text[error.start]
            raise TokenizerError(
                f"ByteTokenizer.encode: character {char!r} ({code_point(char)}) at position "
                f"{error.start} is a lone surrogate, which has no UTF-8 encoding; the text "
                "was probably decoded with errors='surrogateescape'"
            ) from None
        return np.frombuffer(data, dtype=np.uint8).astype(np.int64)

    def decode(self, ids: Iterable[int] | np.ndarray, errors: str = "replace") -> str:
        """int ids (N,) -> str; invalid UTF-8 becomes U+FFFD unless `errors="strict"`."""
        if errors not in _BYTE_DECODE_ERRORS:
            raise ValueError(
                f"ByteTokenizer.decode: errors={errors!r} is not supported; "
                f"use one of {', '.join(_BYTE_DECODE_ERRORS)}"
            )
        ids = _as_id_array(ids, "ByteTokenizer")  # (N,)
        _check_id_range(ids, self.vocab_size, "ByteTokenizer")
        data = ids.astype(np.uint8).tobytes()
        try:
            return data.decode("utf-8", errors)
        except UnicodeDecodeError as error:
            raise TokenizerError(
                f"ByteTokenizer.decode: ids {list(data[error.start:error.end])} at positions "
                f"{error.start}..{error.end - 1} are not valid UTF-8 ({error.reason}); sampled "
                "ids can stop mid-character, so pass errors='replace' to get U+FFFD there"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: {"kind": "byte"}."""
        return {"kind": self.kind}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ByteTokenizer:
        """Inverse of `to_dict`."""
        _check_kind(d, cls.kind)
        return cls()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ByteTokenizer):
            return NotImplemented
        return True

    def __hash__(self) -> int:
        return hash(self.kind)

    def __repr__(self) -> str:
        return "ByteTokenizer(vocab_size=256)"


# Every kind a checkpoint may name. wordpiece.py adds "wordpiece" when it is imported (the
# package's __init__ imports it); it cannot be listed here, since it imports this module.
TOKENIZER_KINDS: dict[str, type[Tokenizer]] = {
    CharTokenizer.kind: CharTokenizer,
    ByteTokenizer.kind: ByteTokenizer,
}


def _check_kind(d: Any, expected: str | None) -> str:
    """Return d["kind"] after checking that d is a dict with a known (or the expected) kind."""
    if not isinstance(d, dict) or "kind" not in d:
        raise TokenizerError(
            "a tokenizer dict must be a dict with a 'kind' field (one of "
            f"{', '.join(TOKENIZER_KINDS)}), got {d!r:.80}"
        )
    kind = d["kind"]
    if kind not in TOKENIZER_KINDS:
        raise TokenizerError(
            f"unknown tokenizer kind {kind!r}; known kinds are {', '.join(TOKENIZER_KINDS)}. "
            "Was the checkpoint written by a newer version of tinygrad_lm?"
        )
    if expected is not None and kind != expected:
        raise TokenizerError(
            f"this dict describes a {kind!r} tokenizer, not {expected!r}; "
            "use tokenizer_from_dict(d) to build whichever kind it names"
        )
    return kind


def tokenizer_from_dict(d: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from `to_dict()` output, whatever its kind."""
    return TOKENIZER_KINDS[_check_kind(d, None)].from_dict(d)
