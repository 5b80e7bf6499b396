"""Multi-head attention as a layer, and the KV cache used for fast incremental decoding.

MultiHeadAttention (Vaswani et al. 2017, section 3.2.2), with C = dim, H heads, D = C / H:

    q, k, v = x W_q^T, s W_k^T, s W_v^T           s = x (self-attention) or context (cross)
    split each (B, T, C) into H heads              (B, T, C) -> (B, H, T, D)
    a = softmax(q k^T / sqrt(D) + mask) v          per head, via F.scaled_dot_product_attention
    y = concat_heads(a) W_o^T + b_o                (B, H, T, D) -> (B, T, C) -> (B, T, C)

Self-attention uses one fused projection ``qkv`` (C -> 3C); without a cache the split into
heads, the attention and the merge are one op, ``F.self_attention`` (with a cache, the keys
and values are split out to be stored). Cross-attention has ``q`` (C -> C) on the queries and
``kv`` (C -> 2C) on the context. The out-projection is ``proj``.
Dropout is applied to the attention weights and to the output (``resid_drop``), as in GPT-2.

KV cache. Decoding one token at a time, the keys and values of earlier tokens do not change
(causal attention: token i never sees later tokens), so each self-attention layer keeps them
and only projects the new token. We store them by concatenation along the time axis:
``LayerCache.append`` joins the new (B, H, T_new, D) keys to the stored ones. Simple, exact
(the same arithmetic as full recomputation) and differentiable; each step copies the cache,
which costs O(T) per token, negligible next to the projections at the sizes we run.
Causal masking is bottom-right aligned in F.scaled_dot_product_attention, so the new queries
see every cached key. Cross-attention reads a fixed context (an encoder's output), so its
keys and values are the same at every decoding step: given an empty ``LayerCache`` it
projects the context once and stores it; given a filled one it reuses the stored keys and
values and does not touch the context. ``LayerCache.select(rows)`` keeps or reorders batch
rows (beam search moves each surviving hypothesis's cache to its new slot).

Left out: rotary or relative position encodings, grouped-query attention, a preallocated or
paged cache (GPT's graph-free decoder has a preallocated one: models/gpt_decode.py).
"""


from .. import functional as F
from .. import ops
from ..engine.errors import ShapeError
from ..engine.seeding import as_generator
from .layers import Dropout, Linear
from .module import Module


class LayerCache:
    """Keys and values (B, H, T, D) seen so far by one self-attention layer."""

    def __init__(self):
        self.keys = None
        self.values = None

    def __len__(self):
        """How many positions are stored."""
        return 0 if self.keys is None else self.keys.shape[2]

    def select(self, rows):
        """Keep batch rows ``rows`` (an integer array, repeats allowed) of the stored keys and values."""
        if self.keys is not None:
            self.keys, self.values = self.keys[rows], self.values[rows]  # (B, H, T, D) -> (len(rows), H, T, D)

    def append(self, keys, values):
        """Add the new positions and return all of them: (B, H, T_old + T_new, D) each."""
        if self.keys is not None:
            keys = ops.concatenate([self.keys, keys], axis=2)  # (B, H, T_old, D) + (B, H, T_new, D)
            values = ops.concatenate([self.values, values], axis=2)
        self.keys, self.values = keys, values
        return keys, values


class KVCache:
    """One ``LayerCache`` per attention layer of a model: ``cache[i]`` belongs to block i."""

    def __init__(self, n_layers):
        self.layers = [LayerCache() for _ in range(n_layers)]

    def __getitem__(self, index):
        return self.layers[index]

    def __len__(self):
        """How many positions the model has seen (every layer holds the same number)."""
        return len(self.layers[0]) if self.layers else 0


class MultiHeadAttention(Module):
    """Self- or cross-attention with ``n_heads`` heads over a model width ``dim``.

    ``forward(x, context=None, mask=None, causal=False, cache=None)``: x is (B, T, C); for
    cross-attention ``context`` is (B, S, C). ``mask`` is boolean, True where a query may attend,
    broadcastable to (B, H, T, S). ``cache`` is a ``LayerCache``: self-attention appends the new
    keys and values to it; cross-attention fills it from ``context`` once, then reuses it.
    ``rng`` (Generator, seed or None) draws the initial weights and later the dropout masks.
    """

    def __init__(self, dim, n_heads, dropout=0.0, bias=True, cross=False, rng=None, dtype="float32"):
        if dim % n_heads:
            raise ValueError(f"MultiHeadAttention: dim ({dim}) must be divisible by n_heads ({n_heads})")
        self.rng = as_generator(rng)
        self.dim, self.n_heads, self.head_dim = dim, n_heads, dim // n_heads
        self.dropout, self.cross = dropout, cross
        if cross:
            self.q = Linear(dim, dim, bias=bias, rng=self.rng, dtype=dtype)
            self.kv = Linear(dim, 2 * dim, bias=bias, rng=self.rng, dtype=dtype)
        else:
            self.qkv = Linear(dim, 3 * dim, bias=bias, rng=self.rng, dtype=dtype)
        self.proj = Linear(dim, dim, bias=bias, rng=self.rng, dtype=dtype)
        self.resid_drop = Dropout(dropout, rng=self.rng)

    def _heads(self, x):
        B, T, _ = x.shape
        return x.reshape(B, T, self.n_heads, self.head_dim).permute(0, 2, 1, 3)  # (B, T, C) -> (B, H, T, D)

    def forward(self, x, context=None, mask=None, causal=False, cache=None):
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ShapeError(f"{type(self).__name__}: x must be (batch, time, {self.dim}), got shape {x.shape}")
        B, T, C = x.shape
        dropout_p = self.dropout if self.training else 0.0
        if self.cross:
            if context is None or context.ndim != 3 or context.shape[0] != B or context.shape[-1] != C:
                got = None if context is None else context.shape
                raise ShapeError(f"{type(self).__name__} (cross): context must be ({B}, S, {C}), got {got}")
            q = self._heads(self.q(x))  # (B, T, C) -> (B, H, T, D)
            if cache is not None and len(cache):
                if cache.keys.shape[0] != B:
                    raise ShapeError(f"{type(self).__name__} (cross): the cache holds {cache.keys.shape[0]} rows, "
                                     f"x has {B}; select() the cache's rows to match the batch")
                k, v = cache.keys, cache.values  # (B, H, S, D) each, projected at the first step
            else:
                k, v = self.kv(context).split(2, axis=-1)  # (B, S, 2C) -> 2 x (B, S, C)
                k, v = self._heads(k), self._heads(v)  # (B, S, C) -> (B, H, S, D)
                if cache is not None:
                    cache.append(k, v)
        else:
            if context is not None:
                raise ValueError(f"{type(self).__name__}: context= is for cross-attention; "
                                 f"build the layer with cross=True")
            qkv = self.qkv(x)  # (B, T, C) -> (B, T, 3C)
            if cache is None:  # one fused op: heads split, attention, heads merged
                out = F.self_attention(qkv, self.n_heads, mask=mask, causal=causal, dropout_p=dropout_p,
                                       rng=self.rng)  # (B, T, 3C) -> (B, T, C)
                return self.resid_drop(self.proj(out))
            q, k, v = qkv.split(3, axis=-1)  # (B, T, 3C) -> 3 x (B, T, C)
            q, k, v = self._heads(q), self._heads(k), self._heads(v)  # (B, T, C) -> (B, H, T, D)
            if cache is not None:
                k, v = cache.append(k, v)  # (B, H, T, D) -> (B, H, T_cached + T, D)
        out = F.scaled_dot_product_attention(q, k, v, mask=mask, causal=causal,
                                             dropout_p=dropout_p, rng=self.rng)  # (B, H, T, D)
        out = out.permute(0, 2, 1, 3).reshape(B, T, self.n_heads * self.head_dim)  # (B, H, T, D) -> (B, T, H*D), C unless heads were pruned
        return self.resid_drop(self.proj(out))

    def extra_repr(self):
        return f"dim={self.dim}, n_heads={self.n_heads}, dropout={self.dropout}, cross={self.cross}"
