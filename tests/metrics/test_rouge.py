"""ROUGE and the Porter stemmer on cases worked by hand (no oracle needed).

Parity with rouge-score and NLTK is in test_rouge_parity.py; here each rule of the module
docstrings is pinned on an example small enough to check with pencil and paper.
"""

import pytest

from tinygrad_lm.metrics import (
    corpus_rouge,
    rouge_scores,
    rouge_scores_multi,
    rouge_tokenize,
)
from tinygrad_lm.metrics.porter_stemmer import measure, stem
from tinygrad_lm.metrics.rouge import lcs_positions, rouge_l, rouge_lsum, rouge_n


def words(text):
    """The space-separated words of ``text`` (tokens written the short way)."""
    return text.split()


def test_tokenizer_lowercases_and_keeps_only_ascii_letters_and_digits():
    assert rouge_tokenize("The cats' toys, 2x! U.S. café") == ["the", "cats", "toys", "2x", "u", "s", "caf"]
    # stems only tokens longer than 3 characters ("was" stays, though Porter would make it "wa")
    assert rouge_tokenize("cats toys was running", use_stemmer=True) == ["cat", "toy", "was", "run"]


def test_rouge_n_by_hand():
    target, prediction = words("the cat sat on the mat"), words("the cat on the mat the")
    one = rouge_n(target, prediction, 1)  # every prediction word is in the target, clipped: "the" 2 of 3
    assert one.precision == pytest.approx(5 / 6) and one.recall == pytest.approx(5 / 6)
    two = rouge_n(target, prediction, 2)  # bigrams shared: "the cat", "on the", "the mat"
    assert two.precision == pytest.approx(3 / 5) and two.recall == pytest.approx(3 / 5)
    assert rouge_n(["a"], ["a"], 2) == (0.0, 0.0, 0.0)  # no bigram on either side: 0 / max(0, 1)


def test_rouge_l_by_hand():
    score = rouge_l(words("police killed the gunman"), words("police kill the gunman"))
    assert score.precision == score.recall == pytest.approx(3 / 4)  # LCS: police the gunman
    score = rouge_l(words("a b c d"), words("d c b"))
    assert score.precision == pytest.approx(1 / 3) and score.recall == pytest.approx(1 / 4)
    assert score.fmeasure == pytest.approx(2 * (1 / 3) * (1 / 4) / (1 / 3 + 1 / 4))
    assert rouge_l([], ["a"]) == (0.0, 0.0, 0.0)


def test_lcs_positions_reads_back_rouge_scores_way():
    # "a b" and "b a" share two LCSs of length 1; reading back from the end takes the target's "b"
    assert lcs_positions(["a", "b"], ["b", "a"]) == [0]
    assert lcs_positions(words("w1 w2 w3 w4 w5"), words("w1 w2 w6 w7 w8")) == [0, 1]


def test_rouge_lsum_union_lcs_lins_example():
    """Lin (2004), section 3.2: r = w1..w5, c1 = w1 w2 w6 w7 w8, c2 = w1 w3 w8 w9 w5.

    Union LCS of r with {c1, c2} = w1 w2 w3 w5: 4 hits; |r| = 5, |c| = 10.
    """
    target = [words("w1 w2 w3 w4 w5")]
    prediction = [words("w1 w2 w6 w7 w8"), words("w1 w3 w8 w9 w5")]
    score = rouge_lsum(target, prediction)
    assert score.recall == pytest.approx(4 / 5) and score.precision == pytest.approx(4 / 10)


def test_rouge_lsum_splits_on_newlines_and_differs_from_rouge_l():
    scores = rouge_scores("a b\nc d", "c d\na b")
    assert scores["rougeLsum"].fmeasure == pytest.approx(1.0)
    assert scores["rougeL"].fmeasure == pytest.approx(0.5)


def test_several_references_take_the_best_f_per_type():
    best = rouge_scores_multi(["x y z", "the cat sat"], "the cat sat")
    assert best["rouge1"].fmeasure == pytest.approx(1.0)
    assert rouge_scores_multi(["q", "r"], "s")["rouge1"] == (0.0, 0.0, 0.0)


def test_corpus_rouge_is_the_mean_over_segments():
    result = corpus_rouge(["a b", "x"], [["a b", "y"]])
    assert result["rouge1"].fmeasure == pytest.approx(0.5) and result["rougeL"].recall == pytest.approx(0.5)


@pytest.mark.parametrize("call, message", [
    (lambda: rouge_scores("a", "a", ["rouge0"]), "unknown ROUGE type 'rouge0'"),
    (lambda: rouge_scores_multi("a", "a"), "non-empty list"),
    (lambda: corpus_rouge(["a", "b"], [["a"]]), "stream 0 has 1 segments but there are 2"),
])
def test_bad_input_gets_a_one_line_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("word, m", [("tr", 0), ("ee", 0), ("tree", 0), ("y", 0), ("by", 0), ("trouble", 1),
                                     ("oats", 1), ("trees", 1), ("ivy", 1), ("troubles", 2), ("private", 2),
                                     ("oaten", 2), ("orrery", 2)])
def test_measure_matches_porters_paper(word, m):
    assert measure(word) == m


@pytest.mark.parametrize("word, expected", [
    # examples from Porter (1980), one or more per step
    ("caresses", "caress"), ("ponies", "poni"), ("cats", "cat"), ("feed", "feed"), ("agreed", "agre"),
    ("plastered", "plaster"), ("motoring", "motor"), ("sing", "sing"), ("conflated", "conflat"),
    ("hopping", "hop"), ("falling", "fall"), ("filing", "file"), ("happy", "happi"), ("relational", "relat"),
    ("conditional", "condit"), ("triplicate", "triplic"), ("hopeful", "hope"), ("goodness", "good"),
    ("allowance", "allow"), ("adoption", "adopt"), ("controll", "control"), ("roll", "roll"),
    ("generalizations", "gener"), ("connection", "connect"), ("connecting", "connect"),
    # NLTK's extensions, on in rouge-score's stemmer
    ("dying", "die"), ("skies", "sky"), ("news", "news"), ("ties", "tie"), ("cried", "cri"), ("enjoy", "enjoy"),
    ("by", "by"), ("fully", "fulli"), ("analogi", "analog"), ("radically", "radic"),
])
def test_stem(word, expected):
    assert stem(word) == expected
