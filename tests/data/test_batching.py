"""Tests for tinygrad_lm.data.batching: the contiguous split and the seeded batch sampler.

Using ids = arange(N) makes every window readable: a row of x starting at s is
s, s + 1, ..., so the tests can see the start each row came from.
"""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lm.data import BatchSampler, check_split_length, train_val_split


@given(st.integers(2, 5000), st.floats(0.01, 0.99))
def test_split_is_contiguous_and_covers_everything(n, val_fraction):
    ids = np.arange(n, dtype=np.int64)
    n_train = int(n * (1 - val_fraction))
    if n_train == 0 or n_train == n:
        with pytest.raises(ValueError, match="both must be non-empty"):
            train_val_split(ids, val_fraction)
        return
    train, val = train_val_split(ids, val_fraction)
    assert len(train) == n_train
    np.testing.assert_array_equal(np.concatenate([train, val]), ids)


def test_split_ninety_ten():
    train, val = train_val_split(np.arange(1000), 0.1)
    np.testing.assert_array_equal(train, np.arange(900))
    np.testing.assert_array_equal(val, np.arange(900, 1000))
    assert train.dtype == val.dtype == np.int64


def test_split_refuses_a_corpus_too_short_for_the_block_size():
    ids = np.arange(100)  # 90 train, 10 validation tokens
    train_val_split(ids, 0.1, block_size=9)
    with pytest.raises(ValueError) as info:
        train_val_split(ids, 0.1, block_size=10)
    message = str(info.value)
    assert "validation split has 10 tokens" in message and "block_size is 10" in message
    assert "block_size + 1 = 11" in message


def test_check_split_length_boundary_and_bad_block_size():
    check_split_length(np.arange(5), 4)
    with pytest.raises(ValueError, match="train split has 4 tokens"):
        check_split_length(np.arange(4), 4)
    with pytest.raises(ValueError, match="positive int"):
        check_split_length(np.arange(4), 0)


@pytest.mark.parametrize("bad, error, fragment", [
    (np.arange(6.0), TypeError, "float64"), (np.zeros((2, 3), dtype=np.int64), ValueError, "1-D"),
])  # fmt: skip
def test_split_and_sampler_refuse_non_token_input(bad, error, fragment):
    with pytest.raises(error, match=fragment):
        train_val_split(bad)
    with pytest.raises(error, match=fragment):
        BatchSampler(bad, block_size=2, batch_size=1, seed=0)


def test_val_fraction_must_be_a_fraction():
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(np.arange(10), 1.0)


@given(st.integers(1, 20), st.integers(1, 8), st.integers(0, 30), st.integers(0, 2**32))
def test_batches_are_windows_with_targets_shifted_by_one(block_size, batch_size, extra, seed):
    n = block_size + 1 + extra
    sampler = BatchSampler(np.arange(n), block_size, batch_size, seed)
    x, y = sampler.next_batch()
    assert x.shape == y.shape == (batch_size, block_size)
    assert x.dtype == y.dtype == np.int64
    starts = x[:, 0]
    np.testing.assert_array_equal(x, starts[:, None] + np.arange(block_size))
    np.testing.assert_array_equal(y, x + 1)
    assert starts.min() >= 0 and starts.max() <= n - block_size - 1


def test_starts_are_uniform_over_every_window():
    sampler = BatchSampler(np.arange(13), block_size=4, batch_size=1000, seed=1)
    counts = np.bincount(sampler.next_batch()[0][:, 0], minlength=9)
    assert sampler.num_windows == 9 and len(counts) == 9  # starts 0..8, the last one included
    expected = 1000 / 9
    chi_square = ((counts - expected) ** 2 / expected).sum()
    assert chi_square < 26.1  # the 0.999 quantile of chi-square with 8 degrees of freedom


def test_same_seed_same_batches_other_seed_other_batches():
    def batches(seed):
        sampler = BatchSampler(np.arange(500), 8, 4, seed)
        return [next(sampler)[0] for _ in range(5)]

    assert all(np.array_equal(a, b) for a, b in zip(batches(3), batches(3), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(batches(3), batches(4), strict=True))


def test_resume_from_state_dict_reproduces_the_uninterrupted_stream():
    ids = np.arange(10_000)
    straight = BatchSampler(ids, block_size=16, batch_size=8, seed=42)
    expected = [straight.next_batch() for _ in range(100)]

    first = BatchSampler(ids, block_size=16, batch_size=8, seed=42)
    got = [first.next_batch() for _ in range(50)]
    state = json.loads(json.dumps(first.state_dict()))
    resumed = BatchSampler(ids, block_size=16, batch_size=8, seed=999)  # seed is overridden
    resumed.load_state_dict(state)
    got += [resumed.next_batch() for _ in range(50)]

    for (x_expected, y_expected), (x, y) in zip(expected, got, strict=True):
        np.testing.assert_array_equal(x, x_expected)
        np.testing.assert_array_equal(y, y_expected)


def test_load_state_dict_refuses_other_settings_and_other_generators():
    state = BatchSampler(np.arange(100), 8, 4, 0).state_dict()
    with pytest.raises(ValueError, match="saved block_size is 8 but this sampler has 16"):
        BatchSampler(np.arange(100), 16, 4, 0).load_state_dict(state)
    with pytest.raises(ValueError, match="saved num_tokens is 100 but this sampler has 200"):
        BatchSampler(np.arange(200), 8, 4, 0).load_state_dict(state)
    with pytest.raises(ValueError, match="lacks fields"):
        BatchSampler(np.arange(100), 8, 4, 0).load_state_dict({"block_size": 8})
    other = dict(state, bit_generator={"bit_generator": "MT19937"})
    with pytest.raises(ValueError, match="expected a PCG64 generator state, got 'MT19937'"):
        BatchSampler(np.arange(100), 8, 4, 0).load_state_dict(other)


def test_sampler_refuses_bad_settings():
    with pytest.raises(ValueError, match="val split has 8 tokens but block_size is 8"):
        BatchSampler(np.arange(8), 8, 4, 0, split_name="val")
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(np.arange(100), 8, 0, 0)
    with pytest.raises(ValueError, match="seed"):
        BatchSampler(np.arange(100), 8, 4, -1)
