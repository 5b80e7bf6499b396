"""The skip-gram negative-sampling loss through the autograd engine: the check on the Numba kernel.

For one hidden vector h (D,) and K output rows U (K, D) with labels y (K,) (1 for the word that
really occurs, 0 for the noise words),

    L(h, U) = -sum_k log sigmoid(s_k * (U_k . h)),   s_k = 2 y_k - 1,

and dL/dh = -sum_k (y_k - sigmoid(U_k . h)) U_k, dL/dU_k = -(y_k - sigmoid(U_k . h)) h. The kernel
(`word2vec_kernels.sgns_step`) never builds this graph: it applies -alpha times these gradients
row by row, and skips a target whose score |U_k . h| is 6 or more (gensim's rule, see
word2vec_kernels), so it equals -alpha times these gradients summed over the other targets.
`kernel_step` runs the kernel on copies and returns the changes it made, so a test (and chapter
15) can compare them with -alpha * the engine's gradients, and gradcheck `sgns_loss`.
Left out: batching many examples into one graph (the kernels do that work).
"""

from __future__ import annotations

import numpy as np

from tinygrad_lm.engine import Tensor
from tinygrad_lm.vectors.word2vec_kernels import sgns_step


def sgns_loss(h: Tensor, rows: Tensor, labels: np.ndarray) -> Tensor:
    """L = -sum_k log sigmoid(s_k (U_k . h)) for h (D,), rows U (K, D), labels (K,) in {0, 1}; a scalar."""
    signs = Tensor(2.0 * np.asarray(labels, dtype=h.data.dtype) - 1.0)  # (K,)
    scores = rows @ h  # (K, D) @ (D,) -> (K,)
    return -((scores * signs).sigmoid().log().sum())


def kernel_step(h: np.ndarray, rows: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(change of h, change of rows) after one `sgns_step` with target rows[0] and noise rows[1:].

    Works on float64 copies; the rows must be distinct words (the kernel updates them one after
    another, so a repeated row would see its own first update)."""
    h = np.array(h, dtype=np.float64)
    syn1neg = np.array(rows, dtype=np.float64)
    targets = np.arange(len(rows), dtype=np.int64)
    grad_h = np.zeros_like(h)
    sgns_step(h, targets, len(rows), syn1neg, alpha, grad_h)
    return grad_h, syn1neg - rows
