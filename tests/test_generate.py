"""Sampling: greedy, temperature, top-k, top-p, reproducibility, and the decoding loop."""

import numpy as np
import pytest

from tinygrad_lm.generate import generate_tokens, sample_next


def random_logits(batch=4, vocab=50, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, vocab)) * 3.0


def test_temperature_zero_is_greedy_argmax_without_an_rng():
    logits = random_logits()
    np.testing.assert_array_equal(sample_next(logits, temperature=0.0), logits.argmax(axis=-1))
    assert sample_next(logits, temperature=0).dtype == np.int64


def test_greedy_ties_go_to_the_lowest_token_id():
    logits = np.array([[1.0, 3.0, 3.0, 0.0]])
    assert sample_next(logits, temperature=0)[0] == 1
    assert sample_next(logits, top_k=1, rng=0)[0] == 1


@pytest.mark.parametrize("seed", range(5))
def test_top_k_one_is_greedy(seed):
    logits = random_logits(seed=seed)
    np.testing.assert_array_equal(sample_next(logits, top_k=1, rng=seed), logits.argmax(axis=-1))


@pytest.mark.parametrize("seed", range(5))
def test_tiny_top_p_is_greedy(seed):
    logits = random_logits(seed=seed)
    np.testing.assert_array_equal(sample_next(logits, top_p=1e-9, rng=seed), logits.argmax(axis=-1))


def test_top_p_keeps_at_least_one_token_even_when_it_dominates():
    logits = np.array([[50.0, 0.0, 0.0], [0.0, 0.0, 50.0]])  # top token mass ~1 > p
    for seed in range(10):
        np.testing.assert_array_equal(sample_next(logits, top_p=0.5, rng=seed), [0, 2])


def test_top_k_samples_only_among_the_k_largest():
    logits = random_logits(batch=1, vocab=20)
    allowed = set(np.argsort(-logits[0])[:3])
    rng = np.random.default_rng(1)
    drawn = {int(sample_next(logits, temperature=5.0, top_k=3, rng=rng)[0]) for _ in range(300)}
    assert drawn == allowed  # high temperature: all three appear, nothing else does


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = np.array([[0.5, 0.3, 0.15, 0.05]])
    logits = np.log(probs)
    rng = np.random.default_rng(2)
    drawn = {int(sample_next(logits, top_p=0.75, rng=rng)[0]) for _ in range(300)}
    assert drawn == {0, 1}  # 0.5 < 0.75 <= 0.5 + 0.3
    drawn = {int(sample_next(logits, top_p=0.81, rng=rng)[0]) for _ in range(300)}
    assert drawn == {0, 1, 2}


def test_sampling_frequencies_match_the_softmax():
    logits = np.log(np.array([[0.1, 0.2, 0.7]]))
    rng = np.random.default_rng(3)
    draws = np.array([sample_next(np.repeat(logits, 1000, axis=0), rng=rng) for _ in range(10)]).ravel()
    freq = np.bincount(draws, minlength=3) / draws.size
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.7], atol=0.015)  # 10,000 draws: sd ~0.005


def test_temperature_sharpens_and_flattens():
    logits = np.log(np.array([[0.2, 0.8]]))
    rng = np.random.default_rng(4)
    cold = np.mean([sample_next(np.repeat(logits, 2000, axis=0), temperature=0.25, rng=rng)])
    hot = np.mean([sample_next(np.repeat(logits, 2000, axis=0), temperature=4.0, rng=rng)])
    assert cold > 0.95 and 0.5 < hot < 0.7  # p(1) = 0.8^4 / (0.2^4 + 0.8^4) and 0.8^.25 / (...)


def test_never_samples_a_masked_token():
    logits = np.array([[-np.inf, 0.0, -np.inf, 0.0]])
    draws = {int(sample_next(logits, rng=np.random.default_rng(s))[0]) for s in range(100)}
    assert draws == {1, 3}


def test_seeded_sampling_is_reproducible():
    logits = random_logits()
    a = sample_next(logits, temperature=1.3, top_k=10, top_p=0.9, rng=np.random.default_rng(7))
    b = sample_next(logits, temperature=1.3, top_k=10, top_p=0.9, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": -1.0}, "temperature must be a number >= 0"),
    ({"top_k": 0}, "top_k must be a positive int"),
    ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
    ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
    ({}, "sampling needs rng="),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sample_next(random_logits(), **kwargs)


def test_bad_logits_are_named():
    with pytest.raises(ValueError, match=r"logits must be a float array \(batch, vocab\), got float64 \(5,\)"):
        sample_next(np.zeros(5), temperature=0)
    rows = np.zeros((3, 4))
    rows[2] = -np.inf
    with pytest.raises(ValueError, match="row 2 of the logits holds NaN or \\+inf, or no finite value"):
        sample_next(rows, rng=0)
    rows[2] = 0.0
    rows[1, 1] = np.nan
    with pytest.raises(ValueError, match="row 1 of the logits"):
        sample_next(rows, temperature=0)


class CountingModel:
    """A duck-typed model: the next token is always (last token + 1) mod V."""

    def __init__(self, vocab=10):
        self.vocab, self.calls = vocab, []

    def __call__(self, ids):
        self.calls.append(ids.shape)
        logits = np.full((ids.shape[0], self.vocab), -10.0)
        logits[np.arange(ids.shape[0]), (ids[:, -1] + 1) % self.vocab] = 10.0
        return logits


def test_generate_tokens_appends_the_chosen_tokens():
    model = CountingModel()
    out = generate_tokens(model, np.array([[0], [5]]), 4, temperature=0)
    np.testing.assert_array_equal(out, [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]])
    assert model.calls == [(2, 1), (2, 2), (2, 3), (2, 4)]


def test_generate_tokens_stops_when_every_row_hit_the_stop_token_and_pads_finished_rows():
    out = generate_tokens(CountingModel(), np.array([[1], [3]]), 10, temperature=0, stop_token=4)
    np.testing.assert_array_equal(out, [[1, 2, 3, 4], [3, 4, 4, 4]])


def test_generate_tokens_with_a_seed_is_reproducible_and_draws_fresh_numbers_each_step():
    def uniform(ids):
        return np.zeros((ids.shape[0], 1000))

    a = generate_tokens(uniform, np.zeros((1, 1), dtype=np.int64), 20, rng=5)
    b = generate_tokens(uniform, np.zeros((1, 1), dtype=np.int64), 20, rng=5)
    np.testing.assert_array_equal(a, b)
    assert len(set(a[0, 1:].tolist())) > 15  # a seed is turned into one Generator, not re-seeded per step


def test_generate_tokens_rejects_bad_prompts():
    with pytest.raises(ValueError, match=r"prompt must be integer ids of shape \(batch, time>=1\)"):
        generate_tokens(CountingModel(), np.array([1, 2]), 3, temperature=0)
    with pytest.raises(ValueError, match="max_new_tokens must be an int >= 0"):
        generate_tokens(CountingModel(), np.array([[1]]), -1, temperature=0)
