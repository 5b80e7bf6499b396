"""The ops golden bundle: every entry of the op registry with one fixed input, in float64 or float32.

Per registry entry NAME (``tinygrad_lm.testing.all_specs()``), in registry order:

    NAME/input{i}        the i-th input (floats in the bundle dtype; integer ids and boolean
                         masks as int64, a boolean's description says so)
    NAME/output{k}       the k-th output: the entry's NumPy reference, computed in float64
    NAME/upstream{k}     a random upstream gradient for output k (standard normal)
    NAME/grad_input{i}   d(sum_k <upstream_k, output_k>) / d input_i, for each differentiable input

The keyword settings of each entry (axis, shape, index, exponent, ...) are in
``manifest["config"]["ops"][NAME]["kwargs"]`` as JSON (slices as {"slice": [start, stop,
step]}, arrays as {"array": [...], "dtype": ...}, tuples as lists; ``from_json`` reads them
back), and the inputs' own dtypes (bool, int32, ...) in ``input_dtypes``. The input is the
first one the entry's Hypothesis strategy draws, derandomized, whose float inputs each hold 2
to 64 elements and whose outputs are not empty (with Hypothesis' draws of constants found in
loaded modules switched off, so that what was imported before does not matter); a new
Hypothesis version may draw another, and the regeneration test will then say so.

Numerics: a float32 bundle's inputs are float32 numbers; outputs and gradients are computed in
float64 from them (gradients by the library's backward, which gradcheck proves) and rounded.

Left out: non-contiguous layouts (a bundle stores values, not strides).
"""

from unittest.mock import patch

import numpy as np

from .. import testing
from ..engine import tensor
from .bundle import BundleWriter, PortingError, default_tolerance

OPS_CONFIGS = ("float64", "float32")
SEED = 0
MAX_DRAWS = 300


def _is_float(value):
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _as_list(result):
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _reasonable(spec):
    """A condition on drawn cases: float inputs of 2..64 elements, every output non-empty and one
    of at least 2 elements (no empty boolean selections or single numbers when more is possible)."""
    def condition(case):
        if not all(2 <= a.size <= 64 for a in case.arrays if _is_float(a)):
            return False
        in64 = [a.astype(np.float64) if _is_float(a) else a for a in case.arrays]
        sizes = [np.size(out) for out in _as_list(spec.reference(*in64, **case.kwargs))]
        return min(sizes) >= 1 and max(sizes) >= 2
    return condition


def draw_case(spec, dtype):
    """The fixed input of ``spec``: the first derandomized draw of a reasonable size.

    Hypothesis (6.13x+) sometimes draws a number written as a literal in any "local" module
    loaded so far (this library, the tests), so the same derandomized draw would change with
    what was imported before (numba_cpu's constants, say) and with every literal added to the
    code. Those constant draws are switched off here (``_maybe_draw_constant`` is Hypothesis'
    internal hook; if it is renamed, ``patch.object`` fails loudly rather than drifting)."""
    from hypothesis import (  # a test extra: imported only here
        HealthCheck,
        Phase,
        find,
        settings,
    )
    from hypothesis.errors import NoSuchExample
    from hypothesis.internal.conjecture.providers import HypothesisProvider

    draw = settings(max_examples=MAX_DRAWS, phases=[Phase.generate], database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
    strategy = spec.inputs(np.dtype(dtype))
    with patch.object(HypothesisProvider, "_maybe_draw_constant", lambda *args, **kwargs: None):
        try:
            return find(strategy, _reasonable(spec), settings=draw)
        except NoSuchExample:
            return find(strategy, lambda case: True, settings=draw)


def to_json(value):
    """Keyword settings as JSON: slices, arrays, tuples, dtypes and NumPy scalars spelled out."""
    if isinstance(value, slice):
        return {"slice": [value.start, value.stop, value.step]}
    if isinstance(value, np.ndarray):
        return {"array": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if value is Ellipsis:
        return "..."
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.dtype, type)):
        return str(np.dtype(value))
    return value


def from_json(value):
    """``to_json``'s inverse (JSON lists come back as tuples: no keyword setting is a list)."""
    if isinstance(value, dict) and set(value) == {"slice"}:
        return slice(*value["slice"])
    if isinstance(value, dict) and set(value) == {"array", "dtype"}:
        return np.array(value["array"], dtype=value["dtype"])
    if isinstance(value, dict):
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(from_json(v) for v in value)
    return Ellipsis if value == "..." else value


def add_entry(bundle, spec, dtype, rng):
    """Add one registry entry's tensors to ``bundle``; returns its config (op, kwargs, domain)."""
    case = draw_case(spec, dtype)
    arrays = [np.array(a, order="C") for a in case.arrays]  # 0-d stays 0-d
    wrt = ({i for i, a in enumerate(arrays) if _is_float(a)} if spec.differentiable is None
           else set(spec.differentiable))
    for i, a in enumerate(arrays):
        kind = "boolean mask stored as int64 0/1" if a.dtype.kind == "b" else str(a.dtype)
        bundle.add(f"{spec.name}/input{i}", a, f"{spec.op}: input {i} ({kind})", atol=0.0, rtol=0.0)
    in64 = [a.astype(np.float64) if _is_float(a) else a for a in arrays]
    expected = _as_list(spec.reference(*in64, **case.kwargs))
    scales = _as_list(spec.error_scale(*in64, **case.kwargs)) if spec.error_scale else [None] * len(expected)
    out_dtype = np.dtype(spec.out_dtype(np.dtype(dtype), case.kwargs) if spec.out_dtype else dtype)
    for k, (ref, scale) in enumerate(zip(expected, scales)):
        ref = np.asarray(ref).astype(out_dtype)
        atol, rtol = default_tolerance(ref if scale is None else np.asarray(scale), dtype)
        if ref.dtype.kind in "biu":
            atol, rtol = 0.0, 0.0
        bundle.add(f"{spec.name}/output{k}", ref, f"{spec.op}: output {k} (NumPy reference, float64, rounded)",
                   atol=atol, rtol=rtol)
    if not wrt or out_dtype.kind != "f":
        return case
    inputs = [tensor(a, requires_grad=i in wrt) if _is_float(a) else a for i, a in enumerate(in64)]
    outputs = _as_list(spec.fn(*inputs, **case.kwargs))
    for k, out in enumerate(outputs):
        upstream = rng.standard_normal(out.shape).astype(dtype).astype(np.float64)
        bundle.add(f"{spec.name}/upstream{k}", upstream, f"{spec.op}: upstream gradient dL/d output{k}",
                   atol=0.0, rtol=0.0)
        out.backward(upstream, retain_graph=k < len(outputs) - 1)
    for i in sorted(wrt):
        bundle.add(f"{spec.name}/grad_input{i}", inputs[i].grad,
                   f"{spec.op}: gradient of sum_k <upstream_k, output_k> with respect to input {i}")
    return case


def make_ops_bundle(config_name="float64"):
    """The ops bundle in ``config_name`` ("float64" or "float32")."""
    try:
        specs = testing.all_specs()
    except ImportError as error:  # the registry's input strategies are Hypothesis strategies
        raise PortingError(f"golden --what ops needs Hypothesis to draw the registry's inputs ({error}); "
                           f"pip install 'tinygrad_lm[test]'") from None
    rng = np.random.default_rng(SEED)
    entries = {}
    bundle = BundleWriter("ops", config_name, {"ops": entries, "inputs": "first derandomized Hypothesis "
                          "draw of each registry strategy with 2..64 elements per float input"}, SEED, config_name)
    for spec in specs:
        case = add_entry(bundle, spec, config_name, rng)
        entries[spec.name] = {"op": spec.op, "kwargs": to_json(case.kwargs), "domain": spec.domain,
                              "input_dtypes": [str(a.dtype) for a in case.arrays]}
    return bundle
