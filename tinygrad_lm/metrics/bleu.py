"""BLEU (Papineni et al., 2002), corpus and sentence level, with sacrebleu 2.x's conventions.

BLEU compares a system's output (the hypothesis) with one or more human translations (the
references) by counting shared word n-grams, n = 1..4. For each segment i and order n:

    total_n   += number of n-grams in hypothesis i
    correct_n += sum over distinct n-grams g of min(count of g in hyp i, max over refs of count of g)

The min is "clipping": saying "the the the the" cannot earn more credit for "the" than the
reference that uses it most. The sums run over the whole corpus before any division, so
corpus BLEU is NOT the mean of sentence BLEUs. With p_n = correct_n / total_n:

    BLEU = BP * exp( (1/N) sum_n log p_n ),    BP = 1 if c >= r else exp(1 - r/c)

c is the total hypothesis length in words and r the total reference length, taking for each
segment the reference length closest to the hypothesis length (a tie goes to the shorter
reference). BP, the brevity penalty, stops a system from scoring high precision by saying
little. Scores are reported as sacrebleu does, 0-100 (precisions too).

Conventions copied from sacrebleu (``tests/metrics`` checks equality within 1e-6):
- each line is lowercased (optionally), stripped of trailing whitespace, then tokenised
  (``mt_tokenizers``: 13a by default, intl, none) and split on whitespace;
- references come as streams: ``references[k][i]`` is reference k of segment i, so several
  references are several lists as long as the hypotheses; ``None`` marks a missing reference
  (a segment may have fewer), while "" is a real, empty reference of length 0;
- no matched n-gram at all gives score 0 and precisions all 0;
- log 0 is taken as -9999999999 (so a zero precision gives a score of 0 without an error);
- smoothing of orders with no match (Chen & Cherry 2014): ``exp`` (default) gives the k-th
  such order precision 1 / (2^k total_n); ``floor`` gives it smooth_value / total_n (0.1);
  ``add-k`` adds smooth_value (1) to correct_n and total_n for n >= 2 (and, as sacrebleu, the
  result's counts and totals are the smoothed ones); ``none`` leaves it 0;
- effective order (default for sentence BLEU, off for corpus BLEU) averages only over the
  orders n for which the hypothesis has n-grams at all, so a 3-word sentence is not zero
  for lacking 4-grams. Without it, an order with no n-grams gives a score of 0.

Unlike sacrebleu, which silently truncates to the shortest stream, streams of unequal length
are refused. Left out: TER, bootstrap resampling, signatures, tokenisers other than three.
"""

import math
from collections import Counter
from dataclasses import dataclass, field

from .mt_tokenizers import get_tokenizer

MAX_NGRAM_ORDER = 4
SMOOTH_DEFAULTS = {"none": None, "floor": 0.1, "add-k": 1, "exp": None}
LOG_ZERO = -9999999999  # sacrebleu's stand-in for log(0)


@dataclass
class BLEUScore:
    """One BLEU result: score and precisions in 0-100, counts/totals per order 1..4, lengths in words."""

    score: float
    counts: list = field(repr=False)
    totals: list = field(repr=False)
    precisions: list
    bp: float
    sys_len: int
    ref_len: int

    def __str__(self):
        ratio = self.sys_len / self.ref_len if self.ref_len else 0
        precisions = "/".join(f"{p:.1f}" for p in self.precisions)
        return (f"BLEU = {self.score:.2f} {precisions} (BP = {self.bp:.3f} ratio = {ratio:.3f} "
                f"hyp_len = {self.sys_len} ref_len = {self.ref_len})")

    def to_dict(self) -> dict:
        """The fields as plain JSON-ready values."""
        return {"score": self.score, "counts": list(self.counts), "totals": list(self.totals),
                "precisions": list(self.precisions), "bp": self.bp, "sys_len": self.sys_len,
                "ref_len": self.ref_len}


def word_ngrams(words: list, max_order: int = MAX_NGRAM_ORDER) -> Counter:
    """Counts of every n-gram (a tuple of words), n = 1..max_order: ["a", "b"] -> {(a,): 1, (b,): 1, (a, b): 1}."""
    return Counter(tuple(words[i:i + n]) for n in range(1, max_order + 1) for i in range(len(words) - n + 1))


def closest_ref_len(hyp_len: int, ref_lens: list) -> int:
    """The reference length nearest ``hyp_len``; of two equally near, the shorter (sacrebleu's tie rule)."""
    return min(ref_lens, key=lambda ref_len: (abs(hyp_len - ref_len), ref_len))


def _log(x: float) -> float:
    return math.log(x) if x != 0.0 else LOG_ZERO


def compute_bleu(correct, total, sys_len, ref_len, smooth_method="none", smooth_value=None,
                 effective_order=False, max_order=MAX_NGRAM_ORDER) -> BLEUScore:
    """BLEU from its sufficient statistics (summed over segments): see the module docstring.

    correct, total: lists of max_order counts (matched / all hypothesis n-grams of order 1..N);
    sys_len, ref_len: c and r of the brevity penalty.
    """
    if smooth_method not in SMOOTH_DEFAULTS:
        raise ValueError(f"unknown BLEU smoothing {smooth_method!r}; choose one of {', '.join(SMOOTH_DEFAULTS)}")
    if smooth_value is None:
        smooth_value = SMOOTH_DEFAULTS[smooth_method]
    correct, total = list(correct), list(total)
    bp = 1.0 if sys_len >= ref_len else (math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0)
    precisions = [0.0] * max_order
    if not any(correct):
        return BLEUScore(0.0, correct, total, precisions, bp, sys_len, ref_len)
    halvings, used_orders = 1.0, max_order  # exp smoothing's 2^k; how many orders the mean covers
    for n in range(1, max_order + 1):
        if smooth_method == "add-k" and n > 1:
            correct[n - 1] += smooth_value
            total[n - 1] += smooth_value
        if total[n - 1] == 0:
            break  # no n-grams of this order (nor higher): effective order stops below it
        if effective_order:
            used_orders = n
        if correct[n - 1] != 0:
            precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
        elif smooth_method == "exp":
            halvings *= 2
            precisions[n - 1] = 100.0 / (halvings * total[n - 1])
        elif smooth_method == "floor":
            precisions[n - 1] = 100.0 * smooth_value / total[n - 1]
    score = bp * math.exp(sum([_log(p) for p in precisions[:used_orders]]) / used_orders)
    return BLEUScore(score, correct, total, precisions, bp, sys_len, ref_len)


def check_streams(hypotheses, references):
    """One-line errors for inputs sacrebleu would mis-score or crash on (shared with chrF)."""
    if isinstance(hypotheses, str) or not all(isinstance(h, str) for h in hypotheses):
        raise TypeError("hypotheses must be a list of strings (one per segment)")
    if not hypotheses:
        raise ValueError("no hypotheses: give at least one segment")
    if isinstance(references, str) or not references or isinstance(references[0], str):
        raise TypeError("references must be a list of reference streams, references[k][i] = reference k of "
                        "segment i; for one reference per segment pass [refs]")
    for k, stream in enumerate(references):
        if len(stream) != len(hypotheses):
            raise ValueError(f"reference stream {k} has {len(stream)} segments but there are {len(hypotheses)} "
                             "hypotheses; every stream needs one line (or None) per hypothesis")


def segment_references(references, i):
    """The references of segment i: streams' entries that are not None, or an error if there is none."""
    refs = [stream[i] for stream in references if stream[i] is not None]
    if not refs:
        raise ValueError(f"segment {i} has no reference (every stream holds None there)")
    return refs


def bleu_statistics(hypotheses, references, tokenize="13a", lowercase=False, max_order=MAX_NGRAM_ORDER) -> list:
    """[sys_len, ref_len, correct_1..N, total_1..N] summed over the corpus (lengths in words)."""
    check_streams(hypotheses, references)
    tokenizer = get_tokenizer(tokenize)

    def words(line):
        return tokenizer((line.lower() if lowercase else line).rstrip()).split()

    stats = [0] * (2 + 2 * max_order)
    for i, hypothesis in enumerate(hypotheses):
        ref_ngrams, ref_lens = Counter(), []
        for ref in segment_references(references, i):
            ref_words = words(ref)
            ref_lens.append(len(ref_words))
            ref_ngrams |= word_ngrams(ref_words, max_order)  # | keeps the max count over references
        hyp_words = words(hypothesis)
        stats[0] += len(hyp_words)
        stats[1] += closest_ref_len(len(hyp_words), ref_lens)
        for gram, count in word_ngrams(hyp_words, max_order).items():
            n = len(gram)
            stats[1 + max_order + n] += count
            stats[1 + n] += min(count, ref_ngrams[gram])
    return stats


def corpus_bleu(hypotheses, references, smooth_method="exp", smooth_value=None, lowercase=False,
                tokenize="13a", use_effective_order=False, max_order=MAX_NGRAM_ORDER) -> BLEUScore:
    """Corpus BLEU, as ``sacrebleu.corpus_bleu``: hypotheses (list of str), references (list of streams).

    >>> round(corpus_bleu(["the cat sat on the mat"], [["the cat sat on the mat"]]).score, 6)
    100.0
    """
    stats = bleu_statistics(hypotheses, references, tokenize, lowercase, max_order)
    return compute_bleu(stats[2:2 + max_order], stats[2 + max_order:], stats[0], stats[1], smooth_method,
                        smooth_value, use_effective_order, max_order)


def sentence_bleu(hypothesis, references, smooth_method="exp", smooth_value=None, lowercase=False,
                  tokenize="13a", use_effective_order=True, max_order=MAX_NGRAM_ORDER) -> BLEUScore:
    """BLEU of one sentence against its references (a list of str), as ``sacrebleu.sentence_bleu``.

    Effective order is on by default here (sacrebleu's default for sentences).
    """
    if not isinstance(hypothesis, str):
        raise TypeError("hypothesis must be one string; for a corpus use corpus_bleu")
    if isinstance(references, str):
        raise TypeError("references must be a list of strings, e.g. [reference]")
    return corpus_bleu([hypothesis], [[ref] for ref in references], smooth_method, smooth_value, lowercase,
                       tokenize, use_effective_order, max_order)
