"""Reference solutions to chapter 14's exercises (tutorials/exercises/ch14.py states the tasks)."""

import math
from collections import Counter


def _ngrams(words, n):
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def bleu_counts(hypotheses, references, n):
    """Clip each hypothesis n-gram count at its largest count in one reference; sum over segments."""
    matched = total = 0
    for hypothesis, refs in zip(hypotheses, references):
        most = Counter()
        for reference in refs:
            most |= _ngrams(reference, n)  # | keeps the larger count of each n-gram
        grams = _ngrams(hypothesis, n)
        total += sum(grams.values())
        matched += sum(min(count, most[gram]) for gram, count in grams.items())
    return matched, total


def brevity_penalty(hypotheses, references):
    """c and r summed over segments (r: the closest reference length, ties to the shorter), then BP."""
    c = sum(len(hypothesis) for hypothesis in hypotheses)
    r = sum(min((len(ref) for ref in refs), key=lambda length: (abs(len(hypothesis) - length), length))
            for hypothesis, refs in zip(hypotheses, references))
    if c == 0:
        return 0.0, c, r
    return (1.0 if c >= r else math.exp(1 - r / c)), c, r


def rouge_l(target_tokens, prediction_tokens):
    """The LCS by a table kept two rows at a time, then precision, recall and their harmonic mean."""
    if not target_tokens or not prediction_tokens:
        return 0.0, 0.0, 0.0
    previous = [0] * (len(prediction_tokens) + 1)  # row i - 1 of L
    for word in target_tokens:
        current = [0]
        for j, other in enumerate(prediction_tokens, 1):
            current.append(previous[j - 1] + 1 if word == other else max(previous[j], current[j - 1]))
        previous = current
    lcs = previous[-1]
    precision, recall = lcs / len(prediction_tokens), lcs / len(target_tokens)
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f


def porter_measure(word):
    """Mark each letter c or v (y: a vowel after a consonant), then count the v-to-c changes."""
    pattern = ""
    for i, letter in enumerate(word):
        if letter in "aeiou":
            pattern += "v"
        elif letter == "y":
            pattern += "v" if i > 0 and pattern[-1] == "c" else "c"
        else:
            pattern += "c"
    return pattern.count("vc")
