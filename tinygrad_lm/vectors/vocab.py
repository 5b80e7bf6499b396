"""Words for word vectors: the tokenisation rule, the vocabulary, subsampling and the noise table.

The tokenisation rule (`tokenize`, the one place it lives):

1. NFKC-normalise the text and lowercase it (the Google analogy set and WS-353 / SimLex-999 are
   compared case-insensitively anyway, so case variants would only split a word's counts);
2. turn the typographic apostrophe (U+2019) into ``'``;
3. a token is a run of letters or digits, optionally joined by single inner apostrophes:
   ``don't``, ``o'er`` and ``king's`` stay one token; a leading or trailing apostrophe is
   dropped (``'tis`` -> ``tis``); every other character (punctuation, hyphens, underscores)
   separates tokens. Regular expression: ``[^\\W_]+(?:'[^\\W_]+)*``.

`Vocabulary.build` counts tokens, keeps words seen at least ``min_count`` times and sorts them
by falling count, words of equal count in reverse order of first appearance: gensim 4.4's order
(``sort_by_descending_frequency``: ``np.lexsort((-first_seen_index, -count))``), so a model
trained on the same text starts from the same rows and "the most frequent 300,000" in the
evaluation is a prefix of the file, as in gensim (the C word2vec's qsort leaves ties unordered). Then, for Word2Vec:

* `keep_probabilities`: Mikolov's subsampling of frequent words in the form the C code and
  gensim use: with t = sample * (total count), keep a word of count c with probability
  min(1, (sqrt(c / t) + 1) * t / c).
* `noise_cumulative`: the negative-sampling distribution P(w) ~ count(w)^0.75 as a cumulative
  table of integers summing to 2^31; a kernel draws r uniform in [0, table[-1]) and takes the
  first index whose entry exceeds r. (gensim's ``cum_table`` ends at 2^31 - 1 and its draw takes
  the first entry >= r: each word's share differs by at most one in 2^31.)

`split_sentences` cuts the id stream into pieces of at most 10,000 tokens (gensim's limit per
sentence); windows never cross a piece boundary, and the same pieces are fed to gensim in the
benchmark. Left out: phrases ("new_york"), sub-word units (fastText), stop-word lists.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np

TOKEN_PATTERN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
MAX_SENTENCE_TOKENS = 10_000
NOISE_POWER = 0.75
NOISE_DOMAIN = 2**31


class VectorsError(ValueError):
    """Word-vector input that cannot be used (a tiny corpus, a bad setting, an unknown word)."""


def tokenize(text: str) -> list[str]:
    """The tokens of ``text`` under the module's documented rule (NFKC, lowercase, words with inner apostrophes)."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    return TOKEN_PATTERN.findall(text)


@dataclass
class Vocabulary:
    """Words sorted by falling count, their counts, and the word -> index map."""

    words: list[str]
    counts: np.ndarray  # (V,) int64, non-increasing

    def __post_init__(self):
        self.index = {word: i for i, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(cls, tokens: list[str], min_count: int = 5) -> Vocabulary:
        """Count ``tokens``; keep words with count >= ``min_count``, most frequent first (ties: last seen first)."""
        if min_count < 1:
            raise VectorsError(f"min_count must be >= 1, got {min_count}")
        kept = [(word, count) for word, count in Counter(tokens).items() if count >= min_count]  # first-seen order
        counts = np.array([count for _, count in kept], dtype=np.int64)
        order = np.lexsort((-np.arange(len(kept)), -counts))  # falling count, then falling first-seen index
        return cls([kept[i][0] for i in order], counts[order])

    def encode(self, tokens: list[str]) -> np.ndarray:
        """int32 ids of the tokens that are in the vocabulary (the others are dropped, as in word2vec)."""
        index = self.index
        return np.fromiter((index[t] for t in tokens if t in index), dtype=np.int32)

    def keep_probabilities(self, sample: float) -> np.ndarray:
        """(V,) float64 probability of keeping each word under subsampling with threshold ``sample`` (0: keep all)."""
        if sample < 0:
            raise VectorsError(f"sample must be >= 0 (0 turns subsampling off), got {sample}")
        if sample == 0:
            return np.ones(len(self), dtype=np.float64)
        threshold = sample * float(self.counts.sum())
        counts = self.counts.astype(np.float64)
        return np.minimum(1.0, (np.sqrt(counts / threshold) + 1.0) * threshold / counts)

    def noise_cumulative(self) -> np.ndarray:
        """(V,) uint64 cumulative table of count^0.75, scaled so that the last entry is 2^31."""
        weights = self.counts.astype(np.float64) ** NOISE_POWER
        table = np.round(np.cumsum(weights) / weights.sum() * NOISE_DOMAIN).astype(np.uint64)
        table[-1] = NOISE_DOMAIN
        return table


def split_sentences(n_tokens: int, max_tokens: int = MAX_SENTENCE_TOKENS) -> np.ndarray:
    """(S+1,) int64 start offsets of consecutive pieces of at most ``max_tokens`` tokens, ending at n_tokens."""
    starts = np.arange(0, n_tokens, max_tokens, dtype=np.int64)
    return np.append(starts, np.int64(n_tokens))
