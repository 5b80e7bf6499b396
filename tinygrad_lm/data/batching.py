"""Train/validation split of a token stream and a seeded random-window batch sampler.

A GPT is trained on windows of a long 1-D token stream `ids` (N,): the input x is
`ids[s : s + T]` and the target y is `ids[s + 1 : s + T + 1]`, the same window shifted by
one, so position t of y is the token that follows x[:t + 1]. A window therefore needs
T + 1 tokens, and a split of n tokens offers n - T start positions s = 0 .. n - T - 1.

`BatchSampler` draws B starts uniformly at random for every batch from a NumPy `Generator`
(PCG64) seeded once. Its whole random state is a small JSON-ready dict, so a run resumed
from a checkpoint sees exactly the batches it would have seen without stopping.

Left out: tokenization (tokenizers.py), where the text comes from (corpora.py), and
epoch-style passes over every window (random windows are the nanoGPT convention).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


def _as_token_array(ids: Any, who: str) -> np.ndarray:
    """Check that `ids` is a 1-D integer array-like and return it as int64 (N,)."""
    array = np.asarray(ids)
    if array.ndim != 1:
        raise ValueError(f"{who}: ids must be a 1-D token stream, got shape {array.shape}")
    if array.dtype.kind not in "iu":
        raise TypeError(
            f"{who}: ids must be integer token ids, got dtype {array.dtype}; "
            "encode the text with a tokenizer first"
        )
    return array.astype(np.int64, copy=False)


def check_split_length(ids: np.ndarray, block_size: int, split_name: str = "train") -> None:
    """Raise `ValueError` unless a split of n tokens holds one window: n > block_size.

    A window is block_size inputs plus the one-step-shifted target, block_size + 1 tokens.
    """
    if not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"block_size must be a positive int, got {block_size!r}")
    if len(ids) <= block_size:
        raise ValueError(
            f"the {split_name} split has {len(ids)} tokens but block_size is {block_size}: "
            f"one training window needs block_size + 1 = {block_size + 1} tokens (inputs "
            "plus targets shifted by one). Use a longer corpus, a smaller block size, or "
            "(for the validation split) a larger validation fraction."
        )


def train_val_split(
    ids: Any, val_fraction: float = 0.1, block_size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous split: the first n_train tokens train, the rest validate.

    n_train = floor(N * (1 - val_fraction)); returns int64 views (n_train,) and
    (N - n_train,). A contiguous split keeps validation text unseen in training (random
    windows from one shared stream would overlap). With `block_size` given, both splits
    are checked to hold at least one window (`check_split_length`).
    """
    ids = _as_token_array(ids, "train_val_split")  # (N,)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(
            f"train_val_split: val_fraction must be strictly between 0 and 1, "
            f"got {val_fraction!r}"
        )
    n_train = int(len(ids) * (1.0 - val_fraction))
    train, val = ids[:n_train], ids[n_train:]  # (N,) -> (n_train,), (N - n_train,)
    if len(train) == 0 or len(val) == 0:
        raise ValueError(
            f"train_val_split: {len(ids)} tokens with val_fraction={val_fraction} leaves "
            f"{len(train)} training and {len(val)} validation tokens; both must be non-empty"
        )
    if block_size is not None:
        check_split_length(train, block_size, "train")
        check_split_length(val, block_size, "validation")
    return train, val


class BatchSampler:
    """Random windows of a token stream: each batch is (x, y), both int64 (B, T).

    y[b, t] = x[b, t + 1] for t < T - 1, and y[b, T - 1] is the token after the window.
    Starts are drawn uniformly from 0 .. N - T - 1 (with replacement) by
    `numpy.random.Generator(PCG64(seed))`. Iterating never ends; call `next_batch()` or
    `next(sampler)` as many times as there are steps. `split_name` only labels errors.

    `state_dict()` / `load_state_dict(d)` save and restore the generator's exact state:
    50 batches, save, load into a fresh sampler, 50 more equals 100 batches straight.
    """

    def __init__(
        self, ids: Any, block_size: int, batch_size: int, seed: int, *, split_name: str = "train"
    ):
        self.ids = _as_token_array(ids, "BatchSampler")  # (N,)
        check_split_length(self.ids, block_size, split_name)
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(
                f"BatchSampler: batch_size must be a positive int, got {batch_size!r}"
            )
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"BatchSampler: seed must be a non-negative int, got {seed!r}")
        self.block_size = int(block_size)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.rng = np.random.Generator(np.random.PCG64(self.seed))

    @property
    def num_windows(self) -> int:
        """How many distinct windows (start positions) the stream offers: N - T."""
        return len(self.ids) - self.block_size

    def next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        """Draw one batch: x, y int64 arrays of shape (B, T)."""
        starts = self.rng.integers(0, self.num_windows, size=self.batch_size)  # (B,)
        offsets = np.arange(self.block_size)  # (T,)
        positions = starts[:, None] + offsets[None, :]  # (B, 1) + (1, T) -> (B, T)
        x = self.ids[positions]  # (B, T)
        y = self.ids[positions + 1]  # (B, T)
        return x, y

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        return self.next_batch()

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state: the PCG64 bit generator's state plus the sampler's settings.

        The 128-bit PCG64 numbers are Python ints; Python's json module round-trips them
        exactly (readers in other languages should parse them as big integers).
        """
        return {
            "bit_generator": self.rng.bit_generator.state,
            "block_size": self.block_size,
            "batch_size": self.batch_size,
            "num_tokens": len(self.ids),
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Restore a `state_dict()`; refuses one taken from a sampler with other settings.

        The settings must match because the same random numbers drive different windows
        when block size, batch size or stream length change, so the resume would not be exact.
        """
        expected = {"block_size": self.block_size, "batch_size": self.batch_size,
                    "num_tokens": len(self.ids)}  # fmt: skip
        missing = [key for key in ("bit_generator", *expected) if key not in d]
        if missing:
            raise ValueError(f"BatchSampler.load_state_dict: state lacks fields {missing}")
        for key, value in expected.items():
            if d[key] != value:
                raise ValueError(
                    f"BatchSampler.load_state_dict: saved {key} is {d[key]} but this sampler "
                    f"has {value}; resume with the same data and settings as the saved run"
                )
        state = d["bit_generator"]
        if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
            name = state.get("bit_generator") if isinstance(state, dict) else state
            raise ValueError(
                f"BatchSampler.load_state_dict: expected a PCG64 generator state, got {name!r}"
            )
        self.rng.bit_generator.state = state

    def __repr__(self) -> str:
        return (
            f"BatchSampler(num_tokens={len(self.ids)}, block_size={self.block_size}, "
            f"batch_size={self.batch_size}, seed={self.seed})"
        )
