"""Choosing the next token from logits, and the decoding loop around any model.

``sample_next(logits, temperature, top_k, top_p, rng)`` turns next-token logits (B, V) into
token ids (B,), applying, in this order (the order Hugging Face's samplers use):

1. temperature: logits / T. ``T = 0`` means greedy decoding (argmax; no division by zero);
   top_k and top_p are then irrelevant. Ties in argmax go to the lowest token id.
2. top-k: keep the k largest logits. Exactly k survive: ties at the boundary are broken in
   favour of the lower token id (a stable sort), so ``top_k=1`` is greedy decoding.
3. top-p (nucleus sampling, Holtzman et al. 2020): sort the remaining tokens by probability
   and keep the smallest prefix whose mass reaches p. A token is kept when the mass strictly
   before it is < p, so the most likely token always survives, whatever p.
4. sample from the renormalised probabilities with inverse-CDF sampling: draw u ~ U[0, 1) per
   row and take the first token whose cumulative probability exceeds u.

All arithmetic is in float64 on NumPy arrays, on the host: sampling is not differentiable,
needs no graph, and draws from a NumPy Generator, so the same seed picks the same tokens on
every device. Logits or a prompt on the GPU are copied to the host explicitly
(``Tensor.numpy()`` / ``to_device``): per step that is the last position's (B, V) logits, small
next to the forward pass that made them.

``generate_tokens(step_fn, prompt, max_new_tokens, ...)`` is the loop: it asks a duck-typed model for the logits of the next position, samples, appends, and stops early when
every row has produced ``stop_token``. It knows nothing about models or caches, so it works
for any model that can map a token sequence to next-token logits. (``GPT.generate`` gives it
a step function over ``models.gpt_decode.GPTDecoder``, a graph-free forward with its own cache.)

Left out: beam search, repetition penalties, min-p, speculative decoding.
"""

import numbers

import numpy as np

from .engine import Tensor, to_device


def _check_settings(temperature, top_k, top_p):
    if not isinstance(temperature, numbers.Real) or not temperature >= 0:
        raise ValueError(f"sample_next: temperature must be a number >= 0 (0 = greedy), got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, numbers.Integral) or top_k < 1):
        raise ValueError(f"sample_next: top_k must be a positive int or None, got {top_k!r}")
    if top_p is not None and (not isinstance(top_p, numbers.Real) or not 0 < top_p <= 1):
        raise ValueError(f"sample_next: top_p must be in (0, 1] or None, got {top_p!r}")


def _softmax(logits):
    """Row-wise softmax of (B, V) float64 logits; -inf entries get probability 0."""
    shifted = logits - logits.max(axis=-1, keepdims=True)  # max-subtraction: exp never overflows
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, rng=None):
    """Next token ids (B,) int64 from next-token logits (B, V); see the module docstring.

    ``rng``: a ``numpy.random.Generator`` (or a seed); required unless decoding greedily.
    """
    logits = logits.numpy() if isinstance(logits, Tensor) else np.asarray(to_device(logits, "cpu"))
    if logits.ndim != 2 or logits.shape[1] == 0 or logits.dtype.kind != "f":
        raise ValueError(f"sample_next: logits must be a float array (batch, vocab), "
                         f"got {logits.dtype} {logits.shape}")
    _check_settings(temperature, top_k, top_p)
    unusable = (np.isnan(logits) | np.isposinf(logits)).any(axis=-1) | ~np.isfinite(logits).any(axis=-1)
    if unusable.any():
        raise ValueError(f"sample_next: row {int(np.argmax(unusable))} of the logits holds NaN or +inf, or no "
                         f"finite value; every row needs at least one finite logit and no NaN or +inf")
    if temperature == 0:
        return logits.argmax(axis=-1).astype(np.int64)
    if rng is None:
        raise ValueError("sample_next: sampling needs rng= (a numpy Generator or a seed); "
                         "use temperature=0 for greedy decoding")
    rng = np.random.default_rng(rng)
    scaled = logits.astype(np.float64) / temperature
    batch, vocab = scaled.shape
    rows = np.arange(batch)[:, None]
    order = np.argsort(-scaled, axis=-1, kind="stable")  # (B, V): token ids, most likely first
    keep = np.ones((batch, vocab), dtype=bool)  # in sorted order
    if top_k is not None and top_k < vocab:
        keep[:, top_k:] = False
    if top_p is not None:
        sorted_logits = np.where(keep, scaled[rows, order], -np.inf)
        probs = _softmax(sorted_logits)  # renormalised over the tokens top-k kept
        mass_before = np.cumsum(probs, axis=-1) - probs
        keep &= mass_before < top_p  # position 0 has mass_before 0 < p: always kept
    filtered = np.full_like(scaled, -np.inf)
    filtered[rows, order] = np.where(keep, scaled[rows, order], -np.inf)  # back to token order
    cdf = np.cumsum(_softmax(filtered), axis=-1)  # (B, V)
    cdf /= cdf[:, -1:]  # exactly 1 at the end, whatever the rounding
    u = rng.random(batch)[:, None]  # (B, 1) in [0, 1)
    return np.argmax(cdf > u, axis=-1).astype(np.int64)  # first token whose CDF exceeds u


def generate_tokens(step_fn, prompt, max_new_tokens, temperature=1.0, top_k=None, top_p=None,
                    stop_token=None, rng=None):
    """Extend ``prompt`` (B, T0) ints by up to ``max_new_tokens`` sampled tokens.

    ``step_fn(ids)`` gets the whole sequence so far, (B, T) int64, and returns the logits of the
    next position, (B, V); it may keep state between calls (a KV cache) and feed only the new
    tokens to its model. With ``stop_token``, a row that has produced it is padded with it from
    then on, and the loop ends once every row has. Returns (B, T0 + n) int64, n <= max_new_tokens.
    """
    ids = np.asarray(prompt.numpy() if isinstance(prompt, Tensor) else to_device(prompt, "cpu"))
    if ids.ndim != 2 or ids.dtype.kind not in "iu" or ids.shape[1] == 0:
        raise ValueError(f"generate_tokens: prompt must be integer ids of shape (batch, time>=1), "
                         f"got {ids.dtype} {ids.shape}")
    if not isinstance(max_new_tokens, numbers.Integral) or max_new_tokens < 0:
        raise ValueError(f"generate_tokens: max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
    ids = ids.astype(np.int64)
    rng = None if rng is None else np.random.default_rng(rng)  # a seed becomes one Generator, not one per step
    finished = np.zeros(ids.shape[0], dtype=bool)
    for _ in range(max_new_tokens):
        next_ids = sample_next(step_fn(ids), temperature, top_k, top_p, rng)  # (B,)
        if stop_token is not None:
            next_ids = np.where(finished, stop_token, next_ids)
            finished |= next_ids == stop_token
        ids = np.concatenate([ids, next_ids[:, None]], axis=1)  # (B, T) -> (B, T + 1)
        if stop_token is not None and finished.all():
            break
    return ids
