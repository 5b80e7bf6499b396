"""The engine's switches: gradient recording and anomaly detection, one setting per thread.

``no_grad()`` turns off graph building (inference, optimizer updates); it works as a context
manager and as a decorator. ``detect_anomaly()`` makes every op check its forward output and
every backward check its gradients for NaN or Inf, naming the first op that produced one.

Both are thread-local, as in PyTorch: a ``no_grad`` block changes only the thread that enters
it, so one thread can run inference under ``no_grad`` while another trains. A new thread
starts with recording on and anomaly detection off, whatever the thread that started it was
doing (PyTorch's rule too: wrap the new thread's work in ``no_grad`` if it should not record).
The backward walk runs under ``no_grad`` in its own thread only.
"""

import contextlib
import threading


class _Modes(threading.local):
    """Per-thread flags; the class attributes are what a new thread starts with."""

    grad_enabled = True
    anomaly = False


_modes = _Modes()


def is_grad_enabled():
    """Whether ops in this thread record a graph now."""
    return _modes.grad_enabled


def is_anomaly_enabled():
    """Whether this thread checks every forward output and gradient for NaN/Inf now."""
    return _modes.anomaly


class _Switch(contextlib.ContextDecorator):
    """Set one flag of this thread for a ``with`` block or a decorated call, then restore it."""

    def __init__(self, name, value):
        self.name, self.value = name, value

    def _recreate_cm(self):
        return _Switch(self.name, self.value)  # each decorated call (any thread, any depth) its own

    def __enter__(self):
        self.previous = getattr(_modes, self.name)
        setattr(_modes, self.name, self.value)
        return self

    def __exit__(self, *exc):
        setattr(_modes, self.name, self.previous)
        return False


def no_grad():
    """Ops run inside build no graph: their outputs never require grad (this thread only)."""
    return _Switch("grad_enabled", False)


def enable_grad():
    """Turn recording back on inside a ``no_grad`` region (this thread only)."""
    return _Switch("grad_enabled", True)


def detect_anomaly():
    """Check every forward output and every gradient for NaN/Inf; raise naming the op.

    Slow (one extra pass over every array), so only for debugging. Only this thread checks.
    """
    return _Switch("anomaly", True)
