"""Run every functional test once per kernel table: ``numpy`` (the reference) and ``numba``.

The fused ops call the active table's kernels, so each test here checks both tables against
the same expectations (composed versions, NumPy derivations, gradcheck, numerics promises).
Test ids gain ``[numpy]`` / ``[numba]``; ``-k numba`` runs one table only.
"""

import pytest

from tinygrad_lm.backends import use_kernels


@pytest.fixture(autouse=True, params=["numpy", "numba"])
def kernel_table(request):
    """Make ``request.param`` the active kernel table for the duration of one test."""
    with use_kernels(request.param):
        yield request.param
