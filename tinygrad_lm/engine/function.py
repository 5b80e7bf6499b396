"""``Function`` and ``Context``: the unit every differentiable op is written as.

An op is a subclass of ``Function`` with two static methods working on raw arrays:

    forward(ctx, *arrays, **attrs) -> array
    backward(ctx, grad_out) -> tuple    # one gradient (or None) per array input

``forward`` saves what ``backward`` needs by name, ``ctx.save(x=x, y=out)``, and reads it back
as ``ctx.x``. Non-array settings (an axis, a shape) are plain attributes: ``ctx.axis = axis``.
``Function.apply(*tensors, **attrs)`` runs ``forward`` and, when any input requires grad and
recording is on, links the output to a ``Context`` that remembers the inputs. Positional
inputs must be Tensors (anything else is a ``TypeError`` naming the op, the position and the
type); settings go in as keyword arguments and reach ``forward`` as keywords.

Once the op joins the graph its saved arrays are *held* (read-only) until the context is
released, after its backward or when the graph is collected (``saved.py``), so a write in
between cannot silently change the gradient. A forward must never write into its inputs, and
a backward never into what it saved.

Op authors never un-broadcast a gradient or check its shape and dtype: the graph walk in
``autograd.py`` does both, once, for every op. Integer and mask inputs get ``None``.
``ctx.needs_input_grad[i]`` tells backward which gradients are wanted, so it can skip work
(and avoid e.g. ``log`` of a negative base in ``pow``).

Left out: double backward (the engine is first-order), multiple outputs per op (ops with
several results, like ``split``, are built from several single-output ops).
"""

from . import saved as saved_arrays
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
        self.held = None  # a saved.Token once the op joins the graph (saved arrays read-only)

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

    def hold_saved(self):
        """Make the saved arrays read-only until ``release`` (see ``saved.py``)."""
        self.held = saved_arrays.hold(self.saved.values(), self.function.__name__)

    def release(self):
        """Drop the saved arrays so their memory can be freed after backward, and let go of them."""
        saved_arrays.let_go(self.held)
        self.held = None
        self.saved = {}
        self.released = True

    def __del__(self):
        # A graph dropped without backward (or kept with retain_graph) lets go when collected.
        if self.__dict__.get("held"):
            saved_arrays.let_go(self.held, from_del=True)


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

        _check_inputs(cls, inputs, Tensor)
        ctx = Context(cls, inputs)
        out = cls.forward(ctx, *(t.data for t in inputs), **attrs)
        out = array_module(out).asarray(out)  # NumPy returns 0-d results as scalars; keep arrays
        if is_anomaly_enabled():
            check_finite(out, f"{cls.__name__}.forward")
        requires_grad = is_grad_enabled() and any(ctx.needs_input_grad)
        if requires_grad and out.dtype.kind != "f":
            requires_grad = False  # integer results (argmax, comparisons) have no gradient
        if requires_grad and ctx.saved:
            ctx.hold_saved()
        return Tensor._from_op(out, ctx if requires_grad else None)


def _check_inputs(function, inputs, tensor_type):
    """Inputs must be Tensors on one device; say which input is not, and where settings go."""
    for index, value in enumerate(inputs):
        if not isinstance(value, tensor_type):
            kind = type(value).__qualname__
            if type(value).__module__ != "builtins":
                kind = f"{type(value).__module__}.{kind}"
            raise TypeError(
                f"{function.__name__}.apply: input {index} is a {kind}, not a Tensor; inputs must be "
                f"Tensors (wrap arrays with tg.tensor(...)), and non-array settings go in as keyword "
                f"arguments: {function.__name__}.apply(x, name=value) reaches forward(ctx, x, name=value)"
            )
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
