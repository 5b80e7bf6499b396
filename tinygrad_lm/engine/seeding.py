"""The default random generator, and ``manual_seed`` to make it repeat, as in PyTorch.

Functions that draw random numbers take ``rng=`` (a ``numpy.random.Generator``). When it is
omitted they draw from one module-level generator, which advances with every draw: two calls
of ``tg.randn(3)`` give different numbers, and ``tg.manual_seed(n)`` restarts the stream.

    tg.manual_seed(0)
    a = tg.randn(3); b = tg.randn(3)     # different from each other
    tg.manual_seed(0)
    tg.randn(3)                          # equals a again

Like PyTorch's default generator, it starts from a fixed seed (0) when the package is
imported, so a script that never seeds still repeats from one run to the next; and it is one
generator for the whole process, shared by every thread (NumPy's generators lock around each
draw, so sharing is safe, but the interleaving of threads decides who gets which numbers:
give each thread its own ``rng=`` when that matters).

Left out: per-device generators (GPU tensors are drawn on the host and copied, so a seed gives
the same numbers on every device), saving and restoring the generator's state.
"""

import numbers

import numpy as np

_state = {"generator": np.random.default_rng(0)}


def manual_seed(seed):
    """Reseed the default generator with ``seed`` (an int >= 0) and return it."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"manual_seed: the seed must be a non-negative int, got {seed!r}")
    _state["generator"] = np.random.default_rng(int(seed))
    return _state["generator"]


def default_generator():
    """The generator used when no ``rng=`` is given (reseeded by ``manual_seed``)."""
    return _state["generator"]


def as_generator(rng):
    """``rng`` as a Generator: None -> the default generator; a seed -> a new generator."""
    return default_generator() if rng is None else np.random.default_rng(rng)


__all__ = ["as_generator", "default_generator", "manual_seed"]
