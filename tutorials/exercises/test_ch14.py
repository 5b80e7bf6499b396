"""Checks of chapter 14's exercises (the `answers` fixture: see conftest.py)."""

import argparse
import collections
import inspect
import json
import re
import textwrap

import numpy as np
import pytest

from tinygrad_lm.metrics import corpus_bleu, rouge_scores, rouge_tokenize
from tinygrad_lm.metrics.porter_stemmer import measure

rng = np.random.default_rng(14)
TEXTS = [inspect.getdoc(module) for module in (argparse, collections, inspect, json, re, textwrap)]  # English prose
WORDS = ["the", "cat", "a", "mat", "sat", "on", "is", "was", "dog", ".", ","]  # few words: many shared n-grams


def words(line):
    """The space-separated words of a line."""
    return line.split()


def random_corpus(segments, max_refs=3):
    """(hypotheses, references) as word lists: short random segments, 1..max_refs references each."""
    def line():
        return list(rng.choice(WORDS, rng.integers(0, 12)))

    hypotheses = [line() for _ in range(segments)]
    references = [[line() for _ in range(rng.integers(1, max_refs + 1))] for _ in range(segments)]
    return hypotheses, references


def library_bleu(hypotheses, references):
    """corpus_bleu on the same words: reference streams, missing references as None."""
    width = max(len(refs) for refs in references)
    streams = [[" ".join(refs[k]) if k < len(refs) else None for refs in references] for k in range(width)]
    return corpus_bleu([" ".join(h) for h in hypotheses], streams, tokenize="none", smooth_method="none")


# --- 1. Clipped n-gram counts -----------------------------------------------------------------
def test_bleu_counts_by_hand(answers):
    hypothesis = words("the the the the the the the")
    assert answers.bleu_counts([hypothesis], [[words("the cat is on the mat")]], 1) == (2, 7)  # clipped at 2
    hypothesis = words("the cat sat on the mat .")
    references = [[words("the cat is sitting on the mat ."), words("there is a cat on the mat .")]]
    assert answers.bleu_counts([hypothesis], references, 1) == (6, 7)
    assert answers.bleu_counts([hypothesis], references, 2) == (4, 6)
    assert answers.bleu_counts([hypothesis, ["it"]], references + [[["it", "rained"]]], 1) == (7, 8)  # summed


def test_bleu_counts_match_corpus_bleu(answers):
    for _ in range(100):
        hypotheses, references = random_corpus(rng.integers(1, 5))
        if not any(hypotheses):
            continue
        library = library_bleu(hypotheses, references)
        for n in range(1, 5):
            assert answers.bleu_counts(hypotheses, references, n) == (library.counts[n - 1], library.totals[n - 1]), \
                (n, hypotheses, references)


# --- 2. The brevity penalty -------------------------------------------------------------------
def test_brevity_penalty_by_hand(answers):
    short = [["a", "b", "c"]]
    bp, c, r = answers.brevity_penalty(short, [[list("abcd"), list("ab")]])  # 4 and 2 tie at 1: the shorter
    assert (c, r) == (3, 2) and bp == 1.0
    bp, c, r = answers.brevity_penalty(short, [[list("abcdef")]])
    assert (c, r) == (3, 6) and abs(bp - np.exp(1 - 6 / 3)) < 1e-15
    bp, c, r = answers.brevity_penalty(short + [list("abcdefgh")], [[list("abcdef")], [list("ab")]])
    assert (c, r) == (11, 8) and bp == 1.0  # the corpus is long enough although segment 1 is short
    assert answers.brevity_penalty([[]], [[["a"]]])[0] == 0.0


def test_brevity_penalty_matches_corpus_bleu(answers):
    for _ in range(100):
        hypotheses, references = random_corpus(rng.integers(1, 5))
        if not any(hypotheses):
            continue
        library = library_bleu(hypotheses, references)
        bp, c, r = answers.brevity_penalty(hypotheses, references)
        assert (c, r) == (library.sys_len, library.ref_len), (hypotheses, references)
        assert abs(bp - library.bp) < 1e-12, (bp, library.bp)


# --- 3. ROUGE-L -------------------------------------------------------------------------------
def test_rouge_l_by_hand(answers):
    target, prediction = words("the cat sat on the mat"), words("the mat the cat sat")
    precision, recall, f = answers.rouge_l(target, prediction)  # LCS "the cat sat": 3
    assert (precision, recall) == (3 / 5, 3 / 6) and abs(f - 2 * 0.6 * 0.5 / 1.1) < 1e-12
    assert answers.rouge_l(["a", "b"], ["c"]) == (0.0, 0.0, 0.0)
    assert answers.rouge_l([], ["a"]) == answers.rouge_l(["a"], []) == (0.0, 0.0, 0.0)


def test_rouge_l_matches_rouge_scores(answers):
    paragraphs = [p for text in TEXTS for p in text.split("\n\n")]
    for target, prediction in zip(paragraphs, paragraphs[1:] + paragraphs[:1]):
        for a, b in ((target, prediction), (target, target[: len(target) // 2] + " " + prediction[:80])):
            expected = rouge_scores(a, b, ["rougeL"])["rougeL"]
            mine = answers.rouge_l(rouge_tokenize(a), rouge_tokenize(b))
            assert np.allclose(mine, tuple(expected), rtol=0, atol=1e-12), (a, b, mine, expected)
    for _ in range(200):  # short sequences over 3 words: many equal-length common subsequences
        a, b = list(rng.choice(list("xyz"), rng.integers(0, 9))), list(rng.choice(list("xyz"), rng.integers(0, 9)))
        expected = rouge_scores(" ".join(a), " ".join(b), ["rougeL"])["rougeL"]
        assert np.allclose(answers.rouge_l(a, b), tuple(expected), rtol=0, atol=1e-12), (a, b)


# --- 4. Porter's measure ----------------------------------------------------------------------
@pytest.mark.parametrize("word, m", [("tr", 0), ("ee", 0), ("tree", 0), ("y", 0), ("by", 0), ("trouble", 1),
                                     ("oats", 1), ("trees", 1), ("ivy", 1), ("toy", 1), ("troubles", 2),
                                     ("private", 2), ("oaten", 2), ("orrery", 2), ("syzygy", 2), ("", 0)])
def test_porter_measure_of_porters_examples(answers, word, m):
    assert answers.porter_measure(word) == m


def test_porter_measure_matches_the_library_on_many_words(answers):
    vocabulary = sorted(set(re.findall(r"[a-z]+", " ".join(TEXTS).lower())))
    vocabulary += ["yoyo", "yummy", "mayday", "beyond", "rhythm", "yyy"]  # every place a "y" can stand
    assert len(vocabulary) > 500
    for word in vocabulary:
        assert answers.porter_measure(word) == measure(word), word
