"""Reference solutions to chapter 6's exercises (tutorials/exercises/ch06.py states the tasks)."""

import math

import numpy as np

from tinygrad_lm.engine import Function, array_module


def cross_entropy_and_grad(logits, targets, label_smoothing=0.0):
    """loss = mean_i -sum_c q_ic log p_ic and dloss/dlogits = (p - q) / N."""
    n, classes = logits.shape
    shifted = logits - logits.max(axis=1, keepdims=True)  # (N, C), every entry <= 0
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, C), finite
    q = np.full((n, classes), label_smoothing / classes)  # (N, C)
    q[np.arange(n), targets] += 1.0 - label_smoothing
    loss = float(-(q * log_p).sum() / n)
    return loss, (np.exp(log_p) - q) / n


def adamw_update(param, grad, m, v, step, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    """Decay, update both moments, step with the bias-corrected moments."""
    beta1, beta2 = betas
    param = param * (1 - lr * weight_decay)  # decoupled: never passes through m or v
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    """Linear warm-up to base_lr, half a cosine down to min_lr, then min_lr."""
    if step < warmup_steps:
        return base_lr * (step + 1) / (warmup_steps + 1)
    if step > total_steps:
        return min_lr
    ratio = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (base_lr - min_lr)


class BrokenEmbedding(Function):
    """out = weight[ids].  dweight[v] = sum of g over the positions where ids == v.

    The bug was ``dweight[ids] += g``: with a repeated id, NumPy's buffered fancy-index
    assignment writes that row once (the last occurrence wins) instead of adding every one.
    ``add.at`` adds unbuffered. gradcheck only sees it when the ids repeat.
    """

    @staticmethod
    def forward(ctx, weight, ids):
        ctx.save(ids=ids)
        ctx.vocab = weight.shape[0]
        return weight[ids]

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        dim = g.shape[-1]
        dweight = xp.zeros((ctx.vocab, dim), dtype=g.dtype)
        xp.add.at(dweight, ctx.ids.reshape(-1), g.reshape(-1, dim))  # (..., D) -> (N, D)
        return dweight, None
