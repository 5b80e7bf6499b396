"""Tests for tinygrad_lm.data.wordpiece_trainer: the learned vocabulary and its incremental counts.

The trainer keeps pair counts up to date incrementally; `reference_vocabulary` below is the
textbook version that recounts every pair of every word before each merge. Both must give the
same vocabulary, token for token, on every corpus (a Hypothesis property).
"""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lm.data import wordpiece_trainer
from tinygrad_lm.data.corpora import CorpusUnavailableError, load_shakespeare
from tinygrad_lm.data.wordpiece import SPECIAL_TOKENS, basic_tokenize
from tinygrad_lm.data.wordpiece_trainer import count_words, train_wordpiece

COURSE = " ".join(["hug"] * 10 + ["pug"] * 5 + ["pun"] * 12 + ["bun"] * 4 + ["hugs"] * 5)


def reference_vocabulary(text, vocab_size, min_frequency):
    """Recount everything before each merge; best = highest score, then freq, then smallest pair."""
    counts = Counter(basic_tokenize(text))
    words = {w: [w[0], *("##" + c for c in w[1:])] for w in counts}
    chars = sorted({c for w in counts for c in w})
    vocabulary = [*SPECIAL_TOKENS, *chars, *("##" + c for c in chars)]
    while len(vocabulary) < vocab_size:
        pairs, units = Counter(), Counter()
        for word, pieces in words.items():
            for unit in pieces:
                units[unit] += counts[word]
            for pair in zip(pieces, pieces[1:]):
                pairs[pair] += counts[word]
        candidates = [(-f / (units[a] * units[b]), -f, (a, b)) for (a, b), f in pairs.items() if f >= min_frequency]
        if not candidates:
            break
        a, b = min(candidates)[2]
        merged = a + b[2:]
        for word, pieces in words.items():
            out, i = [], 0
            while i < len(pieces):
                if pieces[i : i + 2] == [a, b]:
                    out.append(merged)
                    i += 2
                else:
                    out.append(pieces[i])
                    i += 1
            words[word] = out
        if merged not in vocabulary:
            vocabulary.append(merged)
    return vocabulary


def test_special_tokens_then_characters_then_merges_in_order():
    tokenizer = train_wordpiece(COURSE, 25, min_frequency=1)
    assert tokenizer.vocabulary[:5] == SPECIAL_TOKENS
    assert tokenizer.vocabulary[5:19] == ("b", "g", "h", "n", "p", "s", "u",
                                          "##b", "##g", "##h", "##n", "##p", "##s", "##u")  # fmt: skip
    # ##g ##s scores 5 / (20 * 5) = 1/20, the best; then six pairs tie at 1/36 and the most
    # frequent wins: p ##u (17 times).
    assert tokenizer.vocabulary[19:] == ("##gs", "pu", "hu", "bu", "hugs", "hug")
    assert tokenizer.tokenize("hugs pun bug") == ["hugs", "pu", "##n", "bu", "##g"]


@given(st.lists(st.sampled_from(["hug", "pug", "pun", "bun", "hugs", "a", "aaa", "abab", "b.a", "ça"]),
                min_size=1, max_size=40),
       st.integers(20, 60), st.integers(1, 3))  # fmt: skip
def test_incremental_counts_equal_a_full_recount(words, vocab_size, min_frequency):
    text = " ".join(words)
    try:
        expected = reference_vocabulary(text, vocab_size, min_frequency)
    except ValueError:
        return
    if len(expected) > vocab_size:  # the alphabet alone is too big: the trainer must refuse
        with pytest.raises(ValueError, match="too small for this corpus"):
            train_wordpiece(text, vocab_size, min_frequency)
        return
    assert list(train_wordpiece(text, vocab_size, min_frequency).vocabulary) == expected


def test_heap_rebuilds_keep_the_same_vocabulary(monkeypatch):
    """A heap rebuilt after every merge gives the same vocabulary as the full recount."""
    text = COURSE + " abab aaa b.a ça hugging pugs buns " * 3
    expected = reference_vocabulary(text, 60, 1)
    monkeypatch.setattr(wordpiece_trainer, "HEAP_SLACK", -(10**9))  # rebuilt after every merge
    assert list(train_wordpiece(text, 60, min_frequency=1).vocabulary) == expected


def test_min_frequency_stops_training_early():
    tokenizer = train_wordpiece("ab ab cd", 100, min_frequency=2)
    assert tokenizer.vocabulary[-1] == "ab" and tokenizer.vocab_size == 5 + 8 + 1  # cd occurs once
    assert train_wordpiece("ab ab cd", 100, min_frequency=3).vocab_size == 13


def test_trained_vocabulary_spells_its_corpus_and_round_trips():
    text = "The quick brown fox jumps over the lazy dog. Über naïve café! 日本語"
    tokenizer = train_wordpiece([text, text.upper()], 100)
    ids = tokenizer.encode(text)
    assert tokenizer.unk_id not in ids.tolist()
    assert tokenizer.decode(ids) == " ".join(basic_tokenize(text))
    assert train_wordpiece([text, text.upper()], 100) == tokenizer  # deterministic


def test_bad_arguments_give_one_line_errors():
    with pytest.raises(ValueError, match="vocab_size=10 is too small for this corpus: the 5 special tokens and "
                                         "3 characters in two forms need 11"):  # fmt: skip
        train_wordpiece("abc", 10)
    with pytest.raises(ValueError, match="hold no words"):
        train_wordpiece(["", " \x00 \t"], 100)
    with pytest.raises(TypeError, match=r"texts\[1\] is a bytes, not a str"):
        train_wordpiece(["ok", b"bytes"], 100)
    with pytest.raises(ValueError, match="vocab_size must be a positive int"):
        train_wordpiece("abc", 0)
    with pytest.raises(ValueError, match="min_frequency must be an int >= 1"):
        train_wordpiece("abc", 50, min_frequency=0)


def test_count_words_skips_words_that_always_encode_as_unk():
    assert count_words(["a " + "x" * 101 + " a"]) == Counter({"a": 2})
    assert count_words("Hello hello") == Counter({"hello": 2})  # one str is one text


@pytest.mark.slow
def test_shakespeare_vocabulary_of_8000():
    try:
        lines = load_shakespeare().split("\n")
    except CorpusUnavailableError as error:
        pytest.skip(f"Shakespeare corpus unavailable: {error}")
    tokenizer = train_wordpiece(lines, 8000)
    assert tokenizer.vocab_size == 8000
    text = " ".join(lines[:2000])
    ids = tokenizer.encode(text)
    assert tokenizer.unk_id not in ids.tolist()
    assert len(ids) < len(text) / 2  # subwords, not characters (measured: 22,071 ids, 53,000 characters)
