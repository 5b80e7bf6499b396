"""Reference solutions to chapter 4's exercises (tutorials/exercises/ch04.py states the tasks)."""

import math

import numpy as np

import tinygrad_lm as tg
import tinygrad_lm.functional as F


def causal_mask(t_q, t_k):
    """mask[i, j] = j <= i + (t_k - t_q): the lower triangle, shifted to end at the last key."""
    return np.tril(np.ones((t_q, t_k), dtype=bool), k=t_k - t_q)


def attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(D) with -inf where masked) v; a fully masked row gives 0."""
    scores = (q @ k.swapaxes(-1, -2)) / math.sqrt(q.shape[-1])  # (..., Tq, D) @ (..., D, Tk) -> (..., Tq, Tk)
    if mask is not None:
        scores = scores.masked_fill(~np.asarray(mask, dtype=bool), -math.inf)
    row_max = scores.numpy().max(axis=-1, keepdims=True)  # (..., Tq, 1), -inf on a fully masked row
    shift = tg.tensor(np.where(np.isfinite(row_max), row_max, 0.0).astype(scores.dtype))  # a constant
    e = (scores - shift).exp()  # (..., Tq, Tk): every exponent <= 0, exactly 0 where masked
    total = e.sum(axis=-1, keepdims=True)  # (..., Tq, 1), 0 on a fully masked row
    probs = e / tg.where(total.numpy() > 0, total, 1.0)  # 0 / 1 = 0 instead of 0 / 0 = NaN
    return probs @ v  # (..., Tq, Tk) @ (..., Tk, Dv) -> (..., Tq, Dv)


def self_attention_heads(qkv, n_heads, causal=False):
    """Split [q | k | v], attend per head, merge the heads back."""
    B, T, width = qkv.shape
    C = width // 3
    D = C // n_heads
    q, k, v = (part.reshape(B, T, n_heads, D).permute(0, 2, 1, 3)  # (B, T, C) -> (B, T, H, D) -> (B, H, T, D)
               for part in qkv.split(3, axis=-1))  # (B, T, 3C) -> 3 x (B, T, C)
    heads = F.scaled_dot_product_attention(q, k, v, causal=causal)  # (B, H, T, D)
    return heads.permute(0, 2, 1, 3).reshape(B, T, C)  # (B, H, T, D) -> (B, T, H, D) -> (B, T, C)
