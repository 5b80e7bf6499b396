"""The optimizer base class: parameter groups, the update loop, zero_grad, a pickle-free state dict.

Parameter groups. An optimizer holds its parameters in groups; each group is a dict with the
group's tensors under ``"params"`` and one value per hyperparameter. Keys a group leaves out
take the optimizer's defaults (the keyword arguments), as in PyTorch:

    AdamW([{"params": weights, "weight_decay": 0.1},
           {"params": biases, "weight_decay": 0.0}], lr=3e-4)

A plain iterable of tensors is one group. Parameters are tinygrad_lm Tensors (``nn.Parameter``
is one); the optimizer only touches ``.data`` and ``.grad``. Passing ``(name, tensor)`` pairs
instead (``model.named_parameters()``) records the names in ``group["param_names"]`` and in the
state dict, so a checkpoint of another model is refused by name. A parameter may sit in one
group only; frozen parameters (``.grad`` stays None) are simply never updated.

The update. ``step()`` visits every parameter whose ``.grad`` is not None and calls the
subclass's ``update(param, grad, state, group)`` on raw arrays, under ``no_grad``. ``update``
writes into ``param`` in place (the same array object keeps its dtype) and never into
``grad``; it uses ``xp = array_module(param)``, so CuPy arrays work unchanged. ``state`` is the
parameter's dict of moment buffers and counters, ``self.state[i]`` for the i-th parameter in
flat order (group 0's parameters first), filled on the parameter's first update.

Devices. State arrays are created by ``update`` with the parameter's array module, so they
live on the parameter's device (moments of a GPU parameter are CuPy arrays). ``step`` checks
that each parameter, its gradient and its state arrays share a device and raises
``DeviceError`` otherwise: a model moved (``model.to``) after the optimizer's first step keeps
stale state on the old device, and nothing is moved silently. Either move the model before
the first step, or carry the state over explicitly with ``opt.load_state_dict(opt.state_dict())``,
which copies every state array onto its parameter's current device.

The state dict (for checkpoints: NumPy arrays plus JSON, never pickle):

    state_arrays() -> {"state.<i>.<key>": np.ndarray}     # e.g. "state.3.exp_avg"; host copies
    state_meta()   -> {"format": "tinygrad_lm.optim/1", "optimizer": "AdamW",
                       "param_groups": [{"lr": 3e-4, "betas": [0.9, 0.95], ..., (current lr)
                                         "param_shapes": [[64, 64], [64]],
                                         "param_names": ["h.0.w", "h.0.b"] or None}, ...],
                       "state": [{"step": 5}, {"step": 5}, {}, ...]}  # non-array state
    state_dict()   -> {"meta": state_meta(), "arrays": state_arrays()}

Write the arrays with safetensors (``save_file(arrays, path)``) or ``np.savez``, the meta with
``json.dumps``; ``load_state_dict({"meta": ..., "arrays": ...})`` restores both, after checking
the optimizer class, the group count, every parameter's shape and (when both sides have them)
names, and every array's key and shape. Nothing is changed unless all checks pass.

Left out: ``add_param_group``, ``step(closure)``, sparse gradients, hooks, fused multi-tensor
updates (a backend kernel such as ``adamw_step`` can replace ``update`` later).
"""

import numbers
from typing import ClassVar

import numpy as np

from ..engine import Tensor, array_module, device_of, no_grad, to_device
from ..engine.dtypes import is_floating
from ..engine.errors import DeviceError, DTypeError, ShapeError
from ..engine.saved import claim_for_write
from ._checks import as_float, require

STATE_FORMAT = "tinygrad_lm.optim/1"
GROUP_LAYOUT_KEYS = ("param_shapes", "param_names")  # state-dict group keys that are not hyperparameters


def _to_host(array):
    """A NumPy copy of a NumPy or CuPy array: state dicts always hold host arrays."""
    return array.copy() if device_of(array) == "cpu" else to_device(array, "cpu")


def _is_scalar(value):
    return isinstance(value, numbers.Number)


def _as_group_list(params, where):
    """The constructor's ``params`` as a list of group dicts (one group for a plain iterable)."""
    if isinstance(params, (Tensor, dict)):
        raise TypeError(f"{where}: params must be an iterable of tensors, of (name, tensor) pairs or "
                        f"of param-group dicts, got a single {type(params).__name__}; wrap it in a list")
    params = list(params)
    if not params:
        raise ValueError(f"{where}: got an empty parameter list; pass e.g. model.parameters()")
    kinds = {isinstance(entry, dict) for entry in params}
    if kinds == {True, False}:
        raise TypeError(f"{where}: params mixes param-group dicts with tensors; use only dicts "
                        f"or only tensors")
    return params if kinds == {True} else [{"params": params}]


def _split_named(entries, where):
    """(tensors, names or None) from a group's entries: all tensors or all (name, tensor) pairs."""
    named = [isinstance(e, tuple) and len(e) == 2 and isinstance(e[0], str) for e in entries]
    if any(named) and not all(named):
        raise ValueError(f"{where}: params mixes (name, tensor) pairs with bare tensors; use one kind")
    tensors = [e[1] for e in entries] if all(named) else list(entries)
    for k, param in enumerate(tensors):
        if not isinstance(param, Tensor):
            raise TypeError(f"{where}: params[{k}] is a {type(param).__name__}, not a tinygrad_lm "
                            f"Tensor; pass the model's parameters")
        if not is_floating(param.dtype):
            raise DTypeError(f"{where}: params[{k}] has dtype {param.dtype}; only floating "
                             f"tensors can be optimized")
        if not param.is_leaf:
            raise ValueError(f"{where}: params[{k}] (shape {param.shape}) is the result of an op, "
                             f"not a leaf; optimize the leaf tensors it was computed from")
    return tensors, ([e[0] for e in entries] if all(named) else None)


class Optimizer:
    """Base class of every optimizer (see the module docstring for groups and the state dict).

    A subclass declares ``hyperparameter_types`` (name -> float, bool, or tuple for a pair of
    floats), ``state_keys`` (every key its per-parameter state may hold) and
    ``required_state_keys`` (those any non-empty state must hold), passes its keyword
    arguments to ``__init__`` as the defaults, and implements ``check_group(group, where)``
    (raise ``ValueError`` naming the field) and ``update(param, grad, state, group)``.
    """

    hyperparameter_types: ClassVar[dict] = {}
    state_keys = ()
    required_state_keys = ()

    def __init__(self, params, defaults):
        where = type(self).__name__
        self.defaults = self._read_hyperparameters(defaults, where)
        self.param_groups = [self._make_group(group, f"{where} (param group {g})")
                             for g, group in enumerate(_as_group_list(params, where))]
        owner = {}
        for g, group in enumerate(self.param_groups):
            for param in group["params"]:
                if id(param) in owner:
                    raise ValueError(f"{where}: a parameter of shape {param.shape} appears in param "
                                     f"group {owner[id(param)]} and again in param group {g}; each "
                                     f"parameter may be listed once")
                owner[id(param)] = g
        self.state = [{} for _ in owner]

    # --- what subclasses provide -------------------------------------------------------------
    def check_group(self, group, where):
        raise NotImplementedError(f"{type(self).__name__} must implement check_group")

    def update(self, param, grad, state, group):
        raise NotImplementedError(f"{type(self).__name__} must implement update")

    # --- groups ---------------------------------------------------------------------------------
    def _read_hyperparameter(self, where, key, value):
        """One hyperparameter as its declared type: bool, a pair of floats, or float."""
        kind = self.hyperparameter_types[key]
        if kind is bool:
            require(isinstance(value, (bool, np.bool_)), where, key, value, "must be True or False")
            return bool(value)
        if kind is tuple:
            require(isinstance(value, (tuple, list)) and len(value) == 2, where, key, value,
                    "must be a pair of numbers")
            return tuple(as_float(where, f"{key}[{i}]", v) for i, v in enumerate(value))
        return as_float(where, key, value)

    def _read_hyperparameters(self, values, where):
        """All hyperparameters from ``values`` (a dict with every key), read and checked."""
        hyper = {key: self._read_hyperparameter(where, key, values[key]) for key in self.hyperparameter_types}
        self.check_group(hyper, where)
        return hyper

    def _make_group(self, group, where):
        if "params" not in group:
            raise ValueError(f"{where}: a param-group dict needs a 'params' entry")
        unknown = sorted(set(group) - set(self.defaults) - {"params"})
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; a group may set 'params' and "
                             f"{sorted(self.defaults)}")
        entries = group["params"]
        if isinstance(entries, Tensor):
            raise TypeError(f"{where}: 'params' must be a list of tensors, got a single Tensor; "
                            f"wrap it in a list")
        entries = list(entries)
        if not entries:
            raise ValueError(f"{where}: 'params' is empty; drop the group or give it parameters")
        tensors, names = _split_named(entries, where)
        hyper = self._read_hyperparameters({**self.defaults, **group}, where)
        return {"params": tensors, **hyper, "param_names": names}

    def _flat(self):
        """Yield (flat index, group, parameter) over all groups in order."""
        index = 0
        for group in self.param_groups:
            for param in group["params"]:
                yield index, group, param
                index += 1

    def _label(self, index):
        """'parameter 3 ('h.0.w', param group 1, shape (4, 4))', for error messages."""
        positions = [(g, k) for g, group in enumerate(self.param_groups) for k in range(len(group["params"]))]
        g, k = positions[index]
        names, param = self.param_groups[g]["param_names"], self.param_groups[g]["params"][k]
        name = f"{names[k]!r}, " if names else ""
        return f"parameter {index} ({name}param group {g}, shape {param.shape})"

    # --- the update -----------------------------------------------------------------------------
    def step(self):
        """Update every parameter that has a gradient, in place; parameters without one are skipped."""
        with no_grad():
            for index, group, param in self._flat():
                grad = param.grad
                if grad is None:
                    continue
                if grad.shape != param.shape:
                    raise ShapeError(f"{type(self).__name__}.step: {self._label(index)} has a "
                                     f"gradient of shape {grad.shape}")
                if grad.dtype != param.dtype:
                    raise DTypeError(f"{type(self).__name__}.step: {self._label(index)} has dtype "
                                     f"{param.dtype} but its gradient has dtype {grad.dtype}")
                self._check_devices(index, param, grad)
                claim_for_write(param.data, f"{type(self).__name__}.step")  # an old graph holding it goes stale
                self.update(param.data, grad, self.state[index], group)

    def _check_devices(self, index, param, grad):
        """The parameter, its gradient and its state arrays must share a device (module docstring)."""
        state = self.state[index]
        if type(param.data) is np.ndarray and type(grad) is np.ndarray and all(  # exactly NumPy's: host arrays
                type(value) is np.ndarray or _is_scalar(value) for value in state.values()):
            return  # all on the host: the usual case, decided without asking each array its device
        where = f"{type(self).__name__}.step"
        if device_of(grad) != param.device:
            raise DeviceError(f"{where}: {self._label(index)} is on {param.device} but its gradient is "
                              f"on {device_of(grad)}; compute the loss on the parameter's device")
        stale = sorted(key for key, value in self.state[index].items()
                       if not _is_scalar(value) and device_of(value) != param.device)
        if stale:
            old = device_of(self.state[index][stale[0]])
            raise DeviceError(f"{where}: {self._label(index)} is on {param.device} but its optimizer state "
                              f"({', '.join(stale)}) is on {old}: the model moved after the first step. "
                              f"Move the model before the first step, or copy the state over explicitly "
                              f"with optimizer.load_state_dict(optimizer.state_dict())")

    def zero_grad(self):
        """Forget every parameter's gradient (``.grad = None``), ready for the next backward."""
        for _, _, param in self._flat():
            param.grad = None

    # --- the state dict -------------------------------------------------------------------------
    def state_arrays(self):
        """{"state.<i>.<key>": NumPy copy} for every array in every parameter's state."""
        return {f"state.{i}.{key}": _to_host(value)
                for i, state in enumerate(self.state)
                for key, value in state.items() if not _is_scalar(value)}

    def state_meta(self):
        """The JSON-able half of the state dict: class, hyperparameters, layout, scalar state."""
        groups = []
        for group in self.param_groups:
            hyper = {key: list(group[key]) if isinstance(group[key], tuple) else group[key]
                     for key in self.defaults}
            groups.append({**hyper, "param_shapes": [list(p.shape) for p in group["params"]],
                           "param_names": group["param_names"]})
        scalars = [{key: value for key, value in state.items() if _is_scalar(value)} for state in self.state]
        return {"format": STATE_FORMAT, "optimizer": type(self).__name__, "param_groups": groups,
                "state": scalars}

    def state_dict(self):
        """{"meta": state_meta(), "arrays": state_arrays()}."""
        return {"meta": self.state_meta(), "arrays": self.state_arrays()}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters (each group's current lr too) and per-parameter state.

        Refuses, with a ``ValueError`` that names the mismatch, a state dict of another
        optimizer class or format, another number of groups or parameters, another shape or
        name of any parameter, or an unknown or misshapen array. Arrays are copied into the
        parameters' dtype and onto their device.
        """
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"meta", "arrays"}:
            raise ValueError(f"{where}: expected a dict with keys 'meta' and 'arrays' (as made by "
                             f"state_dict()), got {type(state_dict).__name__}")
        meta, arrays = state_dict["meta"], state_dict["arrays"]
        missing = [k for k in ("format", "optimizer", "param_groups", "state") if k not in meta]
        if missing:
            raise ValueError(f"{where}: the state dict's meta lacks {missing}")
        if meta["format"] != STATE_FORMAT:
            raise ValueError(f"{where}: format {meta['format']!r} is not {STATE_FORMAT!r}")
        if meta["optimizer"] != type(self).__name__:
            raise ValueError(f"{where}: the state dict was saved by {meta['optimizer']}, not "
                             f"{type(self).__name__}")
        hyperparameters = self._loaded_hyperparameters(meta["param_groups"], where)
        states = self._loaded_states(meta["state"], arrays, where)
        for group, hyper in zip(self.param_groups, hyperparameters):
            group.update(hyper)
        self.state = states

    def _loaded_hyperparameters(self, saved_groups, where):
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{where}: the state dict has {len(saved_groups)} param groups, this "
                             f"optimizer has {len(self.param_groups)}")
        hyperparameters = []
        for g, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            here = f"{where} (param group {g})"
            shapes = [tuple(shape) for shape in saved.get("param_shapes", [])]
            if len(shapes) != len(group["params"]):
                raise ValueError(f"{here}: the state dict has {len(shapes)} parameters, this "
                                 f"optimizer has {len(group['params'])}")
            names = saved.get("param_names")
            for k, (param, shape) in enumerate(zip(group["params"], shapes)):
                if param.shape != shape:
                    raise ValueError(f"{here}: params[{k}] has shape {param.shape}, but the state "
                                     f"dict's has shape {shape}")
                if names and group["param_names"] and names[k] != group["param_names"][k]:
                    raise ValueError(f"{here}: params[{k}] is named {group['param_names'][k]!r}, "
                                     f"but the state dict's is {names[k]!r}")
            saved_keys = set(saved) - set(GROUP_LAYOUT_KEYS)
            if saved_keys != set(self.hyperparameter_types):
                raise ValueError(f"{here}: hyperparameters {sorted(saved_keys)} do not match "
                                 f"{type(self).__name__}'s {sorted(self.hyperparameter_types)}")
            hyperparameters.append(self._read_hyperparameters(saved, here))
        return hyperparameters

    def _loaded_states(self, saved_scalars, arrays, where):
        params = [param for _, _, param in self._flat()]
        if len(saved_scalars) != len(params):
            raise ValueError(f"{where}: the state dict has state for {len(saved_scalars)} "
                             f"parameters, this optimizer has {len(params)}")
        states = []
        for i, scalars in enumerate(saved_scalars):
            for key, value in scalars.items():
                if key not in self.state_keys or not _is_scalar(value):
                    raise ValueError(f"{where}: state of parameter {i} holds {key!r} = {value!r}; "
                                     f"{type(self).__name__} state keys are {list(self.state_keys)}")
            states.append(dict(scalars))
        for name, array in arrays.items():
            parts = name.split(".")
            if (len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit()
                    or int(parts[1]) >= len(params) or parts[2] not in self.state_keys):
                raise ValueError(f"{where}: unexpected array {name!r}; expected 'state.<i>.<key>' "
                                 f"with i < {len(params)} and key in {list(self.state_keys)}")
            i, param = int(parts[1]), params[int(parts[1])]
            if tuple(array.shape) != param.shape:
                raise ValueError(f"{where}: array {name!r} has shape {tuple(array.shape)}; it "
                                 f"belongs to {self._label(i)}")
            on_param_device = to_device(array, param.device)  # explicit: checkpoints hold host arrays
            states[i][parts[2]] = array_module(param.data).array(on_param_device, dtype=param.dtype)
        for i, state in enumerate(states):
            lacking = [key for key in self.required_state_keys if key not in state]
            if state and lacking:
                raise ValueError(f"{where}: the state of {self._label(i)} lacks {lacking} (a "
                                 f"truncated state dict?)")
        return states
