"""Reference solutions to chapter 12's exercises (tutorials/exercises/ch12.py states the tasks)."""

import numpy as np

from tinygrad_lm.nn import freeze


def head_gradients(pooled, labels, weight, bias):
    """Softmax cross-entropy through a Linear: dL/dz = (p - onehot)/N, then the chain rule."""
    logits = pooled @ weight.T + bias  # (N, H) @ (H, C) + (C,) -> (N, C)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, C)
    n = len(labels)
    loss = float(-log_p[np.arange(n), labels].mean())
    error = (np.exp(log_p) - np.eye(weight.shape[0])[labels]) / n  # (N, C): (p - onehot) / N
    return loss, error.T @ pooled, error.sum(axis=0)  # (C, N) @ (N, H) -> (C, H); (C,)


def freeze_lowest_layers(model, k):
    """The embeddings and blocks 0..k-1 frozen by name; nothing for k = 0."""
    n_layers = len(model.bert.blocks)
    if k > n_layers:
        raise ValueError(f"freeze_lowest_layers: k={k} but the encoder has {n_layers} layers")
    if k == 0:
        return []
    names = freeze(model, "bert.embeddings.*")
    for index in range(k):
        names += freeze(model, f"bert.blocks.{index}.*")
    return sorted(names)
