"""The basic layers: Linear, Embedding, LayerNorm, Dropout.

Each is a thin Module around one primitive or functional op, holding its Parameters:

    Linear      y = x @ W^T + b        W (out, in), b (out,)        PyTorch's layout, so
                                                                    pretrained weights load as is
    Embedding   y = W[ids]             W (num, dim)
    LayerNorm   y = (x - mean) / sqrt(var + eps) * w + b   over the last axis (biased variance)
    Dropout     y = x * mask / (1 - p) while training, y = x in eval mode

Random initial values come from ``rng``: a ``numpy.random.Generator``, an int seed, or None
(the library's default generator, which ``tg.manual_seed(n)`` reseeds, as in PyTorch), so a
model built from one seeded Generator is reproducible. Initial values (PyTorch's defaults):

    Linear      W, b ~ U(-1/sqrt(in), 1/sqrt(in))
    Embedding   W ~ N(0, 1)
    LayerNorm   w = 1, b = 0

Models that want another scheme (GPT-2's N(0, 0.02)) overwrite ``.data`` after construction.

Left out: convolutions, recurrent layers, batch norm, RMSNorm.
"""

import math

import numpy as np

from .. import functional as F
from ..engine.errors import ShapeError
from ..engine.seeding import as_generator
from .module import Module, Parameter


def _check_last_axis(layer, x, size, what):
    """Raise a ShapeError naming the layer when x's last axis is not ``size``."""
    if x.ndim == 0 or x.shape[-1] != size:
        raise ShapeError(f"{layer!r}: expects inputs whose last axis is {what} = {size}, got shape {x.shape}")


class Linear(Module):
    """y = x @ W^T + b for x of shape (..., in_features) -> (..., out_features)."""

    def __init__(self, in_features, out_features, bias=True, rng=None, dtype="float32"):
        rng = as_generator(rng)
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight = Parameter(rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, out_features).astype(dtype)) if bias else None

    def forward(self, x):
        _check_last_axis(self, x, self.in_features, "in_features")
        # One node: a 2-D GEMM over the flattened rows with the bias added in place, and one
        # GEMM per gradient (F.composed.linear is the same map from primitives).
        return F.linear(x, self.weight, self.bias)  # (..., in) -> (..., out)

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """Rows of a table: integer ids (...) -> vectors (..., embedding_dim)."""

    def __init__(self, num_embeddings, embedding_dim, rng=None, dtype="float32"):
        rng = as_generator(rng)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(rng.standard_normal((num_embeddings, embedding_dim)).astype(dtype))

    def forward(self, ids):
        return F.embedding(self.weight, ids)  # (...) -> (..., embedding_dim)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class LayerNorm(Module):
    """Normalise over the last axis (biased variance, eps inside the square root), then scale
    and shift: y = (x - mean) / sqrt(var + eps) * weight + bias."""

    def __init__(self, dim, eps=1e-5, elementwise_affine=True, bias=True, dtype="float32"):
        self.dim, self.eps = dim, eps
        self.weight = Parameter(np.ones(dim, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(dim, dtype=dtype)) if elementwise_affine and bias else None

    def forward(self, x):
        _check_last_axis(self, x, self.dim, "dim")
        return F.layer_norm(x, self.weight, self.bias, eps=self.eps)

    def extra_repr(self):
        return f"{self.dim}, eps={self.eps}, affine={self.weight is not None}, bias={self.bias is not None}"


class Dropout(Module):
    """Zero each element with probability p while training and scale the rest by 1/(1-p)
    (inverted dropout), so eval mode is the identity. Masks are drawn from ``rng``."""

    def __init__(self, p=0.0, rng=None):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p
        self.rng = as_generator(rng)

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self):
        return f"p={self.p}"
