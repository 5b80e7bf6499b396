"""Reference solutions to chapter 13's exercises (tutorials/exercises/ch13.py states the tasks)."""

import numpy as np


def best_hypothesis(hypotheses, alpha):
    """Each log-probability divided by ((5 + n) / 6) ** alpha, n counting the eos; max keeps the first of equals."""
    best_tokens, best_score = None, -np.inf
    for tokens, log_prob, ended in hypotheses:
        length = len(tokens) + (1 if ended else 0)
        score = log_prob / ((5.0 + length) / 6.0) ** alpha
        if best_tokens is None or score > best_score:
            best_tokens, best_score = tuple(tokens), float(score)
    return best_tokens, best_score


def cross_attention(y, memory, src_mask, layer):
    """Queries from y, keys and values from the memory, pad keys at -inf before the softmax."""
    (B, T, C), S, H = y.shape, memory.shape[1], layer.n_heads
    D = C // H

    def heads(x, length):
        return x.reshape(B, length, H, D).transpose(0, 2, 1, 3)  # (B, L, C) -> (B, H, L, D)

    q = heads(y @ layer.q.weight.numpy().T + layer.q.bias.numpy(), T)  # (B, H, T, D)
    kv = memory @ layer.kv.weight.numpy().T + layer.kv.bias.numpy()  # (B, S, 2C)
    k, v = heads(kv[..., :C], S), heads(kv[..., C:], S)  # (B, H, S, D) each
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(D)  # (B, H, T, D) @ (B, H, D, S) -> (B, H, T, S)
    scores = np.where(src_mask[:, None, None, :], scores, -np.inf)  # (B, S) -> (B, 1, 1, S)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    merged = (weights @ v).transpose(0, 2, 1, 3).reshape(B, T, C)  # (B, H, T, D) -> (B, T, H, D) -> (B, T, C)
    return merged @ layer.proj.weight.numpy().T + layer.proj.bias.numpy()


def beam_step(scores, log_p, eos_id):
    """Every (prefix, token) total, sorted best first with a stable sort (ties: lower flat index)."""
    K, V = log_p.shape
    candidates = (np.asarray(scores)[:, None] + log_p).ravel()  # (K, V) -> (K*V,)
    live, finished = [], []
    for flat in np.argsort(-candidates, kind="stable"):
        score = float(candidates[flat])
        if score == -np.inf or len(live) == K:
            break
        k, token = divmod(int(flat), V)
        if token == eos_id:
            finished.append((k, score))
        else:
            live.append((k, token, score))
    return live, finished
