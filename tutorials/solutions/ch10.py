"""Reference solutions to chapter 10's exercises (tutorials/exercises/ch10.py states the tasks)."""

import numpy as np

import tinygrad_lm.functional as F
from tinygrad_lm.models import IGNORE_INDEX


def wordpiece_word(word, vocab, unk="[UNK]", max_chars=100):
    """Greedy longest-match-first: the longest piece that is in vocab, "##" after the first."""
    if len(word) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        prefix = "##" if start else ""
        end = len(word)
        while end > start and prefix + word[start:end] not in vocab:
            end -= 1  # try one character shorter
        if end == start:  # nothing matches here, not even one character
            return [unk]
        pieces.append(prefix + word[start:end])
        start = end
    return pieces


def mask_tokens(ids, special_mask, vocab_size, mask_id, rng, p=0.15):
    """A coin per ordinary position (p), then a second draw per chosen one: 80/10/10."""
    ids = np.asarray(ids, dtype=np.int64)
    chosen = (rng.random(ids.shape) < p) & ~np.asarray(special_mask, dtype=bool)
    labels = np.where(chosen, ids, IGNORE_INDEX)
    action = rng.random(ids.shape)  # < 0.8: [MASK]; < 0.9: a random id; else unchanged
    random_ids = rng.integers(0, vocab_size, ids.shape)
    inputs = np.where(chosen & (action < 0.8), mask_id, ids)
    inputs = np.where(chosen & (action >= 0.8) & (action < 0.9), random_ids, inputs)
    return inputs, labels


def post_ln_block(x, block, mask=None):
    """x = LN1(x + attn(x)); x = LN2(x + mlp(x)), LayerNorm after each residual add."""
    B, T, C = x.shape
    attn, mlp = block.attn, block.mlp
    H, D = attn.n_heads, C // attn.n_heads
    qkv = F.linear(x, attn.qkv.weight, attn.qkv.bias)  # (B, T, C) -> (B, T, 3C)
    q, k, v = (t.reshape(B, T, H, D).permute(0, 2, 1, 3)  # (B, T, C) -> (B, H, T, D)
               for t in qkv.split(3, axis=-1))
    a = F.scaled_dot_product_attention(q, k, v, mask=mask)  # (B, H, T, D), both directions
    a = a.permute(0, 2, 1, 3).reshape(B, T, C)  # (B, H, T, D) -> (B, T, H, D) -> (B, T, C)
    x = F.layer_norm(x + F.linear(a, attn.proj.weight, attn.proj.bias),
                     block.ln1.weight, block.ln1.bias, eps=block.ln1.eps)
    h = F.gelu(F.linear(x, mlp.fc.weight, mlp.fc.bias), approximate="none")  # (B, T, hidden)
    return F.layer_norm(x + F.linear(h, mlp.proj.weight, mlp.proj.bias),
                        block.ln2.weight, block.ln2.bias, eps=block.ln2.eps)
