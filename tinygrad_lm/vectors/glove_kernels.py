"""Numba kernels of GloVe: co-occurrence pairs of a slice of text, and one AdaGrad pass over the pairs.

Co-occurrence (Pennington et al. 2014, and the reference glove/cooccur.c): for every position i
and every distance d = 1..window with i + d in the text, the pair (w_i, w_{i+d}) gets weight
1 / d, and so does (w_{i+d}, w_i): a symmetric window whose counts fall with distance. The kernel
writes one (key, weight) per pair, key = row * V + column; glove.py sums equal keys.

Training: J = sum_ij f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2 / 2 with
f(x) = min(1, (x / x_max)^alpha). Per pair, as glove.c does: diff = w_i . w~_j + b_i + b~_j -
log X_ij, fdiff = f(X_ij) * diff (the gradient of J for this pair is fdiff times the other
vector, and fdiff for both biases), then AdaGrad with learning rate eta: a parameter p with
gradient g moves by -eta g / sqrt(G_p), where G_p starts at 1, and only then G_p += (eta g)^2.
That is glove.c's bookkeeping (it squares the scaled step, and adds it after the move);
textbook AdaGrad adds g^2 first and divides by sqrt(G_p) + eps. The pairs
are visited in the order given (shuffled per epoch by the caller), in ``blocks`` contiguous pieces
run by prange: Hogwild when Numba has more than one thread, a fixed order with one.

Left out: the C code's fixed-size memory blocks and its on-disk shuffling.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True)
def cooccurrence_pairs(ids, lo, hi, window, vocab_size):
    """(keys int64, weights float64) for centers lo <= i < hi of ``ids``, both directions, weight 1/d."""
    n = ids.shape[0]
    keys = np.empty(2 * window * (hi - lo), dtype=np.int64)
    weights = np.empty(2 * window * (hi - lo), dtype=np.float64)
    count = 0
    for i in range(lo, hi):
        a = np.int64(ids[i])
        for d in range(1, window + 1):
            if i + d >= n:
                break
            b = np.int64(ids[i + d])
            keys[count], weights[count] = a * vocab_size + b, 1.0 / d
            keys[count + 1], weights[count + 1] = b * vocab_size + a, 1.0 / d
            count += 2
    return keys[:count], weights[:count]


@njit(cache=True, fastmath=True, parallel=True)
def glove_epoch(rows, cols, log_x, weight, order, W, W_tilde, b, b_tilde, G, G_tilde, Gb, Gb_tilde, eta, blocks):
    """One pass over the pairs ``order`` indexes (weight = f(X)); returns the summed cost J."""
    dim = W.shape[1]
    size = (order.shape[0] + blocks - 1) // blocks
    costs = np.zeros(blocks)
    for block in prange(blocks):
        for k in order[block * size:min(order.shape[0], (block + 1) * size)]:
            i, j = rows[k], cols[k]
            diff = b[i] + b_tilde[j] - log_x[k]
            for d in range(dim):
                diff += W[i, d] * W_tilde[j, d]
            fdiff = weight[k] * diff
            costs[block] += 0.5 * fdiff * diff
            fdiff *= eta
            for d in range(dim):
                g_i = fdiff * W_tilde[j, d]
                g_j = fdiff * W[i, d]
                W[i, d] -= g_i / np.sqrt(G[i, d])
                W_tilde[j, d] -= g_j / np.sqrt(G_tilde[j, d])
                G[i, d] += g_i * g_i
                G_tilde[j, d] += g_j * g_j
            b[i] -= fdiff / np.sqrt(Gb[i])
            b_tilde[j] -= fdiff / np.sqrt(Gb_tilde[j])
            Gb[i] += fdiff * fdiff
            Gb_tilde[j] += fdiff * fdiff
    return costs.sum()
