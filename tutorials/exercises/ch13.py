"""Exercises for chapter 13 (the encoder-decoder and beam search). Edit this file; check it with

    pytest tutorials/exercises -k ch13

Reference solutions: tutorials/solutions/ch13.py (look after you have tried).
Add the imports your answers need at the top; the solutions use

    import numpy as np

1. `best_hypothesis`: GNMT's length penalty, and the best of a beam's finished hypotheses.
2. `cross_attention`: a decoder's cross-attention in NumPy, the source's padding masked out.
3. `beam_step`: one step of beam search: the best one-token extensions of K live prefixes.
"""


def best_hypothesis(hypotheses, alpha):
    """The finished hypothesis with the best length-normalised score: (tokens, score).

    ``hypotheses`` is a list of (tokens, log_prob, ended): tokens a tuple of generated ids
    (eos not included), log_prob S(y) the sum of their log-probabilities (and of eos's), ended
    True when the hypothesis ended with eos, False when it was cut at the length limit. GNMT's
    score (Wu et al. 2016) with alpha >= 0:

        score = S(y) / lp(n),   lp(n) = ((5 + n) / 6) ** alpha

    where n counts the generated tokens INCLUDING the final eos (so len(tokens) + 1 when ended,
    len(tokens) when cut). Return the tokens and the score (a float) of the highest score; of
    equal scores, the one that comes first in the list. Must pick what `beam_hypotheses` ranks
    first among the same hypotheses.
    """
    raise NotImplementedError("exercise ch13.best_hypothesis")


def cross_attention(y, memory, src_mask, layer):
    """Multi-head cross-attention, NumPy in and out: y (B, T, C), memory (B, S, C) -> (B, T, C).

    ``layer`` is a `MultiHeadAttention(cross=True)`; read its weights as NumPy arrays
    (``layer.q.weight.numpy()``, ...). Every Linear computes x @ W^T + b, W of shape (out, in).
    H = ``layer.n_heads`` heads of D = C / H:

        q = y W_q^T + b_q                              (B, T, C) -> (B, H, T, D)
        k | v = memory W_kv^T + b_kv, split in halves  (B, S, 2C) -> 2 x (B, S, C) -> (B, H, S, D)
        scores = q k^T / sqrt(D)                       (B, H, T, S)
        scores = -inf where src_mask is False          src_mask (B, S) bool, True = real source token
        a = softmax(scores over S) v                   (B, H, T, D); subtract the row maximum first
        out = merge_heads(a) W_proj^T + b_proj          (B, H, T, D) -> (B, T, C)

    Every row of ``src_mask`` has at least one True. Must equal ``layer(y, context=memory,
    mask=...)`` with the mask as the library passes it, and must not change when padding
    positions (src_mask False) are appended to the memory, whatever vectors they hold.
    """
    raise NotImplementedError("exercise ch13.cross_attention")


def beam_step(scores, log_p, eos_id):
    """One beam-search step for one source: (live, finished).

    ``scores`` (K,): the log-probabilities S of the K live prefixes (-inf marks an empty slot,
    as at the first step, when only slot 0 holds a prefix). ``log_p`` (K, V): each prefix's
    next-token log-probabilities (-inf for forbidden tokens). Candidate (k, t) has score
    scores[k] + log_p[k, t]; its flat index is k * V + t.

    Walk the K * V candidates from the best score down (equal scores: the lower flat index
    first). A candidate whose token is ``eos_id`` finishes: add (k, score) to ``finished``.
    Any other becomes a live prefix for the next step: add (k, t, score) to ``live``. Stop when
    ``live`` holds K entries or the next candidate's score is -inf. Return both lists in the
    order they were met (ints for k and t, floats for the scores). This is the library's rule
    (`tinygrad_lm/models/seq2seq_decode.py`), so beam 1 is greedy decoding.
    """
    raise NotImplementedError("exercise ch13.beam_step")
