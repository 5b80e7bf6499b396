"""Analogies (3CosAdd, 3CosMul), Spearman's rho and neighbours, with gensim's conventions and against gensim."""

import numpy as np
import pytest

from tinygrad_lm.vectors.evaluate import (
    average_ranks,
    evaluate_analogies,
    evaluate_similarity,
    spearman,
)
from tinygrad_lm.vectors.formats import save_word2vec
from tinygrad_lm.vectors.keyed import UnknownWordError, WordVectors
from tinygrad_lm.vectors.vocab import VectorsError


def offset_vectors(n_pairs=30, dim=12, noise=0.35, seed=0):
    """Pairs (xK, yK) with y = x + a shared offset + noise: an analogy set with a known answer, plus distractors."""
    rng = np.random.default_rng(seed)
    offset = rng.normal(size=dim)
    x = rng.normal(size=(n_pairs, dim))
    y = x + offset + noise * rng.normal(size=(n_pairs, dim))
    words = [f"x{k}" for k in range(n_pairs)] + [f"y{k}" for k in range(n_pairs)] + [f"z{k}" for k in range(20)]
    return WordVectors(words, np.vstack([x, y, rng.normal(size=(20, dim))]).astype(np.float32))


def write_questions(path, n_pairs=30, extra=""):
    lines = [": offsets"] + [f"X{a} Y{a} X{c} Y{c}" for a in range(n_pairs) for c in range(n_pairs) if a != c]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def test_analogies_case_insensitive_with_coverage(tmp_path):
    vectors = offset_vectors(noise=0.0)
    path = write_questions(tmp_path / "q.txt", extra=": other\nX0 Y0 unknown Y1\nnot four words\n")
    result = evaluate_analogies(vectors, path)
    assert result["total"] == 30 * 29 and result["questions"] == 30 * 29 + 1
    assert result["accuracy"] > 0.95  # not 1: 3CosAdd adds unit vectors, and the pairs differ in length
    assert result["coverage"] == pytest.approx(870 / 871) and result["sections"]["offsets"] == [result["correct"], 870]
    assert evaluate_analogies(vectors, path, "3cosmul")["accuracy"] > 0.75


def test_a_question_word_in_another_case_is_never_the_answer(tmp_path):
    words = ["king", "man", "woman", "queen", "King"]
    vectors = WordVectors(words, np.array([[1, 0, 0], [0, 1, 0], [0, 0.9, 0.5], [1, 0, 0.6], [1, 0, 0.5]], np.float32))
    path = tmp_path / "q.txt"
    path.write_text(": royal\nman king woman queen\n")
    assert vectors.nearest(vectors["king"] - vectors["man"] + vectors["woman"], k=1)[0][0] == "King"
    assert evaluate_analogies(vectors, path)["correct"] == 1  # 'King' ranks above 'queen' but is skipped


def test_3cosadd_agrees_with_gensims_evaluate_word_analogies(tmp_path):
    keyedvectors = pytest.importorskip("gensim.models.keyedvectors", reason="gensim (bench extra) is not installed")
    vectors = offset_vectors(noise=0.8)
    save_word2vec(tmp_path / "v.txt", vectors)
    theirs = keyedvectors.KeyedVectors.load_word2vec_format(str(tmp_path / "v.txt"))
    path = write_questions(tmp_path / "q.txt", extra=": more\nx1 y1 zz9 y2\n")
    ours = evaluate_analogies(vectors, path)
    accuracy, sections = theirs.evaluate_word_analogies(str(path))
    assert 0.1 < ours["accuracy"] < 0.9
    assert ours["correct"] == len(sections[-1]["correct"]) and ours["accuracy"] == pytest.approx(accuracy)


@pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")  # gensim calls its own init_sims
def test_3cosmul_agrees_with_gensims_most_similar_cosmul(tmp_path):
    # gensim 4.4's evaluate_word_analogies ignores its similarity_function argument (always most_similar),
    # so the reference is most_similar_cosmul with the evaluator's rule applied by hand.
    keyedvectors = pytest.importorskip("gensim.models.keyedvectors", reason="gensim (bench extra) is not installed")
    vectors = offset_vectors(noise=0.8)
    save_word2vec(tmp_path / "v.txt", vectors)
    theirs = keyedvectors.KeyedVectors.load_word2vec_format(str(tmp_path / "v.txt"))
    path = write_questions(tmp_path / "q.txt")
    correct = 0
    for line in path.read_text().splitlines()[1:]:
        a, b, c, expected = line.lower().split()
        answer = next(w for w, _ in theirs.most_similar_cosmul(positive=[b, c], negative=[a], topn=5))
        correct += answer == expected
    ours = evaluate_analogies(vectors, path, "3cosmul")
    assert 0.1 < ours["accuracy"] < 0.9 and ours["correct"] == correct


def test_spearman_with_ties_and_a_known_value():
    np.testing.assert_allclose(average_ranks(np.array([10.0, 20, 20, 5])), [2, 3.5, 3.5, 1])
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_similarity_agrees_with_scipy_and_gensim(tmp_path):
    stats = pytest.importorskip("scipy.stats", reason="scipy is not installed")
    vectors = offset_vectors()
    rng = np.random.default_rng(5)
    lines = ["# a comment", "X0\tunknown\t3.0"] + [f"{a}\t{b}\t{s:.1f}" for a, b, s in zip(
        rng.choice(vectors.words, 60), rng.choice(vectors.words, 60), rng.integers(0, 10, 60))]  # fmt: skip
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n")
    result = evaluate_similarity(vectors, path)
    assert result["pairs"] == 60 and result["total"] == 61
    gold = [float(line.split("\t")[2]) for line in lines[2:]]
    model = [vectors.similarity(line.split("\t")[0], line.split("\t")[1]) for line in lines[2:]]
    assert result["spearman"] == pytest.approx(stats.spearmanr(gold, model)[0], abs=1e-12)
    keyedvectors = pytest.importorskip("gensim.models.keyedvectors", reason="gensim (bench extra) is not installed")
    save_word2vec(tmp_path / "v.txt", vectors)
    theirs = keyedvectors.KeyedVectors.load_word2vec_format(str(tmp_path / "v.txt"))
    assert result["spearman"] == pytest.approx(theirs.evaluate_word_pairs(str(path))[1][0], abs=1e-6)


def test_unknown_words_and_empty_files_are_named(tmp_path):
    vectors = offset_vectors()
    with pytest.raises(UnknownWordError, match="'X0' is not in the vectors' vocabulary of 80 words .did you mean 'x0'"):
        vectors.nearest("X0")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(VectorsError, match="no analogy questions"):
        evaluate_analogies(vectors, tmp_path / "empty.txt")
    with pytest.raises(VectorsError, match="no word pairs"):
        evaluate_similarity(vectors, tmp_path / "empty.txt")
    with pytest.raises(VectorsError, match="unknown analogy method"):
        evaluate_analogies(vectors, write_questions(tmp_path / "q.txt"), "3cosfoo")


def test_a_table_smaller_than_the_candidate_list_still_answers(tmp_path):
    vectors = WordVectors(["a", "b", "c", "d"], np.array([[1, 0], [0, 1], [1, 0.1], [0.1, 1]], np.float32))
    path = tmp_path / "q.txt"
    path.write_text(": tiny\na b c d\n")
    assert evaluate_analogies(vectors, path)["correct"] == 1
