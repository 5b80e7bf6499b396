"""Tests for tinygrad_lm.data.wordpiece that need nothing: small vocabularies written here.

What round-trips (the Hypothesis properties below), precisely:
* normalisation is idempotent: basic_tokenize(" ".join(basic_tokenize(x))) == basic_tokenize(x);
* with a vocabulary holding both forms of every character the words use, and special tokens
  not matched in the text: decode(encode(x)) == " ".join(basic_tokenize(x)), so the original
  text comes back lowercased, without accents and controls, with one space between words;
* whatever the vocabulary: decode(encode(x), skip_special_tokens=False) is that same join with
  each word that cannot be spelled from the vocabulary (or is over 100 characters) replaced by
  [UNK].
The parity with Hugging Face's tokenizer on MiniLM's vocabulary is test_wordpiece_parity.py.
"""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lm.data import (
    TOKENIZER_KINDS,
    TokenIdOutOfRangeError,
    TokenizerError,
    tokenizer_from_dict,
)
from tinygrad_lm.data.wordpiece import (
    SPECIAL_TOKENS,
    WordPieceTokenizer,
    basic_tokenize,
)

WORDS = ["un", "##aff", "##able", "a", "##b", "ab", "##c", "the", "cat", "sat", "on", "mat", "##s", "x", "y", ".", ","]
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40) | st.text("aAbB éÉ\t\n,.[]#日本\x00\u200d", max_size=40)


def tiny(**options):
    return WordPieceTokenizer([*SPECIAL_TOKENS, *WORDS], **options)


def spelling_vocabulary(words):
    """Special tokens and both forms of every character of `words`: every word can be spelled."""
    chars = sorted({c for word in words for c in word})
    return [*SPECIAL_TOKENS, *chars, *("##" + c for c in chars)]


@pytest.mark.parametrize("text, words", [
    ("Hello, World!", ["hello", ",", "world", "!"]),
    ("a\x00b\ufffdc\x07d\x0be\x85f\u200bg", ["abcdefg"]),  # NUL, U+FFFD, Cc and Cf dropped
    ("a\tb\nc\u3000d\xa0e\u2028f", ["a", "b", "c", "d", "e", "f"]),  # whitespace splits
    ("Héllo naïve ÆSIR İstanbul", ["hello", "naive", "æsir", "istanbul"]),  # NFD, Mn dropped, lower
    ("ΟΔΟΣ", ["οδοσ"]),  # one character at a time: never the final "ς"
    ("日本語abc中", ["日", "本", "語", "abc", "中"]),  # CJK ideographs stand alone
    ("ｶﾀｶﾅ", ["ｶﾀｶﾅ"]),  # katakana are not in BERT's CJK ranges: one word
    ("한국", ["\u1112\u1161\u11ab\u1100\u116e\u11a8"]),  # NFD splits Hangul into jamo (letters, kept)
    ("$5+3<4=>^`|~x", ["$", "5", "+", "3", "<", "4", "=", ">", "^", "`", "|", "~", "x"]),  # BERT's ASCII
    ("«a»¿b?c、d…", ["«", "a", "»", "¿", "b", "?", "c", "、", "d", "…"]),  # Unicode P*
])  # fmt: skip
def test_basic_tokenizer_steps(text, words):
    assert basic_tokenize(text) == words


def test_cased_keeps_case_and_accents_unless_asked():
    assert basic_tokenize("Héllo", lowercase=False) == ["Héllo"]
    assert basic_tokenize("Héllo", lowercase=False, strip_accents=True) == ["Hello"]
    assert basic_tokenize("Héllo", lowercase=True, strip_accents=False) == ["héllo"]


def test_greedy_longest_match_first():
    tokenizer = tiny()
    assert tokenizer.tokenize("unaffable") == ["un", "##aff", "##able"]  # BERT's own example
    assert tokenizer.tokenize("The cats sat.") == ["the", "cat", "##s", "sat", "."]
    # "ab" is the longest prefix, and then no "##..." fits "c"... except that "##c" does:
    assert tokenizer.tokenize("abc") == ["ab", "##c"]
    # greedy, not optimal: "abx" could be a ##b ##x if "##x" existed; it does not, so [UNK]
    assert tokenizer.tokenize("abx") == ["[UNK]"]
    assert tokenizer.tokenize("dog x") == ["[UNK]", "x"]  # one [UNK] per unknown word


def test_words_over_100_characters_are_unknown():
    tokenizer = WordPieceTokenizer(spelling_vocabulary(["x"]))
    assert tokenizer.tokenize("x" * 100) == ["x"] + ["##x"] * 99
    assert tokenizer.tokenize("x" * 101) == ["[UNK]"]
    assert WordPieceTokenizer(spelling_vocabulary(["x"]), max_input_chars_per_word=3).tokenize("xxxx") == ["[UNK]"]


def test_literal_special_tokens_are_kept_unless_asked():
    tokenizer = WordPieceTokenizer(spelling_vocabulary(["mask", "a", "[]"]))
    assert tokenizer.tokenize("a[MASK]a [mask]") == ["a", "[MASK]", "a", "[", "m", "##a", "##s", "##k", "]"]
    literal = WordPieceTokenizer(spelling_vocabulary(["MASK", "a", "[]"]), match_special_tokens=False, lowercase=False)
    assert literal.tokenize("a[MASK]") == ["a", "[", "M", "##A", "##S", "##K", "]"]


def test_encode_returns_int64_ids_without_special_tokens():
    tokenizer = tiny()
    ids = tokenizer.encode("the cat")
    assert ids.dtype == np.int64 and ids.tolist() == [12, 13]
    assert tokenizer.encode("").shape == (0,) and tokenizer.encode("").dtype == np.int64
    with pytest.raises(TypeError, match="expects a str, got bytes"):
        tokenizer.encode(b"the")
    assert (tokenizer.pad_id, tokenizer.unk_id, tokenizer.cls_id, tokenizer.sep_id, tokenizer.mask_id) == (0, 1, 2, 3, 4)
    assert tokenizer.vocab_size == 22 and tokenizer.vocabulary[5] == "un" and tokenizer.token_to_id("cat") == 13
    tokenizer.clear_cache()  # the word -> ids cache only saves time
    assert tokenizer.encode("the cat").tolist() == [12, 13]


def test_encode_pair_adds_cls_sep_and_token_types():
    tokenizer = tiny()
    ids, types = tokenizer.encode_pair("the cat", "sat")
    assert ids.tolist() == [2, 12, 13, 3, 14, 3] and types.tolist() == [0, 0, 0, 0, 1, 1]
    ids, types = tokenizer.encode_pair("the cat")
    assert ids.tolist() == [2, 12, 13, 3] and types.tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("n_a, n_b, max_length, kept", [
    (10, 3, 11, (5, 3)),   # only the longer shrinks: 8 - 3
    (10, 10, 11, (4, 4)),  # both shrink to half of 8
    (10, 10, 12, (4, 5)),  # an odd budget: the extra goes to b when they are equally long
    (10, 6, 12, (5, 4)),   # ... and to the longer one otherwise
    (2, 2, 7, (2, 2)),     # fits: nothing cut
])  # fmt: skip
def test_longest_first_truncation(n_a, n_b, max_length, kept):
    tokenizer = tiny()
    ids, types = tokenizer.encode_pair(" ".join(["x"] * n_a), " ".join(["y"] * n_b), max_length=max_length)
    assert (ids == tokenizer.token_to_id("x")).sum() == kept[0]
    assert (ids == tokenizer.token_to_id("y")).sum() == kept[1]
    assert len(ids) == sum(kept) + 3 == len(types)


def test_other_truncation_strategies_and_errors():
    tokenizer = tiny()
    x, y = tokenizer.token_to_id("x"), tokenizer.token_to_id("y")
    assert tokenizer.encode_pair("x x x x", "y y", 7, "only_first")[0].tolist() == [2, x, x, 3, y, y, 3]
    assert tokenizer.encode_pair("x x", "y y y y", 7, "only_second")[0].tolist() == [2, x, x, 3, y, y, 3]
    assert tokenizer.encode_pair("x x x x", max_length=4)[0].tolist() == [2, x, x, 3]
    with pytest.raises(ValueError, match="only_second' cannot fit: the first text alone has 4"):
        tokenizer.encode_pair("x x x x", "y", 5, "only_second")
    with pytest.raises(ValueError, match="max_length=2 leaves no room"):
        tokenizer.encode_pair("x", "y", 2)
    with pytest.raises(ValueError, match="truncation='middle' is not supported"):
        tokenizer.encode_pair("x", truncation="middle")


def test_encode_batch_pads_and_masks():
    tokenizer = tiny()
    batch = tokenizer.encode_batch(["the cat sat", "x"], pairs=["y", "on the mat."])
    assert batch["input_ids"].tolist() == [[2, 12, 13, 14, 3, 19, 3, 0], [2, 18, 3, 15, 12, 16, 20, 3]]
    assert batch["token_type_ids"].tolist() == [[0, 0, 0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1, 1, 1]]
    assert batch["attention_mask"].tolist() == [[1] * 7 + [0], [1] * 8]
    assert all(a.dtype == np.int64 and a.shape == (2, 8) for a in batch.values())
    assert tokenizer.encode_batch(["x y", "x"], max_length=3)["input_ids"].tolist() == [[2, 18, 3], [2, 18, 3]]


def test_encode_batch_refuses_bad_input_in_one_line():
    tokenizer = tiny()
    with pytest.raises(TypeError, match="non-empty list of str"):
        tokenizer.encode_batch([])
    with pytest.raises(TypeError, match="non-empty list of str, got 'the cat'"):
        tokenizer.encode_batch("the cat")
    with pytest.raises(TypeError, match=r"texts\[1\] is a int, not a str"):
        tokenizer.encode_batch(["x", 3])
    with pytest.raises(TypeError, match=r"pairs\[0\] is a NoneType"):
        tokenizer.encode_batch(["x"], pairs=[None])
    with pytest.raises(ValueError, match="one text per text"):
        tokenizer.encode_batch(["x", "y"], pairs=["z"])


def test_decode_joins_continuations_and_skips_special_tokens():
    tokenizer = tiny()
    ids = tokenizer.encode_pair("Unaffable cats", "dog")[0]
    assert tokenizer.decode(ids) == "unaffable cats"
    assert tokenizer.decode(ids, skip_special_tokens=False) == "[CLS] unaffable cats [SEP] [UNK] [SEP]"
    assert tokenizer.decode([tokenizer.token_to_id("##s"), 13]) == "##s cat"  # a leading ## stays
    with pytest.raises(TokenIdOutOfRangeError, match="token id 22 at position 1"):
        tokenizer.decode([5, 22])
    with pytest.raises(ValueError, match="1-D sequence"):
        tokenizer.decode(np.zeros((2, 2), dtype=np.int64))


def test_vocab_file_round_trip_and_errors(tmp_path):
    tokenizer = tiny()
    path = tmp_path / "vocab.txt"
    tokenizer.save_vocab(path)
    assert path.read_text(encoding="utf-8") == "\n".join(tokenizer.vocabulary) + "\n"
    assert WordPieceTokenizer.from_vocab_file(path) == tokenizer
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert WordPieceTokenizer.from_vocab_file(crlf) == tokenizer
    duplicate = tmp_path / "duplicate.txt"
    duplicate.write_text("\n".join([*tokenizer.vocabulary, "cat"]) + "\n", encoding="utf-8")
    with pytest.raises(TokenizerError, match=rf"{duplicate}, line 23: token 'cat' repeats line 14"):
        WordPieceTokenizer.from_vocab_file(duplicate)
    missing = tmp_path / "missing.txt"
    missing.write_text("\n".join(t for t in tokenizer.vocabulary if t != "[MASK]") + "\n", encoding="utf-8")
    with pytest.raises(TokenizerError, match=rf"vocabulary file {missing} has no special token \[MASK\]"):
        WordPieceTokenizer.from_vocab_file(missing)
    blank = tmp_path / "blank.txt"
    blank.write_text("[PAD]\n\n[UNK]\n", encoding="utf-8")
    with pytest.raises(TokenizerError, match=rf"{blank}, line 2: empty line"):
        WordPieceTokenizer.from_vocab_file(blank)
    with pytest.raises(TokenizerError, match="cannot read vocabulary file"):
        WordPieceTokenizer.from_vocab_file(tmp_path / "absent.txt")
    with pytest.raises(TokenizerError, match="token 'a' appears twice, as ids 8 and 9"):
        WordPieceTokenizer([*SPECIAL_TOKENS, "x", "y", "z", "a", "a"])


def test_serialises_for_checkpoints():
    tokenizer = tiny(lowercase=False, max_input_chars_per_word=50)
    d = json.loads(json.dumps(tokenizer.to_dict()))
    assert d["kind"] == "wordpiece" and TOKENIZER_KINDS["wordpiece"] is WordPieceTokenizer
    rebuilt = tokenizer_from_dict(d)
    assert rebuilt == tokenizer and hash(rebuilt) == hash(tokenizer)
    assert rebuilt.lowercase is False and rebuilt.max_input_chars_per_word == 50
    assert rebuilt != tiny()
    with pytest.raises(TokenizerError, match="needs a 'vocabulary' list"):
        WordPieceTokenizer.from_dict({"kind": "wordpiece"})


@given(TEXT, st.booleans())
def test_normalisation_is_idempotent(text, lowercase):
    words = basic_tokenize(text, lowercase)
    assert basic_tokenize(" ".join(words), lowercase) == words


@given(TEXT)
def test_decode_inverts_encode_up_to_normalisation(text):
    words = basic_tokenize(text)
    tokenizer = WordPieceTokenizer([*spelling_vocabulary(words), "##ab", "ab", "the"], match_special_tokens=False)
    assert tokenizer.decode(tokenizer.encode(text)) == " ".join(words)


@given(TEXT, st.text("ab", min_size=95, max_size=105))
def test_unspellable_and_overlong_words_decode_as_unk(text, long_word):
    text = f"{text} {long_word}"
    tokenizer = tiny(match_special_tokens=False)
    known = set(WORDS)

    def spellable(word):
        return len(word) <= 100 and (word[0] in known and all("##" + c in known for c in word[1:]))

    expected = " ".join(w if spellable(w) else "[UNK]" for w in basic_tokenize(text))
    assert tokenizer.decode(tokenizer.encode(text), skip_special_tokens=False) == expected
