"""How word vectors are scored: analogies (3CosAdd, 3CosMul) and word-similarity correlation.

Both follow gensim 4.4's ``KeyedVectors.evaluate_word_analogies`` / ``evaluate_word_pairs`` so
numbers compare with everyone who used it:

* only the first ``restrict`` = 300,000 rows count (the most frequent words);
* case-insensitive: every word is upper-cased; where a file holds several case variants of a
  word, the first (most frequent) row stands for all of them;
* a question or pair with a word outside that set is skipped, and counted: ``coverage`` is the
  fraction of well-formed questions (pairs) that were scored;
* analogies ``a : b :: c : ?`` (file lines ``a b c expected`` under ``: section`` headers):
  3CosAdd ranks rows by cos(x, unit(b^ - a^ + c^)) (x^ = unit vector), the rows of a, b, c left
  out; 3CosMul (Levy and Goldberg 2014) by s(x, b) s(x, c) / (s(x, a) + 1e-6) with
  s = (1 + cos) / 2. Among the 5 best, the first whose upper-cased word is not a, b or c is the
  answer (gensim's rule; if all 5 are, the fifth stands and counts as wrong);
* similarity files (``word1<TAB>word2<TAB>score``, ``#`` comments): Spearman's rho between the
  human scores and the cosines, ties given their average rank (as scipy's ``spearmanr``).

Scores are float32 dot products, as gensim computes them, so near-ties break the same way.
Left out: the 3CosAdd variant that does not exclude the question words, per-section reports
beyond the counts, and Pearson's r.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygrad_lm.vectors.keyed import WordVectors
from tinygrad_lm.vectors.vocab import VectorsError

RESTRICT = 300_000
TOP_N = 5
METHODS = ("3cosadd", "3cosmul")
BATCH = 256


def _upper_index(vectors: WordVectors, restrict: int) -> dict[str, int]:
    """UPPER-cased word -> row over the first ``restrict`` rows, the first (most frequent) variant winning."""
    index = {}
    for i, word in enumerate(vectors.words[:restrict]):
        index.setdefault(word.upper(), i)
    return index


def read_analogies(path) -> list[tuple[str, tuple[str, str, str, str]]]:
    """(section, (a, b, c, expected)) per well-formed question line; a line without 4 words is skipped."""
    questions, section = [], None
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(": "):
            section = line[2:].strip()
        elif line.strip():
            if section is None:
                raise VectorsError(f"{path}: line {number} comes before any ': section' header; is it an analogy file?")
            words = line.split()
            if len(words) == 4:
                questions.append((section, tuple(words)))
    return questions


def _scores(unit: np.ndarray, a, b, c, method: str) -> np.ndarray:
    """(B, V) float32 scores of every row for questions with rows a, b, c (each (B,))."""
    if method == "3cosadd":
        query = unit[b] - unit[a] + unit[c]  # (B, D)
        query /= np.linalg.norm(query, axis=1, keepdims=True)
        return query @ unit.T
    cos = [(1 + unit[rows] @ unit.T) / 2 for rows in (a, b, c)]  # three (B, V)
    return cos[1] * cos[2] / (cos[0] + np.float32(1e-6))


def evaluate_analogies(vectors: WordVectors, path, method: str = "3cosadd", restrict: int = RESTRICT) -> dict:
    """{accuracy, correct, total, coverage, questions, sections: {name: [correct, total]}}.

    ``total`` counts the questions answered (all four words known); ``questions`` all well-formed
    ones; accuracy = correct / total (0.0 when nothing could be answered)."""
    if method not in METHODS:
        raise VectorsError(f"unknown analogy method {method!r}; use one of {', '.join(METHODS)}")
    questions = read_analogies(path)
    if not questions:
        raise VectorsError(f"{path}: no analogy questions (lines 'a b c d' under ': section' headers)")
    index = _upper_index(vectors, restrict)
    known = [(s, tuple(w.upper() for w in q)) for s, q in questions if all(w.upper() in index for w in q)]
    unit = vectors.unit[:restrict]
    sections: dict[str, list[int]] = {}
    for section, _ in known:
        sections.setdefault(section, [0, 0])
    correct = 0
    for start in range(0, len(known), BATCH):
        batch = known[start:start + BATCH]
        rows = np.array([[index[w] for w in q] for _, q in batch])  # (B, 4)
        scores = _scores(unit, rows[:, 0], rows[:, 1], rows[:, 2], method)
        scores[np.arange(len(batch))[:, None], rows[:, :3]] = -np.inf  # the question's own rows
        top = min(TOP_N, scores.shape[1])  # a table of fewer than 5 words offers fewer candidates
        best = np.argpartition(-scores, top - 1, axis=1)[:, :top]  # (B, top), unordered
        best = np.take_along_axis(best, np.argsort(-np.take_along_axis(scores, best, 1), axis=1), 1)  # best first
        for (section, question), candidates in zip(batch, best):
            predicted = None
            for row in candidates:
                predicted = vectors.words[row].upper()
                if predicted not in question[:3]:
                    break
            hit = predicted == question[3]
            correct += hit
            sections[section][0] += hit
            sections[section][1] += 1
    total = len(known)
    return {"method": method, "accuracy": correct / total if total else 0.0, "correct": correct, "total": total,
            "coverage": total / len(questions), "questions": len(questions), "sections": sections}


def read_pairs(path) -> list[tuple[str, str, float]]:
    """(word1, word2, score) per tab-separated line; '#' comments and malformed lines are skipped."""
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        try:
            pairs.append((parts[0], parts[1], float(parts[2])))
        except ValueError:
            continue
    return pairs


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    first = np.r_[True, sorted_values[1:] != sorted_values[:-1]]  # (N,) a new value starts here
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values))
    ranks[order] = ((starts + ends + 1) / 2)[group]  # mean of ranks start+1 .. end
    return ranks


def spearman(x, y) -> float:
    """Spearman's rho: Pearson's correlation of the average ranks (nan when either side is constant)."""
    rx, ry = average_ranks(np.asarray(x, dtype=np.float64)), average_ranks(np.asarray(y, dtype=np.float64))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = np.sqrt((rx @ rx) * (ry @ ry))
    return float(rx @ ry / denominator) if denominator > 0 else float("nan")


def evaluate_similarity(vectors: WordVectors, path, restrict: int = RESTRICT) -> dict:
    """{spearman, pairs (scored), total (well-formed), coverage} for one word-similarity file."""
    pairs = read_pairs(path)
    if not pairs:
        raise VectorsError(f"{path}: no word pairs (lines 'word1<TAB>word2<TAB>score')")
    index = _upper_index(vectors, restrict)
    known = [(index[a.upper()], index[b.upper()], s) for a, b, s in pairs if a.upper() in index and b.upper() in index]
    unit = vectors.unit
    cosines = [float(unit[i] @ unit[j]) for i, j, _ in known]
    rho = spearman([s for _, _, s in known], cosines) if len(known) >= 2 else float("nan")
    return {"spearman": rho, "pairs": len(known), "total": len(pairs), "coverage": len(known) / len(pairs)}
