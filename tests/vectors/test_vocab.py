"""The tokenisation rule, the vocabulary order, subsampling probabilities and the noise table."""

import numpy as np
import pytest

from tinygrad_lm.vectors.vocab import (
    VectorsError,
    Vocabulary,
    split_sentences,
    tokenize,
)


def test_tokenize_lowercases_keeps_inner_apostrophes_and_drops_punctuation():
    text = "'Tis the KING'S crown, o\u2019er-thrown; don't -- 1611 A.D. well_met"
    assert tokenize(text) == ["tis", "the", "king's", "crown", "o'er", "thrown", "don't", "1611", "a", "d", "well", "met"]


def test_tokenize_keeps_letters_of_other_scripts_and_normalises_compatibility_forms():
    assert tokenize("Ｃafé naïve ﬁne") == ["café", "naïve", "fine"]


def test_vocabulary_sorts_by_count_then_last_seen_first_and_applies_min_count():
    vocab = Vocabulary.build(["b", "a", "c", "a", "b", "a", "d"], min_count=2)
    assert vocab.words == ["a", "b"] and vocab.counts.tolist() == [3, 2]
    assert vocab.encode(["a", "x", "b", "a"]).tolist() == [0, 1, 0]
    # a tie: the word seen first comes last (gensim 4.4's lexsort((-first_seen_index, -count)))
    assert Vocabulary.build(["y", "x", "z", "x", "y", "z", "w"], min_count=1).words == ["z", "x", "y", "w"]


def test_vocabulary_order_is_gensims_on_a_corpus_with_many_ties(topics):
    word2vec = pytest.importorskip("gensim.models.word2vec", reason="gensim (bench extra) is not installed")
    model = word2vec.Word2Vec(min_count=1)
    model.build_vocab([topics[i:i + 8] for i in range(0, len(topics), 8)])
    assert Vocabulary.build(topics, min_count=1).words == model.wv.index_to_key


def test_keep_probability_is_mikolovs_formula_as_in_gensim():
    vocab = Vocabulary(["a", "b"], np.array([900, 100]))
    t = 1e-3 * 1000
    expected = np.minimum(1, (np.sqrt(np.array([900, 100]) / t) + 1) * t / np.array([900, 100]))
    np.testing.assert_allclose(vocab.keep_probabilities(1e-3), expected)
    assert vocab.keep_probabilities(0).tolist() == [1.0, 1.0]
    with pytest.raises(VectorsError, match="sample"):
        vocab.keep_probabilities(-1)


def test_noise_table_follows_count_to_the_three_quarters():
    vocab = Vocabulary(["a", "b", "c"], np.array([81, 16, 1]))
    table = vocab.noise_cumulative()
    assert table.dtype == np.uint64 and table[-1] == 2**31
    shares = np.diff(np.r_[0, table.astype(np.float64)]) / 2**31
    np.testing.assert_allclose(shares, np.array([27, 8, 1]) / 36, atol=1e-9)


def test_split_sentences_cuts_at_the_limit():
    assert split_sentences(25, 10).tolist() == [0, 10, 20, 25]
    assert split_sentences(0, 10).tolist() == [0]


def test_min_count_below_one_is_refused():
    with pytest.raises(VectorsError, match="min_count"):
        Vocabulary.build(["a"], min_count=0)
