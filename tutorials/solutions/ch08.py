"""Reference solutions to chapter 8's exercises (tutorials/exercises/ch08.py states the tasks)."""

import numpy as np


def _sorted_order(logits):
    """(B, V) token ids of each row, largest logit first, ties by lower id."""
    return np.argsort(-logits, axis=-1, kind="stable")


def _keep_in_token_order(logits, order, keep_sorted):
    """logits where ``keep_sorted`` (given in sorted order) holds, -inf elsewhere."""
    rows = np.arange(logits.shape[0])[:, None]
    filtered = np.full_like(logits, -np.inf)
    filtered[rows, order] = np.where(keep_sorted, logits[rows, order], -np.inf)  # back to token order
    return filtered


def top_k_filter(logits, k):
    """The first k of each row's stable descending order survive."""
    order = _sorted_order(logits)
    keep = np.arange(logits.shape[1])[None, :] < k  # (1, V) in sorted order
    return _keep_in_token_order(logits, order, np.broadcast_to(keep, logits.shape))


def top_p_filter(logits, p):
    """Tokens whose preceding mass (in descending order) is still < p survive."""
    order = _sorted_order(logits)
    rows = np.arange(logits.shape[0])[:, None]
    sorted_logits = logits[rows, order]  # (B, V), descending
    weights = np.exp(sorted_logits - sorted_logits[:, :1])  # the first is the row maximum
    probs = weights / weights.sum(axis=-1, keepdims=True)
    mass_before = np.cumsum(probs, axis=-1) - probs
    return _keep_in_token_order(logits, order, mass_before < p)


def inverse_cdf_sample(probs, u):
    """The first token whose cumulative probability exceeds u."""
    cdf = np.cumsum(probs, axis=-1)  # (B, V)
    cdf /= cdf[:, -1:]  # ends at exactly 1
    return np.argmax(cdf > np.asarray(u)[:, None], axis=-1).astype(np.int64)
