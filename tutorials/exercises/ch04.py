"""Exercises for chapter 4 (attention). Edit this file; check it with

    pytest tutorials/exercises -k ch04

Reference solutions: tutorials/solutions/ch04.py (look after you have tried).
Add the imports your answers need at the top; the solutions use

    import math
    import numpy as np
    import tinygrad_lm as tg
    import tinygrad_lm.functional as F

1. `causal_mask`: the boolean causal mask, aligned bottom-right like the library's.
2. `attention`: scaled dot-product attention from Tensor primitives, masks and fully masked
   rows included, equal in value and gradient to `F.scaled_dot_product_attention`.
3. `self_attention_heads`: multi-head self-attention from packed [q | k | v] as reshapes,
   equal to `F.self_attention`.
"""


def causal_mask(t_q, t_k):
    """The causal mask of `t_q` queries against `t_k` keys: a bool NumPy array (t_q, t_k).

    True where query i may attend to key j: j <= i + (t_k - t_q). The queries are the LAST
    t_q positions of the t_k keys (bottom-right aligned), so one new query (t_q = 1) sees every
    key, and for t_q > t_k the first t_q - t_k queries see none. (PyTorch's `is_causal=True`
    aligns top-left instead: a porting trap.)
    """
    raise NotImplementedError("exercise ch04.causal_mask")


def attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(D), masked) v from Tensor ops: q (..., Tq, D), k (..., Tk, D),
    v (..., Tk, Dv) -> (..., Tq, Dv).

    `mask` is None or a bool NumPy array broadcastable to the scores (..., Tq, Tk), True = may
    attend. Set disallowed scores to -inf (`scores.masked_fill(~mask, -math.inf)`), never to a
    finite number. Softmax over the last axis with the row maximum subtracted (as a constant:
    `tg.tensor(...)` of a NumPy array, no gradient needed, because softmax does not change
    when a row is shifted). A fully masked row must give zeros and zero gradients, never NaN:
    its maximum is -inf (use 0 instead) and its exp-sum is 0 (divide by 1 instead:
    `tg.where(condition, a, b)`). Primitives you may need: `@`, `swapaxes`, `exp`,
    `sum(axis=-1, keepdims=True)`, `/`, `masked_fill`, `tg.where`.
    """
    raise NotImplementedError("exercise ch04.attention")


def self_attention_heads(qkv, n_heads, causal=False):
    """Multi-head self-attention of packed projections: qkv (B, T, 3C) -> (B, T, C).

    Split the last axis into q, k, v (each (B, T, C), in that order: `qkv.split(3, axis=-1)`),
    reshape each to (B, T, H, D) with D = C / H and move the heads next to the batch,
    (B, H, T, D); run `F.scaled_dot_product_attention(q, k, v, causal=causal)`; move the heads
    back and merge them, (B, H, T, D) -> (B, T, H, D) -> (B, T, C). Write a shape comment on
    each line that changes a shape.
    """
    raise NotImplementedError("exercise ch04.self_attention_heads")
