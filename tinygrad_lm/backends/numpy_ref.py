"""The reference kernel table: every fused kernel in plain, vectorised NumPy.

This file is the truth. Numba and CuPy tables must match it (tests/backends); it is never
tested against them. Each kernel is written against ``xp = array_module(x)``, so it also runs
on CuPy arrays, only not as fast as a hand-written GPU kernel would.

Shapes and argument order follow the contract in ``tinygrad_lm/backends/__init__.py``: rows
(N, C) for row kernels, (B, T, D) for attention; a backward kernel takes the forward's arrays,
then the upstream gradient, then the settings. Every docstring states the formula, the shapes
and the numerics trick a port must keep.

Non-finite and extreme inputs get one answer in every table (tests/backends prove the others
equal this one on them): NaN in gives NaN out, in the outputs that read it; a softmax-like row
holding +inf is all NaN (as in PyTorch); a row with no entry above -inf has probabilities 0.
float16 inputs are computed in float32 where a sum would overflow (layer_norm, attention), and
the statistics saved for a backward (mean, rstd, lse) then stay float32. Kernels that can meet
inf - inf or 0 * inf run under ``_quiet``: the IEEE result (NaN, inf) is the answer, so NumPy's
warnings about it are silenced, as the compiled tables never warn.

Left out on purpose: blocking, tiling and online softmax (attention materialises the (B, Tq, Tk)
score matrix). Those belong to the fast tables and the kernel ladders in benchmarks/kernels/.
"""

import math

import numpy as np

from ..engine import array_module
from ..ops._special import erf

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_CUBIC = 0.044715
_TANH_FLAT = 100.0  # |x| past which tanh(sqrt(2/pi) (x + 0.044715 x^3)) is +-1 exactly (from ~10)
_quiet = np.errstate(invalid="ignore", over="ignore", divide="ignore")  # see the module docstring


def softmax_shift(m):
    """The shift of max-subtracted exponentials, from row maxima m: m where finite; 0 where the
    row has no entry above -inf (its exponentials are then exactly 0, never -inf - -inf = NaN);
    NaN where the maximum is +inf, so that whole row comes out NaN, as in PyTorch. A NaN
    maximum (NaN in the row) stays NaN."""
    xp = array_module(m)
    zero, nan = m.dtype.type(0), m.dtype.type(math.nan)
    return xp.where(m == -math.inf, zero, xp.where(m == math.inf, nan, m))


def _wide(a, dtype):
    """``a`` in the type its sums run in: float16 as float32 (float16 overflows at 65504, and a
    sum of squares or a dot product gets there fast), other dtypes as ``dtype`` or unchanged."""
    if a is None or a.dtype.kind != "f":
        return a
    return a.astype(np.float32) if a.dtype == np.float16 else a.astype(dtype or a.dtype, copy=False)


# --- softmax and log-softmax over rows ----------------------------------------------------
@_quiet
def softmax_fwd(x):
    """y_ij = exp(x_ij - m_i) / sum_k exp(x_ik - m_i), m_i = max_k x_ik.   x (N, C) -> y (N, C).

    Numerics: subtracting the row maximum makes every exponent <= 0, so nothing overflows
    (float32 logits of +-1e4 are fine) and the largest term is exactly 1, so the sum is >= 1.
    A row of -inf only (no entry may win) gives zeros, like a fully masked attention row, and
    softmax_bwd then gives it a zero gradient; a row holding NaN or +inf gives NaN (see softmax_shift).
    """
    xp = array_module(x)
    e = xp.exp(x - softmax_shift(x.max(axis=1, keepdims=True)))  # (N, C), each row's maximum becomes e^0 = 1
    total = e.sum(axis=1, keepdims=True)  # (N, 1): >= 1; 0 on a row of -inf; NaN on a NaN row
    return e / xp.where(total == 0, 1, total)


def softmax_bwd(y, gy):
    """gx = y * (gy - sum_k gy_k y_k): the Jacobian diag(y) - y y^T applied to gy.

    y is softmax_fwd's output (N, C), gy the upstream gradient (N, C) -> gx (N, C).
    """
    return y * (gy - (gy * y).sum(axis=1, keepdims=True))


@_quiet
def log_softmax_fwd(x):
    """y_ij = x_ij - m_i - log sum_k exp(x_ik - m_i), m_i = max_k x_ik.   x (N, C) -> y (N, C).

    Numerics: log-sum-exp with the maximum subtracted, so the sum lies in [1, C] and its log
    never overflows or underflows; y is finite wherever x is. A row of -inf only stays -inf
    (its sum is 0 and counts as 1: softmax 0, as in softmax_fwd); NaN or +inf in a row: NaN.
    """
    xp = array_module(x)
    shifted = x - softmax_shift(x.max(axis=1, keepdims=True))  # (N, C)
    total = xp.exp(shifted).sum(axis=1, keepdims=True)  # (N, 1)
    return shifted - xp.log(xp.where(total == 0, 1, total))


def log_softmax_bwd(y, gy):
    """gx = gy - exp(y) * sum_k gy_k, where exp(y) is the softmax.   (N, C) -> (N, C).

    A row of -inf (y = -inf, softmax 0) gets gx = gy: each entry's own slope, 1.
    """
    xp = array_module(y)
    return gy - xp.exp(y) * gy.sum(axis=1, keepdims=True)


# --- GELU, elementwise ---------------------------------------------------------------------
@_quiet
def gelu_fwd(x, approximate):
    """GELU of every element of x (any shape), Hendrycks & Gimpel 2016.

    approximate="none":  y = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
    approximate="tanh":  y = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
    The tanh form is the one GPT-2 was trained with.
    Numerics: tanh's argument uses x clipped to +-100, where tanh is already +-1 exactly, so x^3
    cannot overflow. At x = -inf the formula's -inf * 0 gives NaN (+inf gives +inf), as in PyTorch.
    """
    xp = array_module(x)
    if approximate == "tanh":
        c = xp.clip(x, -_TANH_FLAT, _TANH_FLAT)  # NaN stays NaN
        return 0.5 * x * (1 + xp.tanh(_SQRT_2_OVER_PI * (c + _GELU_CUBIC * c * c * c)))
    return 0.5 * x * (1 + erf(x * (1 / math.sqrt(2.0))))


@_quiet
def gelu_bwd(x, gy, approximate):
    """gx = gy * dGELU/dx, elementwise, x and gy of the same shape.

    approximate="none":  dy/dx = Phi(x) + x phi(x),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
    approximate="tanh":  dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2),
                         t = tanh(sqrt(2/pi) (x + 0.044715 x^3))
    The tanh form uses x clipped to +-100 in t and in the second term, which is exactly 0 there
    (1 - t^2 = 0), so x^2 never overflows into 0 * inf. At x = +-inf both forms give NaN.
    """
    xp = array_module(x)
    if approximate == "tanh":
        c = xp.clip(x, -_TANH_FLAT, _TANH_FLAT)
        t = xp.tanh(_SQRT_2_OVER_PI * (c + _GELU_CUBIC * c * c * c))
        du = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * c * c)
        return gy * (0.5 * (1 + t) + 0.5 * c * (1 - t * t) * du + 0 * x)  # 0 * x: NaN at x = +-inf
    cdf = 0.5 * (1 + erf(x * (1 / math.sqrt(2.0))))
    return gy * (cdf + x * _INV_SQRT_2PI * xp.exp(-0.5 * x * x))


# --- layer normalisation over rows ---------------------------------------------------------
@_quiet
def layer_norm_fwd(x, weight, bias, eps):
    """Layer normalisation of each row, Ba, Kiros & Hinton 2016 (eq. 4).

        mean_i = (1/C) sum_j x_ij
        var_i  = (1/C) sum_j (x_ij - mean_i)^2         (biased: divide by C, not C - 1)
        rstd_i = 1 / sqrt(var_i + eps)                  (eps inside the square root)
        y_ij   = (x_ij - mean_i) * rstd_i * weight_j + bias_j

    x (N, C), weight (C,), bias (C,) -> y (N, C), mean (N,), rstd (N,). weight and bias are
    always arrays (the functional layer passes ones and zeros when the user gives None).
    Numerics: eps inside the root keeps a constant row finite (rstd = 1/sqrt(eps)). The squares
    overflow first (float16 [1000, 0, 0, 0]: 750^2 > 65504; float32 rows near 1e20), so the
    whole row is computed one type wider: float16 in float32, float32 in float64; y is rounded
    back to x's dtype, mean and rstd too (float32 for float16 input: statistics stay wide).
    """
    xp = array_module(x)
    wide = _wide(x, np.float64 if x.dtype == np.float32 else None)
    mean = wide.mean(axis=1, keepdims=True)  # (N, 1)
    centered = wide - mean  # (N, C)
    var = (centered * centered).mean(axis=1, keepdims=True)  # (N, 1)
    rstd = 1 / xp.sqrt(var + eps)  # (N, 1)
    y = centered * rstd * _wide(weight, wide.dtype) + _wide(bias, wide.dtype)  # (N, C) * (C,) + (C,)
    stat = _wide(x, None).dtype  # float32 for float16, else x's dtype
    return y.astype(x.dtype), mean[:, 0].astype(stat), rstd[:, 0].astype(stat)  # (N, 1) -> (N,)


@_quiet
def layer_norm_bwd(x, weight, mean, rstd, gy):
    """Gradients of layer_norm_fwd from its input x (N, C), weight (C,), saved mean and rstd (N,).

        xhat  = (x - mean) * rstd,   gxhat = gy * weight
        gx    = rstd * (gxhat - mean_j(gxhat) - xhat * mean_j(gxhat * xhat))
        gw    = sum_i gy * xhat,     gb = sum_i gy

    -> gx (N, C), gw (C,), gb (C,), in x's dtype; computed one type wider, as the forward.
    """
    dtype = x.dtype
    wide = np.float64 if dtype == np.float32 else None
    x, weight, mean, rstd, gy = (_wide(a, wide) for a in (x, weight, mean, rstd, gy))
    mean, rstd = mean[:, None], rstd[:, None]  # (N,) -> (N, 1)
    xhat = (x - mean) * rstd  # (N, C)
    gxhat = gy * weight  # (N, C)
    inner = gxhat.mean(axis=1, keepdims=True) + xhat * (gxhat * xhat).mean(axis=1, keepdims=True)
    gx = rstd * (gxhat - inner)
    grads = gx, (gy * xhat).sum(axis=0), gy.sum(axis=0)  # (N, C) -> (C,)
    return tuple(g.astype(dtype) for g in grads)


# --- cross-entropy over rows ---------------------------------------------------------------
@_quiet
def cross_entropy_fwd(logits, targets, weight, ignore_index, label_smoothing):
    """Per-row cross-entropy with class weights and label smoothing (PyTorch's definition).

        L_i    = log sum_c exp(x_ic - m_i),  m_i = max_c x_ic,   -log p_ic = L_i - (x_ic - m_i)
        loss_i = (1 - s) * w_{t_i} (L_i - (x_{i,t_i} - m_i)) + (s / C) * sum_c w_c (L_i - (x_ic - m_i))
        loss_i = 0 where t_i == ignore_index;   lse_i = m_i + L_i

    logits (N, C) float, targets (N,) int, weight (C,) (ones when the user gives none),
    s = label_smoothing -> losses (N,), lse (N,). Reducing (sum, or divide by
    sum_{i counted} w_{t_i} for the mean) is left to the caller. Targets other than
    ignore_index must lie in 0..C-1 (the caller checks).
    Numerics: every term is taken relative to the row maximum, never as lse - x: with
    M = float32's max, lse of [M, -M, M, 0] rounds to M and lse - x_0 to 0, while
    L - (x_0 - m) = log 2. A target logit of -inf gives +inf (as does smoothing with any -inf
    logit); NaN or +inf in a counted row gives NaN; ignored rows give 0 whatever they hold.
    """
    xp = array_module(logits)
    n, classes = logits.shape
    counted = targets != ignore_index  # (N,)
    safe = xp.where(counted, targets, 0)  # (N,) ignored rows read class 0, then are zeroed
    shift = softmax_shift(logits.max(axis=1)).astype(np.float64)  # (N,), see softmax_shift
    shifted = logits - shift[:, None]  # (N, C): x - m <= 0, in float64 (-M - M overflows float32)
    total = xp.exp(shifted).sum(axis=1)  # (N,)
    log_total = xp.log(xp.where(total == 0, 1, total))  # (N,) in [0, log C]: L; 0 on a row of -inf
    losses = (1 - label_smoothing) * weight[safe] * (log_total - shifted[xp.arange(n), safe])  # (N,)
    if label_smoothing:  # skipped at s = 0: 0 * inf would be NaN for a row holding -inf
        smooth = ((log_total[:, None] - shifted) * weight).sum(axis=1)  # (N, C) -> (N,)
        losses = losses + (label_smoothing / classes) * smooth
    lse = shift + xp.log(total)  # (N,): -inf on a row of -inf
    return xp.where(counted, losses, 0).astype(logits.dtype), lse.astype(_wide(logits, None).dtype)


@_quiet
def cross_entropy_bwd(logits, targets, weight, lse, grad_losses, ignore_index, label_smoothing):
    """Gradient of cross_entropy_fwd's losses (N,) with respect to logits (N, C).

        p_ic    = exp(x_ic - lse_i)                                 (softmax, from saved lse)
        dloss_i/dx_ic = ((1 - s) w_{t_i} + (s / C) W) p_ic - (1 - s) w_{t_i} [c == t_i] - (s / C) w_c,
                        W = sum_c w_c
        gx_ic   = grad_losses_i * dloss_i/dx_ic, and 0 on ignored rows

    -> glogits (N, C). Numerics: only lse (N,) is saved, never p (N, C). With float32 logits
    near 1e4, lse is rounded to the float32 grid there (spacing ~1e-3), so p carries that
    relative error: the same as the rounding the logits themselves already have (and useless
    past ~1e7, where the grid's spacing is 1: tied maxima of 1e8 get p = 1 each, not 1/2).
    A row of -inf (lse = -inf) has p = 0; NaN propagates.
    """
    xp = array_module(logits)
    n, classes = logits.shape
    counted = targets != ignore_index  # (N,)
    safe = xp.where(counted, targets, 0)  # (N,)
    rows = xp.arange(n)
    s = label_smoothing
    w_t = weight[safe]  # (N,)
    p = xp.exp(logits - xp.where(lse == -math.inf, 0, lse)[:, None]).astype(logits.dtype)  # (N, C)
    scale = (1 - s) * w_t + (s / classes) * weight.sum()  # (N,)
    g = scale[:, None] * p - (s / classes) * weight  # (N, C)
    g[rows, safe] -= (1 - s) * w_t
    return xp.where(counted[:, None], g * grad_losses[:, None], 0)  # (N, C); ignored rows: 0


# --- scaled dot-product attention ----------------------------------------------------------
def _masked_scores(q, k, mask, causal, scale):
    """s = scale * q k^T with every disallowed entry at -inf.   -> (B, Tq, Tk), and where it is
    allowed: a bool array broadcastable to (B, Tq, Tk), or None when everything is.

    Allowed: mask (when given) is True, and with causal=True, key j <= i + (Tk - Tq) for query
    i (bottom-right aligned, so a last query sees every key).
    """
    xp = array_module(q)
    scores = (q @ xp.swapaxes(k, 1, 2)) * scale  # (B, Tq, D) @ (B, D, Tk) -> (B, Tq, Tk)
    tq, tk = scores.shape[1:]
    allowed = mask
    if causal:
        lower = xp.tril(xp.ones((tq, tk), dtype=bool), k=tk - tq)  # (Tq, Tk)
        allowed = lower if mask is None else mask & lower  # (B, Tq, Tk)
    if allowed is None:
        return scores, None
    return xp.where(allowed, scores, scores.dtype.type(-math.inf)), allowed


@_quiet
def attention_fwd(q, k, v, mask, dropout_keep, causal, scale):
    """out = dropout(softmax(scale * q k^T + masks)) v, Vaswani et al. 2017 (eq. 1).

    q (B, Tq, D), k (B, Tk, D), v (B, Tk, Dv); mask None or bool (B, Tq, Tk), True = may attend;
    causal: also forbid key j > i + (Tk - Tq); dropout_keep None or a float (B, Tq, Tk)
    multiplier (0 or 1/(1-p)) applied to the probabilities; scale a float (1/sqrt(D) usually).
    -> out (B, Tq, Dv), lse (B, Tq): the log-sum-exp of each row's masked scores, which is all
    attention_bwd needs to rebuild the probabilities (p = exp(s - lse)).
    Numerics: disallowed scores are -inf (never -1e4, which would let a query peek), the row
    maximum is subtracted before exp; a fully masked row has maximum -inf, so its maximum is
    taken as 0, its exp-sum is 0, its probabilities and output are 0 and its lse is -inf.
    A NaN or +inf among a query's visible scores makes its row NaN (out and lse); what sits at
    positions a query may not see is never read into its scores, but v's entries still meet
    p = 0 in the product (0 * NaN = NaN here and in the Numba table, while the flash kernel
    skips key tiles of p = 0): v should be finite where p = 0. float16 is computed in float32
    (q . k of std-100 inputs overflows 65504); lse then stays float32.
    """
    xp = array_module(q)
    dtype, (q, k, v, dropout_keep) = q.dtype, (_wide(a, None) for a in (q, k, v, dropout_keep))
    scores, _ = _masked_scores(q, k, mask, causal, scale)  # (B, Tq, Tk)
    m = softmax_shift(scores.max(axis=2, keepdims=True))  # (B, Tq, 1), 0 on a fully masked row
    e = xp.exp(scores - m)  # (B, Tq, Tk), exactly 0 where masked
    total = e.sum(axis=2, keepdims=True)  # (B, Tq, 1), 0 on a fully masked row
    probs = e / xp.where(total == 0, 1, total)
    if dropout_keep is not None:
        probs = probs * dropout_keep
    out = probs @ v  # (B, Tq, Tk) @ (B, Tk, Dv) -> (B, Tq, Dv)
    lse = m + xp.log(total)  # (B, Tq, 1): -inf on a fully masked row
    return out.astype(dtype), lse[..., 0]  # (B, Tq, 1) -> (B, Tq)


@_quiet
def attention_bwd(q, k, v, mask, dropout_keep, out, lse, gout, causal, scale):
    """Gradients of attention_fwd from its inputs, its out and lse, and gout (B, Tq, Dv).

        p   = exp(s - lse)   (s recomputed; lse = -inf rows use 0 so their p stays 0;
                              a NaN row's p is NaN everywhere, as the forward's was)
        pd  = p * keep                    gpd = gout v^T,  gp = gpd * keep
        gv  = pd^T gout                   delta_i = sum_j p_ij gp_ij = sum_d gout_id out_id
        gs  = p * (gp - delta), 0 where masked    gq = scale * gs k,   gk = scale * gs^T q

    (delta from out and gout is FlashAttention's trick: no (B, Tq, Tk) reduction needed.)
    -> gq (B, Tq, D), gk (B, Tk, D), gv (B, Tk, Dv); fully masked rows give exactly 0.
    float16 is computed in float32, as in the forward.
    """
    xp = array_module(q)
    dtype = q.dtype
    q, k, v, dropout_keep, out, gout = (_wide(a, None) for a in (q, k, v, dropout_keep, out, gout))
    scores, allowed = _masked_scores(q, k, mask, causal, scale)  # (B, Tq, Tk)
    lse = xp.where(lse == -math.inf, 0, lse).astype(q.dtype)[..., None]  # (B, Tq) -> (B, Tq, 1)
    probs = xp.exp(scores - lse)  # (B, Tq, Tk); a NaN row (lse NaN) is NaN everywhere
    dropped = probs if dropout_keep is None else probs * dropout_keep
    gv = xp.swapaxes(dropped, 1, 2) @ gout  # (B, Tk, Tq) @ (B, Tq, Dv) -> (B, Tk, Dv)
    gprobs = gout @ xp.swapaxes(v, 1, 2)  # (B, Tq, Dv) @ (B, Dv, Tk) -> (B, Tq, Tk)
    if dropout_keep is not None:
        gprobs = gprobs * dropout_keep
    delta = (gout * out).sum(axis=2, keepdims=True)  # (B, Tq, Dv) -> (B, Tq, 1)
    gscores = probs * (gprobs - delta) * scale  # (B, Tq, Tk), scale folded in once
    if allowed is not None:  # no gradient into a masked score (what masked_fill's backward gives)
        gscores = xp.where(allowed, gscores, 0)
    gq = gscores @ k  # (B, Tq, Tk) @ (B, Tk, D) -> (B, Tq, D)
    gk = xp.swapaxes(gscores, 1, 2) @ q  # (B, Tk, Tq) @ (B, Tq, D) -> (B, Tk, D)
    return gq.astype(dtype), gk.astype(dtype), gv.astype(dtype)


# --- embedding lookup's backward -----------------------------------------------------------
def embedding_bwd(ids, grad, vocab_size):
    """dweight_v = sum of grad_n over every position n with ids_n == v (a scatter-add).

    ids (N,) int in 0..V-1, grad (N, D) the upstream gradient of weight[ids] -> dweight
    (V, D), V = vocab_size, in grad's dtype; rows no id picked are 0. The forward is a plain
    gather, weight[ids], so it needs no kernel.
    Numerics: ``add.at`` adds unbuffered, one position at a time in order 0..N-1, so repeated
    ids accumulate (``dweight[ids] += grad`` would keep only one of them) and every element
    receives its additions in position order: deterministic, and the order a port must keep
    to be bit-identical.
    """
    xp = array_module(grad)
    dweight = xp.zeros((vocab_size, grad.shape[1]), dtype=grad.dtype)  # (V, D)
    xp.add.at(dweight, ids, grad)  # (N, D) rows added into (V, D) at rows ids
    return dweight


# --- the optimizer's update ----------------------------------------------------------------
def adamw_step(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """One AdamW update, in place on param, m and v (Loshchilov & Hutter 2019, Algorithm 2).

        param <- param * (1 - lr * weight_decay)          decoupled weight decay, first
        m     <- beta1 m + (1 - beta1) grad
        v     <- beta2 v + (1 - beta2) grad^2
        param <- param - lr * mhat / (sqrt(vhat) + eps),  mhat = m / (1 - beta1^step),
                                                          vhat = v / (1 - beta2^step)

    param, grad, m, v: arrays of one shape and dtype; the rest Python numbers; step counts
    updates from 1 (bias correction). Returns None. Which parameters get weight_decay > 0 is
    the optimizer's choice (weights, not biases or LayerNorm gains).
    """
    if step < 1:
        raise ValueError(f"adamw_step: step counts updates from 1, got {step}")
    xp = array_module(param)
    param *= 1 - lr * weight_decay
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    correction1 = 1 - beta1**step
    correction2 = 1 - beta2**step
    param -= (lr / correction1) * m / (xp.sqrt(v / correction2) + eps)


# --- dropout and the pointwise losses, elementwise ------------------------------------------
def dropout_fwd(x, keep):
    """y = x * keep, elementwise; x and keep of one shape (any), keep the inverted-dropout
    multipliers: 0 (dropped) or 1/(1-p), drawn on the host by the caller. -> y (same shape)."""
    return x * keep


def dropout_bwd(keep, gy):
    """gx = gy * keep: the forward's mask applied to the upstream gradient.   (...) -> (...)."""
    return gy * keep


def mse_fwd(pred, target):
    """Squared errors e = (pred - target)^2, elementwise.   pred, target (...) -> e (...).

    The mean or sum over e is the caller's (the fused mse_loss Function's) reduction.
    """
    diff = pred - target
    return diff * diff


def mse_bwd(pred, target, g):
    """(gpred, gtarget) = (2 (pred - target) g, -2 (pred - target) g), elementwise.

    pred, target, g (the upstream gradient of the squared errors) of one shape (...).
    """
    twice_diff_g = 2 * (pred - target) * g
    return twice_diff_g, -twice_diff_g


def kl_div_fwd(input, target, log_target):
    """Pointwise KL terms of the student's log-probabilities ``input`` (s) against ``target`` (t).

    log_target False:  loss = t (log t - s) where t > 0, else 0   (0 log 0 = 0; t < 0 also 0)
    log_target True:   loss = exp(t) (t - s)                        (t a log-probability)
    input, target (...) -> loss (...). Numerics: log is taken of t only where t > 0 (log 1 = 0
    elsewhere), so no -inf or NaN is ever formed. The reduction is the caller's.
    """
    xp = array_module(input)
    if log_target:
        return xp.exp(target) * (target - input)
    positive = target > 0
    log_t = xp.log(xp.where(positive, target, 1))  # log 1 = 0 where t <= 0
    return xp.where(positive, target * (log_t - input), 0)


def kl_div_bwd(input, target, g, log_target):
    """(ginput, gtarget) of ``kl_div_fwd`` for the upstream gradient g, all of one shape (...).

    log_target False:  ginput = -t g,  gtarget = (log t - s + 1) g   where t > 0; both 0 elsewhere
    log_target True:   ginput = -exp(t) g,  gtarget = exp(t) (t - s + 1) g
    """
    xp = array_module(input)
    if log_target:
        e = xp.exp(target)
        return -e * g, e * (target - input + 1) * g
    positive = target > 0
    log_t = xp.log(xp.where(positive, target, 1))  # log 1 = 0 where t <= 0
    ginput = xp.where(positive, -target * g, 0)
    gtarget = xp.where(positive, (log_t - input + 1) * g, 0)
    return ginput, gtarget
