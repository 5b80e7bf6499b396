"""Reference solutions to chapter 13's exercises (tutorials/exercises/ch13.py states the tasks)."""

import numpy as np


def cross_attention_table(q, k, src_mask):
    """Masked, max-subtracted softmax of the scaled scores."""
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])  # (B, H, T, D) @ (B, H, D, S) -> (B, H, T, S)
    scores = np.where(src_mask[:, None, None, :], scores, -np.inf)  # (B, S) -> (B, 1, 1, S)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))  # exp(-inf) = 0 on padding
    return weights / weights.sum(axis=-1, keepdims=True)


def beam_search_one(next_log_probs, beam, eos_id, max_len, alpha):
    """Live prefixes as (tokens, S); finished as (score, order, tokens); the best finished wins."""

    def penalty(n):
        return ((5.0 + n) / 6.0) ** alpha

    live, finished = [((), 0.0)], []
    for step in range(1, max_len + 1):
        extensions = []
        for slot, (tokens, total) in enumerate(live):
            log_p = next_log_probs(tokens)
            extensions += [(total + float(log_p[t]), slot, t) for t in range(len(log_p)) if log_p[t] > -np.inf]
        extensions.sort(key=lambda e: (-e[0], e[1], e[2]))  # best first; ties by slot, then token
        next_live = []
        for total, slot, token in extensions:
            if len(next_live) == beam:
                break
            if token == eos_id:
                finished.append((total / penalty(step), len(finished), live[slot][0]))
            else:
                next_live.append((live[slot][0] + (token,), total))
        live = next_live
        if step == max_len:
            finished += [(total / penalty(step), len(finished) + i, tokens) for i, (tokens, total) in enumerate(live)]
    score, _, tokens = max(finished, key=lambda f: (f[0], -f[1]))
    return tokens, score


def label_smoothing_floor(vocab_size, smoothing):
    """Entropy of q: one class at 1 - s + s/V, V - 1 classes at s/V (0 log 0 = 0)."""
    right, other = 1.0 - smoothing + smoothing / vocab_size, smoothing / vocab_size
    entropy = -right * np.log(right)
    if other > 0:
        entropy -= (vocab_size - 1) * other * np.log(other)
    return float(entropy)
