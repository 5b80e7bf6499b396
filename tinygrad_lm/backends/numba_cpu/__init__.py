"""The Numba kernel table: every kernel of ``numpy_ref``, as compiled loops on the CPU.

Same names, same signatures, same results within floating-point tolerance (tests/backends
prove it against ``numpy_ref``, the truth). Each kernel is a small Python wrapper that makes
its inputs C-contiguous and allocates the outputs, around an ``@numba.njit`` loop that does
the work:

    rows.py           softmax, log_softmax, layer_norm     one row per thread, float64 sums
    cross_entropy.py  cross_entropy                        one row per thread, lse saved
    elementwise.py    gelu (exact erf and tanh forms)      one element per iteration
    pointwise.py      dropout, mse, kl_div                 one element per iteration
    attention.py      attention                            BLAS products around one pass
                                                           over the score rows, row per thread
    optim.py          adamw_step                           one fused in-place pass
    embedding.py      embedding_bwd                        column blocks, position order
    _math.py          exp, erf for float32 data            polynomials that vectorise

Every loop is compiled with ``cache=True`` (the machine code is kept in ``__pycache__``, so
only the first run after a change pays the compile time) and ``error_model="numpy"`` (no
zero-division check, which would stop LLVM from vectorising; see ``_math.py``), on its first
call and only in the version that call needs (``_wrappers.loop``): serial for calls below the
loop's size threshold or with one thread, ``parallel=True`` above it, where ``prange`` splits
rows, batch entries or elements between threads (``NUMBA_NUM_THREADS``). A one-thread run or
a gradient check never compiles a parallel loop, which takes about twice as long to compile.
No two threads write the same element, and every sum runs in a fixed order, so results do
not depend on the number of threads.

With ``NUMBA_DISABLE_JIT=1`` the same code runs as plain Python (``prange`` is ``range``),
which is how you step through a kernel in a debugger. Importing this module imports Numba;
``tinygrad_lm.backends`` falls back to ``numpy_ref`` when that fails.
"""

from .attention import attention_bwd, attention_fwd
from .cross_entropy import cross_entropy_bwd, cross_entropy_fwd
from .elementwise import gelu_bwd, gelu_fwd
from .embedding import embedding_bwd
from .optim import adamw_step
from .pointwise import (
    dropout_bwd,
    dropout_fwd,
    kl_div_bwd,
    kl_div_fwd,
    mse_bwd,
    mse_fwd,
)
from .rows import (
    layer_norm_bwd,
    layer_norm_fwd,
    log_softmax_bwd,
    log_softmax_fwd,
    softmax_bwd,
    softmax_fwd,
)

__all__ = [
    "adamw_step", "attention_bwd", "attention_fwd", "cross_entropy_bwd", "cross_entropy_fwd",
    "dropout_bwd", "dropout_fwd", "embedding_bwd", "gelu_bwd", "gelu_fwd", "kl_div_bwd", "kl_div_fwd",
    "layer_norm_bwd", "layer_norm_fwd", "log_softmax_bwd", "log_softmax_fwd", "mse_bwd", "mse_fwd",
    "softmax_bwd", "softmax_fwd",
]
