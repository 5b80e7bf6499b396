"""A fake CuPy backed by NumPy, so the "cuda" code paths run (and are tested) on any CPU.

``FAKE_CUPY`` is a module object that answers what tinygrad_lm asks of ``cupy``:

- ``FAKE_CUPY.ndarray`` is ``DeviceArray``, a subclass of ``numpy.ndarray`` that marks an array as
  living "on the GPU". ``array_module`` recognises it, so ``device_of`` says "cuda".
- ``asarray``/``array`` upload (a copy, as ``cupy.asarray`` of host data is); ``DeviceArray.get()``
  downloads (a plain NumPy copy). Every other NumPy function and ufunc is reachable as
  ``FAKE_CUPY.<name>`` and returns device arrays.
- Like CuPy, device arrays refuse to meet host arrays: a ufunc or NumPy function given a
  ``DeviceArray`` and a plain ``numpy.ndarray`` raises ``TypeError`` (CuPy: "Unsupported type").
  That is what makes the double useful: a library line that mixes host data into device
  arithmetic fails here just as it would on a GPU. Results of ufuncs, reductions, matmul and
  NumPy functions on device arrays stay device arrays (0-d, never NumPy scalars, as in CuPy).
- ``is_available()`` is True; ``cupyx.scipy.special.erf`` exists (installed by ``install``);
  ``random.RandomState(seed).random_sample(size, dtype)`` draws device arrays.

What it cannot catch: ``numpy.asarray(device_array)`` silently gives a host view here (CuPy
raises), and the arithmetic is NumPy's, so it proves plumbing (where arrays live, what moves,
when), not CUDA numerics. Real-GPU parity is the job of the ``gpu``-marked tests.

``install(monkeypatch)`` patches it in: ``tinygrad_lm.engine.device._cupy``, the "cupy" kernel
table (mapped to the NumPy reference kernels) and ``cupyx`` in ``sys.modules``.
"""

import sys
import types

import numpy as np

from tinygrad_lm import backends
from tinygrad_lm.engine import device as device_module
from tinygrad_lm.ops._special import erf as cpu_erf


class DeviceArray(np.ndarray):
    """A NumPy array standing in for a ``cupy.ndarray`` (data "on the fake GPU")."""

    def get(self):
        """Download: a plain NumPy copy, like ``cupy.ndarray.get()``."""
        return np.array(self.view(np.ndarray), copy=True)

    def __getitem__(self, index):
        return _to_device(super().__getitem__(index))  # x[()] and x[i] of 1-d: 0-d arrays, as in CuPy

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        _refuse_host(f"{ufunc.__name__}.{method}", (*inputs, *(out or ())))
        if out is not None:
            kwargs["out"] = tuple(_host_view(o) for o in out)
        result = getattr(ufunc, method)(*(_host_view(x) for x in inputs), **kwargs)
        if method == "at":
            return None
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _to_device(result)

    def __array_function__(self, func, types_, args, kwargs):
        _refuse_host(func.__name__, [*args, *kwargs.values()])
        return _to_device(func(*_unwrap(args), **_unwrap(kwargs)))


def _is_host(value):
    return isinstance(value, np.ndarray) and not isinstance(value, DeviceArray)


def _refuse_host(name, values):
    """Raise TypeError (as CuPy does) when a host ndarray meets device arrays."""
    for value in values:
        if isinstance(value, (list, tuple)):
            _refuse_host(name, value)
        elif _is_host(value):
            raise TypeError(f"fake cupy: {name} got a host numpy.ndarray {value.shape} among device "
                            f"arrays; CuPy refuses this (Unsupported type <class 'numpy.ndarray'>)")


def _host_view(value):
    return value.view(np.ndarray) if isinstance(value, DeviceArray) else value


def _unwrap(value):
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    return _host_view(value)


def _to_device(value):
    """Results back on the fake device: arrays and NumPy scalars become DeviceArrays."""
    if isinstance(value, DeviceArray):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value).view(DeviceArray)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_device(v) for v in value)
    return value


def _upload(value, *args, **kwargs):
    """``cupy.asarray`` / ``cupy.array``: a device copy of host data, or the device array itself."""
    if isinstance(value, DeviceArray):
        host_view = value.view(np.ndarray)
        result = np.asarray(host_view, *args, **kwargs)
        return value if result is host_view else _to_device(result)  # unchanged: the same array
    return np.array(value, *args, **kwargs).view(DeviceArray)


def _copying_upload(value, *args, copy=True, **kwargs):
    return _to_device(np.array(_unwrap(value), *args, copy=copy, **kwargs))


class _Ufunc:
    """A NumPy ufunc as ``cupy.<ufunc>``: refuses host arrays, returns device arrays."""

    def __init__(self, ufunc):
        self._ufunc = ufunc

    def __call__(self, *args, **kwargs):
        return self._call(self._ufunc, args, kwargs)

    def __getattr__(self, method):  # at, reduce, accumulate, outer
        return lambda *args, **kwargs: self._call(getattr(self._ufunc, method), args, kwargs)

    def _call(self, function, args, kwargs):
        _refuse_host(self._ufunc.__name__, [*args, *kwargs.values()])
        return _to_device(function(*_unwrap(args), **_unwrap(kwargs)))


def _function(name, function):
    def call(*args, **kwargs):
        if name != "split":  # split's second argument is a list of indices, host ints are fine
            _refuse_host(name, [*args, *kwargs.values()])
        return _to_device(function(*_unwrap(args), **_unwrap(kwargs)))

    call.__name__ = name
    return call


def _erf(x):
    """``cupyx.scipy.special.erf``: the CPU path's own erf, so fake and CPU agree bit for bit."""
    return _to_device(cpu_erf(x.view(np.ndarray)))


class _RandomState:
    """``cupy.random.RandomState``: NumPy's generator behind CuPy's signature, draws on the device."""

    def __init__(self, seed):
        self._state = np.random.RandomState(seed)

    def random_sample(self, size=None, dtype=float):
        return _to_device(self._state.random_sample(size).astype(dtype))


class _Runtime:
    @staticmethod
    def getDeviceCount():  # noqa: N802 - CuPy's name
        return 1


def _make_module():
    module = types.ModuleType("fake_cupy")
    module.ndarray = DeviceArray
    module.asarray = _upload
    module.array = _copying_upload
    module.is_available = lambda: True
    module.cuda = types.SimpleNamespace(is_available=lambda: True, runtime=_Runtime())
    module.random = types.SimpleNamespace(RandomState=_RandomState)

    def __getattr__(name):
        attribute = getattr(np, name)
        if isinstance(attribute, np.ufunc):
            return _Ufunc(attribute)
        if callable(attribute) and not isinstance(attribute, type):
            return _function(name, attribute)
        return attribute  # dtypes (float32), constants (inf), submodules

    module.__getattr__ = __getattr__
    return module


FAKE_CUPY = _make_module()


def _make_cupyx():
    cupyx = types.ModuleType("cupyx")
    cupyx.scipy = types.ModuleType("cupyx.scipy")
    cupyx.scipy.special = types.ModuleType("cupyx.scipy.special")
    cupyx.scipy.special.erf = _erf
    return cupyx


def install(monkeypatch):
    """Make "cuda" mean the fake device for one test (undone by ``monkeypatch``)."""
    monkeypatch.setattr(device_module, "_cupy", FAKE_CUPY)
    monkeypatch.setitem(backends.BACKENDS, "cupy", backends.BACKENDS["numpy"])
    monkeypatch.setitem(backends._tables, "cupy", backends.load_kernels("numpy"))
    cupyx = _make_cupyx()
    for name, module in (("cupyx", cupyx), ("cupyx.scipy", cupyx.scipy),
                         ("cupyx.scipy.special", cupyx.scipy.special)):
        monkeypatch.setitem(sys.modules, name, module)
    return FAKE_CUPY


def uninstalled_cuda(monkeypatch, available):
    """Make CuPy look missing (``available=None``) or installed without a GPU (``False``)."""
    if available is None:
        monkeypatch.setattr(device_module, "_cupy", None)
        return
    fake = types.ModuleType("fake_cupy_no_gpu")
    fake.ndarray = DeviceArray
    fake.is_available = lambda: False
    monkeypatch.setattr(device_module, "_cupy", fake)
