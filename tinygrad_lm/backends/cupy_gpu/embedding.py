"""The embedding backward on the GPU: a deterministic scatter-add by sorting, no atomics.

GPU threads that each add one position's gradient row into dweight would race on repeated
ids, and float atomics would make the sum's order (hence its bits) change from run to run.
Instead (``segments``, written against ``xp``): a stable argsort of the ids groups each id's
positions together, in increasing position order; the segment starts are where the sorted
id changes. Then one CUDA thread per (segment, column) (``embedding.cu``) adds its segment's
gradient entries in that order, starting from 0: every element of dweight gets the same
additions in the same order as ``numpy.add.at`` (the reference), so the result is
bit-identical to it, and to itself on every run. Rows no id picked stay 0.

``segments`` runs on NumPy arrays too; tests/backends/test_cupy_gpu_numpy.py checks that
summing its segments in order reproduces ``numpy_ref.embedding_bwd`` bit for bit.
Left out: splitting very long segments (one id repeated across most positions) between
threads, which would need a second, ordered reduction.
"""

import numpy as np

from ...engine import array_module
from ._compile import blocks_for, cupy, float16_via_float32, function

THREADS = 256


def segments(ids):
    """(order, starts, rows) of ids (N,) int: ``order`` the stable argsort (N,); segment s
    holds positions order[starts[s]:starts[s+1]], all with id rows[s]; ``starts`` has one
    entry per segment plus N at the end. All int64, on ids' device."""
    xp = array_module(ids)
    ids = xp.asarray(ids, dtype=xp.int64)
    order = xp.argsort(ids, kind="stable")  # (N,), equal ids keep their position order
    sorted_ids = ids[order]  # (N,)
    changes = xp.flatnonzero(sorted_ids[1:] != sorted_ids[:-1]) + 1  # (segments - 1,)
    first = xp.zeros(min(1, ids.size), dtype=xp.int64)  # no segment when N = 0
    starts = xp.concatenate([first, changes, xp.asarray([ids.size], dtype=xp.int64)])  # (segments + 1,)
    return order.astype(xp.int64), starts.astype(xp.int64), sorted_ids[starts[:-1]]


@float16_via_float32
def embedding_bwd(ids, grad, vocab_size):
    """dweight (V, D) from ids (N,) int and grad (N, D); formula: numpy_ref.embedding_bwd.

    CUDA: stable sort of the ids into segments (``segments``), then one thread per
    (segment, column) sums its segment in position order: no atomics, bit-identical to
    numpy.add.at and from run to run. Ids must lie in 0..V-1 (not checked here).
    """
    cp = cupy("embedding_bwd")
    grad = cp.ascontiguousarray(grad)
    dweight = cp.zeros((vocab_size, grad.shape[1]), dtype=grad.dtype)  # (V, D)
    order, starts, rows = segments(cp.asarray(ids))
    work = rows.size * grad.shape[1]  # (segments, D) threads
    if work:
        function("embedding.cu", "embedding_segment_sums", grad.dtype)(
            (blocks_for(work, THREADS),), (THREADS,),
            (grad, order, starts, rows, dweight, np.int64(rows.size), np.int64(grad.shape[1])))
    return dweight
