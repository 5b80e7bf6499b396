"""Exercises for chapter 13 (encoder-decoder and beam search). Edit this file; check it with

    pytest tutorials/exercises -k ch13

Reference solutions: tutorials/solutions/ch13.py (look after you have tried).
Add the imports your answers need at the top; the solutions use

    import numpy as np

1. `cross_attention_table`: section 2's score table, softmax over the real source tokens.
2. `beam_search_one`: section 5's beam search for one source, in plain Python, over any
   function that gives next-token log-probabilities.
3. `label_smoothing_floor`: section 3's lowest possible label-smoothed loss.

The tests compare your answers with `Seq2Seq.cross_attention_weights`, with
`tinygrad_lm.models.beam_hypotheses` on small models, and with `F.cross_entropy`.
"""


def cross_attention_table(q, k, src_mask):
    """Cross-attention probabilities (B, H, T, S) from queries q (B, H, T, D) (from the decoder)
    and keys k (B, H, S, D) (from the encoder's memory), NumPy float arrays.

    probs = softmax over the last axis of q k^T / sqrt(D), where ``src_mask`` (B, S) is True on
    real source tokens and False on padding: padded keys get probability exactly 0. Subtract
    each row's max before exp. Every source row has at least one real token.
    """
    raise NotImplementedError("exercise ch13.cross_attention_table")


def beam_search_one(next_log_probs, beam, eos_id, max_len, alpha):
    """The best hypothesis for one source as (tokens tuple without eos, score), by beam search.

    ``next_log_probs(prefix)`` takes a tuple of generated tokens (bos not included) and returns
    the (V,) log-probabilities of the next token (forbidden tokens are -inf). Scoring as the
    library's: S(y) = the sum of log-probabilities of y's tokens (its eos included);
    score = S / lp(n), lp(n) = ((5 + n) / 6) ** alpha, n = number of tokens including eos.

    Each step, score every one-token extension of the (at most ``beam``) live prefixes by S and
    walk them best first (ties: the lower live-prefix index, then the lower token id) until
    ``beam`` extensions that are not eos have been seen: they are the next live prefixes, best
    first; every eos extension met on the way is a finished hypothesis. Skip -inf extensions.
    After step ``max_len`` the live prefixes finish as they are (no eos; n = max_len). Start
    from one empty prefix. Return the finished hypothesis of highest score (ties: the one
    finished first). Stopping early is optional: it may not change the answer.
    """
    raise NotImplementedError("exercise ch13.beam_search_one")


def label_smoothing_floor(vocab_size, smoothing):
    """The smallest value of label-smoothed cross-entropy over V = ``vocab_size`` classes.

    PyTorch's label smoothing s turns the one-hot target into q: 1 - s + s / V on the target
    class, s / V on each other. The loss -sum_c q_c log p_c is smallest at p = q; return that
    minimum, the entropy of q, as a Python float (0 when s = 0).
    """
    raise NotImplementedError("exercise ch13.label_smoothing_floor")
