"""The embedding backward in Numba: scatter-add gradient rows into a (V, D) table, deterministically.

Many positions can hold the same id, so their gradient rows must be added into the same row
of dweight. Threads that split the *positions* between them would race on those rows (and
even with atomic adds, the order of float additions, hence the result, would change from run
to run). Here threads split the *columns* instead: thread-owned blocks of 32 columns, and
inside a block the positions are visited in order 0..N-1. Every element of dweight therefore
receives its additions in position order, the order ``numpy.add.at`` uses, so the result is
bit-identical to the reference and to itself for any number of threads.

Left out: a sort of the ids by vocabulary row (which would allow parallelism over rows for
narrow D); with GPT-sized D the column blocks already give every thread work.
"""

import numpy as np
from numba import prange

from ._wrappers import ROWS_PARALLEL_FROM, as_input, float16_via_float32, launch, loop

COLUMNS_PER_BLOCK = 32  # columns of dweight one parallel iteration owns


@loop(parallel_from=ROWS_PARALLEL_FROM)
def _embedding_bwd_columns(ids, grad, dweight):
    n, d = grad.shape
    blocks = (d + COLUMNS_PER_BLOCK - 1) // COLUMNS_PER_BLOCK
    for block in prange(blocks):  # columns block*32 .. block*32 + 31, owned by one thread
        start = block * COLUMNS_PER_BLOCK
        stop = min(d, start + COLUMNS_PER_BLOCK)
        for position in range(n):  # positions in order: the same order as numpy.add.at
            row = ids[position]  # the vocabulary row this position's gradient goes to
            for j in range(start, stop):
                dweight[row, j] += grad[position, j]


@float16_via_float32
def embedding_bwd(ids, grad, vocab_size):
    """dweight (V, D) from ids (N,) int and grad (N, D); formula: numpy_ref.embedding_bwd.

    Trick: parallel over blocks of columns, serial over positions inside a block, so the
    additions into each element happen in position order: deterministic, and bit-identical
    to numpy.add.at for any thread count. Ids must lie in 0..V-1 (not checked here).
    """
    ids = as_input(ids, dtype=np.int64)
    grad = as_input(grad)
    dweight = np.zeros((vocab_size, grad.shape[1]), dtype=grad.dtype)  # (V, D)
    launch(_embedding_bwd_columns, grad.size, ids, grad, dweight)
    return dweight
