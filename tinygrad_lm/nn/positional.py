"""Sinusoidal positional encoding: fixed position vectors, an alternative to learned ones.

The original Transformer (Vaswani et al. 2017, section 3.5) adds to each token's embedding a
vector that depends only on its position p, with no trainable weight:

    PE[p, 2i]     = sin(p / base^(2i / dim))
    PE[p, 2i + 1] = cos(p / base^(2i / dim))          i = 0, 1, ..., ceil(dim / 2) - 1

base = 10000. Each pair of channels (2i, 2i + 1) is a rotation at angular frequency
w_i = base^(-2i/dim): from w_0 = 1 (one turn every 2 pi positions) down to about 1 / base.
Because sin and cos of p + k are a fixed rotation of those of p, PE[p + k] is a linear map of
PE[p] (the same map for every p), which the paper gives as the reason a model can learn to
attend by relative position. With an odd ``dim`` the last channel is a sine alone.

``SinusoidalPositions`` is a drop-in for ``Embedding(n_positions, dim)`` used as a position
table: ``module(positions)`` maps integer positions (...) to vectors (..., dim). It holds no
Parameter (nothing to train, nothing in ``state_dict``) and computes the rows it is asked for
on the device of ``positions``, so it follows ``model.to("cuda")`` with nothing to move.

Left out: rotary (RoPE) and relative-position schemes, which act inside attention.
"""

import numpy as np

from ..engine import Tensor, array_module
from ..engine.errors import ShapeError
from .module import Module


def _check_size(name, value, caller):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{caller}: {name} must be a positive int, got {value!r}")


def _encode(positions, dim, base, dtype):
    """PE rows for an integer array ``positions`` (...) -> (..., dim), in float64 then cast."""
    xp = array_module(positions)
    pairs = (dim + 1) // 2
    frequencies = base ** (-2.0 * xp.arange(pairs, dtype=np.float64) / dim)  # (pairs,) w_i = base^(-2i/dim)
    angles = positions.astype(np.float64)[..., None] * frequencies  # (...) -> (..., pairs)
    table = xp.empty((*positions.shape, 2 * pairs), dtype=np.float64)  # (..., 2 * pairs)
    table[..., 0::2] = xp.sin(angles)  # even channels 2i
    table[..., 1::2] = xp.cos(angles)  # odd channels 2i + 1
    return table[..., :dim].astype(dtype)  # (..., 2 * pairs) -> (..., dim): drop the extra cosine of an odd dim


def sinusoidal_positions(n_positions, dim, base=10000.0, dtype="float32"):
    """The table PE (n_positions, dim) of the module docstring as a NumPy array.

    PE[p, 2i] = sin(p / base^(2i/dim)), PE[p, 2i+1] = cos(p / base^(2i/dim)), p < n_positions.
    Computed in float64 and rounded once to ``dtype``. Reference: Vaswani et al. 2017, sec. 3.5.
    """
    _check_size("n_positions", n_positions, "sinusoidal_positions")
    _check_size("dim", dim, "sinusoidal_positions")
    if not base > 1.0:
        raise ValueError(f"sinusoidal_positions: base must be > 1, got {base!r}")
    return _encode(np.arange(n_positions), dim, float(base), np.dtype(dtype))


class SinusoidalPositions(Module):
    """Fixed position vectors: integer positions (...) -> PE rows (..., dim), no Parameters.

    ``SinusoidalPositions(n_positions, dim, base=10000.0, dtype="float32")``; positions must lie
    in [0, n_positions), the same contract as the learned ``Embedding`` it replaces (the formula
    itself has no limit; the bound keeps a model from being run past the length it was built for).
    The output is a constant Tensor (requires_grad False) on the device of ``positions``.
    """

    def __init__(self, n_positions, dim, base=10000.0, dtype="float32"):
        _check_size("n_positions", n_positions, "SinusoidalPositions")
        _check_size("dim", dim, "SinusoidalPositions")
        if not base > 1.0:
            raise ValueError(f"SinusoidalPositions: base must be > 1, got {base!r}")
        self.n_positions, self.dim, self.base, self.dtype = n_positions, dim, float(base), np.dtype(dtype)

    def forward(self, positions):
        positions = positions.data if isinstance(positions, Tensor) else positions
        positions = positions if hasattr(positions, "dtype") else np.asarray(positions)
        if positions.dtype.kind not in "iu":
            raise ShapeError(f"SinusoidalPositions: positions must be integers, got dtype {positions.dtype}")
        if positions.size and (int(positions.min()) < 0 or int(positions.max()) >= self.n_positions):
            raise ShapeError(f"SinusoidalPositions: positions must lie in [0, {self.n_positions}), got values in "
                             f"[{int(positions.min())}, {int(positions.max())}]")
        return Tensor(_encode(positions, self.dim, self.base, self.dtype))  # (...) -> (..., dim)

    def extra_repr(self):
        return f"{self.n_positions}, {self.dim}, base={self.base:g}"

