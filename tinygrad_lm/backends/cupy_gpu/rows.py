"""Row kernels on the GPU: softmax, log_softmax, layer_norm and cross_entropy over rows (N, C).

Each wrapper makes its inputs C-contiguous, allocates the outputs and launches a CUDA kernel
from ``rows.cu`` or ``layer_norm.cu`` with one thread block per row (``_compile.row_threads``
threads: the row is walked with that stride, then reduced by warp shuffles and one shared
array, see ``common.cuh``). Sums run in the array's own dtype, in a fixed tree order, so
repeated runs give the same bits. layer_norm's parameter gradients are column sums over
rows: per-chunk partial sums, then one in-order sum per column, never float atomics.

Formulas and numerics: ``numpy_ref`` (the truth these kernels are tested against on a GPU).
Left out: keeping a row in registers between passes (each pass rereads it from memory, which
the L1/L2 caches mostly absorb), and vectorised loads.
"""

import numpy as np

from ._compile import blocks_for, cupy, float16_via_float32, function, row_threads

ROWS_PER_PARTIAL = 32  # rows one thread sums for layer_norm's gw and gb (more past 2M rows)


def _rows(kernel_name, *arrays):
    """The arrays as C-contiguous CuPy arrays (the kernels index rows as row * C + j)."""
    cp = cupy(kernel_name)
    return [cp.ascontiguousarray(a) for a in arrays]


def _launch_rows(source, name, x, args):
    """Run ``name`` with one block per row of ``x`` (N, C); nothing to launch for N = 0."""
    n, cols = x.shape
    if n == 0:
        return
    threads = row_threads(cols)
    function(source, name, x.dtype)((n,), (threads,), (*args, np.int64(cols)))


def _row_map(name, x):
    """y (N, C) = the row kernel ``name`` applied to x (N, C)."""
    (x,) = _rows(name, x)
    y = cupy(name).empty_like(x)
    _launch_rows("rows.cu", name, x, (x, y))
    return y


def _row_grad(name, y, gy):
    """gx (N, C) from the backward row kernel ``name`` of output y and upstream gy (N, C)."""
    y, gy = _rows(name, y, gy)
    gx = cupy(name).empty_like(gy)
    _launch_rows("rows.cu", name, y, (y, gy, gx))
    return gx


@float16_via_float32
def softmax_fwd(x):
    """Softmax of each row (N, C) -> (N, C); formula: numpy_ref.softmax_fwd.

    CUDA: one block per row; pass 1 the row maximum m, pass 2 e = exp(x - m) stored in y and
    summed, pass 3 y = e / sum. Every exponent is <= 0, so float32 logits of +-1e4 are fine.
    """
    return _row_map("softmax_fwd", x)


@float16_via_float32
def softmax_bwd(y, gy):
    """gx = y * (gy - sum_k gy_k y_k) per row (N, C); formula: numpy_ref.softmax_bwd.

    CUDA: one block per row, one block reduction for the dot product, then one pass.
    """
    return _row_grad("softmax_bwd", y, gy)


@float16_via_float32
def log_softmax_fwd(x):
    """y = x - m - log sum exp(x - m) per row (N, C); formula: numpy_ref.log_softmax_fwd.

    CUDA: one block per row, reductions for the maximum and the exp-sum (which lies in [1, C]).
    """
    return _row_map("log_softmax_fwd", x)


@float16_via_float32
def log_softmax_bwd(y, gy):
    """gx = gy - exp(y) * sum_k gy_k per row (N, C); formula: numpy_ref.log_softmax_bwd.

    CUDA: one block per row, one block reduction for sum_k gy_k, then one pass.
    """
    return _row_grad("log_softmax_bwd", y, gy)


@float16_via_float32(statistics=2)
def layer_norm_fwd(x, weight, bias, eps):
    """y (N, C), mean (N,), rstd (N,) of layer normalisation; formula: numpy_ref.layer_norm_fwd.

    CUDA: one block per row; the mean, then the biased variance from the centred values (two
    passes, no E[x^2] - mean^2 cancellation; both sums in double, so float rows near 1e20
    stay finite), rstd = 1 / sqrt(var + eps) with eps inside the root, then y. mean and rstd
    are saved for the backward (float32 for float16 input).
    """
    cp = cupy("layer_norm_fwd")
    x, weight, bias = _rows("layer_norm_fwd", x, weight, bias)
    y = cp.empty_like(x)
    mean, rstd = cp.empty(x.shape[0], x.dtype), cp.empty(x.shape[0], x.dtype)
    _launch_rows("layer_norm.cu", "layer_norm_fwd", x, (x, weight, bias, y, mean, rstd, x.dtype.type(eps)))
    return y, mean, rstd


@float16_via_float32
def layer_norm_bwd(x, weight, mean, rstd, gy):
    """gx (N, C), gw (C,), gb (C,) of layer_norm_fwd; formula: numpy_ref.layer_norm_bwd.

    CUDA: gx with one block per row (two block reductions: mean of gxhat and of
    gxhat * xhat). gw and gb deterministically: one thread per (column, chunk of
    ROWS_PER_PARTIAL rows) sums its rows in order into partials (chunks, C), then one thread
    per column adds its chunks in order. No float atomics, so the bits repeat run to run.
    """
    cp = cupy("layer_norm_bwd")
    x, weight, mean, rstd, gy = _rows("layer_norm_bwd", x, weight, mean, rstd, gy)
    n, cols = x.shape
    gx = cp.empty_like(x)
    _launch_rows("layer_norm.cu", "layer_norm_bwd_rows", x, (x, weight, mean, rstd, gy, gx))
    per_chunk = max(ROWS_PER_PARTIAL, -(-n // 65535))  # chunks are grid.y, at most 65535 of them
    chunks = max(1, -(-n // per_chunk))
    gw_partials = cp.zeros((chunks, cols), x.dtype)  # (chunks, C); stays 0 when N = 0
    gb_partials = cp.zeros((chunks, cols), x.dtype)
    threads = 128
    if n > 0 and cols > 0:
        partials = function("layer_norm.cu", "layer_norm_param_partials", x.dtype)
        partials((blocks_for(cols, threads, limit=2**31 - 1), chunks), (threads,),
                 (x, mean, rstd, gy, gw_partials, gb_partials, np.int64(n), np.int64(cols),
                  np.int64(per_chunk)))
    gw, gb = cp.empty(cols, x.dtype), cp.empty(cols, x.dtype)
    if cols > 0:
        sums = function("layer_norm.cu", "column_sums", x.dtype)
        grid = (blocks_for(cols, threads, limit=2**31 - 1),)
        for partial, out in ((gw_partials, gw), (gb_partials, gb)):
            sums(grid, (threads,), (partial, out, np.int64(chunks), np.int64(cols)))
    return gx, gw, gb


@float16_via_float32(statistics=1)
def cross_entropy_fwd(logits, targets, weight, ignore_index, label_smoothing):
    """losses (N,) and lse (N,) of rows of logits (N, C); formula: numpy_ref.cross_entropy_fwd.

    CUDA: one block per row; block reductions give the shift m, L = log sum exp(x - m) (so
    lse = m + L, finite for float32 logits of +-1e4) and, in double, the smoothing term
    sum_c w_c (L - (x_c - m)); thread 0 adds the target's term w_t (L - (x_t - m)) and zeroes
    ignored rows. Rows of -inf, NaN and +inf as in numpy_ref.
    """
    cp = cupy("cross_entropy_fwd")
    logits, weight = _rows("cross_entropy_fwd", logits, weight)
    targets = cp.ascontiguousarray(targets, dtype=cp.int64)
    losses, lse = cp.empty(logits.shape[0], logits.dtype), cp.empty(logits.shape[0], logits.dtype)
    settings = (np.int64(ignore_index), logits.dtype.type(label_smoothing))
    n, cols = logits.shape
    if n:
        function("rows.cu", "cross_entropy_fwd", logits.dtype)(
            (n,), (row_threads(cols),), (logits, targets, weight, losses, lse, np.int64(cols), *settings))
    return losses, lse


@float16_via_float32
def cross_entropy_bwd(logits, targets, weight, lse, grad_losses, ignore_index, label_smoothing):
    """glogits (N, C) of cross_entropy_fwd; formula: numpy_ref.cross_entropy_bwd.

    CUDA: one block per row; p = exp(x - lse) is rebuilt from the saved lse (no (N, C)
    probabilities are kept between forward and backward); sum_c w_c is one device reduction
    per call, passed by pointer (no host round trip).
    """
    cp = cupy("cross_entropy_bwd")
    logits, weight, lse, grad_losses = _rows("cross_entropy_bwd", logits, weight, lse, grad_losses)
    targets = cp.ascontiguousarray(targets, dtype=cp.int64)
    glogits = cp.empty_like(logits)
    weight_sum = weight.sum(keepdims=True)  # (1,), stays on the device
    n, cols = logits.shape
    if n:
        function("rows.cu", "cross_entropy_bwd", logits.dtype)(
            (n,), (row_threads(cols),),
            (logits, targets, weight, lse, grad_losses, weight_sum, glogits, np.int64(cols),
             np.int64(ignore_index), logits.dtype.type(label_smoothing)))
    return glogits
