"""Global switches of the engine: gradient recording and anomaly detection.

``no_grad()`` turns off graph building (inference, optimizer updates); it works as a context
manager and as a decorator. ``detect_anomaly()`` makes every op check its forward output and
every backward check its gradients for NaN or Inf, naming the first op that produced one.
Both are plain module-level flags: the engine is single-threaded by design.
"""

import contextlib

_state = {"grad_enabled": True, "anomaly": False}


def is_grad_enabled():
    return _state["grad_enabled"]


def is_anomaly_enabled():
    return _state["anomaly"]


class _Switch(contextlib.ContextDecorator):
    """Set one flag for the duration of a ``with`` block or a decorated call, then restore it."""

    def __init__(self, name, value):
        self.name, self.value = name, value

    def __enter__(self):
        self.previous = _state[self.name]
        _state[self.name] = self.value
        return self

    def __exit__(self, *exc):
        _state[self.name] = self.previous
        return False


def no_grad():
    """Ops run inside build no graph: their outputs never require grad."""
    return _Switch("grad_enabled", False)


def enable_grad():
    """Turn recording back on inside a ``no_grad`` region."""
    return _Switch("grad_enabled", True)


def detect_anomaly():
    """Check every forward output and every gradient for NaN/Inf; raise naming the op.

    Slow (one extra pass over every array), so only for debugging.
    """
    return _Switch("anomaly", True)
