"""Exercises for chapter 14 (measuring generated text). Edit this file; check it with

    pytest tutorials/exercises -k ch14

Reference solutions: tutorials/solutions/ch14.py (look after you have tried).
Add the imports your answers need at the top; the solutions use

    import math
    from collections import Counter

1. `bleu_counts`: corpus BLEU's clipped n-gram matches and totals for one order n.
2. `brevity_penalty`: corpus BLEU's brevity penalty, the closest reference length per segment.
3. `rouge_l`: ROUGE-L's precision, recall and F from the longest common subsequence, by
   dynamic programming.
4. `porter_measure`: the measure m of a stem, which decides when the Porter stemmer's rules fire.
"""


def bleu_counts(hypotheses, references, n):
    """(matched, total) of order ``n`` over a corpus, both ints, summed over the segments.

    ``hypotheses``: a list of segments, each a list of words. ``references``: one list per
    segment of its references, each a list of words (a segment may have several). For each
    segment: total += the number of n-grams of the hypothesis; matched += for each distinct
    n-gram g of the hypothesis, min(count of g in the hypothesis, the largest count of g in any
    ONE of that segment's references) (clipping). The sums run over the whole corpus before any
    division. Must equal `corpus_bleu(..., tokenize="none")`'s counts[n-1] and totals[n-1].
    """
    raise NotImplementedError("exercise ch14.bleu_counts")


def brevity_penalty(hypotheses, references):
    """Corpus BLEU's (bp, c, r): the penalty and the two lengths it compares.

    Same arguments as `bleu_counts`. c = the total number of hypothesis words; r = the sum over
    segments of the reference length closest to that segment's hypothesis length (of two
    equally close, the shorter). bp = 1 if c >= r, else exp(1 - r / c), and 0.0 when c = 0.
    Must equal `corpus_bleu(..., tokenize="none")`'s bp, sys_len and ref_len.
    """
    raise NotImplementedError("exercise ch14.brevity_penalty")


def rouge_l(target_tokens, prediction_tokens):
    """ROUGE-L (precision, recall, fmeasure) of two token lists, three floats in [0, 1].

    With LCS the length of the longest common subsequence (tokens in the same order, gaps
    allowed), computed by dynamic programming over the table L[i][j] = LCS of the first i target
    and the first j prediction tokens:

        precision = LCS / len(prediction),  recall = LCS / len(target),
        fmeasure = 2 precision recall / (precision + recall), 0 when both are 0.

    An empty target or prediction scores (0.0, 0.0, 0.0). Must equal
    `tinygrad_lm.metrics.rouge_scores(...)["rougeL"]` on the tokens `rouge_tokenize` gives.
    """
    raise NotImplementedError("exercise ch14.rouge_l")


def porter_measure(word):
    """Porter's m of a lowercase word (or stem): write it as [C](VC)^m[V], return m (an int).

    C is a run of one or more consonants, V of one or more vowels. The vowels are a, e, i, o, u,
    and a "y" that follows a consonant; any other letter is a consonant, "y" included when it
    starts the word or follows a vowel. So m("tr") = m("tree") = m("by") = 0, m("trouble") =
    m("toy") = 1, m("troubles") = m("syzygy") = 2. Must equal the library's
    `tinygrad_lm.metrics.porter_stemmer.measure`.
    """
    raise NotImplementedError("exercise ch14.porter_measure")
