"""``Module`` and ``Parameter``: how a network keeps track of its weights.

A ``Parameter`` is a Tensor that requires grad. A ``Module`` is an object whose attributes may
be Parameters and other Modules; it finds them by scanning its ``__dict__``, which Python keeps
in assignment order. That order is the contract every checkpoint relies on:

    named_parameters() walks the attributes in the order they were first assigned; a Parameter
    is yielded under its attribute name, a child Module is walked recursively with its name as
    a dotted prefix ("blocks.0.attn.qkv.weight"). ``ModuleList`` names its items "0", "1", ...

A Parameter reachable under several names (weight tying) is yielded once, under the first name
met in that walk, and ``state_dict()`` stores it once under that name. ``load_state_dict``
accepts any of its names (see there).

Everything else is bookkeeping on top of that walk: ``parameters()``, ``named_modules()``,
``train()`` / ``eval()`` (a ``training`` flag set on every module), ``zero_grad()``,
``apply(fn)``, ``num_parameters()``, ``to(device)`` / ``device``, and a readable ``repr``.

Devices: ``model.to("cuda")`` moves every Parameter (and any gradient) in place, so the same
Parameter objects, and an optimizer built on them, follow; build the optimizer after the move
(see ``tinygrad_lm.optim``). ``state_dict()`` always returns host (NumPy) copies and
``load_state_dict`` copies values onto whichever device the module is on. ``functional_call`` runs a
module with some Parameters swapped for other Tensors, which is how ``gradcheck`` (which
differentiates with respect to its inputs) checks a layer's weight gradients.

Left out: buffers (non-trainable state saved in checkpoints; none of our layers needs one),
hooks, parameter groups (the optimizers take lists), modules split across devices.
"""

import numpy as np

from ..engine import Tensor, array_module, check_device, device_of, to_device
from ..engine.errors import DeviceError
from ..engine.saved import claim_for_write


class Parameter(Tensor):
    """A Tensor that is a trainable weight of a Module: always a float leaf with requires_grad.

    ``Parameter(np.zeros((3, 4), dtype="float32"))``; a NumPy array keeps its dtype. Integer
    data raises ``DTypeError`` (only floating tensors can be trained).
    """

    def __init__(self, data, dtype=None):
        super().__init__(data, requires_grad=True, dtype=dtype)

    def __repr__(self):
        return "Parameter" + super().__repr__()[len("Tensor"):]


class StateDictError(ValueError):
    """A state dict that does not fit the module: missing or unexpected names, wrong shapes or dtypes."""


class Module:
    """Base class of every layer and model. Subclasses assign Parameters and Modules as
    attributes in ``__init__`` and define ``forward``; calling the module calls ``forward``."""

    training = True  # class default; train()/eval() set it on each instance

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # --- the walk ----------------------------------------------------------------------------
    def _members(self):
        """(name, Parameter or Module) held directly, in attribute-assignment order."""
        for name, value in vars(self).items():
            if isinstance(value, (Parameter, Module)):
                yield name, value

    def named_children(self):
        """(name, module) for each direct child, in attribute-assignment order."""
        for name, value in self._members():
            if isinstance(value, Module):
                yield name, value

    def children(self):
        return [module for _, module in self.named_children()]

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module ("") and every descendant, each module once."""
        seen, result = set(), []
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            result.append((name, module))
            kids = [(f"{name}.{child}" if name else child, m) for child, m in module.named_children()]
            stack.extend(reversed(kids))  # pop them in assignment order
        return result

    def _named_parameter_slots(self, prefix=""):
        """Every (dotted name, Parameter), aliases included, in the walk order of the module docstring."""
        for name, value in self._members():
            if isinstance(value, Parameter):
                yield prefix + name, value
            else:
                yield from value._named_parameter_slots(f"{prefix}{name}.")

    def named_parameters(self):
        """(dotted name, Parameter) pairs; a tied Parameter appears once, under its first name."""
        seen = set()
        for name, parameter in self._named_parameter_slots():
            if id(parameter) not in seen:
                seen.add(id(parameter))
                yield name, parameter

    def parameters(self):
        """The distinct Parameters, in ``named_parameters()`` order (what an optimizer takes)."""
        return [parameter for _, parameter in self.named_parameters()]

    def num_parameters(self):
        """How many scalars the distinct Parameters hold (tied weights counted once)."""
        return sum(int(p.size) for p in self.parameters())

    # --- modes and gradients ------------------------------------------------------------------
    def train(self, mode=True):
        """Set ``training = mode`` on this module and every descendant (affects Dropout)."""
        for _, module in self.named_modules():
            module.training = bool(mode)
        return self

    def eval(self):
        """Inference mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self):
        """Forget accumulated gradients: every Parameter's ``grad`` becomes None."""
        for parameter in self.parameters():
            parameter.grad = None

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant, children before parents, then on self."""
        for _, module in reversed(self.named_modules()):
            fn(module)
        return self

    # --- devices ------------------------------------------------------------------------------
    def to(self, device):
        """Move every Parameter (and its ``.grad``) to ``device`` in place; returns ``self``.

        An explicit copy per Parameter (``to_device``); Parameters already there are untouched.
        """
        check_device(device, f"{type(self).__name__}.to")
        for parameter in self.parameters():
            parameter.data = to_device(parameter.data, device)
            if parameter.grad is not None:
                parameter.grad = to_device(parameter.grad, device)
        return self

    @property
    def device(self):
        """Where the Parameters live: "cpu" or "cuda" ("cpu" for a module without any).

        A module whose Parameters sit on two devices raises ``DeviceError`` (use ``to``)."""
        devices = sorted({parameter.device for parameter in self.parameters()})
        if len(devices) > 1:
            raise DeviceError(f"{type(self).__name__}: its parameters are on {' and '.join(devices)}; "
                              f"move the whole module with .to('cpu') or .to('cuda')")
        return devices[0] if devices else "cpu"

    # --- checkpoints --------------------------------------------------------------------------
    def state_dict(self):
        """{name: NumPy copy of the Parameter}, in ``named_parameters()`` order, tied weights once."""
        return {name: np.array(p.numpy(), copy=True) for name, p in self.named_parameters()}

    def load_state_dict(self, state, strict=True):
        """Copy arrays from ``state`` (name -> array) into the Parameters, in place.

        A tied Parameter may be given under any of its names (``state_dict()`` uses the first);
        if it is given under several, the values must agree. Every problem is collected and
        reported in one ``StateDictError``:

        - shape mismatches (name, expected, got): always an error;
        - missing and unexpected names, and dtype mismatches: errors when ``strict``; otherwise
          missing names keep their values, unexpected ones are ignored, and values are cast to
          the Parameter's dtype.

        Values may be NumPy arrays, GPU arrays or Tensors on either device; each is copied onto
        the device its Parameter lives on. Nothing is written unless every check passes.
        Returns ``self``.
        """
        slots = list(self._named_parameter_slots())
        names_of = {}  # id(parameter) -> every name it has
        for name, parameter in slots:
            names_of.setdefault(id(parameter), []).append(name)
        known = {name for name, _ in slots}
        unexpected = sorted(set(state) - known)
        missing, mismatched, conflicting, updates = [], [], [], []
        for name, parameter in self.named_parameters():
            given = [n for n in names_of[id(parameter)] if n in state]
            if not given:
                missing.append(name)
                continue
            values = [_host(state[n]) for n in given]
            if any(v.shape != values[0].shape or not np.array_equal(v, values[0]) for v in values[1:]):
                conflicting.append(given)
                continue
            value = values[0]
            if value.shape != parameter.shape:
                mismatched.append(f"{given[0]}: expected shape {parameter.shape}, got {value.shape}")
            elif value.dtype != parameter.dtype and strict:
                mismatched.append(f"{given[0]}: expected dtype {parameter.dtype}, got {value.dtype}")
            else:
                updates.append((parameter, value))
        problems = [f"tied parameter given different values under {', '.join(g)}" for g in conflicting]
        problems += mismatched
        if strict and missing:
            problems.append(f"missing: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected: {', '.join(unexpected)}")
        if problems:
            raise StateDictError(
                f"load_state_dict into {type(self).__name__}: " + "; ".join(problems)
                + ". Compare the names with model.state_dict().keys(); pass strict=False to load a subset"
            )
        for parameter, value in updates:
            claim_for_write(parameter.data, "load_state_dict")  # an old graph holding it goes stale
            parameter.data[...] = array_module(parameter.data).asarray(value, dtype=parameter.dtype)
        return self

    # --- printing -----------------------------------------------------------------------------
    def extra_repr(self):
        """The settings shown inside ``Name(...)``; layers override it."""
        return ""

    def __repr__(self):
        kids = list(self.named_children())
        if not kids:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(module).replace("\n", "\n  ") for name, module in kids]
        head = self.extra_repr()
        return f"{type(self).__name__}(" + (f"{head}" if head else "") + "\n" + "\n".join(lines) + "\n)"


def _host(value):
    """A state-dict value (array-like or Tensor, on either device) as a NumPy array."""
    data = value.data if isinstance(value, Tensor) else value
    return np.asarray(to_device(data, "cpu") if device_of(data) != "cpu" else data)


def functional_call(module, parameters, *args, **kwargs):
    """``module(*args, **kwargs)`` with some Parameters replaced by the given Tensors.

    ``parameters`` maps names from ``named_parameters()`` to Tensors of the same shape; a tied
    Parameter is replaced under all of its names. The originals are put back afterwards, even
    if the call raises. This lets ``gradcheck`` differentiate with respect to a module's weights:

        gradcheck(lambda x, w: functional_call(layer, {"weight": w}, x), x, layer.weight)
    """
    owners = dict(module.named_modules())
    slots = {}  # id(Parameter) -> [(owning module, attribute name), ...]
    by_name = {}
    for name, parameter in module._named_parameter_slots():
        prefix, _, attribute = name.rpartition(".")
        slots.setdefault(id(parameter), []).append((owners[prefix], attribute))
        by_name[name] = parameter
    unknown = sorted(set(parameters) - set(by_name))
    if unknown:
        raise KeyError(f"functional_call: {type(module).__name__} has no parameters named {unknown}")
    swaps = []
    for name, replacement in parameters.items():
        if tuple(replacement.shape) != by_name[name].shape:
            raise ValueError(f"functional_call: {name} has shape {by_name[name].shape}, "
                             f"the replacement has shape {tuple(replacement.shape)}")
        swaps += [(owner, attribute, replacement) for owner, attribute in slots[id(by_name[name])]]
    originals = [(owner, attribute, vars(owner)[attribute]) for owner, attribute, _ in swaps]
    try:
        for owner, attribute, replacement in swaps:
            setattr(owner, attribute, replacement)
        return module(*args, **kwargs)
    finally:
        for owner, attribute, original in reversed(originals):
            setattr(owner, attribute, original)


class ModuleList(Module):
    """A list of Modules whose Parameters are registered under "0.", "1.", ... prefixes."""

    def __init__(self, modules=()):
        self._items = []
        for module in modules:
            self.append(module)

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.append: expected a Module, got {type(module).__name__}")
        self._items.append(module)
        return self

    def _members(self):
        for index, module in enumerate(self._items):
            yield str(index), module

    def __getitem__(self, index):
        return self._items[index]

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items)


class Sequential(ModuleList):
    """Modules applied one after another: ``Sequential(a, b)(x) == b(a(x))``."""

    def __init__(self, *modules):
        super().__init__(modules)

    def forward(self, x):
        for module in self._items:
            x = module(x)
        return x
