"""Reference solutions to chapter 16's exercises (tutorials/exercises/ch16.py states the tasks)."""

import numpy as np


def quantize_symmetric_int8(weight, group_size=None):
    """Per row (or per row and group): the largest |w| maps to 127; round, clip, and scale back."""
    w = np.asarray(weight, dtype=np.float32)
    n, k = w.shape
    size = k if group_size is None else group_size
    groups = -(-k // size)  # ceil(K / size)
    starts = np.arange(groups) * size  # (G,) first column of each group
    scales = np.maximum.reduceat(np.abs(w), starts, axis=1) / np.float32(127)  # (N, G)
    scales[scales == 0] = 1.0
    step = np.repeat(scales, size, axis=1)[:, :k]  # (N, G) -> (N, K): each column's scale
    q = np.clip(np.rint(w / step), -127, 127).astype(np.int8)
    return q, (scales[:, 0] if group_size is None else scales), q.astype(np.float32) * step


def global_magnitude_masks(weights, sparsity):
    """One flat ranking of |w| over all arrays; the smallest round(s * n) dropped; cut back per array."""
    flat = np.concatenate([np.abs(np.asarray(w)).ravel() for w in weights])
    keep = np.ones(flat.size, dtype=bool)
    keep[np.argsort(flat, kind="stable")[:round(sparsity * flat.size)]] = False
    bounds = np.cumsum([0] + [np.asarray(w).size for w in weights])
    return [keep[start:end].reshape(np.shape(w)) for w, start, end in zip(weights, bounds, bounds[1:])]


def _log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def distillation_loss_and_gradient(student_logits, teacher_logits, targets, temperature=2.0, alpha=0.5):
    """KL of the softened distributions (scaled by T^2) plus cross-entropy; both gradients are p - target."""
    T, n = temperature, len(targets)
    log_soft_s, log_soft_t = _log_softmax(student_logits / T), _log_softmax(teacher_logits / T)  # (N, V)
    log_p = _log_softmax(student_logits)
    kl = float((np.exp(log_soft_t) * (log_soft_t - log_soft_s)).sum() / n)
    ce = float(-log_p[np.arange(n), targets].mean())
    onehot = np.eye(student_logits.shape[1])[targets]  # (N, V)
    grad = alpha * T * (np.exp(log_soft_s) - np.exp(log_soft_t)) / n + (1 - alpha) * (np.exp(log_p) - onehot) / n
    return alpha * T**2 * kl + (1 - alpha) * ce, grad
