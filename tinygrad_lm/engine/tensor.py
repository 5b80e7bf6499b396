"""``Tensor``: an array plus what autograd needs to know about it.

A Tensor wraps a NumPy (or CuPy) array ``data``. If it ``requires_grad``, ops applied to it
record a graph, and ``backward()`` fills ``.grad`` (a plain array of the same shape and dtype)
on every leaf that requires grad. A Tensor made by an op remembers its ``Context``; a Tensor
made by the user is a leaf.

This file holds the class and its non-op methods (construction, conversion, backward).
Arithmetic, reductions, reshaping and indexing live in ``tinygrad_lm/ops/``, which attaches
them to Tensor as methods and operators; the engine itself never imports the ops.

Devices: ``tensor(data, device="cuda")`` makes a tensor on the GPU (CuPy); ``x.to("cuda")`` /
``x.to("cpu")`` (or ``x.cuda()`` / ``x.cpu()``) copy explicitly and return ``x`` itself when it
is already there. ``.to`` is an op (``ToDevice``): its result stays in the graph and its
backward copies the gradient back to the source device, so a computation may cross devices,
but only where the code says so. Ops never move their operands: tensors from two devices
in one op raise ``DeviceError``. The few library calls that copy say so in their docs
(``numpy()``/``item()`` read values back; ``Module.load_state_dict`` writes host values into GPU Parameters; ``GPT.generate``).

In-place arithmetic (``W -= lr * W.grad``) updates ``.data`` and keeps the object; it is
allowed under ``no_grad`` or on tensors that do not require grad (``ops/tensor_methods.py``).
Arrays an op saved for backward are read-only until its backward has run (``saved.py``).

Left out: recording in-place ops in the graph, sparse tensors, named dimensions, several GPUs.
"""

import numpy as np

from . import autograd
from .device import array_module, check_device, device_of, on_device, to_device, xp_for
from .dtypes import default_float, is_floating, resolve_dtype
from .errors import DTypeError, GraphError
from .function import Function
from .seeding import as_generator


def _to_array(data, dtype):
    """Make an ndarray from user data, choosing the dtype by the module's rules."""
    if isinstance(data, Tensor):
        data = data.data
    xp = array_module(data)
    if dtype is not None:
        return xp.asarray(data, dtype=resolve_dtype(dtype, "tensor"))
    array = xp.asarray(data)
    if array.dtype.kind == "f" and not hasattr(data, "dtype"):
        array = array.astype(default_float())  # Python floats -> float32
    resolve_dtype(array.dtype, "tensor")
    return array


class Tensor:
    """An n-dimensional array that can record the ops applied to it and backpropagate.

    Attributes:
        data: the array (NumPy or CuPy).
        grad: the accumulated gradient, an array like ``data``, or ``None``.
        requires_grad: whether ops on this tensor are recorded for backward.
    """

    __array_ufunc__ = None  # make ``ndarray + Tensor`` defer to ``Tensor.__radd__``

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ctx = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_op(cls, array, ctx):
        """Wrap an op's output; ``ctx`` is its Context when it must join the graph."""
        tensor = cls.__new__(cls)
        tensor.data, tensor.grad, tensor._ctx = array, None, ctx
        tensor.requires_grad = ctx is not None
        return tensor

    def requires_grad_(self, flag=True):
        """Mark a leaf as needing a gradient. Only floating tensors can."""
        if flag and not is_floating(self.data.dtype):
            raise DTypeError(
                f"requires_grad: a {self.data.dtype} tensor of shape {self.shape} cannot require grad; "
                f"only float16/float32/float64 tensors are differentiable (cast with .astype('float32'))"
            )
        self.requires_grad = bool(flag)
        return self

    # --- what the array looks like -------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return device_of(self.data)

    @property
    def is_leaf(self):
        return self._ctx is None

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        """Iterate over the first axis (each item a differentiable slice), like an ndarray."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor; use .item()")
        return (self[i] for i in range(self.shape[0]))

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        device = "" if self.device == "cpu" else f", device={self.device!r}"
        body = np.array2string(self.numpy(), precision=4, separator=", ", threshold=20)
        return f"Tensor({body}, dtype={self.dtype}{device}{grad})"

    # --- devices -----------------------------------------------------------------------------
    def to(self, device):
        """This tensor on ``device`` ("cpu" or "cuda"): ``self`` when already there, else a copy.

        The copy is differentiable (see ``ToDevice``): gradients flow back to ``self``'s device.
        Raises ``DeviceError`` for an unknown device or "cuda" without CuPy or a GPU.
        """
        check_device(device, "Tensor.to")
        if device == self.device:
            return self
        return ToDevice.apply(self, device=device)

    def cpu(self):
        """``self.to("cpu")``."""
        return self.to("cpu")

    def cuda(self):
        """``self.to("cuda")``."""
        return self.to("cuda")

    # --- leaving the engine ----------------------------------------------------------------
    def numpy(self):
        """The data as a NumPy array (copied off the GPU if needed). Shares memory on the CPU."""
        return self.data if device_of(self.data) == "cpu" else self.data.get()

    def item(self):
        """The value of a one-element tensor as a Python number (read back from the GPU if there)."""
        return self._one_value("item")

    def __float__(self):
        """``float(t)`` of a one-element tensor, any shape (``(1, 1)`` too), as PyTorch allows."""
        return float(self._one_value("float"))

    def __int__(self):
        """``int(t)`` of a one-element tensor; a float value is truncated toward 0, like ``int(2.75)``."""
        return int(self._one_value("int"))

    def __format__(self, spec):
        """``f"{loss:.3f}"`` formats a one-element tensor's value; an empty spec gives ``str(t)``."""
        if not spec:
            return str(self)
        return format(self._one_value(f"format(tensor, {spec!r})"), spec)

    def _one_value(self, where):
        if self.size != 1:
            raise ValueError(
                f"{where}: the tensor has {self.size} elements, not 1 (shape {self.shape}); "
                f"index it first (t[0]) or reduce it (t.sum()) to get one number"
            )
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """The same data, cut from the graph (shares memory, never requires grad)."""
        return Tensor._from_op(self.data, None)

    def __bool__(self):
        if self.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all()"
            )
        return bool(self.data)

    # --- backpropagation -------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is the upstream gradient (same shape and device as ``self``; a Python list is made
        on the device); it may be omitted only for a
        one-element tensor, where it defaults to 1. Saved buffers are freed afterwards unless
        ``retain_graph=True``.
        """
        if not self.requires_grad:
            raise GraphError(
                f"backward: this tensor (shape {self.shape}) does not require grad; "
                f"create a leaf with requires_grad=True and compute from it outside no_grad()"
            )
        xp = array_module(self.data)
        if grad is None:
            if self.size != 1:
                raise GraphError(
                    f"backward: the tensor has shape {self.shape}, not a single value; "
                    f"pass grad= an array of shape {self.shape} (or reduce it first, e.g. .sum())"
                )
            grad = xp.ones(self.shape, dtype=self.dtype)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            grad = xp.asarray(on_device(grad, self.device, "backward: grad"), dtype=self.dtype)
            if grad.shape != self.shape:
                raise GraphError(f"backward: grad has shape {grad.shape}, but the tensor has shape {self.shape}")
        autograd.backward(self, grad, retain_graph=retain_graph)

    def zero_grad(self):
        self.grad = None


class ToDevice(Function):
    """out = x copied to ``device``.  dx = g copied back to x's device.

    Shapes and dtypes are unchanged; only where the array lives. The copy is ``to_device``'s
    (``cupy.asarray`` one way, ``ndarray.get()`` the other).
    """

    @staticmethod
    def forward(ctx, x, device):
        ctx.source = device_of(x)
        return to_device(x, device)

    @staticmethod
    def backward(ctx, g):
        return (to_device(g, ctx.source),)


def tensor(data, requires_grad=False, dtype=None, device=None):
    """Make a leaf Tensor: ``tensor([[1., 2.]], requires_grad=True)``.

    Python floats become float32 (the default), ints int64, bools bool; a NumPy array keeps
    its dtype unless ``dtype`` is given, and its memory is shared, not copied (so while a graph
    has saved it for backward, the array is read-only: see ``engine/saved.py``). ``device`` ("cpu" or "cuda") is where the tensor lives;
    None keeps the data where it is (lists and NumPy arrays: the CPU). Data on another device
    is copied there explicitly (the result is a new leaf).
    """
    array = _to_array(data, dtype)
    if device is not None:
        array = to_device(array, check_device(device, "tensor"))
    return Tensor(array, requires_grad=requires_grad)


def zeros(shape, dtype=None, requires_grad=False, device="cpu"):
    xp = xp_for(check_device(device, "zeros"))
    return Tensor(xp.zeros(shape, dtype=resolve_dtype(dtype or default_float(), "zeros")), requires_grad)


def ones(shape, dtype=None, requires_grad=False, device="cpu"):
    xp = xp_for(check_device(device, "ones"))
    return Tensor(xp.ones(shape, dtype=resolve_dtype(dtype or default_float(), "ones")), requires_grad)


def randn(*shape, rng=None, dtype=None, requires_grad=False, device="cpu"):
    """Standard-normal samples from ``rng`` (a ``numpy.random.Generator`` or a seed).

    Without ``rng`` they come from the default generator, which advances with each call and is
    reseeded by ``tg.manual_seed(n)`` (``engine/seeding.py``), as ``torch.randn`` does.
    Drawn on the host, so a seed gives the same numbers on every device, then copied to ``device``.
    """
    check_device(device, "randn")
    rng = as_generator(rng)
    dtype = resolve_dtype(dtype or default_float(), "randn")
    return Tensor(to_device(rng.standard_normal(shape).astype(dtype), device), requires_grad)


def arange(*args, dtype="int64", device="cpu"):
    xp = xp_for(check_device(device, "arange"))
    return Tensor(xp.arange(*args, dtype=resolve_dtype(dtype, "arange")))
