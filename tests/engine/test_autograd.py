"""Tests for the graph walk (``engine/autograd.py``) and the contract it enforces on every op.

The engine's promises, one test each: long chains backpropagate without recursion and in
linear time, and are deleted without crashing; fan-out and diamonds sum their gradients;
leaf gradients accumulate across backward calls until ``zero_grad``; ``retain_graph``
decides whether saved buffers survive; backward is linear in the upstream gradient;
``unbroadcast`` is the adjoint of broadcasting; a Function whose backward breaks the
contract (wrong shape, dtype or count) is named in a ``BackwardError``; leaf gradients are
fresh arrays; integer inputs and non-leaf tensors never get ``.grad``.

Not tested here: each op's own gradient formula (the op registry and gradcheck in
``tinygrad_lm.testing`` do that), grad modes (test_grad_mode.py), dtype rules (test_dtypes.py).
"""

import gc
import subprocess
import sys
import time
import weakref
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lm as tg
from tinygrad_lm.engine.autograd import unbroadcast

ROOT = Path(__file__).resolve().parents[2]


def chain(length):
    """x -> x*1 -> x*1 -> ... (``length`` Mul ops) on a float64 scalar leaf."""
    x = tg.tensor(np.float64(1.5), requires_grad=True)
    y = x
    for _ in range(length):
        y = y * 1.0
    return x, y


# --- long graphs ---------------------------------------------------------------------------------
def test_a_chain_of_100_000_ops_backpropagates_without_recursion():
    x, y = chain(100_000)
    y.backward()
    assert x.grad == 1.0


def test_backward_time_is_linear_in_the_chain_length():
    # A complexity check, not a speed test: 4x the ops may cost ~4x the time; quadratic would
    # be 16x. Garbage collection is paused while timing (its cost is Python's, not the
    # engine's) and the best of three runs is kept, so a busy machine does not fail it.
    def best_backward_time(y):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            y.backward(retain_graph=True)
            times.append(time.perf_counter() - start)
        return min(times)

    (_, short), (_, long) = chain(20_000), chain(80_000)
    gc.collect()
    gc.disable()
    try:
        ratio = best_backward_time(long) / best_backward_time(short)
    finally:
        gc.enable()
    assert ratio < 8, f"4x longer chain took {ratio:.1f}x the time: backward is not linear"


def test_deleting_a_100_000_op_graph_does_not_crash():
    # Run in a child process: a recursive deallocation would kill the interpreter, and that
    # must fail this test rather than the whole test session.
    code = (
        "import tinygrad_lm as tg\n"
        "x = tg.tensor([1.0], requires_grad=True)\n"
        "y = x\n"
        "for _ in range(100_000):\n"
        "    y = y + 1.0\n"
        "del y\n"
        "print('deleted')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "deleted" in result.stdout, result.stderr[-2000:]


# --- how gradients add up --------------------------------------------------------------------------
def test_fan_out_sums_the_gradient_of_every_use():
    x = tg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * 0.0
    for i in range(1, 51):
        y = y + x * float(i)  # d/dx of sum_i i*x is sum_i i = 1275
    (y + x + x).sum().backward()
    np.testing.assert_allclose(x.grad, np.full(3, 1277.0))


def test_diamond_graph_adds_both_paths():
    # x -> a = 2x, x -> b = e^x, y = a * b: dy/dx = 2 e^x + 2x e^x
    x_value = np.array([-1.0, 0.0, 0.5])
    x = tg.tensor(x_value, requires_grad=True)
    a, b = x * 2.0, x.exp()
    (a * b).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp(x_value) * (1 + x_value), rtol=1e-12)


def test_leaf_gradients_accumulate_across_backward_calls_until_zero_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * 2 * x.numpy())
    x.zero_grad()
    assert x.grad is None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


# --- retain_graph ------------------------------------------------------------------------------------
class SaveScratch(tg.Function):
    """out = 2x, saving a fresh array whose lifetime the test watches through ``watch``."""

    watch: ClassVar[list] = []

    @staticmethod
    def forward(ctx, x):
        scratch = x * 2.0
        SaveScratch.watch.append(weakref.ref(scratch))
        ctx.save(scratch=scratch)
        return scratch.copy()

    @staticmethod
    def backward(ctx, g):
        return (g * (ctx.scratch / ctx.scratch) * 2.0,)


def test_backward_frees_saved_buffers_and_a_second_backward_names_retain_graph():
    x = tg.tensor(np.ones((2, 3)), requires_grad=True)
    y = SaveScratch.apply(x).sum()
    y.backward()
    gc.collect()
    assert SaveScratch.watch[-1]() is None, "the saved array outlived backward()"
    with pytest.raises(tg.GraphError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_keeps_buffers_and_allows_a_second_backward():
    x = tg.tensor(np.ones((2, 3)), requires_grad=True)
    y = SaveScratch.apply(x).sum()
    y.backward(retain_graph=True)
    gc.collect()
    assert SaveScratch.watch[-1]() is not None
    y.backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 4.0))


def test_a_freed_op_that_saved_nothing_still_refuses_a_second_backward():
    x = tg.tensor([1.0], requires_grad=True)
    y = (x + 1.0).sum()
    y.backward()
    with pytest.raises(tg.GraphError, match="retain_graph"):
        y.backward()


# --- bad calls to backward ---------------------------------------------------------------------------
def test_backward_of_a_non_scalar_needs_grad_and_names_the_shape():
    y = tg.tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    with pytest.raises(tg.GraphError, match=r"backward: .*\(2, 3\).*grad="):
        y.backward()


def test_backward_with_a_wrong_shaped_grad_names_both_shapes():
    y = tg.tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    with pytest.raises(tg.GraphError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward(np.ones((3, 2)))


def test_backward_on_a_tensor_that_does_not_require_grad_errors():
    with pytest.raises(tg.GraphError, match="does not require grad"):
        (tg.tensor([1.0, 2.0]) * 2.0).sum().backward()


# --- linearity ---------------------------------------------------------------------------------------
def model(x, w):
    """A small graph with matmul, broadcasting, fan-out and a reduction: (n, m), (m, k) -> (n, k)."""
    h = (x @ w).tanh()  # (n, m) @ (m, k) -> (n, k)
    return h * x.sum(axis=1, keepdims=True) + (x * x).mean()  # (n, k) * (n, 1) + () -> (n, k)


@given(
    n=st.integers(1, 4), m=st.integers(1, 4), k=st.integers(1, 4), seed=st.integers(0, 2**32 - 1),
    a=st.floats(-3, 3), b=st.floats(-3, 3),
)
def test_backward_is_linear_in_the_upstream_gradient(n, m, k, seed, a, b):
    rng = np.random.default_rng(seed)
    x = tg.tensor(rng.standard_normal((n, m)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((m, k)), requires_grad=True)
    u, v = rng.standard_normal((n, k)), rng.standard_normal((n, k))
    y = model(x, w)

    def grads(upstream):
        x.zero_grad()
        w.zero_grad()
        y.backward(upstream, retain_graph=True)
        return x.grad, w.grad

    (xu, wu), (xv, wv), (xc, wc) = grads(u), grads(v), grads(a * u + b * v)
    np.testing.assert_allclose(xc, a * xu + b * xv, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(wc, a * wu + b * wv, rtol=1e-10, atol=1e-10)


# --- unbroadcast -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "grad_shape, shape, expected",
    [
        ((2, 3, 4), (3, 4), np.full((3, 4), 2.0)),  # a leading axis the input never had
        ((3, 4), (3, 1), np.full((3, 1), 4.0)),  # a size-1 axis that was stretched
        ((2, 3, 4), (1, 4), np.full((1, 4), 6.0)),  # both at once
        ((2, 3), (), np.array(6.0)),  # a scalar broadcast everywhere
        ((2, 1), (2, 1), np.ones((2, 1))),  # nothing to do
    ],
)
def test_unbroadcast_sums_back_to_the_input_shape(grad_shape, shape, expected):
    result = unbroadcast(np.ones(grad_shape), shape)
    assert result.shape == expected.shape
    np.testing.assert_array_equal(result, expected)


def test_unbroadcast_returns_the_same_array_when_shapes_match():
    grad = np.ones((2, 3))
    assert unbroadcast(grad, (2, 3)) is grad


@pytest.mark.parametrize("grad_shape, shape", [((3,), (2, 3)), ((2, 3), (3, 2)), ((2, 1), (2, 3))])
def test_unbroadcast_leaves_non_broadcast_shapes_for_the_contract_check(grad_shape, shape):
    assert unbroadcast(np.ones(grad_shape), shape).shape != shape


@st.composite
def broadcast_pairs(draw):
    """(grad shape, input shape) where the input shape broadcasts to the grad shape."""
    grad_shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3))
    kept = grad_shape[draw(st.integers(0, len(grad_shape))):]
    shape = tuple(1 if draw(st.booleans()) else n for n in kept)
    return grad_shape, shape


@given(shapes=broadcast_pairs(), seed=st.integers(0, 2**32 - 1))
def test_unbroadcast_is_the_adjoint_of_broadcast_to(shapes, seed):
    # <unbroadcast(g), v> == <g, broadcast_to(v)> for every g and v: the definition of a gradient.
    grad_shape, shape = shapes
    rng = np.random.default_rng(seed)
    g, v = rng.standard_normal(grad_shape), rng.standard_normal(shape)
    reduced = unbroadcast(g, shape)
    assert reduced.shape == shape
    np.testing.assert_allclose(np.sum(reduced * v), np.sum(g * np.broadcast_to(v, grad_shape)), rtol=1e-10, atol=1e-10)


# --- the backward contract ---------------------------------------------------------------------------
class WrongShape(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, g):
        return (np.ones(g.shape[::-1], dtype=g.dtype),)  # (2, 3) -> (3, 2): a transposition bug


class WrongDtype(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, g):
        return (g.astype(np.float64),)


class WrongCount(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, g):
        return g, g


def test_a_wrong_shaped_gradient_raises_backward_error_naming_the_op():
    x = tg.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    with pytest.raises(tg.BackwardError, match=r"WrongShape\.backward.*\(3, 2\).*\(2, 3\)"):
        WrongShape.apply(x).sum().backward()


def test_a_wrong_dtype_gradient_raises_backward_error_naming_both_dtypes():
    x = tg.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    with pytest.raises(tg.BackwardError, match=r"WrongDtype\.backward.*float64.*float32"):
        WrongDtype.apply(x).sum().backward()


def test_a_wrong_number_of_gradients_raises_backward_error():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(tg.BackwardError, match=r"WrongCount\.backward returned 2 gradients for 1 input"):
        WrongCount.apply(x).sum().backward()


# --- who gets a .grad ----------------------------------------------------------------------------------
def test_leaf_gradients_are_not_aliased_with_each_other_or_the_upstream_gradient():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    upstream = np.array([1.0, 1.0], dtype=np.float32)
    (a + b).backward(upstream)  # Add's backward hands the same array to both inputs
    a.grad += 10.0
    upstream += 100.0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    np.testing.assert_array_equal(a.grad, [11.0, 11.0])


def test_a_leaf_root_gets_a_copy_of_the_upstream_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    upstream = np.array([5.0, 6.0], dtype=np.float32)
    x.backward(upstream)
    upstream[:] = 0.0
    np.testing.assert_array_equal(x.grad, [5.0, 6.0])


def test_integer_and_boolean_inputs_never_receive_gradients():
    x = tg.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    counts = tg.tensor([[1, 2], [3, 4]])
    mask = x > 0.0
    ids = tg.tensor([1, 0, 1])
    y = (x * counts).sum() + tg.where(mask, x, 0.0).sum() + x.masked_fill(mask, 0.0).sum()
    (y + tg.embedding(x, ids).sum()).backward()
    assert counts.grad is None and mask.grad is None and ids.grad is None
    assert not counts.requires_grad and not mask.requires_grad
    np.testing.assert_array_equal(x.grad, [[1 + 1 + 0 + 1, 2 + 0 + 1 + 1], [3 + 1 + 0 + 2, 4 + 1 + 0 + 2]])


def test_non_leaf_tensors_have_no_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    y = (h * h).sum()
    y.backward()
    assert not h.is_leaf and h.grad is None and y.grad is None
    assert x.is_leaf and x.grad is not None
