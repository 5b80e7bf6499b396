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
"""

import math

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
    """max of x along ``axis`` (kept), as a constant; rows with no finite entry use 0.

    Softmax is shift-invariant, softmax(x - c) = softmax(x), so the shift needs no gradient.
    """
    xp = array_module(x.data)
    m = x.data.max(axis=axis, keepdims=True)
    return Tensor(xp.where(xp.isfinite(m), m, 0).astype(x.dtype))


def softmax(x, axis=-1):
    """y = exp(x - m) / sum_axis exp(x - m), m = max_axis x (the shift keeps exp from overflowing)."""
    x = float_tensor("softmax", x)
    axis = class_axis("softmax", x, axis)
    e = (x - _row_max(x, axis)).exp()
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """y = (x - m) - log sum_axis exp(x - m): log-sum-exp, never log(softmax) (log 0 = -inf)."""
    x = float_tensor("log_softmax", x)
    axis = class_axis("log_softmax", x, axis)
    shifted = x - _row_max(x, axis)
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


def gelu(x, approximate="none"):
    """GELU (Hendrycks & Gimpel 2016): "none" is 0.5 x (1 + erf(x / sqrt 2)), the exact
    x Phi(x); "tanh" is 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), GPT-2's form."""
    check_choice("gelu", "approximate", approximate, ("none", "tanh"))
    x = float_tensor("gelu", x)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (inner.tanh() + 1.0)
    return x * 0.5 * ((x * (1.0 / math.sqrt(2.0))).erf() + 1.0)


def layer_norm(x, weight=None, bias=None, eps=1e-5):
    """Normalise over the last axis (Ba et al. 2016): (x - mean) / sqrt(var + eps) * weight + bias.

    x (..., C), weight and bias (C,) or None. var is the biased variance (divide by C) and
    eps sits inside the square root, as in PyTorch.
    """
    x, weight, bias = layer_norm_args(x, weight, bias, eps)
    mean = x.mean(axis=-1, keepdims=True)  # (..., C) -> (..., 1)
    centered = x - mean
    var = (centered * centered).mean(axis=-1, keepdims=True)  # (..., C) -> (..., 1)
    y = centered / (var + eps).sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def cross_entropy(logits, targets, ignore_index=-100, label_smoothing=0.0, weight=None, reduction="mean"):
    """Cross-entropy of logits (..., C) against integer targets (...), as PyTorch defines it.

    With log p = log_softmax(logits), s = label_smoothing and class weights w (default 1):

        loss_i = (1 - s) * (-w_{t_i} log p_{i,t_i}) + (s / C) * sum_c (-w_c log p_ic)

    and loss_i = 0 where t_i == ignore_index. reduction "none" returns loss (...), "sum" its
    sum, "mean" sum_i loss_i / sum_{i counted} w_{t_i} (the count of counted targets without
    weights). When nothing is counted, "mean" returns 0 with zero gradient (PyTorch: NaN).
    Unlike PyTorch's (N, C, d1, ...) layout, the class axis is the last one.
    """
    logits, targets, weight = cross_entropy_args(logits, targets, ignore_index, label_smoothing, weight, reduction)
    xp = array_module(logits.data)
    classes = logits.shape[-1]
    weight = xp.ones(classes, dtype=logits.dtype) if weight is None else weight
    log_p = log_softmax(logits.reshape(-1, classes))  # (..., C) -> (N, C)
    flat = targets.reshape(-1)  # (...) -> (N,)
    counted = flat != ignore_index  # (N,)
    safe = xp.where(counted, flat, 0)  # (N,) ignored rows read class 0, then are zeroed
    w_t = weight[safe] * counted  # (N,), 0 on ignored rows
    nll = -log_p[xp.arange(flat.size), safe] * w_t  # (N,)
    smooth = -(log_p * weight).sum(axis=-1) * counted.astype(logits.dtype)  # (N, C) -> (N,)
    losses = nll * (1 - label_smoothing) + smooth * (label_smoothing / classes)  # (N,)
    return reduce_cross_entropy(losses, targets, weight, ignore_index, reduction)


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, dropout_p=0.0, rng=None, scale=None):
    """out = softmax(q k^T * scale, masked) v   (Vaswani et al. 2017, eq. 1).

    q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv) -> (..., Tq, Dv); batch axes broadcast.
    mask: boolean, broadcastable to (..., Tq, Tk), True = may attend. causal: query i sees
    keys j <= i + (Tk - Tq) (bottom-right aligned, so a KV-cache step with Tq = 1 sees every
    key). Disallowed scores become -inf, never a finite -1e4. A fully masked row has an
    all-zero exp-sum; it is divided by 1 instead, so its output and gradients are 0, never NaN.
    dropout_p > 0 drops probabilities with ``rng`` (a numpy Generator); scale defaults to
    1/sqrt(D).
    """
    q, k, v, mask, batch, scale = attention_args(q, k, v, mask, dropout_p, rng, scale)
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
    total = e.sum(axis=-1, keepdims=True)  # (*batch, Tq, 1), 0 on a fully masked row
    probs = e / where(total.data > 0, total, 1.0)
    if dropout_p > 0:
        probs = probs * Tensor(dropout_keep(rng, probs.shape, dropout_p, probs))
    return probs @ v  # (*batch, Tq, Tk) @ (..., Tk, Dv) -> (*batch, Tq, Dv)


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
