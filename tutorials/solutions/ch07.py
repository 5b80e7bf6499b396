"""Reference solutions to chapter 7's exercises (tutorials/exercises/ch07.py states the tasks)."""

import numpy as np


def char_encode(text):
    """The sorted distinct characters, and each character's index in them."""
    vocabulary = sorted(set(text))
    index = {char: i for i, char in enumerate(vocabulary)}
    return np.array([index[char] for char in text], dtype=np.int64), vocabulary


def sample_batch(ids, block_size, batch_size, rng):
    """Windows at random starts; the targets are the same windows one token later."""
    ids = np.asarray(ids, dtype=np.int64)
    starts = rng.integers(0, len(ids) - block_size, size=batch_size)  # (B,)
    positions = starts[:, None] + np.arange(block_size)[None, :]  # (B, 1) + (1, T) -> (B, T)
    return ids[positions], ids[positions + 1]


def gpt_parameter_count(config):
    """V C + T C + L (12 C^2 + 13 C) + 2 C with biases; L (12 C^2 + 2 C) + C without."""
    V, T, C, L = config.vocab_size, config.block_size, config.n_embd, config.n_layer
    embeddings = V * C + T * C  # the head is tied to the token embedding: no V C more
    if config.bias:
        return embeddings + L * (12 * C**2 + 13 * C) + 2 * C
    return embeddings + L * (12 * C**2 + 2 * C) + C  # LayerNorms keep their weight (C,) only
