"""Checks of chapter 7's exercises (the `answers` fixture: see conftest.py)."""

import numpy as np
import pytest

from tinygrad_lm.data import BatchSampler, CharTokenizer
from tinygrad_lm.models import GPT, GPTConfig


@pytest.mark.parametrize("text", ["the king loves the crown.\n", "aaaa", "Ωmega, été — 1 2 3"])
def test_char_encode_matches_the_char_tokenizer(answers, text):
    ids, vocabulary = answers.char_encode(text)
    tokenizer = CharTokenizer.from_text(text)
    assert list(vocabulary) == list(tokenizer.vocabulary)
    assert isinstance(ids, np.ndarray) and ids.dtype == np.int64 and np.array_equal(ids, tokenizer.encode(text))
    assert "".join(vocabulary[i] for i in ids) == text


def test_sample_batch_matches_the_batch_sampler(answers):
    ids = np.random.default_rng(7).integers(0, 50, 300)
    sampler = BatchSampler(ids, block_size=16, batch_size=5, seed=11)
    rng = np.random.default_rng(11)  # the same PCG64 stream as the sampler's
    for _ in range(3):
        x, y = answers.sample_batch(ids, 16, 5, rng)
        expected_x, expected_y = sampler.next_batch()
        assert x.shape == y.shape == (5, 16) and x.dtype == y.dtype == np.int64
        assert np.array_equal(x, expected_x) and np.array_equal(y, expected_y)


def test_sample_batch_targets_are_the_next_tokens(answers):
    ids = np.arange(1000, 1040)  # every token is its position + 1000
    x, y = answers.sample_batch(ids, 8, 32, np.random.default_rng(0))
    assert np.array_equal(y, x + 1) and np.array_equal(np.diff(x, axis=1), np.ones((32, 7)))
    assert x.min() >= 1000 and y.max() <= 1039  # every window, target included, inside the stream


@pytest.mark.parametrize("fields", [
    {"vocab_size": 11, "block_size": 8, "n_layer": 1, "n_head": 1, "n_embd": 4},
    {"vocab_size": 65, "block_size": 32, "n_layer": 3, "n_head": 2, "n_embd": 16},
    {"vocab_size": 30, "block_size": 5, "n_layer": 2, "n_head": 4, "n_embd": 8, "bias": False},
])
def test_gpt_parameter_count_matches_the_model(answers, fields):
    config = GPTConfig(**fields)
    assert answers.gpt_parameter_count(config) == GPT(config).num_parameters()


def test_gpt_parameter_count_of_gpt2_small(answers):
    assert answers.gpt_parameter_count(GPTConfig()) == 124_439_808  # without building 124M floats
