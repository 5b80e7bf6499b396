"""Numba kernels of Word2Vec with negative sampling: skip-gram and CBOW updates, one epoch slice at a time.

The sparse per-pair updates of Word2Vec touch a handful of rows per step, so they do not fit a
dense autograd step; like the C word2vec and gensim, the whole inner loop is compiled code.

Notation (per training example): ``h`` (D,) is the hidden vector, a row of ``syn0`` (skip-gram:
the context word) or the mean of the context rows (CBOW); ``u_t`` are rows of ``syn1neg`` for the
target word (label 1) and ``negative`` words drawn from the noise table (label 0). The loss is

    L = -log sigmoid(u_target . h) - sum_n log sigmoid(-u_n . h)

and `sgns_step` takes one SGD step on it with learning rate ``alpha``: for each target in turn,
g = alpha * (label - sigmoid(u_t . h)); ``grad_h += g * u_t`` (accumulated, applied to h's rows
after the loop, as in the C code) and ``u_t += g * h``. A target whose score u_t . h is <= -6 or
>= 6 (``MAX_EXP``) is skipped, no change to u_t and no share in grad_h: gensim 4.4's rule
(word2vec_inner.pyx, ``if f_dot <= -MAX_EXP or f_dot >= MAX_EXP: continue``); the C word2vec
instead saturates the sigmoid to 0 or 1 there. So with distinct targets the step is exactly -alpha
times the gradient of L summed over the targets with |score| < 6 (the chapter and tests/vectors
check it against the autograd engine). Inside (-6, 6) the sigmoid is exact where gensim reads a
1000-entry table (an error below 0.003 in sigma): slower by an exp per target, equal to autograd.

Randomness: a xorshift64 generator (Marsaglia 2003; shifts 13, 7, 17) inside the kernel, restarted
for every sentence from (seed, epoch, sentence number). So the result does not depend on which
thread takes which sentence: with one thread a seed gives the same vectors every run; with more
threads (Hogwild: updates race, unlocked, as in the C code and gensim) runs differ slightly.

Left out: hierarchical softmax, the sigmoid table, per-word learning-rate locks, subword n-grams.
"""

import numpy as np
from numba import njit, prange

SEED_LIMIT = 2**24  # seed, epoch and sentence number are packed into one 64-bit generator state
ROUNDS_TO_MIX = 16
MAX_EXP = 6.0  # a target scored beyond +-MAX_EXP takes no step (gensim's rule)


@njit(cache=True)
def xorshift64(state):
    """The next state of Marsaglia's xorshift64 generator (uint64 -> uint64, never 0 from non-zero)."""
    state ^= state << np.uint64(13)
    state ^= state >> np.uint64(7)
    state ^= state << np.uint64(17)
    return state


@njit(cache=True)
def sentence_state(seed, epoch, sentence):
    """A generator state for one sentence: seed, epoch and sentence number packed, then mixed."""
    state = (np.uint64(seed) << np.uint64(40)) ^ (np.uint64(epoch) << np.uint64(24)) ^ np.uint64(sentence + 1)
    for _ in range(ROUNDS_TO_MIX):
        state = xorshift64(state)
    return state


@njit(cache=True)
def uniform(state):
    """A float in [0, 1) from the top 53 bits of a state."""
    return np.float64(state >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def sigmoid(x):
    """1 / (1 + exp(-x)), computed without overflow for either sign."""
    if x >= 0.0:
        return 1.0 / (1.0 + np.exp(-x))
    z = np.exp(x)
    return z / (1.0 + z)


@njit(cache=True, fastmath=True)
def sgns_step(h, targets, n_targets, syn1neg, alpha, grad_h):
    """One SGD step on the SGNS loss of ``h`` (D,) against ``targets[:n_targets]`` (first: label 1).

    Updates the ``syn1neg`` rows in place; sets ``grad_h`` (D,) to the step h must take (the
    caller adds it to the input rows). Targets with |u_t . h| >= MAX_EXP are skipped. The loss
    itself is never computed (a log per target).
    """
    dim = h.shape[0]
    grad_h[:] = 0.0
    for k in range(n_targets):
        row = syn1neg[targets[k]]
        score = h.dtype.type(0.0)  # the tables' precision: float64 arithmetic on float32 rows is 1.7x slower
        for d in range(dim):
            score += h[d] * row[d]
        if score <= -MAX_EXP or score >= MAX_EXP:
            continue
        label = 1.0 if k == 0 else 0.0
        g = h.dtype.type(alpha * (label - sigmoid(score)))
        for d in range(dim):
            grad_h[d] += g * row[d]
            row[d] += g * h[d]


@njit(cache=True, fastmath=True)
def add_to_row(row, step):
    """row += step, for (D,) float32 arrays."""
    for d in range(row.shape[0]):
        row[d] += step[d]


@njit(cache=True)
def draw_targets(target, negative, noise_cumulative, targets, state):
    """targets[0] = target, then up to ``negative`` noise words (a draw equal to target is skipped).

    Returns (count filled, new state)."""
    targets[0] = target
    n = 1
    total = noise_cumulative[noise_cumulative.shape[0] - 1]
    for _ in range(negative):
        state = xorshift64(state)
        word = np.searchsorted(noise_cumulative, state % total, side="right")
        if word != target:
            targets[n] = word
            n += 1
    return n, state


@njit(cache=True, fastmath=True, parallel=True)
def train_sentences(ids, starts, keep_prob, noise_cumulative, syn0, syn1neg, cbow, window, negative,
                    alpha_start, alpha_end, words_done, words_total, seed, epoch, first_sentence):
    """Train on sentences ``starts[s]:starts[s+1]`` of ``ids`` (int32 word ids); returns words kept.

    Each sentence (a prange iteration, Hogwild across threads) is subsampled with ``keep_prob``,
    then every kept position is a center: b uniform in [0, window), the context is the positions
    within window - b on either side (the dynamic window). Skip-gram: one `sgns_step` per
    (context, center) pair with h = syn0[context] predicting the center (as the C code does).
    CBOW: h = mean of the context rows predicts the center; the step is added in full to every
    context row (gensim's cbow_mean=1); a center without context is skipped (in gensim its h is 0
    and the step it computes touches no row). The learning rate falls linearly with the corpus position of the sentence:
    alpha = alpha_start - (alpha_start - alpha_end) * (words_done + offset) / words_total.
    """
    n_sentences = starts.shape[0] - 1
    dim = syn0.shape[1]
    kept_per_sentence = np.zeros(n_sentences, dtype=np.int64)
    for s in prange(n_sentences):
        state = sentence_state(seed, epoch, first_sentence + s)
        lo, hi = starts[s], starts[s + 1]
        kept = np.empty(hi - lo, dtype=np.int32)
        n = 0
        for p in range(lo, hi):
            state = xorshift64(state)
            if uniform(state) < keep_prob[ids[p]]:
                kept[n] = ids[p]
                n += 1
        progress = (words_done + lo - starts[0]) / words_total
        alpha = max(alpha_end, alpha_start - (alpha_start - alpha_end) * progress)
        targets = np.empty(negative + 1, dtype=np.int64)
        h = np.empty(dim, dtype=np.float32)
        grad_h = np.empty(dim, dtype=np.float32)
        for i in range(n):
            state = xorshift64(state)
            reduce = np.int64(state % np.uint64(window))
            j_lo, j_hi = max(0, i - window + reduce), min(n, i + window + 1 - reduce)
            if cbow:
                if j_hi - j_lo < 2:
                    continue
                h[:] = 0.0
                for j in range(j_lo, j_hi):
                    if j != i:
                        add_to_row(h, syn0[kept[j]])
                h *= np.float32(1.0 / (j_hi - j_lo - 1))
                n_targets, state = draw_targets(kept[i], negative, noise_cumulative, targets, state)
                sgns_step(h, targets, n_targets, syn1neg, alpha, grad_h)
                for j in range(j_lo, j_hi):
                    if j != i:
                        add_to_row(syn0[kept[j]], grad_h)
            else:
                for j in range(j_lo, j_hi):
                    if j == i:
                        continue
                    n_targets, state = draw_targets(kept[i], negative, noise_cumulative, targets, state)
                    sgns_step(syn0[kept[j]], targets, n_targets, syn1neg, alpha, grad_h)
                    add_to_row(syn0[kept[j]], grad_h)
        kept_per_sentence[s] = n
    return kept_per_sentence.sum()
