"""ROUGE against rouge-score 0.1.2 and the Porter stemmer against NLTK's, the oracles (`test` extra).

Hypothesis draws a prediction and 1-3 targets built from words chosen to exercise the
tokeniser (punctuation, digits, accents, "İ" whose lowercase carries a combining dot, the
Kelvin sign that lowercases to "k"), the stemmer (inflected words, irregular forms) and
ROUGE-Lsum (newlines, blank lines; and, in a test of its own, sentences of three repeated words
whose many equally long LCSs make the read-back rule matter), with and without the stemmer (a
few hundred cases per test, more under the ``thorough`` Hypothesis profile); rouge-score's
``score_multi`` must agree on rouge1, rouge2, rouge3, rougeL and rougeLsum within 1e-9. The stemmer is compared with NLTK's ``PorterStemmer()`` (the mode
rouge-score uses) on random lowercase words and on real stems with every suffix the rules know.

These tests skip, saying so, without rouge-score (NLTK comes with it). Their sibling needing
nothing checks the committed golden file ``rouge_golden.json`` (seeded cases, rouge-score
0.1.2's and NLTK 3.10's answers), written by::

    .venv/bin/python tests/metrics/test_rouge_parity.py --write-golden
"""

import importlib.util
import json
import random
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lm.metrics import rouge_scores_multi
from tinygrad_lm.metrics.porter_stemmer import stem

GOLDEN = Path(__file__).with_name("rouge_golden.json")
TYPES = ["rouge1", "rouge2", "rouge3", "rougeL", "rougeLsum"]
WORDS = ["the", "The", "cat", "cats", "sat", "on", "mat", "a", "a", "running", "runs", "ran", "connected",
         "connection", "generalizations", "happy", "skies", "dying", "news", "agreed", "1", "2.5", "U.S.", "café",
         "İstanbul", "\u212aelvin", "don't", "x-y", ",", ".", "!", "\n", "\n", "\n\n", "日本"]
SEPARATORS = ["", " ", " ", " ", "\n"]
SUFFIXES = ["ational", "tional", "enci", "anci", "izer", "bli", "alli", "entli", "eli", "ousli", "ization", "ation",
            "ator", "alism", "iveness", "fulness", "ousness", "aliti", "iviti", "biliti", "fulli", "logi", "icate",
            "ative", "alize", "iciti", "ical", "ful", "ness", "ement", "ment", "ent", "ion", "ies", "ied", "eed",
            "ing", "ed", "y", "ll", "e", "sses", "s", "ance", "ible", "ism", "ous", "ive", "ize", "iti", "ate"]
STEMS = ["connect", "relat", "hop", "fil", "troubl", "condit", "sensibl", "formal", "gener", "electr", "adopt",
         "control", "rat", "ceas", "happ", "sk", "enjo", "tr", "oat", "orrer", "siz", "fizz", "tann", "bl", "m", "op",
         "ag", "ov", "us", "it", "ey", "oy"]
TOLERANCE = 1e-9

needs_rouge_score = pytest.mark.skipif(importlib.util.find_spec("rouge_score") is None,
                                       reason="rouge-score (the oracle, in the test extra) is not installed")

FEW_WORDS = "abc"  # few, repeated words: many LCSs of equal length, so which one is read back matters

texts = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=10).map(
    lambda pairs: "".join(word + sep for word, sep in pairs))
few_word_sentences = st.lists(st.lists(st.sampled_from(FEW_WORDS), min_size=1, max_size=5).map(" ".join),
                              min_size=1, max_size=3).map("\n".join)
stemmer_words = (st.text(st.sampled_from("aeiouyyssllbcdtgnrmzxw"), min_size=1, max_size=12)
                 | st.tuples(st.sampled_from(STEMS), st.sampled_from(SUFFIXES), st.sampled_from(["", "s", "ly", "ed"]))
                 .map("".join)
                 | st.tuples(st.sampled_from(STEMS), st.sampled_from(SUFFIXES), st.sampled_from(["", "s", "ly", "ed"]))
                 .map("".join))


def rouge_score_answer(targets, prediction, use_stemmer):
    """rouge-score's score_multi as {type: [precision, recall, fmeasure]}."""
    from rouge_score import rouge_scorer
    scores = rouge_scorer.RougeScorer(TYPES, use_stemmer=use_stemmer).score_multi(targets, prediction)
    return {name: list(score) for name, score in scores.items()}


def check_case(targets, prediction, use_stemmer, expected):
    ours = rouge_scores_multi(targets, prediction, TYPES, use_stemmer)
    for name in TYPES:
        assert list(ours[name]) == pytest.approx(expected[name], rel=0, abs=TOLERANCE), name


@needs_rouge_score
@settings(max_examples=max(150, settings.default.max_examples))
@given(st.lists(texts, min_size=1, max_size=3), texts, st.booleans())
def test_rouge_matches_rouge_score(targets, prediction, use_stemmer):
    check_case(targets, prediction, use_stemmer, rouge_score_answer(targets, prediction, use_stemmer))


@needs_rouge_score
@settings(max_examples=max(100, settings.default.max_examples))
@given(st.lists(few_word_sentences, min_size=1, max_size=2), few_word_sentences)
def test_rouge_lsum_matches_rouge_score_where_the_lcs_is_ambiguous(targets, prediction):
    check_case(targets, prediction, False, rouge_score_answer(targets, prediction, False))


@needs_rouge_score
@settings(max_examples=max(300, settings.default.max_examples))
@given(stemmer_words)
def test_stemmer_matches_nltk(word):
    from nltk.stem.porter import PorterStemmer
    assert stem(word) == PorterStemmer().stem(word)


def test_matches_golden_file():
    """The sibling that needs nothing: rouge-score's and NLTK's committed answers on seeded cases."""
    golden = json.loads(GOLDEN.read_text())
    for case in golden["rouge"]:
        check_case(case["targets"], case["prediction"], case["use_stemmer"], case["expected"])
    assert {word: stem(word) for word in golden["stems"]} == golden["stems"]


def golden_cases(n_cases=80, n_words=600, seed=0):
    """Seeded ROUGE cases (stemmer on in every other one, half of few repeated words) and stemmer words, answered by the oracles."""
    from nltk.stem.porter import PorterStemmer

    rng = random.Random(seed)

    def text(i):
        if i % 4 < 2:
            return "".join(rng.choice(WORDS) + rng.choice(SEPARATORS) for _ in range(rng.randint(0, 12)))
        return "\n".join(" ".join(rng.choices(FEW_WORDS, k=rng.randint(1, 5))) for _ in range(rng.randint(1, 3)))

    rouge = []
    for i in range(n_cases):
        targets, prediction = [text(i) for _ in range(rng.randint(1, 3))], text(i)
        rouge.append({"targets": targets, "prediction": prediction, "use_stemmer": i % 2 == 1,
                      "expected": rouge_score_answer(targets, prediction, i % 2 == 1)})
    words = {rng.choice(STEMS) + rng.choice(SUFFIXES) + rng.choice(["", "s", "ly", "ed"]) for _ in range(n_words)}
    words |= {"".join(rng.choice("aeiouyyssllbcdtgnrmzxw") for _ in range(rng.randint(1, 12))) for _ in range(200)}
    stemmer = PorterStemmer()
    return {"rouge": rouge, "stems": {word: stemmer.stem(word) for word in sorted(words)}}


if __name__ == "__main__" and sys.argv[1:] == ["--write-golden"]:
    GOLDEN.write_text(json.dumps(golden_cases(), ensure_ascii=False).replace("}, {", "},\n{") + "\n")
