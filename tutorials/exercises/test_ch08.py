"""Checks of chapter 8's exercises (the `answers` fixture: see conftest.py)."""

import numpy as np
import pytest

from tinygrad_lm.generate import sample_next

LOGITS = np.array([[2.0, 1.0, 0.5, 0.0, -1.0, -3.0],
                   [0.0, 3.0, 3.0, 1.0, 3.0, -2.0],  # a three-way tie at the top
                   [5.0, 5.0, 5.0, 5.0, 5.0, 5.0]])  # all equal
SEEDS = range(200)


def _same_tokens_as_sample_next(filtered, **library_filter):
    """Tokens from the filtered logits (no filter) == tokens with sample_next's own filter."""
    for seed in SEEDS:
        mine = sample_next(filtered, rng=seed)
        library = sample_next(LOGITS, rng=seed, **library_filter)
        assert np.array_equal(mine, library), (seed, mine, library)


@pytest.mark.parametrize("k", [1, 2, 3, 6, 10])
def test_top_k_filter_agrees_with_sample_next(answers, k):
    filtered = answers.top_k_filter(LOGITS, k)
    assert filtered.shape == LOGITS.shape
    assert np.array_equal(np.isfinite(filtered).sum(axis=1), [min(k, 6)] * 3), "exactly k per row"
    _same_tokens_as_sample_next(filtered, top_k=k)


def test_top_k_filter_breaks_ties_towards_lower_ids(answers):
    kept = np.isfinite(answers.top_k_filter(LOGITS, 2))
    assert kept[1].tolist() == [False, True, True, False, False, False]
    assert kept[2].tolist() == [True, True, False, False, False, False]


@pytest.mark.parametrize("p", [0.05, 0.5, 0.8, 0.95, 1.0])
def test_top_p_filter_agrees_with_sample_next(answers, p):
    filtered = answers.top_p_filter(LOGITS, p)
    assert np.isfinite(filtered).any(axis=1).all(), "the most likely token is always kept"
    _same_tokens_as_sample_next(filtered, top_p=p)


def test_top_p_filter_keeps_the_nucleus(answers):
    probs = np.exp(LOGITS[0]) / np.exp(LOGITS[0]).sum()  # 0.61, 0.22, 0.14, ...
    kept = np.isfinite(answers.top_p_filter(LOGITS[:1], 0.8))[0]
    assert kept.tolist() == [True, True, True, False, False, False], probs.round(3)


def test_inverse_cdf_sample_agrees_with_sample_next(answers):
    shifted = np.exp(LOGITS - LOGITS.max(axis=1, keepdims=True))
    probs = shifted / shifted.sum(axis=1, keepdims=True)
    for seed in SEEDS:
        u = np.random.default_rng(seed).random(len(LOGITS))  # the uniforms sample_next draws
        tokens = answers.inverse_cdf_sample(probs, u)
        assert tokens.dtype == np.int64 and np.array_equal(tokens, sample_next(LOGITS, rng=seed)), seed


def test_inverse_cdf_sample_at_the_edges(answers):
    probs = np.array([[0.0, 0.5, 0.0, 0.5], [0.25, 0.25, 0.25, 0.25]])
    assert answers.inverse_cdf_sample(probs, np.array([0.0, 0.0])).tolist() == [1, 0]  # never a p = 0 token
    assert answers.inverse_cdf_sample(probs, np.array([0.5, 0.9999])).tolist() == [3, 3]
