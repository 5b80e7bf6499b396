"""Op tests generated from the registry (``tinygrad_lm/testing/registry``): one entry, every test.

For every entry, over Hypothesis inputs (broadcasting, size-1 axes, 0-d, non-contiguous):

1. the forward equals the NumPy reference in float64 and in float32, with dtype-scaled
   tolerances, and has the promised dtype;
2. forward and backward leave the input arrays unchanged;
3. float64 gradcheck with a random upstream gradient passes (differentiable entries);
4. the strategy really reaches what the entry claims to cover (and, for matmul and the
   indexing ops, the hard cases: every rank combination, broadcast batch axes, negative
   steps, repeated and negative indices).

Plus: every public op in ``tinygrad_lm.ops`` has an entry, and the tie convention of
max/min/maximum/minimum (the strategies avoid ties, so it is tested here on its own).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis.errors import NoSuchExample

import tinygrad_lm as tg
from tinygrad_lm.testing import check_close, gradcheck
from tinygrad_lm.testing.registry import COVERAGE, Case, all_specs, float_inputs, get

SPECS = all_specs()
DIFFERENTIABLE = [spec for spec in SPECS if spec.differentiable != ()]


def _as_list(result):
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _is_float(value):
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _wrt(spec, case):
    """Indices of the inputs that get requires_grad in the forward test."""
    if spec.differentiable is None:
        return {i for i, a in enumerate(case.arrays) if _is_float(a)}
    return set(spec.differentiable)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_forward_matches_reference_and_leaves_inputs_alone(spec, dtype):
    dtype = np.dtype(dtype)
    rtol, atol = spec.tolerances.forward_for(dtype)
    rng = np.random.default_rng(0)

    @given(case=spec.inputs(dtype))
    def check(case):
        assert all(isinstance(a, np.ndarray) for a in case.arrays), f"{spec.name}: inputs must be arrays"
        before = [np.array(a, copy=True) for a in case.arrays]
        wrt = _wrt(spec, case)
        inputs = [tg.tensor(a, requires_grad=i in wrt) if _is_float(a) else a for i, a in enumerate(case.arrays)]
        outputs = _as_list(spec.fn(*inputs, **case.kwargs))
        in64 = [a.astype(np.float64) if _is_float(a) else a for a in case.arrays]
        expected = _as_list(spec.reference(*in64, **case.kwargs))
        scales = _as_list(spec.error_scale(*in64, **case.kwargs)) if spec.error_scale else [None] * len(expected)
        out_dtype = spec.out_dtype(dtype, case.kwargs) if spec.out_dtype else dtype
        assert len(outputs) == len(expected), f"{spec.name}: {len(outputs)} outputs, reference has {len(expected)}"
        for k, (out, ref, scale) in enumerate(zip(outputs, expected, scales)):
            assert out.dtype == out_dtype, f"{spec.name}: output {k} has dtype {out.dtype}, expected {out_dtype}"
            check_close(out, ref, dtype=out_dtype, rtol=rtol, atol=atol, scale=scale, name=f"{spec.name} output {k}")
        if wrt:
            for k, out in enumerate(outputs):
                upstream = rng.standard_normal(out.shape).astype(out.dtype)
                out.backward(upstream, retain_graph=k < len(outputs) - 1)
            for i in sorted(wrt):
                grad = inputs[i].grad
                assert grad is not None and np.all(np.isfinite(grad)), f"{spec.name}: input {i} got grad {grad}"
        for i, (now, then) in enumerate(zip(case.arrays, before)):
            np.testing.assert_array_equal(now, then, err_msg=f"{spec.name} changed its input {i}")

    check()


@pytest.mark.parametrize("spec", DIFFERENTIABLE, ids=lambda spec: spec.name)
def test_gradient_matches_finite_differences(spec):
    tol = spec.tolerances

    @given(case=spec.inputs(np.dtype(np.float64)))
    def check(case):
        gradcheck(lambda *xs: spec.fn(*xs, **case.kwargs), *case.arrays, eps=tol.grad_eps,
                  atol=tol.grad_atol, rtol=tol.grad_rtol, name=spec.name, wrt=spec.differentiable)

    check()


SEARCH = settings(max_examples=1000, phases=[Phase.generate], database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("spec", [s for s in SPECS if s.covers], ids=lambda spec: spec.name)
def test_inputs_reach_what_the_entry_claims(spec):
    for claim in sorted(spec.covers):
        try:
            find(spec.inputs(np.dtype(np.float64)), COVERAGE[claim], settings=SEARCH)
        except NoSuchExample:
            pytest.fail(f"{spec.name}: claims to cover {claim!r} but 1000 drawn inputs never did")


def _reaches(name, condition, what):
    try:
        find(get(name).inputs(np.dtype(np.float64)), condition, settings=SEARCH)
    except NoSuchExample:
        pytest.fail(f"{name}: 1000 drawn inputs never reached {what}")


def test_matmul_inputs_reach_every_rank_combination():
    def shapes(a_ndim, b_ndim):
        return lambda case: (case.arrays[0].ndim, case.arrays[1].ndim) == (a_ndim, b_ndim)

    for a_ndim, b_ndim in [(1, 1), (1, 2), (1, 3), (2, 1), (3, 1), (2, 2), (3, 2), (2, 4)]:
        _reaches("matmul", shapes(a_ndim, b_ndim), f"a {a_ndim}-d @ {b_ndim}-d product")

    def broadcast_batch(case):
        a, b = case.arrays
        return a.ndim > 2 and b.ndim > 2 and a.shape[:-2] != b.shape[:-2]

    _reaches("matmul", broadcast_batch, "batch axes that broadcast against each other")


def test_indexing_inputs_reach_negative_steps_repeats_and_negative_indices():
    def negative_step(case):
        index = case.kwargs["index"]
        return any(isinstance(p, slice) and (p.step or 1) < 0 for p in (index if isinstance(index, tuple) else (index,)))

    def repeated_negative_ids(case):
        index = case.kwargs["index"]
        ids = [p for p in (index if isinstance(index, tuple) else (index,)) if isinstance(p, np.ndarray)]
        return any(np.any(i < 0) for i in ids) and any(len(np.unique(i)) < i.size for i in ids)

    _reaches("getitem_basic", negative_step, "a slice with a negative step")
    _reaches("getitem_integer_arrays", repeated_negative_ids, "integer ids with a repeat and a negative id")
    _reaches("embedding", lambda case: len(np.unique(case.arrays[1])) < case.arrays[1].size, "a repeated id")


def test_coverage_predicates_tell_cases_apart():
    strided = np.zeros((4, 4))[::2, ::2]
    plain = Case((np.zeros((2, 3)),))
    assert not any(COVERAGE[name](plain) for name in COVERAGE)
    assert COVERAGE["noncontiguous"](Case((strided,)))
    assert COVERAGE["0-d"](Case((np.array(1.0),)))
    assert COVERAGE["size-1"](Case((np.zeros((3, 1)),)))
    assert COVERAGE["broadcast"](Case((np.zeros((3, 1)), np.zeros(4))))
    assert not COVERAGE["broadcast"](Case((np.zeros((3, 2)), np.zeros(4))))
    assert len(float_inputs(Case((np.zeros(2), np.arange(2), np.array([True]))))) == 1


def test_every_public_op_has_a_registry_entry():
    covered = {spec.op for spec in SPECS}
    missing = sorted(set(tg.ops.__all__) - covered)
    assert not missing, f"ops without a registry entry (add one in tinygrad_lm/testing/registry/): {missing}"
    unknown = sorted(covered - set(tg.ops.__all__))
    assert not unknown, f"registry entries name ops that tinygrad_lm.ops does not export: {unknown}"


# --- the tie convention: the gradient is shared evenly among tied extremes -----------------
def test_max_and_min_split_the_gradient_evenly_among_ties():
    x = tg.tensor(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]), requires_grad=True)
    x.max(axis=1).backward(np.array([1.0, 3.0]))
    np.testing.assert_array_equal(x.grad, [[0.0, 0.5, 0.5], [1.0, 1.0, 1.0]])
    y = tg.tensor(np.array([[1.0, 1.0, 3.0], [0.0, 5.0, 0.0]]), requires_grad=True)
    y.min(axis=None).backward(np.array(6.0))
    np.testing.assert_array_equal(y.grad, [[0.0, 0.0, 0.0], [3.0, 0.0, 3.0]])


def test_maximum_and_minimum_split_the_gradient_at_a_tie():
    for op, a_share in ((tg.maximum, [0.5, 1.0, 0.0]), (tg.minimum, [0.5, 0.0, 1.0])):
        a = tg.tensor(np.array([1.0, 2.0, 0.0]), requires_grad=True)
        b = tg.tensor(np.array([1.0, 0.0, 2.0]), requires_grad=True)
        op(a, b).backward(np.array([2.0, 2.0, 2.0]))
        np.testing.assert_array_equal(a.grad, 2 * np.array(a_share))
        np.testing.assert_array_equal(b.grad, 2 * (1 - np.array(a_share)))
