"""Exercises for chapter 8 (sampling). Edit this file; check it with

    pytest tutorials/exercises -k ch08

Reference solutions: tutorials/solutions/ch08.py (look after you have tried).
Add the imports your answers need at the top; the solutions use

    import numpy as np

1. `top_k_filter`: keep the k most likely tokens of each row.
2. `top_p_filter`: keep the nucleus, the smallest set of most likely tokens holding mass p.
3. `inverse_cdf_sample`: draw a token from probabilities with one uniform number per row.

Each must agree exactly with `tinygrad_lm.generate.sample_next`: the tests feed your filtered
logits to `sample_next` (with no filter) and compare its tokens with `sample_next`'s own
`top_k=` / `top_p=` under the same seeds.
"""


def top_k_filter(logits, k):
    """logits (B, V) float NumPy array -> a new (B, V) array: each row's k largest logits kept,
    every other entry -inf. Ties at the boundary go to the LOWER token id (sort with
    `np.argsort(-logits, axis=-1, kind="stable")`), so exactly k survive. k >= V keeps all.
    """
    raise NotImplementedError("exercise ch08.top_k_filter")


def top_p_filter(logits, p):
    """logits (B, V) -> a new (B, V) array where only each row's nucleus keeps its logits.

    Sort each row's tokens by probability, most likely first (stable: ties by lower id);
    with probs = softmax of the row, keep a token when the total probability of the tokens
    BEFORE it in that order is < p (so the most likely token is always kept). Others -inf.
    """
    raise NotImplementedError("exercise ch08.top_p_filter")


def inverse_cdf_sample(probs, u):
    """Token ids (B,) int64 drawn from probs (B, V) (rows sum to 1) with uniforms u (B,) in [0, 1).

    Inverse-CDF sampling: with cdf = the cumulative sum of a row (divide by its last entry
    so it ends at exactly 1), pick the FIRST token whose cdf is > u. A token of probability
    0 is never picked.
    """
    raise NotImplementedError("exercise ch08.inverse_cdf_sample")
