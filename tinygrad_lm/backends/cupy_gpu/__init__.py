"""The CuPy kernel table: every kernel of ``numpy_ref`` as CUDA kernels, for arrays on the GPU.

Same names, same signatures, same results within floating-point tolerance as ``numpy_ref``
(the truth). Arrays live on an NVIDIA GPU as CuPy arrays; ``tinygrad_lm.backends.kernels(x)``
hands a GPU array this table by itself (``DEVICE_TABLES``), so it is never set by hand.

    rows.py + rows.cu              softmax, log_softmax,     one block per row, warp-shuffle
                                   cross_entropy             and shared-memory reductions
    rows.py + layer_norm.cu        layer_norm                one block per row; gw, gb by
                                                             chunked partials, no atomics
    pointwise.py                   gelu, mse, kl_div, adamw  cupy.ElementwiseKernel each
                                   dropout                   numpy_ref's x * keep, unchanged
    attention.py + attention.cu    attention                 flash-style fused forward;
                                                             cuBLAS + one fused kernel back
    embedding.py + embedding.cu    embedding_bwd             stable sort into segments, one
                                                             thread per (segment, column)
    _compile.py                    lazy CuPy, one RawModule per .cu (float and double
                                   templates), ElementwiseKernel cache, float16 via float32

Every kernel is compiled by NVRTC (through ``cupy.RawModule`` or ``cupy.ElementwiseKernel``)
at its first use in a process; CuPy keeps the binaries in ``~/.cupy/kernel_cache``, so later
processes skip the compile. No float atomics anywhere: every sum runs in an order fixed by
the shapes, so results repeat bit for bit, and embedding_bwd equals ``numpy.add.at`` exactly.

Importing this package needs neither CuPy nor a GPU (CI has neither); calling a CUDA kernel
without CuPy raises an ImportError that says what to install.

What has been verified, and how: none of this code has run on a GPU yet. On a machine
without one, the tests (1) import the table without CuPy; (2) compile every CUDA source and
every ElementwiseKernel body with ``nvcc --ptx -arch=sm_90`` for float and double (nvcc,
not NVRTC, so a header NVRTC lacks could still slip through); (3) check, with a recording
stand-in for CuPy, that every launch passes exactly the arguments its kernel's C signature
declares (tests/backends/test_cupy_gpu.py); and (4) run the parts written against ``xp``
on NumPy arrays against ``numpy_ref``: attention_bwd's matmul composition (with a NumPy
stand-in for its fused step), embedding_bwd's segment bookkeeping (bit-identical to
``numpy.add.at``) and a NumPy model of attention.cu's tiled online softmax
(tests/backends/test_cupy_gpu_numpy.py). The parity tests of every kernel against
``numpy_ref`` on a GPU are written (marked ``gpu``) and skip without CuPy and a GPU.
"""

from ..numpy_ref import dropout_bwd, dropout_fwd
from .attention import attention_bwd, attention_fwd
from .embedding import embedding_bwd
from .pointwise import (
    adamw_step,
    gelu_bwd,
    gelu_fwd,
    kl_div_bwd,
    kl_div_fwd,
    mse_bwd,
    mse_fwd,
)
from .rows import (
    cross_entropy_bwd,
    cross_entropy_fwd,
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
