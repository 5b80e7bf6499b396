"""Registry entry for matmul: every rank combination NumPy's ``@`` accepts.

Layouts drawn (batch axes have rank 0-2 and sides 1-3, so size-1 batch axes broadcast):

    vector-vector    (k,) @ (k,)                 -> ()
    vector-batch     (k,) @ (..., k, m)          -> (..., m)
    batch-vector     (..., n, k) @ (k,)          -> (..., n)
    batch-matrix     (B..., n, k) @ (k, m)       -> (B..., n, m)   (at least one batch axis)
    matrix-batch     (n, k) @ (..., k, m)        -> (..., n, m)
    broadcast-batch  (A..., n, k) @ (B..., k, m) -> (broadcast(A, B)..., n, m)

The forward error of a dot product of k terms follows sum |a_i b_i|, not the (possibly
cancelling) result, so the comparison scale is |a| @ |b|.
"""

import numpy as np
from hypothesis import strategies as st

from ... import ops
from .. import strategies as ts
from .spec import Case, OpSpec, array

KINDS = ["vector-vector", "vector-batch", "batch-vector", "batch-matrix", "matrix-batch", "broadcast-batch"]


@st.composite
def _matmul_case(draw, dtype):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    kind = draw(st.sampled_from(KINDS))
    batch = ts.shapes(max_dims=2, max_side=3)
    if kind == "broadcast-batch":
        batch_a, batch_b = draw(ts.broadcastable_shapes(2, min_dims=1, max_dims=2, max_side=3))
    else:
        batch_a = draw(ts.shapes(min_dims=1, max_dims=2, max_side=3) if kind == "batch-matrix" else batch)
        batch_b = draw(batch)
    left, right = kind.split("-")
    shape_a = {"vector": (k,), "matrix": (n, k), "batch": (*batch_a, n, k), "broadcast": (*batch_a, n, k)}[left]
    shape_b = {"vector": (k,), "matrix": (k, m), "batch": (*batch_b, k, m)}[right]
    return Case((draw(array(shape_a, dtype)), draw(array(shape_b, dtype))))


SPECS = [
    OpSpec(name="matmul", op="matmul", fn=ops.matmul, reference=np.matmul, inputs=_matmul_case,
           error_scale=lambda a, b: np.abs(a) @ np.abs(b), covers=frozenset({"noncontiguous", "size-1"}),
           domain="every rank combination; batch axes that broadcast (ranks 0-2, size-1 axes)"),
]
