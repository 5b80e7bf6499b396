"""The feed-forward MLP and the Transformer block built from attention, MLP and LayerNorm.

MLP (position-wise feed-forward network, Vaswani et al. 2017, eq. 2, with GELU):

    y = dropout(act(x W_1^T + b_1) W_2^T + b_2)      (B, T, C) -> (B, T, hidden) -> (B, T, C)

TransformerBlock, two residual layouts:

    pre-LN  (norm_first=True, GPT-2):              post-LN (norm_first=False, original Transformer):
      x = x + attn(ln1(x))                           x = ln1(x + attn(x))
      x = x + cross_attn(ln_cross(x), context)       x = ln_cross(x + cross_attn(x, context))
      x = x + mlp(ln2(x))                            x = ln2(x + mlp(x))

The cross-attention sub-layer exists only with ``cross_attention=True`` (decoder blocks of an
encoder-decoder model). Pre-LN keeps an un-normalised residual stream and trains stably without
warm-up tricks (Xiong et al. 2020); GPT-2 adds a final LayerNorm after the last block.

Left out: gated MLPs (SwiGLU), parallel attention/MLP, RMSNorm.
"""


from .. import functional as F
from ..engine.seeding import as_generator
from .attention import MultiHeadAttention
from .layers import Dropout, LayerNorm, Linear
from .module import Module

ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x, approximate="none"),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": lambda x: x.relu(),
}


class MLP(Module):
    """Two Linear layers with an activation between them: ``fc`` (C -> hidden), ``proj`` (hidden -> C).

    ``activation`` is "gelu" (exact, the default), "gelu_tanh" (GPT-2's approximation) or "relu".
    """

    def __init__(self, dim, hidden=None, activation="gelu", dropout=0.0, bias=True, rng=None, dtype="float32"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"MLP: unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
        rng = as_generator(rng)
        hidden = 4 * dim if hidden is None else hidden
        self.activation = activation
        self.fc = Linear(dim, hidden, bias=bias, rng=rng, dtype=dtype)
        self.proj = Linear(hidden, dim, bias=bias, rng=rng, dtype=dtype)
        self.drop = Dropout(dropout, rng=rng)

    def forward(self, x):
        h = ACTIVATIONS[self.activation](self.fc(x))  # (B, T, C) -> (B, T, hidden)
        return self.drop(self.proj(h))  # (B, T, hidden) -> (B, T, C)

    def extra_repr(self):
        return f"activation={self.activation!r}"


class TransformerBlock(Module):
    """Self-attention (+ optional cross-attention) and an MLP, each in a residual branch.

    ``forward(x, context=None, mask=None, causal=False, cache=None, context_mask=None,
    context_cache=None)``: ``mask``/``causal``/``cache`` go to the self-attention,
    ``context``/``context_mask``/``context_cache`` (a ``LayerCache`` filled once with the
    context's keys and values) to the cross-attention. Shapes: x (B, T, C) -> (B, T, C).
    """

    def __init__(self, dim, n_heads, dropout=0.0, norm_first=True, cross_attention=False, bias=True,
                 mlp_hidden=None, activation="gelu", eps=1e-5, rng=None, dtype="float32"):
        rng = as_generator(rng)
        self.norm_first = norm_first
        self.ln1 = LayerNorm(dim, eps=eps, bias=bias, dtype=dtype)
        self.attn = MultiHeadAttention(dim, n_heads, dropout=dropout, bias=bias, rng=rng, dtype=dtype)
        if cross_attention:
            self.ln_cross = LayerNorm(dim, eps=eps, bias=bias, dtype=dtype)
            self.cross_attn = MultiHeadAttention(dim, n_heads, dropout=dropout, bias=bias, cross=True,
                                                 rng=rng, dtype=dtype)
        self.ln2 = LayerNorm(dim, eps=eps, bias=bias, dtype=dtype)
        self.mlp = MLP(dim, mlp_hidden, activation=activation, dropout=dropout, bias=bias, rng=rng, dtype=dtype)

    @property
    def has_cross_attention(self):
        return "cross_attn" in vars(self)

    def forward(self, x, context=None, mask=None, causal=False, cache=None, context_mask=None, context_cache=None):
        if context is not None and not self.has_cross_attention:
            raise ValueError("TransformerBlock: got context= but the block was built without "
                             "cross_attention=True")
        if self.has_cross_attention and context is None:
            raise ValueError("TransformerBlock: a block with cross-attention needs context= "
                             "(the encoder output)")

        def self_attention(h):
            return self.attn(h, mask=mask, causal=causal, cache=cache)

        def cross_attention(h):
            return self.cross_attn(h, context=context, mask=context_mask, cache=context_cache)

        sublayers = [(self.ln1, self_attention)]
        if self.has_cross_attention:
            sublayers.append((self.ln_cross, cross_attention))
        sublayers.append((self.ln2, self.mlp))
        for norm, sublayer in sublayers:
            x = x + sublayer(norm(x)) if self.norm_first else norm(x + sublayer(x))
        return x

    def extra_repr(self):
        return f"norm_first={self.norm_first}"
