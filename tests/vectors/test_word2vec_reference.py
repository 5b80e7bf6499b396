"""The Word2Vec kernel against a plain NumPy reading of gensim 4.4's update rules (word2vec_inner.pyx).

The reference below is written from gensim's ``w2v_fast_sentence_sg_neg`` / ``..._cbow_neg``:
a target whose score u . h is <= -6 or >= 6 (MAX_EXP) is skipped (no change to its row and no
share of h's step); CBOW's h is the mean of the context rows (cbow_mean=1) and the accumulated
step is added undivided to every context row; a center with an empty context changes nothing.
To compare update by update without sharing a random generator, the tests make every random
choice fixed: window 1 (the reduced window is always 0), no subsampling, a noise table that
only ever draws one word, and a constant learning rate.
"""

import numba
import numpy as np
import pytest

from tinygrad_lm.engine import Tensor
from tinygrad_lm.vectors.sgns_autograd import kernel_step, sgns_loss
from tinygrad_lm.vectors.word2vec import initial_vectors
from tinygrad_lm.vectors.word2vec_kernels import train_sentences

VOCAB, DIM, NEGATIVE, ALPHA = 7, 8, 3, 0.05
MAX_EXP = 6.0  # gensim's word2vec_inner.pyx: DEF MAX_EXP = 6


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference_step(h, targets, syn1neg, counts):
    """gensim's negative-sampling step for h against ``targets`` (first: label 1); returns h's step."""
    work = np.zeros_like(h)
    for k, target in enumerate(targets):
        score = float(syn1neg[target] @ h)
        if score <= -MAX_EXP or score >= MAX_EXP:
            counts["skipped"] += 1
            continue
        counts["applied"] += 1
        g = ALPHA * ((1.0 if k == 0 else 0.0) - sigmoid(score))
        work += g * syn1neg[target]
        syn1neg[target] += g * h
    return work


def reference_train(sentences, syn0, syn1neg, cbow, noise_word):
    """gensim's sentence loop with window 1, every word kept and every noise draw = ``noise_word``."""
    counts = {"skipped": 0, "applied": 0}
    for sentence in sentences:
        for i, center in enumerate(sentence):
            context = [sentence[j] for j in (i - 1, i + 1) if 0 <= j < len(sentence)]
            targets = [center] + ([noise_word] * NEGATIVE if noise_word != center else [])
            if cbow and context:
                work = reference_step(syn0[context].mean(axis=0), targets, syn1neg, counts)
                for word in context:
                    syn0[word] += work
            elif not cbow:
                for word in context:
                    syn0[word] += reference_step(syn0[word].copy(), targets, syn1neg, counts)
    return counts


@pytest.mark.parametrize("cbow", [False, True])
def test_kernel_updates_equal_gensims_rule_with_skipped_scores_beyond_max_exp(cbow):
    rng = np.random.default_rng(11)
    sentences = [rng.integers(0, VOCAB, size=n).astype(np.int32) for n in (9, 1, 6)]  # the 1-word one: no context
    ids, starts = np.concatenate(sentences), np.cumsum([0] + [len(s) for s in sentences])
    syn0 = (1.3 * rng.normal(size=(VOCAB, DIM))).astype(np.float32)  # large rows: many scores beyond +-6
    syn1neg = (1.3 * rng.normal(size=(VOCAB, DIM))).astype(np.float32)
    noise_word = 2
    noise = np.where(np.arange(VOCAB) >= noise_word, 2**31, 0).astype(np.uint64)  # every draw lands on word 2
    expected0, expected1 = syn0.astype(np.float64), syn1neg.astype(np.float64)
    counts = reference_train([s.astype(np.int64) for s in sentences], expected0, expected1, cbow, noise_word)
    assert counts["skipped"] > 3 and counts["applied"] > 10  # both branches of the rule are exercised
    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # sentences in order, as the reference takes them
    try:
        kept = train_sentences(ids, starts.astype(np.int64), np.ones(VOCAB), noise, syn0, syn1neg, cbow, 1,
                               NEGATIVE, ALPHA, ALPHA, 0, len(ids), 3, 0, 0)
    finally:
        numba.set_num_threads(threads)
    assert kept == len(ids)
    np.testing.assert_allclose(syn0, expected0, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(syn1neg, expected1, rtol=1e-4, atol=1e-5)


def test_a_clipped_target_takes_no_step_and_the_rest_is_the_autograd_gradient():
    """Where |u . h| < MAX_EXP the step is -alpha x gradient; a target beyond it is left out (gensim's rule)."""
    rng = np.random.default_rng(5)
    h, rows = rng.normal(size=6), rng.normal(size=(4, 6))
    rows[2] = 8.0 * h / (h @ h)  # score exactly 8: beyond MAX_EXP
    step_h, step_rows = kernel_step(h, rows, ALPHA)
    assert not step_rows[2].any()
    unclipped = [0, 1, 3]
    h_t, rows_t = Tensor(h, requires_grad=True), Tensor(rows[unclipped], requires_grad=True)
    sgns_loss(h_t, rows_t, np.array([1.0, 0, 0])).backward()
    np.testing.assert_allclose(step_h, -ALPHA * h_t.grad, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(step_rows[unclipped], -ALPHA * rows_t.grad, rtol=1e-12, atol=1e-14)


def test_initial_vectors_are_gensims_uniform_minus_one_to_one_over_dim():
    """gensim 4.4's prep_vectors: default_rng(seed).random(float32) * 2 - 1, divided by the dimension."""
    expected = np.random.default_rng(4).random((5, 10), dtype=np.float32)
    expected *= 2.0
    expected -= 1.0
    expected /= 10
    np.testing.assert_array_equal(initial_vectors(5, 10, 4), expected)


def test_initial_vectors_equal_gensims_own_for_the_same_seed():
    keyedvectors = pytest.importorskip("gensim.models.keyedvectors", reason="gensim (bench extra) is not installed")
    np.testing.assert_array_equal(initial_vectors(6, 12, 9), keyedvectors.prep_vectors((6, 12), seed=9))
