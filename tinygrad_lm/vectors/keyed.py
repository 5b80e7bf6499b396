"""`WordVectors`: words in a fixed order, one float32 vector each, and cosine look-ups over them.

    wv = WordVectors(words, vectors)     # vectors (V, D); row i belongs to words[i]
    wv["king"]                           # (D,) float32
    wv.similarity("king", "queen")       # cosine in [-1, 1]
    wv.nearest("king", k=10)             # [(word, cosine), ...] best first, the word itself left out

Rows are expected most frequent first (every trainer here and the word2vec file format keep that
order), so "the first N words" means the N most frequent. A query with a word the table does not
hold raises `UnknownWordError` naming it (and, when one exists, the case variant that is there).
Left out: approximate nearest-neighbour indexes; the analogy and similarity benchmarks live in
evaluate.py.
"""

from __future__ import annotations

import numpy as np

from tinygrad_lm.vectors.vocab import VectorsError


class UnknownWordError(VectorsError, KeyError):
    """A query word that is not in the vectors' vocabulary."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


class WordVectors:
    """A table of word vectors: ``words`` (V,) and ``vectors`` (V, D) float32, plus optional counts and info."""

    def __init__(self, words, vectors, counts=None, info=None):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise VectorsError(f"WordVectors: need a (V, D) array for {len(words)} words, got shape {vectors.shape}")
        self.words = list(words)
        self.vectors = vectors
        self.counts = counts
        self.info = info or {}
        self.index = {}
        for i, word in enumerate(self.words):
            self.index.setdefault(word, i)  # a repeated word: the first (most frequent) row wins
        self._unit = None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self.index

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def row(self, word: str) -> int:
        """The row of ``word``; UnknownWordError if absent."""
        try:
            return self.index[word]
        except KeyError:
            hint = next((w for w in (word.lower(), word.upper(), word.title()) if w in self.index), None)
            raise UnknownWordError(f"word {word!r} is not in the vectors' vocabulary of {len(self)} words"
                                   + (f" (did you mean {hint!r}?)" if hint else "")) from None

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.row(word)]

    @property
    def unit(self) -> np.ndarray:
        """(V, D) float32 rows scaled to length 1 (a zero row stays zero)."""
        if self._unit is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)  # (V, 1)
            self._unit = self.vectors / np.where(norms == 0, 1, norms)
        return self._unit

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        return float(self.unit[self.row(a)] @ self.unit[self.row(b)])

    def nearest(self, word_or_vector, k: int = 10, restrict: int | None = None) -> list[tuple[str, float]]:
        """The ``k`` words most cosine-similar to a word (itself left out) or to a (D,) vector."""
        if isinstance(word_or_vector, str):
            query, skip = self.unit[self.row(word_or_vector)], {self.row(word_or_vector)}
        else:
            query = np.asarray(word_or_vector, dtype=np.float32)
            if query.shape != (self.dim,):
                raise VectorsError(f"nearest: the query vector has shape {query.shape}, the vectors have ({self.dim},)")
            query, skip = query / max(float(np.linalg.norm(query)), 1e-30), set()
        scores = self.unit[:restrict] @ query  # (V,)
        order = np.argsort(-scores, kind="stable")[: k + len(skip)]
        return [(self.words[i], float(scores[i])) for i in order if i not in skip][:k]
