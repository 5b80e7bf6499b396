"""Tests for tinygrad_lm.data.tokenizers: round trips, serialisation, and error messages.

Round trips are property tests over arbitrary Unicode text (Hypothesis `st.text()`); error
tests assert that the message names the offending character, code point, id and position.
"""

import json
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lm.data import (
    ByteTokenizer,
    CharTokenizer,
    TokenIdOutOfRangeError,
    TokenizerError,
    UnknownCharacterError,
    tokenizer_from_dict,
)


@given(st.text(min_size=1))
def test_char_round_trip_on_its_own_corpus(text):
    tokenizer = CharTokenizer.from_text(text)
    ids = tokenizer.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert ids.min() >= 0 and ids.max() < tokenizer.vocab_size
    assert tokenizer.decode(ids) == text


@given(st.text(min_size=1))
def test_char_vocabulary_is_sorted_unique_characters(text):
    tokenizer = CharTokenizer.from_text(text)
    assert list(tokenizer.vocabulary) == sorted(set(text))
    assert tokenizer.vocab_size == len(set(text))


@given(st.lists(st.characters(), min_size=1, unique=True), st.data())
def test_explicit_vocabulary_keeps_its_order(vocabulary, data):
    tokenizer = CharTokenizer(vocabulary)
    ids = data.draw(st.lists(st.integers(0, len(vocabulary) - 1)))
    text = "".join(vocabulary[i] for i in ids)
    np.testing.assert_array_equal(tokenizer.encode(text), np.array(ids, dtype=np.int64))
    assert tokenizer.decode(ids) == text


def test_char_encode_known_ids():
    tokenizer = CharTokenizer.from_text("hello world")
    assert tokenizer.vocabulary == (" ", "d", "e", "h", "l", "o", "r", "w")
    np.testing.assert_array_equal(tokenizer.encode("hold"), [3, 5, 4, 1])
    assert tokenizer.decode(np.array([7, 5, 6, 4, 1])) == "world"
    assert tokenizer.encode("").shape == (0,)
    assert tokenizer.decode([]) == ""


@given(st.text(min_size=1))
def test_char_to_dict_survives_json(text):
    tokenizer = CharTokenizer.from_text(text)
    d = json.loads(json.dumps(tokenizer.to_dict()))
    assert d["kind"] == "char"
    assert CharTokenizer.from_dict(d) == tokenizer
    assert tokenizer_from_dict(d) == tokenizer
    assert hash(tokenizer_from_dict(d)) == hash(tokenizer)


def test_char_equality():
    assert CharTokenizer.from_text("abc") == CharTokenizer(["a", "b", "c"])
    assert CharTokenizer(["a", "b"]) != CharTokenizer(["b", "a"])
    assert CharTokenizer(["a"]) != ByteTokenizer()


def test_unknown_character_message_names_character_code_point_and_position():
    tokenizer = CharTokenizer.from_text("plain ascii text")
    with pytest.raises(UnknownCharacterError) as info:
        tokenizer.encode("plain é")
    message = str(info.value)
    assert "'é'" in message and "U+00E9" in message
    assert "position 6" in message
    assert "training corpus" in message
    assert info.value.char == "é" and info.value.position == 6
    assert isinstance(info.value, ValueError)


def test_unknown_character_beyond_the_largest_code_point_in_vocabulary():
    tokenizer = CharTokenizer.from_text("ab")
    with pytest.raises(UnknownCharacterError, match="U\\+1F600"):
        tokenizer.encode("ab\U0001f600")


def test_char_decode_out_of_range_names_id_and_vocab_size():
    tokenizer = CharTokenizer.from_text("abc")
    with pytest.raises(TokenIdOutOfRangeError) as info:
        tokenizer.decode([0, 1, 7])
    message = str(info.value)
    assert "token id 7" in message and "position 2" in message and "vocab size 3" in message
    with pytest.raises(TokenIdOutOfRangeError, match="token id -1"):
        tokenizer.decode([-1])


def test_decode_rejects_non_integer_and_non_1d_ids():
    tokenizer = CharTokenizer.from_text("abc")
    with pytest.raises(TypeError, match="float64"):
        tokenizer.decode(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"shape \(1, 2\)"):
        tokenizer.decode(np.array([[0, 1]]))


@pytest.mark.parametrize(
    "vocabulary, fragment",
    [([], "non-empty"), (["a", "bc"], "entry 1"), (["a", "b", "a"], "'a' (U+0061)")],
)
def test_bad_vocabulary_is_refused(vocabulary, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        CharTokenizer(vocabulary)


def test_from_text_refuses_empty_text():
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer.from_text("")


@given(st.text())
def test_byte_round_trip(text):
    tokenizer = ByteTokenizer()
    ids = tokenizer.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text.encode("utf-8")),)
    assert tokenizer.decode(ids) == text
    assert tokenizer.decode(ids, errors="strict") == text


def test_byte_ids_are_utf8_bytes():
    np.testing.assert_array_equal(ByteTokenizer().encode("aé"), [0x61, 0xC3, 0xA9])


def test_byte_decode_of_a_partial_character_replaces_by_default():
    tokenizer = ByteTokenizer()
    ids = tokenizer.encode("aé")[:2]  # 'a' then the first byte of 'é'
    assert tokenizer.decode(ids) == "a\ufffd"
    with pytest.raises(TokenizerError, match=r"\[195\] at positions 1\.\.1"):
        tokenizer.decode(ids, errors="strict")
    with pytest.raises(ValueError, match="errors='bogus'"):
        tokenizer.decode(ids, errors="bogus")


def test_byte_decode_out_of_range_and_lone_surrogate():
    tokenizer = ByteTokenizer()
    with pytest.raises(TokenIdOutOfRangeError, match="token id 256 at position 1.*vocab size 256"):
        tokenizer.decode([65, 256])
    with pytest.raises(TokenizerError, match="U\\+D800"):
        tokenizer.encode("a\ud800")


def test_byte_serialisation_and_equality():
    d = json.loads(json.dumps(ByteTokenizer().to_dict()))
    assert d == {"kind": "byte"}
    assert tokenizer_from_dict(d) == ByteTokenizer() == ByteTokenizer.from_dict(d)
    assert ByteTokenizer().vocab_size == 256


def test_tokenizer_from_dict_names_unknown_kind_and_known_kinds():
    with pytest.raises(TokenizerError) as info:
        tokenizer_from_dict({"kind": "sentencepiece"})
    message = str(info.value)
    assert "'sentencepiece'" in message and "char" in message and "byte" in message and "wordpiece" in message
    with pytest.raises(TokenizerError, match="'kind' field"):
        tokenizer_from_dict({"vocabulary": ["a"]})
    with pytest.raises(TokenizerError, match="not 'char'"):
        CharTokenizer.from_dict({"kind": "byte"})
    with pytest.raises(TokenizerError, match="'vocabulary' list"):
        CharTokenizer.from_dict({"kind": "char"})


def test_an_unsigned_id_beyond_int64_is_reported_as_it_is():
    """np.uint64(2**63 + 5) must not wrap round to a negative id in the message."""
    for tokenizer in (CharTokenizer.from_text("abc"), ByteTokenizer()):
        with pytest.raises(TokenIdOutOfRangeError, match=f"token id {2**63 + 5} at position 1"):
            tokenizer.decode(np.array([1, 2**63 + 5], dtype=np.uint64))
    assert CharTokenizer.from_text("abc").decode(np.array([2, 0], dtype=np.uint64)) == "ca"
