"""ROUGE-N, ROUGE-L and ROUGE-Lsum (Lin, 2004) with rouge-score 0.1.2's conventions.

BLEU asks how much of the output is in the reference (precision); ROUGE, made for summaries,
asks just as much how much of the reference the output recovered (recall). Both texts become
tokens the same way: lowercase, every run of characters other than a-z and 0-9 becomes a space
(so "U.S." -> "u", "s" and "café" -> "caf"), split; with ``use_stemmer`` every token longer
than 3 characters is replaced by its Porter stem (``porter_stemmer.stem``). Then, with target
(reference) tokens T and prediction tokens P:

    ROUGE-N   overlap = sum over n-grams g of min(count in T, count in P)
              precision = overlap / #n-grams of P,  recall = overlap / #n-grams of T
              (a text too short for any n-gram counts as having 1, so 0/1 = 0)
    ROUGE-L   LCS = length of the longest common subsequence of T and P (words in order,
              gaps allowed); precision = LCS / |P|, recall = LCS / |T|
    ROUGE-Lsum  the texts split into sentences at "\\n" (empty ones dropped). For each target
              sentence r, the union over prediction sentences c of the positions of r that
              one LCS(r, c) uses; each word of the union is a hit while its count in the
              whole target and the whole prediction is not used up. precision = hits / |P|,
              recall = hits / |T|.

    F = 2 P R / (P + R), 0 when P + R = 0.   Empty target or prediction: P = R = F = 0.

Which LCS ROUGE-Lsum takes matters when there are several; this is rouge-score's: read back
from the table's end, take a match when the words are equal, else step back in the prediction
if that keeps a longer LCS, else in the target. With several references, each ROUGE type takes
the reference with the highest F (the first of equals), as rouge-score's ``score_multi``.

Left out: splitting sentences with NLTK's punkt (rouge-score's ``split_summaries``), custom
tokenisers, ROUGE-S/W, the bootstrap aggregator.
"""

import re
from collections import Counter
from typing import NamedTuple

from .bleu import check_streams, segment_references
from .porter_stemmer import stem

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
_NON_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


class RougeScore(NamedTuple):
    """Precision, recall and F-measure of one ROUGE type, each in [0, 1]."""

    precision: float
    recall: float
    fmeasure: float


_ZERO = RougeScore(0.0, 0.0, 0.0)


def rouge_tokenize(text: str, use_stemmer: bool = False) -> list:
    """rouge-score's tokens: "The cats' toys, 2x!" -> ["the", "cats", "toys", "2x"] (stemmed: "cat", "toy")."""
    tokens = _NON_ALPHANUMERIC.sub(" ", text.lower()).split()
    return [stem(token) if use_stemmer and len(token) > 3 else token for token in tokens]


def fmeasure(precision: float, recall: float) -> float:
    """The harmonic mean 2 P R / (P + R), or 0 when both are 0."""
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def rouge_n(target_tokens: list, prediction_tokens: list, n: int) -> RougeScore:
    """ROUGE-N from clipped n-gram overlap (see the module docstring)."""
    target = Counter(tuple(target_tokens[i:i + n]) for i in range(len(target_tokens) - n + 1))
    prediction = Counter(tuple(prediction_tokens[i:i + n]) for i in range(len(prediction_tokens) - n + 1))
    overlap = sum(min(count, prediction[gram]) for gram, count in target.items())
    precision = overlap / max(sum(prediction.values()), 1)
    recall = overlap / max(sum(target.values()), 1)
    return RougeScore(precision, recall, fmeasure(precision, recall))


def lcs_table(a: list, b: list) -> list:
    """table[i][j] = length of the LCS of a[:i] and b[:j]; (len(a)+1) x (len(b)+1), by dynamic programming."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = table[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(table[i - 1][j], table[i][j - 1])
    return table


def lcs_positions(target: list, prediction: list) -> list:
    """The positions in ``target`` of one LCS with ``prediction``, ascending, read back as rouge-score does."""
    table = lcs_table(target, prediction)
    i, j, positions = len(target), len(prediction), []
    while i > 0 and j > 0:
        if target[i - 1] == prediction[j - 1]:
            positions.append(i - 1)
            i, j = i - 1, j - 1
        elif table[i][j - 1] > table[i - 1][j]:
            j -= 1
        else:
            i -= 1
    return positions[::-1]


def rouge_l(target_tokens: list, prediction_tokens: list) -> RougeScore:
    """ROUGE-L: the LCS length over the prediction's (precision) and the target's (recall) length."""
    if not target_tokens or not prediction_tokens:
        return _ZERO
    lcs = lcs_table(target_tokens, prediction_tokens)[-1][-1]
    precision, recall = lcs / len(prediction_tokens), lcs / len(target_tokens)
    return RougeScore(precision, recall, fmeasure(precision, recall))


def rouge_lsum(target_sentences: list, prediction_sentences: list) -> RougeScore:
    """Summary-level ROUGE-L over token lists of sentences, with union LCS (see the module docstring)."""
    target_len = sum(map(len, target_sentences))
    prediction_len = sum(map(len, prediction_sentences))
    if not target_len or not prediction_len:
        return _ZERO
    target_left = Counter(token for sentence in target_sentences for token in sentence)
    prediction_left = Counter(token for sentence in prediction_sentences for token in sentence)
    hits = 0
    for reference in target_sentences:
        union = sorted(set().union(*(lcs_positions(reference, candidate) for candidate in prediction_sentences)))
        for token in (reference[i] for i in union):
            if target_left[token] > 0 and prediction_left[token] > 0:
                hits += 1
                target_left[token] -= 1
                prediction_left[token] -= 1
    precision, recall = hits / prediction_len, hits / target_len
    return RougeScore(precision, recall, fmeasure(precision, recall))


def _check_types(rouge_types):
    for name in rouge_types:
        if name not in ("rougeL", "rougeLsum") and not re.fullmatch(r"rouge[1-9]", name):
            raise ValueError(f"unknown ROUGE type {name!r}; use rouge1..rouge9, rougeL or rougeLsum")


def rouge_scores(target: str, prediction: str, rouge_types=ROUGE_TYPES, use_stemmer=False) -> dict:
    """{type: RougeScore} of one prediction against one target, as rouge-score's ``RougeScorer.score``.

    The argument order is rouge-score's: the reference (target) first.
    """
    _check_types(rouge_types)
    target_tokens, prediction_tokens = rouge_tokenize(target, use_stemmer), rouge_tokenize(prediction, use_stemmer)
    result = {}
    for name in rouge_types:
        if name == "rougeL":
            result[name] = rouge_l(target_tokens, prediction_tokens)
        elif name == "rougeLsum":
            result[name] = rouge_lsum(*([rouge_tokenize(line, use_stemmer) for line in text.split("\n") if line]
                                        for text in (target, prediction)))
        else:
            result[name] = rouge_n(target_tokens, prediction_tokens, int(name[5:]))
    return result


def rouge_scores_multi(targets: list, prediction: str, rouge_types=ROUGE_TYPES, use_stemmer=False) -> dict:
    """Against several targets: per type the score of the target with the highest F (the first of equals)."""
    if isinstance(targets, str) or not targets:
        raise ValueError("targets must be a non-empty list of reference strings")
    each = [rouge_scores(target, prediction, rouge_types, use_stemmer) for target in targets]
    return {name: max((scores[name] for scores in each), key=lambda score: score.fmeasure) for name in rouge_types}


def corpus_rouge(predictions: list, references: list, rouge_types=ROUGE_TYPES, use_stemmer=False) -> dict:
    """{type: RougeScore} of the means over segments; references as streams, ``references[k][i]``, like BLEU's.

    Segment i is scored against its references (the streams' non-None entries) with
    ``rouge_scores_multi``; precision, recall and F are then each averaged over the segments.
    """
    check_streams(predictions, references)
    totals = {name: [0.0, 0.0, 0.0] for name in rouge_types}
    for i, prediction in enumerate(predictions):
        for name, score in rouge_scores_multi(segment_references(references, i), prediction, rouge_types,
                                              use_stemmer).items():
            totals[name] = [a + b for a, b in zip(totals[name], score)]
    return {name: RougeScore(*(value / len(predictions) for value in total)) for name, total in totals.items()}
