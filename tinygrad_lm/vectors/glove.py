"""GloVe training: co-occurrence counts, the weighted least-squares fit, W + W~ as the vectors.

    wv = train_glove(tokens, GloveConfig(vector_size=100, window=10, epochs=25))

1. `cooccurrence_matrix`: the vocabulary's id stream (rare words removed first, as in glove's
   cooccur.c, so distances count kept words) is scanned in slices by a Numba kernel; each slice's
   (row * V + column, 1/d) pairs are summed per key with np.unique + np.bincount, then all
   slices are summed the same way. Result: the non-zero X_ij as (rows, columns, values), a
   sparse symmetric matrix; memory grows with the number of distinct pairs, not V^2.
2. `train_glove`: W, W~ uniform in [-0.5, 0.5) / D, biases 0, AdaGrad state 1; each epoch
   shuffles the pairs (seeded) and runs `glove_kernels.glove_epoch`; the progress bar shows the
   cost J per pair and pairs/s; the result is W + W~ (the paper's choice: the two sets differ
   only by their random start, and their sum is a little better than either).

Defaults follow the paper and glove's demo.sh where they differ from nothing here: x_max 100,
alpha 0.75, eta 0.05, window 10 (demo.sh uses 15), 25 epochs (demo.sh: 15 for small corpora).
Left out: the C tool's memory-limited external sort, and writing the biases out.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numba
import numpy as np
from tqdm import tqdm

from tinygrad_lm.vectors.glove_kernels import cooccurrence_pairs, glove_epoch
from tinygrad_lm.vectors.keyed import WordVectors
from tinygrad_lm.vectors.vocab import VectorsError, Vocabulary
from tinygrad_lm.vectors.word2vec import check_vocabulary, initial_vectors

CENTERS_PER_SLICE = 200_000
BLOCKS_PER_THREAD = 1


@dataclass
class GloveConfig:
    """GloVe settings."""

    vector_size: int = 100
    window: int = 10
    min_count: int = 5
    x_max: float = 100.0
    alpha: float = 0.75
    eta: float = 0.05
    epochs: int = 25
    seed: int = 1
    threads: int = 1

    def check(self) -> None:
        """Raise VectorsError naming the first setting out of range."""
        for name in ("vector_size", "window", "min_count", "epochs", "threads"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise VectorsError(f"{name} must be an integer >= 1, got {getattr(self, name)!r}")
        for name in ("x_max", "alpha", "eta"):
            if not getattr(self, name) > 0:
                raise VectorsError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.threads > numba.config.NUMBA_NUM_THREADS:
            raise VectorsError(f"threads={self.threads} exceeds NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}")


def _sum_by_key(keys: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse.ravel(), weights=weights, minlength=len(unique))


def cooccurrence_matrix(ids: np.ndarray, vocab_size: int, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows int32, columns int32, X float64) of every non-zero X_ij (distance-weighted, symmetric)."""
    ids = np.ascontiguousarray(ids, dtype=np.int32)
    pieces = [_sum_by_key(*cooccurrence_pairs(ids, lo, min(lo + CENTERS_PER_SLICE, len(ids)), window, vocab_size))
              for lo in range(0, len(ids), CENTERS_PER_SLICE)]
    keys, values = _sum_by_key(np.concatenate([k for k, _ in pieces]), np.concatenate([v for _, v in pieces]))
    return (keys // vocab_size).astype(np.int32), (keys % vocab_size).astype(np.int32), values


def glove_weights(x: np.ndarray, x_max: float, alpha: float) -> np.ndarray:
    """f(x) = min(1, (x / x_max)^alpha): rare pairs count less, frequent ones are capped at 1."""
    return np.minimum(1.0, (x / x_max) ** alpha)


def train_glove(tokens: list[str], config: GloveConfig | None = None, progress: bool = True) -> WordVectors:
    """Fit GloVe to ``tokens``; return W + W~ (``info`` holds the settings, pairs, final cost and timing)."""
    config = config or GloveConfig()
    config.check()
    vocab = Vocabulary.build(tokens, config.min_count)
    ids = vocab.encode(tokens)
    check_vocabulary(vocab, len(ids), config)
    start_time = time.perf_counter()
    rows, cols, x = cooccurrence_matrix(ids, len(vocab), config.window)
    count_seconds = time.perf_counter() - start_time
    log_x, weight = np.log(x), glove_weights(x, config.x_max, config.alpha)
    V, D = len(vocab), config.vector_size
    W, W_tilde = initial_vectors(V, D, config.seed, 0.5), initial_vectors(V, D, config.seed + 1, 0.5)  # glove.c's
    b, b_tilde = np.zeros(V, np.float32), np.zeros(V, np.float32)
    G, G_tilde = np.ones((V, D), np.float32), np.ones((V, D), np.float32)
    Gb, Gb_tilde = np.ones(V, np.float32), np.ones(V, np.float32)
    rng = np.random.default_rng(config.seed)
    previous_threads = numba.get_num_threads()
    numba.set_num_threads(config.threads)
    costs = []
    try:
        with tqdm(total=config.epochs * len(x), disable=not progress, unit="pair", unit_scale=True, desc="glove") as bar:
            for _ in range(config.epochs):
                order = rng.permutation(len(x))
                costs.append(glove_epoch(rows, cols, log_x, weight, order, W, W_tilde, b, b_tilde, G, G_tilde,
                                         Gb, Gb_tilde, config.eta, config.threads * BLOCKS_PER_THREAD) / len(x))
                bar.set_postfix(cost=f"{costs[-1]:.4f}")
                bar.update(len(x))
    finally:
        numba.set_num_threads(previous_threads)
    seconds = time.perf_counter() - start_time
    info = {"settings": asdict(config), "corpus_words": len(ids), "vocabulary": V, "pairs": len(x),
            "cost_per_pair_by_epoch": costs, "count_seconds": count_seconds, "seconds": seconds,
            "words_per_second": config.epochs * len(ids) / seconds}
    return WordVectors(vocab.words, W + W_tilde, counts=vocab.counts, info=info)
