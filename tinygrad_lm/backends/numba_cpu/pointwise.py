"""Dropout, squared error and KL divergence in Numba: forward and backward, one element per iteration.

Each wrapper flattens C-contiguous views (or copies) of its same-shape inputs to one axis
(N,), an ``@njit`` loop runs over the elements in parallel, and the results are reshaped
back, so a 0-d input stays 0-d. Arithmetic is in the arrays' own dtype, in the reference's
order, so dropout and squared error give NumPy's bits exactly.

Formulas: ``numpy_ref.dropout_fwd`` ... ``numpy_ref.kl_div_bwd``. Left out: the reductions
(mean, sum, batchmean), which the fused Functions do on the pointwise results.
"""

import math

import numpy as np
from numba import prange

from ._wrappers import as_input, float16_via_float32, launch, loop


def _flat(*arrays):
    """The arrays as contiguous, read-only (N,) views in the first one's dtype."""
    dtype = np.asarray(arrays[0]).dtype
    return [as_input(a, dtype=dtype).reshape(-1) for a in arrays]  # (...) -> (N,)


@loop()
def _product_flat(a, b, out):
    for i in prange(a.shape[0]):  # element i
        out[i] = a[i] * b[i]


@float16_via_float32
def dropout_fwd(x, keep):
    """y = x * keep elementwise, x and keep (0 or 1/(1-p)) of one shape; see numpy_ref.dropout_fwd."""
    shape = np.shape(x)
    x, keep = _flat(x, keep)
    y = np.empty_like(x)
    launch(_product_flat, x.size, x, keep, y)
    return y.reshape(shape)  # (N,) -> (...)


@float16_via_float32
def dropout_bwd(keep, gy):
    """gx = gy * keep elementwise, keep and gy of one shape; see numpy_ref.dropout_bwd."""
    shape = np.shape(gy)
    gy, keep = _flat(gy, keep)
    gx = np.empty_like(gy)
    launch(_product_flat, gy.size, gy, keep, gx)
    return gx.reshape(shape)  # (N,) -> (...)


@loop()
def _mse_fwd_flat(pred, target, out):
    for i in prange(pred.shape[0]):  # element i
        diff = pred[i] - target[i]
        out[i] = diff * diff


@float16_via_float32
def mse_fwd(pred, target):
    """Squared errors (pred - target)^2 elementwise, (...) -> (...); see numpy_ref.mse_fwd."""
    shape = np.shape(pred)
    pred, target = _flat(pred, target)
    out = np.empty_like(pred)
    launch(_mse_fwd_flat, pred.size, pred, target, out)
    return out.reshape(shape)  # (N,) -> (...)


@loop()
def _mse_bwd_flat(pred, target, g, gpred, gtarget):
    for i in prange(pred.shape[0]):  # element i
        twice_diff_g = 2 * (pred[i] - target[i]) * g[i]
        gpred[i] = twice_diff_g
        gtarget[i] = -twice_diff_g


@float16_via_float32
def mse_bwd(pred, target, g):
    """(2 (pred - target) g, -2 (pred - target) g) elementwise, all (...); see numpy_ref.mse_bwd.

    Trick: one pass computes both gradients from one difference.
    """
    shape = np.shape(pred)
    pred, target, g = _flat(pred, target, g)
    gpred, gtarget = np.empty_like(pred), np.empty_like(pred)
    launch(_mse_bwd_flat, pred.size, pred, target, g, gpred, gtarget)
    return gpred.reshape(shape), gtarget.reshape(shape)  # (N,) -> (...)


@loop()
def _kl_div_fwd_flat(s, t, log_target, out):
    for i in prange(s.shape[0]):  # element i
        if log_target:
            out[i] = math.exp(t[i]) * (t[i] - s[i])
        elif t[i] > 0:
            out[i] = t[i] * (math.log(t[i]) - s[i])
        else:
            out[i] = 0  # 0 log 0 = 0 (and t < 0 counts as 0)


@float16_via_float32
def kl_div_fwd(input, target, log_target):
    """Pointwise t (log t - s) (0 where t <= 0), or exp(t) (t - s) with log_target; (...) -> (...).

    Formula: numpy_ref.kl_div_fwd. Trick: the branch on t > 0 replaces the reference's
    where(t > 0, t, 1), so log is never called on a non-positive value.
    """
    shape = np.shape(input)
    s, t = _flat(input, target)
    out = np.empty_like(s)
    launch(_kl_div_fwd_flat, s.size, s, t, bool(log_target), out)
    return out.reshape(shape)  # (N,) -> (...)


@loop()
def _kl_div_bwd_flat(s, t, g, log_target, gs, gt):
    for i in prange(s.shape[0]):  # element i
        if log_target:
            e = math.exp(t[i])
            gs[i] = -e * g[i]
            gt[i] = e * (t[i] - s[i] + 1) * g[i]
        elif t[i] > 0:
            gs[i] = -t[i] * g[i]
            gt[i] = (math.log(t[i]) - s[i] + 1) * g[i]
        else:
            gs[i] = 0
            gt[i] = 0


@float16_via_float32
def kl_div_bwd(input, target, g, log_target):
    """(ginput, gtarget) of kl_div_fwd for upstream g, all (...); formula: numpy_ref.kl_div_bwd.

    Trick: one pass computes both gradients, with exp or log evaluated once per element.
    """
    shape = np.shape(input)
    s, t, g = _flat(input, target, g)
    gs, gt = np.empty_like(s), np.empty_like(s)
    launch(_kl_div_bwd_flat, s.size, s, t, g, bool(log_target), gs, gt)
    return gs.reshape(shape), gt.reshape(shape)  # (N,) -> (...)
