"""Measuring a language model: mean cross-entropy (nats per token) and perplexity.

Two estimates, for two jobs:

- ``estimate_loss``: the mean loss over ``n_batches`` random windows, as nanoGPT reports it
  during training. Cheap, slightly noisy; its RNG is seeded from (seed, step, split) so it
  never disturbs the training sampler and is the same on every run.
- ``split_loss``: the exact mean loss over every non-overlapping window of a split (each
  token predicted once, with up to ``block_size`` tokens of context), or over an evenly
  spaced subset of the windows. Used by ``tinygrad-lm eval``.

Perplexity is exp(loss): the effective number of equally likely next tokens
(``tinygrad_lm.metrics.perplexity``, re-exported here). Batches are cut
on the host and copied to the model's device explicitly, one batch at a time.
"""

import numpy as np

from ..engine import no_grad, tensor
from ..metrics import perplexity  # noqa: F401  (re-exported: train.perplexity is metrics.perplexity)


def _mean_loss(model, batches):
    total, count = 0.0, 0
    device = model.device
    with no_grad():
        for x, y in batches:
            _, loss = model(tensor(x, device=device), tensor(y, device=device))  # host -> device
            total += float(loss.item()) * y.size
            count += y.size
    return total / count


def _eval_mode(model):
    """Put ``model`` in eval mode; returns a function that restores every module's mode."""
    modes = [(module, module.training) for _, module in model.named_modules()]
    model.eval()

    def restore():
        for module, training in modes:
            module.training = training

    return restore


def estimate_loss(model, ids, block_size, batch_size, n_batches, seed):
    """Mean loss over ``n_batches`` random (batch_size, block_size) windows of ``ids``."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(ids) - block_size, size=(n_batches, batch_size))
    offsets = np.arange(block_size)
    batches = ((ids[s[:, None] + offsets], ids[s[:, None] + offsets + 1]) for s in starts)  # (B, T) each
    restore = _eval_mode(model)
    try:
        return _mean_loss(model, batches)
    finally:
        restore()


def split_loss(model, ids, block_size, batch_size=64, max_windows=None):
    """Exact mean loss over the non-overlapping windows of ``ids`` (the tail that does not fill a
    window is dropped). With ``max_windows``, only that many evenly spaced windows are used."""
    n_windows = (len(ids) - 1) // block_size
    if n_windows == 0:
        raise ValueError(f"split_loss: {len(ids)} tokens do not fill one window of {block_size} + 1")
    x = ids[: n_windows * block_size].reshape(n_windows, block_size)  # (N*T,) -> (N, T)
    y = ids[1 : n_windows * block_size + 1].reshape(n_windows, block_size)  # (N, T)
    if max_windows is not None and max_windows < n_windows:
        keep = np.linspace(0, n_windows - 1, max_windows).astype(np.int64)  # evenly spaced rows
        x, y, n_windows = x[keep], y[keep], max_windows
    batches = ((x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, n_windows, batch_size))
    restore = _eval_mode(model)
    try:
        return _mean_loss(model, batches)
    finally:
        restore()
