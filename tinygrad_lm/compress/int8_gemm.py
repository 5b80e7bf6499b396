"""An int8 x int8 -> int32 GEMM in Numba, and the quantized linear layer built on it.

    int8_matmul(a, b)    C[m, n] = sum_k int32(a[m, k]) * int32(b[n, k])
                         a (M, K) int8, b (N, K) int8 (a Linear's weight layout) -> C (M, N) int32

Exact: with |a|, |b| <= 127 each product is below 2^14, so int32 holds the sum of up to
2^17 of them (K <= 131072 is checked) without overflow; the result equals NumPy's int32 matmul
bit for bit (``matmul_reference``).

    int8_linear(x, q_w, s_w, b)    y ~ x @ W^T + b with W = q_w * s_w (per output channel)
      s_x[m] = max_k |x[m, k]| / 127     dynamic, per row of activations (M,)
      q_x = round(x / s_x)               int8 (M, K)
      y = C(q_x, q_w) * s_x[:, None] * s_w[None, :] + b     (M, N) float32

How fast it is, and why it loses to float32 BLAS: LLVM vectorises the inner loop with AVX2
(``vpmovsxbw`` widens 16 int8 to int16, ``vpmaddwd`` multiplies pairs and adds them into int32
lanes; the assembly has no ``vpdpbusd``: Numba's LLVM does not pick the VNNI instruction even
on a CPU that has it). Each output is one dot product of K = 128 (our model's width): 8 vector
iterations and then a horizontal reduction of the accumulator, the reduction and loop overhead
as large as the arithmetic, and the activation row is re-read for every output. OpenBLAS's
float32 GEMM packs panels and keeps a block of outputs in registers (AVX-512 FMA, no
reductions), so at prefill sizes (768 x 128 x 512) this loop is tens of times slower and at
decoding size (1 row) a few times slower, plus the activation quantization
(``benchmarks/results/generation_speed.json`` has the measured ratios). The gain of int8 here
is memory (weights 4x smaller), not speed; speed needs a blocked kernel with VNNI intrinsics.

Left out: cache blocking and packing, VNNI intrinsics, int8 on the GPU, gradients.
"""

import numba
import numpy as np
from numba import njit, prange

QMAX = 127
MAX_K = 1 << 17  # 127 * 127 * 2^17 < 2^31: no int32 overflow


@njit(parallel=True, cache=True)
def _int8_matmul_kernel(a, b, out):
    m_rows, k_len = a.shape
    n_cols = b.shape[0]
    for m in prange(m_rows):
        for n in range(n_cols):
            acc = np.int32(0)
            for k in range(k_len):
                acc += np.int32(a[m, k]) * np.int32(b[n, k])
            out[m, n] = acc


def _check(a, b):
    for name, array in (("a", a), ("b", b)):
        if not isinstance(array, np.ndarray) or array.dtype != np.int8 or array.ndim != 2:
            got = f"{array.dtype} {array.shape}" if isinstance(array, np.ndarray) else type(array).__name__
            raise ValueError(f"int8_matmul: {name} must be a 2-D int8 NumPy array, got {got}")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"int8_matmul: a (M, K) and b (N, K) must share K, got {a.shape} and {b.shape}")
    if a.shape[1] > MAX_K:
        raise ValueError(f"int8_matmul: K={a.shape[1]} > {MAX_K} could overflow the int32 sums")


def int8_matmul(a, b):
    """C (M, N) int32 = a (M, K) int8 @ b (N, K)^T int8, exact (see the module docstring)."""
    _check(a, b)
    out = np.empty((a.shape[0], b.shape[0]), np.int32)
    threads = numba.get_num_threads()
    if a.shape[0] * b.shape[0] * a.shape[1] < 1 << 16:  # tiny work: threads cost more than they save
        numba.set_num_threads(1)
    try:
        _int8_matmul_kernel(np.ascontiguousarray(a), np.ascontiguousarray(b), out)
    finally:
        numba.set_num_threads(threads)
    return out


def matmul_reference(a, b):
    """NumPy's exact int32 result of a (M, K) int8 @ b (N, K)^T: what int8_matmul must equal."""
    return a.astype(np.int32) @ b.astype(np.int32).T


def quantize_rows(x):
    """Dynamic symmetric int8 per row: x (M, K) float -> (q (M, K) int8, s (M,) float32), x ~ q * s[:, None]."""
    x = np.asarray(x, dtype=np.float32)
    scales = np.abs(x).max(axis=1) / QMAX  # (M,)
    scales[scales == 0] = 1.0
    q = np.clip(np.rint(x / scales[:, None]), -QMAX, QMAX).astype(np.int8)
    return q, scales.astype(np.float32)


def int8_linear(x, qweight, scale, bias=None):
    """y (M, N) float32 ~ x (M, K) @ (qweight * scale[:, None])^T + bias, through int8_matmul."""
    q_x, s_x = quantize_rows(x)
    acc = int8_matmul(q_x, qweight)  # (M, N) int32
    y = acc.astype(np.float32) * s_x[:, None] * scale[None, :]  # (M, N) * (M, 1) * (1, N)
    return y if bias is None else y + bias
