"""A transfer set for distillation: extra unlabelled in-domain text that only the teacher can label.

A distilled student learns from the teacher's soft labels, and those exist for ANY text, not
only for the labelled training set; a student trained without distillation has nothing to
learn from unlabelled text. So distillation (Hinton et al.; DistilBERT, TinyBERT's augmented
data) is usually given more text than the labelled set. For Pang & Lee's sentences the
in-domain text at hand is VADER's movie-review snippets (``vader-movies``), and here lies a
trap: both come from the same Rotten Tomatoes snippets (Pang & Lee's 2005 sentence polarity
data), spelled differently (VADER keeps case and punctuation, pattern's copy is lower-cased
and tokenised), so almost every Pang & Lee test text is in VADER too. ``leak_free`` drops from
the pool every text that shares a run of ``n`` normalized words (or, for a text of fewer than
``n`` words, its whole text) with any held-out text; ``pang_lee_transfer_set`` holds out all
three Pang & Lee splits (train too: its texts are already labelled, so they would add nothing).
VADER's labels are never used.

``augmented`` makes more transfer text out of the text at hand, as TinyBERT's data
augmentation does (it swaps words for a masked LM's or GloVe's neighbours; here, more simply):
each variant of a text is either a contiguous piece of it (between half of its words and all
but one; a phrase of a review is still a review's phrase, the unit Stanford's sentiment
treebank labels) or the text with every word dropped with probability ``DROP``. The teacher's
soft label says how it reads the variant, which is the whole point: a student learns the
teacher's function on more of its inputs.

Left out: fuzzier matching (edit distance), and paraphrases, which no string test can find;
word substitution (it needs a masked LM or word vectors of this vocabulary).
"""

import re

import numpy as np

from ..data.classification_datasets import CLASSIFICATION_DATASETS

WORD = re.compile(r"[a-z0-9]+")
DROP = 0.15  # the chance that a word-dropout variant loses each word


def normalized_words(text):
    """The lower-cased runs of letters and digits of ``text`` (punctuation, quotes and spacing dropped)."""
    return WORD.findall(text.lower())


def _runs(text, n):
    """The set of runs of ``n`` consecutive normalized words (one shorter run for a short text)."""
    words = normalized_words(text)
    return {tuple(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def leak_free(pool, held_out, n=6):
    """The texts of ``pool`` sharing no run of ``n`` normalized words with any text of ``held_out``, in order."""
    banned = set().union(*(_runs(text, n) for text in held_out))
    return [text for text in pool if not _runs(text, n) & banned]


def pang_lee_transfer_set(splits, n=6):
    """VADER's movie snippets without anything shared with the Pang & Lee ``splits`` (train, val and test)."""
    held_out = [text for data in splits.values() for text in data.texts]
    return leak_free(CLASSIFICATION_DATASETS["vader-movies"]().texts, held_out, n)


def _variant(words, crop, rng):
    """A contiguous piece of ``words`` (``crop``) or ``words`` with each dropped with probability ``DROP``."""
    if crop:
        length = int(rng.integers((len(words) + 1) // 2, len(words)))  # half the words .. all but one
        start = int(rng.integers(0, len(words) - length + 1))
        return words[start:start + length]
    return [w for w in words if rng.random() >= DROP]


def augmented(texts, copies, seed=0, min_words=4):
    """Up to ``copies`` variants of every text of ``texts`` with at least ``min_words`` words, alternately a crop and a
    word dropout (first a crop), as one list in order; variants with fewer than 2 words, repeats and texts of
    ``texts`` itself are left out. Words are split on spaces, so the variants keep the texts' own spelling."""
    rng, seen, out = np.random.default_rng(seed), set(texts), []
    for text in texts:
        words = text.split()
        if len(words) < min_words:
            continue
        for copy in range(copies):
            variant = " ".join(_variant(words, copy % 2 == 0, rng))
            if len(variant.split()) >= 2 and variant not in seen:
                seen.add(variant)
                out.append(variant)
    return out
