"""``Function`` and ``Context``: the unit every differentiable op is written as.

An op is a subclass of ``Function`` with two static methods working on raw arrays:

    forward(ctx, *arrays, **attrs) -> array
    backward(ctx, grad_out) -> tuple    # one gradient (or None) per array input

``forward`` saves what ``backward`` needs by name, ``ctx.save(x=x, y=out)``, and reads it back
as ``ctx.x``. Non-array settings (an axis, a shape) are plain attributes: ``ctx.axis = axis``.
``Function.apply(*tensors, **attrs)`` runs ``forward`` and, when any input requires grad and
recording is on, links the output to a ``Context`` that remembers the inputs.

Op authors never un-broadcast a gradient or check its shape and dtype: the graph walk in
``autograd.py`` does both, once, for every op. Integer and mask inputs get ``None``.
``ctx.needs_input_grad[i]`` tells backward which gradients are wanted, so it can skip work
(and avoid e.g. ``log`` of a negative base in ``pow``).

Left out: double backward (the engine is first-order), multiple outputs per op (ops with
several results, like ``split``, are built from several single-output ops).
"""

from .device import array_module, device_of
from .errors import DeviceError, GraphError
from .grad_mode import is_anomaly_enabled, is_grad_enabled


class Context:
    """What one op call remembers for its backward: inputs, saved arrays, settings."""

    def __init__(self, function, inputs):
        self.function = function
        self.inputs = inputs
        self.needs_input_grad = tuple(t.requires_grad for t in inputs)
        self.saved = {}
        self.released = False

    def save(self, **arrays):
        """Keep arrays for backward under a name: ``ctx.save(x=x)`` then ``ctx.x``."""
        self.saved.update(arrays)

    def __getattr__(self, name):
        # Only called when normal lookup fails, i.e. for saved names.
        saved = self.__dict__.get("saved", {})
        if name in saved:
            return saved[name]
        if self.__dict__.get("released"):
            raise GraphError(
                f"{self.function.__name__}: its saved buffers were freed by an earlier backward(); "
                f"call backward(retain_graph=True) the first time to backpropagate twice"
            )
        raise AttributeError(f"{self.function.__name__} context has no saved value {name!r}")

    def release(self):
        """Drop the saved arrays so their memory can be freed after backward."""
        self.saved = {}
        self.released = True


class Function:
    """Base class of every differentiable op. Subclasses define ``forward`` and ``backward``."""

    @staticmethod
    def forward(ctx, *arrays, **attrs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_out):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **attrs):
        """Run the op on Tensors and return a Tensor linked into the graph when needed."""
        from .tensor import (
            Tensor,  # tensor.py imports this module; avoid the import cycle.
        )

        _check_same_device(cls, inputs)
        ctx = Context(cls, inputs)
        out = cls.forward(ctx, *(t.data for t in inputs), **attrs)
        out = array_module(out).asarray(out)  # NumPy returns 0-d results as scalars; keep arrays
        if is_anomaly_enabled():
            check_finite(out, f"{cls.__name__}.forward")
        requires_grad = is_grad_enabled() and any(ctx.needs_input_grad)
        if requires_grad and out.dtype.kind != "f":
            requires_grad = False  # integer results (argmax, comparisons) have no gradient
        result = Tensor._from_op(out, ctx if requires_grad else None)
        return result


def _check_same_device(function, inputs):
    devices = {device_of(t.data) for t in inputs}
    if len(devices) > 1:
        shapes = ", ".join(f"{device_of(t.data)}{tuple(t.shape)}" for t in inputs)
        raise DeviceError(
            f"{function.__name__}: inputs live on different devices ({shapes}); "
            f"move them explicitly with .to('cpu') or .to('cuda')"
        )


def check_finite(array, where):
    """Raise ``FloatingPointError`` naming ``where`` if a float array holds NaN or Inf."""
    if array is None or array.dtype.kind != "f":
        return
    xp = array_module(array)
    if not bool(xp.isfinite(array).all()):
        kind = "NaN" if bool(xp.isnan(array).any()) else "Inf"
        raise FloatingPointError(f"detect_anomaly: {where} produced {kind} (shape {array.shape})")


__all__ = ["Context", "Function", "check_finite"]
