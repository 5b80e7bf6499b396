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

The two agree in value and gradient (tests/functional). Composed only, because a fused
kernel would add nothing: ``dropout`` (one multiply by a mask that must come from the
user's ``numpy.random.Generator`` so every backend draws the same one), ``mse_loss`` and
``kl_div`` (``losses.py``: a few elementwise ops and a sum).

Conventions: the class axis of softmax-like ops is an argument (default last);
layer_norm and cross_entropy use the last axis; attention masks are boolean with
True = may attend. Bad arguments raise errors naming the function, the argument and its
shape or dtype (``_common.py``).
"""

from . import composed, fused
from .composed import dropout
from .fused import (
    cross_entropy,
    embedding,
    gelu,
    layer_norm,
    log_softmax,
    scaled_dot_product_attention,
    softmax,
)
from .losses import kl_div, mse_loss

__all__ = [
    "composed", "cross_entropy", "dropout", "embedding", "fused", "gelu", "kl_div", "layer_norm",
    "log_softmax", "mse_loss", "scaled_dot_product_attention", "softmax",
]
