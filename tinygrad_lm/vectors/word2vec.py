"""Word2Vec training: settings, checks, the epoch loop with a linearly falling learning rate.

    config = Word2VecConfig(cbow=False, vector_size=100, window=5, negative=5, epochs=5)
    vectors = train_word2vec(tokens, config)          # a WordVectors, most frequent word first

`train_word2vec` builds the vocabulary (min_count), the subsampling probabilities and the noise
table (vocab.py), starts the vectors as gensim 4.4 does (syn0 uniform in [-1, 1) / D from the
seed, syn1neg zeros), then calls the Numba kernel (word2vec_kernels.py) on batches of sentences,
showing a tqdm progress bar with words/s. The learning rate falls linearly from ``alpha`` to
``min_alpha`` over all epochs. ``threads`` sets Numba's thread count for the run (Hogwild
updates when > 1); ``threads=1`` and a seed give the same vectors every time.

Defaults follow gensim 4.4's ``Word2Vec`` (alpha 0.025, min_alpha 0.0001, window 5, negative
5, sample 1e-3, min_count 5, vector_size 100, epochs 5) so that the benchmark compares like with
like. Every setting and the corpus are checked here, before any kernel runs: a kernel given a
vocabulary of one word or a window of 0 would loop forever or index out of bounds.

Left out: hierarchical softmax, streaming corpora larger than memory, resuming.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numba
import numpy as np
from tqdm import tqdm

from tinygrad_lm.vectors.keyed import WordVectors
from tinygrad_lm.vectors.vocab import VectorsError, Vocabulary, split_sentences
from tinygrad_lm.vectors.word2vec_kernels import SEED_LIMIT, train_sentences

WORDS_PER_CALL = 200_000  # words handed to the kernel per call: the progress bar's step


@dataclass
class Word2VecConfig:
    """Word2Vec settings (names as in gensim)."""

    cbow: bool = False
    vector_size: int = 100
    window: int = 5
    negative: int = 5
    sample: float = 1e-3
    min_count: int = 5
    alpha: float = 0.025
    min_alpha: float = 0.0001
    epochs: int = 5
    seed: int = 1
    threads: int = 1

    def check(self) -> None:
        """Raise VectorsError naming the first setting out of range."""
        for name in ("vector_size", "window", "negative", "min_count", "epochs", "threads"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise VectorsError(f"{name} must be an integer >= 1, got {getattr(self, name)!r}")
        if not self.alpha > 0 or not 0 <= self.min_alpha <= self.alpha:
            raise VectorsError(f"need 0 <= min_alpha <= alpha and alpha > 0, got alpha={self.alpha}, "
                               f"min_alpha={self.min_alpha}")
        if not 0 <= self.seed < SEED_LIMIT:
            raise VectorsError(f"seed must be in [0, {SEED_LIMIT}), got {self.seed}")
        if self.sample < 0:
            raise VectorsError(f"sample must be >= 0 (0 turns subsampling off), got {self.sample}")
        if self.threads > numba.config.NUMBA_NUM_THREADS:
            raise VectorsError(f"threads={self.threads} exceeds NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}")


def check_vocabulary(vocab: Vocabulary, n_ids: int, config) -> None:
    """Refuse a corpus too small to train on, in words a user can act on."""
    if n_ids == 0:
        raise VectorsError(f"no word occurs min_count={config.min_count} times or more in the corpus; "
                           "give a larger text or lower min_count")
    if len(vocab) <= max(config.window, getattr(config, "negative", 0)):
        raise VectorsError(f"the vocabulary has only {len(vocab)} words (min_count={config.min_count}), not more than "
                           f"window={config.window}" + (f" and negative={config.negative}" if hasattr(config, "negative")
                                                        else "") + "; give a larger text or lower min_count")


def initial_vectors(vocab_size: int, dim: int, seed: int, half_width: float = 1.0) -> np.ndarray:
    """(V, D) float32 uniform in [-half_width, half_width) / D from the seed.

    half_width 1 is gensim 4.4's ``prep_vectors``, number for number (Word2Vec); 0.5 is the C
    word2vec's and glove.c's start (GloVe)."""
    vectors = np.random.default_rng(seed).random((vocab_size, dim), dtype=np.float32)  # [0, 1)
    vectors *= 2.0 * half_width  # [0, 2 hw)
    vectors -= half_width  # [-hw, hw)
    vectors /= dim
    return vectors


def train_word2vec(tokens: list[str], config: Word2VecConfig | None = None, progress: bool = True) -> WordVectors:
    """Train skip-gram (or CBOW) with negative sampling on ``tokens``; return the input vectors (syn0).

    The vectors' ``info`` holds the settings, the words trained per epoch and the words/s."""
    config = config or Word2VecConfig()
    config.check()
    vocab = Vocabulary.build(tokens, config.min_count)
    ids = vocab.encode(tokens)
    check_vocabulary(vocab, len(ids), config)
    starts = split_sentences(len(ids))
    keep_prob = vocab.keep_probabilities(config.sample)
    noise = vocab.noise_cumulative()
    syn0 = initial_vectors(len(vocab), config.vector_size, config.seed)
    syn1neg = np.zeros_like(syn0)
    per_call = max(1, WORDS_PER_CALL // int(np.diff(starts).max()))
    total = len(ids) * config.epochs
    previous_threads = numba.get_num_threads()
    numba.set_num_threads(config.threads)
    kept = 0
    start_time = time.perf_counter()
    try:
        with tqdm(total=total, disable=not progress, unit="word", unit_scale=True, desc="word2vec") as bar:
            for epoch in range(config.epochs):
                for first in range(0, len(starts) - 1, per_call):
                    chunk = starts[first:first + per_call + 1]
                    done = epoch * len(ids) + int(chunk[0])
                    kept += int(train_sentences(ids, chunk, keep_prob, noise, syn0, syn1neg, config.cbow,
                                                config.window, config.negative, config.alpha, config.min_alpha,
                                                done, total, config.seed, epoch, first))
                    bar.update(int(chunk[-1] - chunk[0]))
    finally:
        numba.set_num_threads(previous_threads)
    seconds = time.perf_counter() - start_time
    info = {"settings": asdict(config), "corpus_words": len(ids), "vocabulary": len(vocab),
            "words_kept_after_subsampling": kept, "seconds": seconds, "words_per_second": total / seconds}
    return WordVectors(vocab.words, syn0, counts=vocab.counts, info=info)
