"""The op registry over devices: every entry's values and gradients on the GPU match NumPy.

For each registry entry, inputs drawn by the entry's own strategy (float32, the dtype GPUs
train in) go to the device with every array they carry (index arrays and masks too: the
library refuses host arrays for GPU tensors). Then:

1. every output and every gradient lives on the device;
2. the outputs match the entry's NumPy reference (float64 inputs) within the entry's
   float32 tolerances, as in ``test_registry_ops.py``;
3. the gradients for a random upstream gradient match the CPU engine's float64 gradients
   (proven by gradcheck) within the float32 tolerances, scaled by the gradient's largest
   entry (a sum of many rounded terms is only accurate relative to its biggest terms).

Two devices: ``fake-cuda`` (tests/fake_cuda.py, NumPy under a CuPy-like face: proves where
arrays live and that nothing mixes host and device data; a few examples per entry) runs on
every machine; ``cuda`` runs on a real GPU through CuPy (marked ``gpu``; skipped, saying
why, without CuPy or a GPU) with the Hypothesis profile's number of examples.
"""

import numpy as np
import pytest
from hypothesis import given, settings

import tinygrad_lm as tg
from tinygrad_lm.engine import device_of, to_device
from tinygrad_lm.testing import check_close
from tinygrad_lm.testing.registry import all_specs

SPECS = all_specs()
FAKE_EXAMPLES = 6  # the fake checks plumbing, not numerics: a few inputs per entry are enough
DEVICES = [pytest.param("fake", id="fake-cuda"), pytest.param("cuda", id="cuda", marks=pytest.mark.gpu)]


@pytest.fixture(params=DEVICES)
def device_examples(request):
    """Install the device for one test; returns how many Hypothesis examples to draw."""
    if request.param == "fake":
        request.getfixturevalue("fake_cuda")
        return FAKE_EXAMPLES
    request.getfixturevalue("real_cuda")
    return settings.default.max_examples


def _as_list(result):
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _is_float(value):
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _on(device, value):
    """Every NumPy array inside ``value`` (kwargs may hold tuples of index arrays) on ``device``."""
    if isinstance(value, np.ndarray):
        return to_device(value, device)
    if isinstance(value, tuple):
        return tuple(_on(device, v) for v in value)
    if isinstance(value, list):
        return [_on(device, v) for v in value]
    return value


def _run(spec, case, device, dtype, wrt, upstreams):
    """Outputs and gradients (of the inputs in ``wrt``) of ``spec`` on ``device`` in ``dtype``."""
    inputs = [tg.tensor(a.astype(dtype) if _is_float(a) else a, requires_grad=i in wrt, device=device)
              for i, a in enumerate(case.arrays)]
    kwargs = {key: _on(device, value) for key, value in case.kwargs.items()}
    outputs = _as_list(spec.fn(*inputs, **kwargs))
    if wrt:
        for k, (out, upstream) in enumerate(zip(outputs, upstreams)):
            upstream = tg.tensor(upstream.astype(out.dtype), device=device)
            out.backward(upstream, retain_graph=k < len(outputs) - 1)
    return outputs, [inputs[i].grad for i in sorted(wrt)]


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_values_and_gradients_on_the_device_match_numpy(spec, device_examples):
    dtype = np.dtype(np.float32)
    rtol, atol = spec.tolerances.forward_for(dtype)
    rng = np.random.default_rng(0)

    @settings(max_examples=device_examples)
    @given(case=spec.inputs(dtype))
    def check(case):
        floats = {i for i, a in enumerate(case.arrays) if _is_float(a)}
        wrt = floats if spec.differentiable is None else set(spec.differentiable)
        in64 = [a.astype(np.float64) if _is_float(a) else a for a in case.arrays]
        expected = _as_list(spec.reference(*in64, **case.kwargs))
        scales = [None] * len(expected)
        if spec.error_scale:
            scales = _as_list(spec.error_scale(*in64, **case.kwargs))
        upstreams = [rng.standard_normal(np.shape(e)) for e in expected]
        outputs, grads = _run(spec, case, "cuda", dtype, wrt, upstreams)
        out_dtype = spec.out_dtype(dtype, case.kwargs) if spec.out_dtype else dtype
        for k, (out, ref, scale) in enumerate(zip(outputs, expected, scales)):
            assert out.device == "cuda", f"{spec.name}: output {k} left the device"
            check_close(out, ref, dtype=out_dtype, rtol=rtol, atol=atol, scale=scale,
                        name=f"{spec.name} output {k}")
        if not wrt:
            return
        _, cpu_grads = _run(spec, case, "cpu", np.float64, wrt, upstreams)
        for i, grad, ref in zip(sorted(wrt), grads, cpu_grads):
            assert grad is not None and device_of(grad) == "cuda", f"{spec.name}: grad of input {i} left the device"
            largest = float(np.max(np.abs(ref))) if ref.size else 0.0
            check_close(to_device(grad, "cpu"), ref, dtype=dtype, rtol=rtol, atol=atol, scale=largest,
                        name=f"{spec.name} gradient of input {i}")

    check()
