"""BLEU, its tokenisers and chrF on cases worked by hand (no oracle needed).

The parity with sacrebleu itself is in test_bleu_chrf_parity.py; here each rule of the module
docstrings is pinned on an example small enough to check with pencil and paper.
"""

import math

import pytest

from tinygrad_lm.metrics import corpus_bleu, corpus_chrf, sentence_bleu, sentence_chrf
from tinygrad_lm.metrics.bleu import closest_ref_len, compute_bleu, word_ngrams
from tinygrad_lm.metrics.chrf import char_ngrams, chrf_words
from tinygrad_lm.metrics.mt_tokenizers import tokenize_13a, tokenize_intl, tokenize_none


def test_identical_sentence_scores_100():
    result = corpus_bleu(["the cat sat on the mat ."], [["the cat sat on the mat ."]])
    assert result.score == pytest.approx(100.0)
    assert result.counts == result.totals == [7, 6, 5, 4]
    assert result.bp == 1.0 and result.sys_len == result.ref_len == 7


def test_clipping_papinenis_example():
    """'the' x7 against a reference with two 'the': unigram precision 2/7, not 7/7."""
    result = corpus_bleu(["the the the the the the the"], [["the cat is on the mat"]])
    assert result.counts == [2, 0, 0, 0] and result.totals == [7, 6, 5, 4]
    # exp smoothing: the k-th order without a match gets 1 / (2^k total_n)
    expected = [100 * 2 / 7, 100 / (2 * 6), 100 / (4 * 5), 100 / (8 * 4)]
    assert result.precisions == pytest.approx(expected)
    assert result.score == pytest.approx(math.exp(sum(map(math.log, expected)) / 4))


def test_brevity_penalty_uses_the_closest_reference_and_the_shorter_of_a_tie():
    assert closest_ref_len(5, [3, 7]) == 3  # both 2 away: the shorter wins
    assert closest_ref_len(5, [7, 3, 6]) == 6
    result = corpus_bleu(["a b c"], [["a b c d e f"], ["a b c d e f g h i"]])
    assert result.ref_len == 6
    assert result.bp == pytest.approx(math.exp(1 - 6 / 3))


def test_several_references_clip_against_the_most_generous_one():
    result = corpus_bleu(["the the cat"], [["the cat"], ["the the dog"]])
    assert result.counts[0] == 3  # "the" appears twice in the second reference


def test_corpus_bleu_sums_statistics_before_dividing():
    hyps, refs = ["a b c d", "x y"], ["a b c d", "x z"]
    corpus = corpus_bleu(hyps, [refs])
    assert corpus.counts == [5, 3, 2, 1] and corpus.totals == [6, 4, 2, 1]
    mean_of_sentences = sum(sentence_bleu(h, [r]).score for h, r in zip(hyps, refs)) / 2
    assert corpus.score != pytest.approx(mean_of_sentences)


@pytest.mark.parametrize("method, expected", [
    ("none", [100.0, 0.0, 0.0]),
    ("floor", [100.0, 100 * 0.1 / 2, 100 * 0.1 / 1]),  # smooth_value / total_n
    ("exp", [100.0, 100 / (2 * 2), 100 / (4 * 1)]),  # 1 / (2^k total_n), k = 1, 2
])
def test_smoothing_of_orders_without_matches(method, expected):
    """3 unigrams all matched, 2 bigrams and 1 trigram unmatched, no 4-gram (effective order 3)."""
    result = compute_bleu([3, 0, 0, 0], [3, 2, 1, 0], 3, 3, smooth_method=method, effective_order=True)
    assert result.precisions == pytest.approx([*expected, 0.0])
    if method == "none":
        assert result.score == 0.0
    else:
        assert result.score == pytest.approx(math.exp(sum(map(math.log, expected)) / 3))


def test_add_k_adds_to_orders_above_one_and_reports_the_smoothed_counts():
    result = compute_bleu([3, 0, 0, 0], [3, 2, 1, 0], 3, 3, smooth_method="add-k", effective_order=True)
    assert result.counts == [3, 1, 1, 1] and result.totals == [3, 3, 2, 1]
    assert result.score == pytest.approx(100 * (1 * (1 / 3) * (1 / 2) * 1) ** (1 / 4))


def test_effective_order_is_the_sentence_default():
    """Three words have no 4-gram: corpus BLEU (no effective order) is 0, sentence BLEU is not."""
    assert corpus_bleu(["a b c"], [["a b c"]]).score == 0.0
    assert sentence_bleu("a b c", ["a b c"]).score == pytest.approx(100.0)


def test_no_match_at_all_and_empty_hypothesis_give_zero():
    assert corpus_bleu(["x y"], [["a b"]]).score == 0.0
    empty = corpus_bleu([""], [["a b"]])
    assert empty.score == 0.0 and empty.bp == 0.0 and empty.sys_len == 0


def test_lowercase_and_missing_references():
    assert corpus_bleu(["The Cat sat"], [["the cat sat"]], lowercase=True, use_effective_order=True).score == \
        pytest.approx(100.0)
    result = corpus_bleu(["a b", "c d"], [["a b", None], [None, "c d"]], use_effective_order=True)
    assert result.score == pytest.approx(100.0)


def test_word_ngrams_counts_every_order():
    assert word_ngrams(["a", "a", "b"], 2) == {("a",): 2, ("b",): 1, ("a", "a"): 1, ("a", "b"): 1}


@pytest.mark.parametrize("line, expected", [
    ("It's 3.5$, ok.", "It's 3.5 $ , ok ."),
    ("1,000 people; e.g. well-known", "1,000 people ; e . g . well-known"),
    ("x-1 2-3", "x-1 2 - 3"),
    ("&quot;hi&quot; &amp; <skipped>bye", '" hi " & bye'),
    ("a..", "a . ."),
])
def test_13a(line, expected):
    assert tokenize_13a(line) == expected


@pytest.mark.parametrize("line, expected", [
    ("¿Qué?¡Sí! 3,5€", "¿ Qué ? ¡ Sí ! 3,5 €"),
    ("in 1999.", "in 1999."),  # mteval-v14's own quirk: a number keeps a final period
    ("«Bonjour», dit-il", "« Bonjour » , dit - il"),
    ("a..", "a . ."),
    ("x+y=😀", "x + y = 😀"),
])
def test_intl(line, expected):
    assert tokenize_intl(line) == expected


def test_tokenizers_change_the_score():
    hyp, ref = "the cat, the dog.", "the cat the dog."
    assert tokenize_none(hyp) == hyp  # "cat," and "cat" differ: no credit for the right word
    scores = {tok: sentence_bleu(hyp, [ref], tokenize=tok).score for tok in ("13a", "none")}
    assert scores["13a"] > scores["none"]


@pytest.mark.parametrize("call, message", [
    (lambda: corpus_bleu("a b", [["a b"]]), "list of strings"),
    (lambda: corpus_bleu([], [[]]), "no hypotheses"),
    (lambda: corpus_bleu(["a"], ["a"]), "streams"),
    (lambda: corpus_bleu(["a", "b"], [["a"]]), "stream 0 has 1 segments but there are 2"),
    (lambda: corpus_bleu(["a"], [[None]]), "segment 0 has no reference"),
    (lambda: corpus_bleu(["a"], [["a"]], tokenize="moses"), "unknown BLEU tokenizer 'moses'"),
    (lambda: corpus_bleu(["a"], [["a"]], smooth_method="add-one"), "unknown BLEU smoothing"),
    (lambda: sentence_bleu(["a"], ["a"]), "one string"),
    (lambda: sentence_bleu("a", "a"), "list of strings"),
])
def test_bad_input_gets_a_one_line_error(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


def test_chrf_by_hand():
    """'ab' vs 'abc': every hyp n-gram matches (P = 1); recall 2/3 (unigrams), 1/2 (bigrams)."""
    assert char_ngrams("a b c", 2) == {"ab": 1, "bc": 1}
    precision, recall = 1.0, (2 / 3 + 1 / 2) / 2  # orders 3..6: the hypothesis has none, left out
    expected = 100 * 5 * precision * recall / (4 * precision + recall)
    assert sentence_chrf("ab", ["abc"]).score == pytest.approx(expected)
    assert sentence_chrf("abc", ["abc"]).score == pytest.approx(100.0)
    assert corpus_chrf(["xyz"], [["abc"]]).score == 0.0


def test_chrf_plus_plus_words_split_one_punctuation_mark():
    assert chrf_words("(hi) there, x") == ["(hi", ")", "there", ",", "x"]
    assert str(sentence_chrf("a b", ["a b"], word_order=2)) == "chrF++2 = 100.00"
