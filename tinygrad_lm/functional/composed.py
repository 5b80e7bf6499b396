"""The functional ops composed from primitives: the readable derivations.

Each function here is the textbook formula written with the engine's primitives (exp, sum,
matmul, masked_fill, ...), so its gradient comes for free from their hand-derived backwards.
They are kept in the library as the specification the fused versions (``fused.py``) must
match in value and gradient, and as the page a learner reads first:

    linear(x)       = x W^T + b
    softmax(x)      = exp(x - max x) / sum exp(x - max x)
    log_softmax(x)  = (x - max x) - log sum exp(x - max x)
    gelu(x)         = 0.5 x (1 + erf(x / sqrt 2))       or the tanh approximation
    layer_norm(x)   = (x - mean) / sqrt(var + eps) * weight + bias
    cross_entropy   = -log softmax(logits)[target], weighted, smoothed, reduced
    attention       = softmax(q k^T * scale, masked) v
    self_attention  = attention per head of packed [q | k | v], heads merged
    dropout(x)      = x * keep / (1 - p)
    embedding       = weight[ids]                       the primitive ``ops.embedding`` itself

mse_loss and kl_div, also composed, are in ``losses.py`` (re-exported here).
Arguments are checked in ``_common.py``, shared with the fused versions.

Non-finite and extreme inputs give what the kernel tables give (``backends/numpy_ref.py``):
a softmax row of -inf only is 0 (log_softmax -inf), NaN or +inf in a row makes it NaN; sums
that overflow their dtype run one type wider, through a differentiable cast: layer_norm
(float16 in float32, float32 in float64), attention (float16 in float32) and cross_entropy
(in float64). What the composition cannot promise: where a primitive's backward meets
0 * inf it gives NaN, as the chain rule in IEEE arithmetic does.
"""

import math

import numpy as np

from ..backends.numpy_ref import softmax_shift
from ..engine import Tensor, array_module
from ..ops import embedding, where
from ._common import (
    attention_args,
    check_choice,
    class_axis,
    cross_entropy_args,
    dropout_keep,
    dropout_mask,
    float_tensor,
    layer_norm_args,
    linear_args,
    reduce_cross_entropy,
    self_attention_args,
)
from .losses import kl_div, mse_loss


def linear(x, weight, bias=None):
    """y = x W^T + b: x (..., in), weight (out, in), bias (out,) or None -> y (..., out).

    The weight is stored (out, in), as in PyTorch, so the product uses its transpose.
    """
    x, weight, bias = linear_args(x, weight, bias)
    y = x @ weight.T  # (..., in) @ (in, out) -> (..., out)
    return y if bias is None else y + bias


def _row_max(x, axis):
    """max of x along ``axis`` (kept), as a constant: 0 on a row of -inf only (so x - m is -inf,
    not NaN) and NaN where the maximum is +inf (so that row is NaN, as in PyTorch).

    Softmax is shift-invariant, softmax(x - c) = softmax(x), so the shift needs no gradient.
    """
    return Tensor(softmax_shift(x.data.max(axis=axis, keepdims=True)))


def _nonzero(total):
    """``total`` with its zeros (rows of -inf only, or fully masked) replaced by 1: dividing
    by it leaves those rows' zeros at 0 and its log is 0; NaN stays NaN."""
    return where(total.data == 0, 1.0, total)


def _widened(x, dtype):
    """``x`` cast to ``dtype`` (differentiably) when that is wider, for sums that would overflow."""
    return x.astype(dtype) if np.dtype(dtype).itemsize > x.dtype.itemsize else x


def softmax(x, axis=-1):
    """y = exp(x - m) / sum_axis exp(x - m), m = max_axis x (the shift keeps exp from overflowing).

    A row of -inf only gives 0 with a zero gradient (like a fully masked attention row, and
    without a NumPy warning); NaN or +inf anywhere in a row makes that row NaN (as PyTorch).
    """
    x = float_tensor("softmax", x)
    axis = class_axis("softmax", x, axis)
    e = (x - _row_max(x, axis)).exp()
    return e / _nonzero(e.sum(axis=axis, keepdims=True))


def log_softmax(x, axis=-1):
    """y = (x - m) - log sum_axis exp(x - m): log-sum-exp, never log(softmax) (log 0 = -inf).

    A row of -inf only stays -inf, its gradient is the upstream one (softmax 0 takes nothing
    back); NaN or +inf anywhere in a row makes that row NaN.
    """
    x = float_tensor("log_softmax", x)
    axis = class_axis("log_softmax", x, axis)
    shifted = x - _row_max(x, axis)
    return shifted - _nonzero(shifted.exp().sum(axis=axis, keepdims=True)).log()


def gelu(x, approximate="none"):
    """GELU (Hendrycks & Gimpel 2016): "none" is 0.5 x (1 + erf(x / sqrt 2)), the exact
    x Phi(x); "tanh" is 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), GPT-2's form."""
    check_choice("gelu", "approximate", approximate, ("none", "tanh"))
    x = float_tensor("gelu", x)
    if approximate == "tanh":
        c = x.clip(-100.0, 100.0)  # tanh is +-1 exactly long before |x| = 100; x^3 would overflow
        inner = (c + c * c * c * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (inner.tanh() + 1.0)
    return x * 0.5 * ((x * (1.0 / math.sqrt(2.0))).erf() + 1.0)


def layer_norm(x, weight=None, bias=None, eps=1e-5):
    """Normalise over the last axis (Ba et al. 2016): (x - mean) / sqrt(var + eps) * weight + bias.

    x (..., C), weight and bias (C,) or None. var is the biased variance (divide by C) and
    eps sits inside the square root, as in PyTorch. The squares overflow first (float16
    [1000, 0, 0, 0], float32 rows near 1e20), so float16 runs in float32, float32 in float64.
    """
    x, weight, bias = layer_norm_args(x, weight, bias, eps)
    dtype = x.dtype
    wide = _widened(x, np.float32 if dtype == np.float16 else np.float64)
    mean = wide.mean(axis=-1, keepdims=True)  # (..., C) -> (..., 1)
    centered = wide - mean
    var = (centered * centered).mean(axis=-1, keepdims=True)  # (..., C) -> (..., 1)
    y = centered / (var + eps).sqrt()
    if weight is not None:
        y = y * _widened(weight, wide.dtype)
    if bias is not None:
        y = y + _widened(bias, wide.dtype)
    return y.astype(dtype)


def cross_entropy(logits, targets, ignore_index=-100, label_smoothing=0.0, weight=None, reduction="mean"):
    """Cross-entropy of logits (..., C) against integer targets (...), as PyTorch defines it.

    With log p = log_softmax(logits), s = label_smoothing and class weights w (default 1):

        loss_i = (1 - s) * (-w_{t_i} log p_{i,t_i}) + (s / C) * sum_c (-w_c log p_ic)

    and loss_i = 0 where t_i == ignore_index. reduction "none" returns loss (...), "sum" its
    sum, "mean" sum_i loss_i / sum_{i counted} w_{t_i} (the count of counted targets without
    weights). When nothing is counted, "mean" is NaN with zero gradient, as in PyTorch.
    Unlike PyTorch's (N, C, d1, ...) layout, the class axis is the last one.
    Numerics: computed in float64 (x - max x of float32 logits can overflow), rounded back.
    A target logit of -inf gives +inf; NaN or +inf in a counted row gives NaN; ignored rows
    are replaced by zeros before the log-softmax, so nothing they hold reaches the loss or
    the gradient.
    """
    logits, targets, weight = cross_entropy_args(logits, targets, ignore_index, label_smoothing, weight, reduction)
    xp = array_module(logits.data)
    classes, dtype = logits.shape[-1], logits.dtype
    weight = xp.ones(classes, dtype=dtype) if weight is None else weight
    flat = targets.reshape(-1)  # (...) -> (N,)
    counted = flat != ignore_index  # (N,)
    rows = where(counted[:, None], _widened(logits.reshape(-1, classes), np.float64), 0.0)  # (..., C) -> (N, C)
    log_p = log_softmax(rows)  # (N, C)
    safe = xp.where(counted, flat, 0)  # (N,) ignored rows read class 0, then are zeroed
    w_t = weight[safe].astype(np.float64) * counted  # (N,), 0 on ignored rows
    losses = -log_p[xp.arange(flat.size), safe] * w_t * (1 - label_smoothing)  # (N,)
    if label_smoothing:  # skipped at s = 0: 0 * inf would be NaN for a row holding -inf
        smooth = -(log_p * weight.astype(np.float64)).sum(axis=-1) * counted  # (N, C) -> (N,)
        losses = losses + smooth * (label_smoothing / classes)
    return reduce_cross_entropy(losses.astype(dtype), targets, weight, ignore_index, reduction)


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, dropout_p=0.0, rng=None, scale=None):
    """out = softmax(q k^T * scale, masked) v   (Vaswani et al. 2017, eq. 1).

    q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv) -> (..., Tq, Dv); batch axes broadcast.
    mask: boolean, broadcastable to (..., Tq, Tk), True = may attend. causal: query i sees
    keys j <= i + (Tk - Tq) (bottom-right aligned, so a KV-cache step with Tq = 1 sees every
    key). Disallowed scores become -inf, never a finite -1e4. A fully masked row has an
    all-zero exp-sum; it is divided by 1 instead, so its output and gradients are 0, never NaN.
    dropout_p > 0 drops probabilities with ``rng`` (a numpy Generator); scale defaults to
    1/sqrt(D). float16 runs in float32 (q . k of std-100 inputs overflows 65504). A NaN or
    +inf among a query's visible scores makes its row NaN.
    """
    q, k, v, mask, batch, scale = attention_args(q, k, v, mask, dropout_p, rng, scale)
    dtype = q.dtype
    q, k, v = (_widened(t, np.float32) for t in (q, k, v))
    xp = array_module(q.data)
    tq, tk = q.shape[-2], k.shape[-2]
    if q.shape[:-2] != batch:
        q = q.expand(*batch, tq, q.shape[-1])  # (..., Tq, D) -> (*batch, Tq, D): scores get every axis
    scores = (q @ k.swapaxes(-1, -2)) * scale  # (*batch, Tq, D) @ (..., D, Tk) -> (*batch, Tq, Tk)
    allowed = mask
    if causal:
        lower = xp.tril(xp.ones((tq, tk), dtype=bool), k=tk - tq)  # (Tq, Tk), True at j <= i + Tk - Tq
        allowed = lower if mask is None else mask & lower
    if allowed is not None:
        scores = scores.masked_fill(~allowed, -math.inf)
    e = (scores - _row_max(scores, -1)).exp()  # (*batch, Tq, Tk), exactly 0 where masked
    probs = e / _nonzero(e.sum(axis=-1, keepdims=True))  # a fully masked row's sum is 0
    if dropout_p > 0:
        probs = probs * Tensor(dropout_keep(rng, probs.shape, dropout_p, probs))
    return (probs @ v).astype(dtype)  # (*batch, Tq, Tk) @ (..., Tk, Dv) -> (*batch, Tq, Dv)


def self_attention(qkv, n_heads, mask=None, causal=False, dropout_p=0.0, rng=None, scale=None):
    """Multi-head self-attention from packed projections: split, attend per head, merge.

    qkv (..., T, 3C) holds [q | k | v] along its last axis (one Linear of width 3C makes it),
    C = n_heads * D. Each of q, k, v becomes (..., H, T, D), ``scaled_dot_product_attention``
    runs per head (mask broadcastable to (..., H, T, T)), and the heads are concatenated back
    to (..., T, C). The projections before and after are the caller's (nn.MultiHeadAttention).
    """
    qkv, mask, scale = self_attention_args(qkv, n_heads, mask, dropout_p, rng, scale)
    *lead, t, width = qkv.shape
    c = width // 3
    heads = [part.reshape(*lead, t, n_heads, c // n_heads).swapaxes(-2, -3)  # (..., T, C) -> (..., H, T, D)
             for part in qkv.split(3, axis=-1)]  # (..., T, 3C) -> 3 x (..., T, C)
    out = scaled_dot_product_attention(*heads, mask=mask, causal=causal, dropout_p=dropout_p, rng=rng,
                                       scale=scale)  # (..., H, T, D)
    return out.swapaxes(-2, -3).reshape(*lead, t, c)  # (..., H, T, D) -> (..., T, H, D) -> (..., T, C)


def dropout(x, p=0.5, training=True, rng=None):
    """Inverted dropout (Srivastava et al. 2014): out = x * keep / (1 - p), keep ~ Bernoulli(1 - p).

    Dividing by 1 - p at training time keeps E[out] = x, so evaluation uses x unchanged.
    p = 0 or training=False return x itself; p = 1 returns zeros. ``rng`` (a
    numpy.random.Generator) is required when training with p > 0, so runs are reproducible.
    """
    x, keep = dropout_mask(x, p, training, rng)
    return x if keep is None else x * Tensor(keep)


__all__ = [
    "cross_entropy", "dropout", "embedding", "gelu", "kl_div", "layer_norm", "log_softmax", "mse_loss",
    "scaled_dot_product_attention", "softmax",
]
