"""Exercises for chapter 9 (kernel tables and devices). Edit this file; check it with

    pytest tutorials/exercises -k ch09

Reference solutions: tutorials/solutions/ch09.py (look after you have tried).
Add the imports your answers need at the top; the solutions use

    import math
    import numpy as np

Kernels work on raw arrays, not Tensors, and must match the reference table
(`tinygrad_lm.backends.numpy_ref`, looked up with `get_kernel(name)` under
`use_kernels("numpy")`) to the dtype's rounding.

1. `softmax_rows`: the `softmax_fwd` kernel as the loop a Numba kernel would run.
2. `exp_nonpositive`: the polynomial exp the float32 Numba kernels use.
3. `layer_norm_rows`: the `layer_norm_fwd` kernel, statistics and all.
"""


def softmax_rows(x):
    """softmax_fwd: x (N, C) float -> y (N, C) of x's dtype, each row a softmax.

    Write it as a kernel: one row at a time (`for i in range(N)`), three passes over the row:
    its maximum m, then s = sum_j exp(x_ij - m), then y_ij = exp(x_ij - m) / s. (Vectorise
    within a row with NumPy if you like; the point is the order of the passes.) Rows with
    entries of +-1e4 must come out finite.
    """
    raise NotImplementedError("exercise ch09.softmax_rows")


def exp_nonpositive(t):
    """exp(t) for a float t <= 0, from multiplications and additions only (no math.exp).

        u = t / 1024,   e = sum_{n=0}^{7} u^n / n!   (Horner's rule: e = (...(c7 u + c6) u + ...) u + c0)
        then square e ten times: (e^u)^(2^10) = e^(1024 u) = e^t

    Relative error below 1e-9 on [-100, 0]; return 0.0 for t < -110 (where u is below the
    polynomial's accurate range, and exp(t) is far below float32's smallest number anyway).
    """
    raise NotImplementedError("exercise ch09.exp_nonpositive")


def layer_norm_rows(x, weight, bias, eps):
    """layer_norm_fwd: x (N, C), weight (C,), bias (C,), eps -> (y (N, C), mean (N,), rstd (N,)).

        mean_i = (1/C) sum_j x_ij,   var_i = (1/C) sum_j (x_ij - mean_i)^2,
        rstd_i = 1 / sqrt(var_i + eps),   y_ij = (x_ij - mean_i) rstd_i weight_j + bias_j

    The backward kernel reads mean and rstd back, so they are outputs too. Return y, mean and
    rstd in x's dtype.
    """
    raise NotImplementedError("exercise ch09.layer_norm_rows")
