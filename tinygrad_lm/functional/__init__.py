"""Functional ops on Tensors, the layer ``nn`` modules are built from. Import it as ``F``:

    import tinygrad_lm.functional as F
    probs = F.softmax(logits, axis=-1)
    vectors = F.embedding(weight, ids)
    loss = F.cross_entropy(logits, targets, ignore_index=-100)
    y = F.scaled_dot_product_attention(q, k, v, causal=True)

Each op with real numerics in it exists twice:

    composed.py  the readable derivation from primitives (exp, sum, matmul, ...); its
                 gradient comes from the primitives' backwards. ``F.composed.softmax`` etc.
    fused.py     one Function whose forward and backward call named kernels from the active
                 kernel table (``tinygrad_lm.backends``). These are the names exported here.

The two agree in value and gradient (tests/functional). ``dropout`` draws its mask from the
user's ``numpy.random.Generator`` in both versions, so both CPU kernel tables and both
versions drop the same elements (a GPU draws its own, seeded from that generator); the composed ``mse_loss`` and ``kl_div`` live in
``losses.py`` and are importable as ``F.composed.mse_loss`` and ``F.composed.kl_div``.

Conventions: the class axis of softmax-like ops is an argument (default last);
layer_norm and cross_entropy use the last axis; attention masks are boolean with
True = may attend. Bad arguments raise errors naming the function, the argument and its
shape or dtype (``_common.py``).
"""

from . import composed, fused
from .fused import (
    cross_entropy,
    dropout,
    embedding,
    gelu,
    kl_div,
    layer_norm,
    linear,
    log_softmax,
    mse_loss,
    scaled_dot_product_attention,
    self_attention,
    softmax,
)

__all__ = [
    "composed", "cross_entropy", "dropout", "embedding", "fused", "gelu", "kl_div", "layer_norm",
    "linear", "log_softmax", "mse_loss", "scaled_dot_product_attention",
    "self_attention", "softmax",
]
