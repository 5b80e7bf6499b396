"""chrF and chrF++ (Popović 2015, 2017): F-scores over character n-grams, with sacrebleu 2.x's conventions.

BLEU needs a tokeniser and gives nothing for "translations" vs "translation"; chrF compares
character n-grams, so a right stem with a wrong ending still earns partial credit. For each
order n = 1..char_order (6), with whitespace removed from the line first:

    hyp_n   = number of character n-grams of the hypothesis
    ref_n   = number of character n-grams of the reference
    match_n = sum over distinct n-grams g of min(count in hyp, count in ref)

chrF++ (word_order = 2) adds word unigrams and bigrams as two more "orders", words being
whitespace-separated with one ASCII punctuation mark split off the end (or else the start).
The counts are summed over the corpus; then, as sacrebleu by default, precision P_n =
match_n / hyp_n and recall R_n = match_n / ref_n are averaged over the orders where both
hyp_n and ref_n are positive (the "effective order"), and

    chrF = 100 * (1 + beta^2) P R / (beta^2 P + R)      (beta = 2: recall counts twice as much)

With ``eps_smoothing=True`` it is instead the mean over all orders of each order's F-score,
1e-16 standing in for an undefined precision, recall or F (chrF++.py's, Moses' and NLTK's way).
With several references, each segment uses the reference with the best segment-level score
(the first of equals). Unlike sacrebleu, streams of unequal length are refused.

Left out: sacrebleu's signature and bootstrap resampling.
"""

from collections import Counter
from dataclasses import dataclass

from .bleu import check_streams, segment_references

CHAR_ORDER, WORD_ORDER, BETA = 6, 0, 2
_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_EPS = 1e-16


@dataclass
class CHRFScore:
    """One chrF result: score in 0-100 and the settings that produced it."""

    score: float
    char_order: int
    word_order: int
    beta: int

    @property
    def name(self) -> str:
        return "chrF" + "+" * self.word_order

    def __str__(self):
        return f"{self.name}{self.beta} = {self.score:.2f}"


def char_ngrams(line: str, n: int, whitespace: bool = False) -> Counter:
    """Counts of the character n-grams of ``line`` ("ab c", 2 -> {"ab": 1, "bc": 1}: whitespace removed first)."""
    if not whitespace:
        line = "".join(line.split())
    return Counter(line[i:i + n] for i in range(len(line) - n + 1))


def chrf_words(line: str) -> list:
    """chrF++'s words: split on whitespace, one ASCII punctuation mark cut off the end, else off the start.

    "(hi)" -> ["(hi", ")"]: only one mark is cut, as in sacrebleu (its issue #124).
    """
    words = []
    for word in line.split():
        if len(word) > 1 and word[-1] in _ASCII_PUNCTUATION:
            words += [word[:-1], word[-1]]
        elif len(word) > 1 and word[0] in _ASCII_PUNCTUATION:
            words += [word[0], word[1:]]
        else:
            words.append(word)
    return words


def _all_ngrams(line, char_order, word_order, whitespace):
    """One Counter per order: characters 1..char_order, then words 1..word_order (joined by a space)."""
    grams = [char_ngrams(line, n, whitespace) for n in range(1, char_order + 1)]
    if word_order:
        words = chrf_words(line)
        grams += [Counter(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
                  for n in range(1, word_order + 1)]
    return grams


def _match_statistics(hyp_grams, ref_grams) -> list:
    """[hyp_n, ref_n, match_n] for every order, flattened; hyp_n counts 0 where the reference has no n-grams."""
    stats = []
    for hyp, ref in zip(hyp_grams, ref_grams):
        matched = sum(min(count, ref[gram]) for gram, count in hyp.items() if gram in ref)
        stats += [sum(hyp.values()) if ref else 0, sum(ref.values()), matched]
    return stats


def chrf_from_statistics(stats, beta=BETA, eps_smoothing=False) -> float:
    """chrF in 0-100 from [hyp_n, ref_n, match_n] per order (see the module docstring)."""
    factor = beta ** 2
    score, precision_sum, recall_sum, orders = 0.0, 0.0, 0.0, 0
    for i in range(0, len(stats), 3):
        n_hyp, n_ref, n_match = stats[i:i + 3]
        precision = n_match / n_hyp if n_hyp > 0 else _EPS
        recall = n_match / n_ref if n_ref > 0 else _EPS
        denominator = factor * precision + recall
        score += (1 + factor) * precision * recall / denominator if denominator > 0 else _EPS
        if n_hyp > 0 and n_ref > 0:
            precision_sum += precision
            recall_sum += recall
            orders += 1
    if eps_smoothing:
        return 100 * score / (len(stats) // 3)
    if orders:
        precision_sum /= orders
        recall_sum /= orders
    else:
        precision_sum = recall_sum = 0.0
    if not precision_sum + recall_sum:
        return 0.0
    return 100 * ((1 + factor) * precision_sum * recall_sum / (factor * precision_sum + recall_sum))


def corpus_chrf(hypotheses, references, char_order=CHAR_ORDER, word_order=WORD_ORDER, beta=BETA,
                lowercase=False, whitespace=False, eps_smoothing=False) -> CHRFScore:
    """Corpus chrF (word_order=2: chrF++), as sacrebleu's ``CHRF(...).corpus_score``; references as streams."""
    check_streams(hypotheses, references)
    total = [0] * (3 * (char_order + word_order))
    for i, hypothesis in enumerate(hypotheses):
        prepare = str.lower if lowercase else str
        hyp_grams = _all_ngrams(prepare(hypothesis), char_order, word_order, whitespace)
        best, best_f = None, -1.0
        for ref in segment_references(references, i):
            stats = _match_statistics(hyp_grams, _all_ngrams(prepare(ref), char_order, word_order, whitespace))
            f = chrf_from_statistics(stats, beta, eps_smoothing)
            if f > best_f:
                best, best_f = stats, f
        total = [a + b for a, b in zip(total, best)]
    return CHRFScore(chrf_from_statistics(total, beta, eps_smoothing), char_order, word_order, beta)


def sentence_chrf(hypothesis, references, char_order=CHAR_ORDER, word_order=WORD_ORDER, beta=BETA,
                  lowercase=False, whitespace=False, eps_smoothing=False) -> CHRFScore:
    """chrF of one sentence against its references (a list of str)."""
    if not isinstance(hypothesis, str) or isinstance(references, str):
        raise TypeError("sentence_chrf takes one hypothesis string and a list of reference strings")
    return corpus_chrf([hypothesis], [[ref] for ref in references], char_order, word_order, beta, lowercase,
                       whitespace, eps_smoothing)
