"""GloVe: co-occurrence counts against a plain loop, one AdaGrad step against NumPy, training fits and learns."""

from collections import defaultdict

import numpy as np
import pytest

from tinygrad_lm.vectors.glove import (
    GloveConfig,
    cooccurrence_matrix,
    glove_weights,
    train_glove,
)
from tinygrad_lm.vectors.glove_kernels import glove_epoch
from tinygrad_lm.vectors.vocab import VectorsError


def test_cooccurrence_matrix_matches_a_python_loop():
    rng = np.random.default_rng(0)
    ids, V, window = rng.integers(0, 7, size=300).astype(np.int32), 7, 4
    expected = defaultdict(float)
    for i in range(len(ids)):
        for d in range(1, window + 1):
            if i + d < len(ids):
                expected[ids[i], ids[i + d]] += 1 / d
                expected[ids[i + d], ids[i]] += 1 / d
    rows, cols, x = cooccurrence_matrix(ids, V, window)
    assert dict(zip(zip(rows.tolist(), cols.tolist()), x.tolist())) == pytest.approx(dict(expected))


def test_weighting_function():
    np.testing.assert_allclose(glove_weights(np.array([1.0, 50.0, 100.0, 400.0]), 100.0, 0.75),
                               [0.01**0.75, 0.5**0.75, 1.0, 1.0])


def test_one_pair_takes_glove_c_adagrad_step():
    rng = np.random.default_rng(1)
    W, Wt = rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=(2, 3)).astype(np.float32)
    b, bt = np.array([0.1, 0.2], np.float32), np.array([0.3, -0.1], np.float32)
    G, Gt = np.full((2, 3), 2.0, np.float32), np.full((2, 3), 3.0, np.float32)
    Gb, Gbt = np.full(2, 1.5, np.float32), np.full(2, 2.5, np.float32)
    x, eta, weight = 5.0, 0.05, 0.3
    diff = W[0] @ Wt[1] + b[0] + bt[1] - np.log(x)
    fdiff = weight * diff * eta
    expected_W0 = W[0] - fdiff * Wt[1] / np.sqrt(G[0])
    expected_Wt1 = Wt[1] - fdiff * W[0] / np.sqrt(Gt[1])
    expected_G0 = G[0] + (fdiff * Wt[1]) ** 2
    cost = glove_epoch(np.array([0], np.int32), np.array([1], np.int32), np.array([np.log(x)]), np.array([weight]),
                       np.array([0]), W, Wt, b, bt, G, Gt, Gb, Gbt, eta, 1)
    assert cost == pytest.approx(0.5 * weight * diff**2, rel=1e-5)
    np.testing.assert_allclose(W[0], expected_W0, rtol=1e-5)
    np.testing.assert_allclose(Wt[1], expected_Wt1, rtol=1e-5)
    np.testing.assert_allclose(G[0], expected_G0, rtol=1e-5)
    assert b[0] == pytest.approx(0.1 - fdiff / np.sqrt(1.5), rel=1e-5) and Gb[0] == pytest.approx(1.5 + fdiff**2)


def test_training_lowers_the_cost_and_groups_topics(topics, topic_groups):
    vectors = train_glove(topics, GloveConfig(vector_size=16, epochs=30, min_count=1, window=3, x_max=10.0),
                          progress=False)
    costs = vectors.info["cost_per_pair_by_epoch"]
    assert costs[-1] < 0.5 * costs[0]
    animals, _ = topic_groups
    assert set(w for w, _ in vectors.nearest(animals[0], k=5)) <= set(animals)


def test_tiny_corpus_and_bad_settings_are_refused(topics):
    with pytest.raises(VectorsError, match="only 2 words"):
        train_glove(["a", "b", "a", "b"], GloveConfig(min_count=1, window=2), progress=False)
    with pytest.raises(VectorsError, match="x_max"):
        train_glove(topics, GloveConfig(x_max=0.0), progress=False)


def test_glove_starts_at_glove_c_scale_not_word2vecs(topics, monkeypatch):
    """glove.c: W, W~ uniform in [-0.5, 0.5) / D; Word2Vec (gensim 4.4) starts twice as wide."""
    import tinygrad_lm.vectors.glove as glove

    starts = []
    original = glove.initial_vectors

    def recording(*args, **kwargs):
        vectors = original(*args, **kwargs)
        starts.append(vectors.copy())  # training changes the returned table in place
        return vectors

    monkeypatch.setattr(glove, "initial_vectors", recording)
    train_glove(topics, GloveConfig(vector_size=50, min_count=1, epochs=1, window=3), progress=False)
    assert len(starts) == 2
    for start in starts:
        assert np.abs(start).max() < 0.5 / 50 and np.abs(start).max() > 0.45 / 50
