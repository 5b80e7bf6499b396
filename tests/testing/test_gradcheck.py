"""Tests of the testers: gradcheck must catch wrong backward passes, check_close wrong values.

A gradient checker that passes everything proves nothing, so each check here feeds it a
deliberately wrong derivative and expects a loud, precise failure, and feeds it correct ops
(including index inputs, list outputs and non-contiguous inputs) and expects a pass.
"""

import subprocess
import sys

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import Function
from tinygrad_lm.testing import (
    DEFAULT_TOLERANCES,
    GradcheckError,
    check_close,
    gradcheck,
)


class WrongExp(Function):
    """exp with the derivative off by a factor of 2: dx = 2 g e^x."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save(out=out)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g * 2 * ctx.out,)


class TransposedMatMul(Function):
    """a @ b for square matrices with da = g^T @ b^T instead of g @ b^T: right when g is all-ones."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save(a=a, b=b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        return g.T @ ctx.b.T, ctx.a.T @ g


class OneWrongElement(Function):
    """out = 3 x with the gradient of element (1, 2) reported as 0."""

    @staticmethod
    def forward(ctx, x):
        return 3 * x

    @staticmethod
    def backward(ctx, g):
        grad = 3 * g
        grad[1, 2] = 0.0
        return (grad,)


def wrong_exp(x):
    return WrongExp.apply(x)


def test_rejects_a_wrong_derivative_and_names_the_op_input_and_values():
    x = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    with pytest.raises(GradcheckError) as failure:
        gradcheck(wrong_exp, x)
    message = str(failure.value)
    assert "gradcheck(wrong_exp)" in message
    assert "input 0" in message and "element (" in message
    assert "analytic" in message and "numeric" in message and "tolerance" in message


def test_names_the_worst_element_and_both_values():
    x = np.arange(12.0).reshape(3, 4)
    with pytest.raises(GradcheckError) as failure:
        gradcheck(OneWrongElement.apply, x, name="scale_by_three")
    message = str(failure.value)
    assert "gradcheck(scale_by_three)" in message and "element (1, 2)" in message
    assert "analytic 0.0" in message and "1 of 12 checked values fail" in message


def test_a_transposition_bug_hidden_from_all_ones_is_caught_by_a_random_upstream():
    rng = np.random.default_rng(1)
    a_data, b_data = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    # With the all-ones upstream gradient that .sum().backward() uses, the bug is invisible:
    a = tg.tensor(a_data, requires_grad=True)
    TransposedMatMul.apply(a, tg.tensor(b_data)).sum().backward()
    np.testing.assert_allclose(a.grad, np.ones((3, 3)) @ b_data.T)
    # gradcheck's random upstream gradient exposes it.
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(TransposedMatMul.apply, a_data, b_data)


def test_passes_correct_ops_with_broadcasting_and_reductions():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((4, 1, 3)), rng.standard_normal((5, 3))
    assert gradcheck(lambda x, y: (x * y).tanh().sum(axis=1), a, b)
    assert gradcheck(lambda x, y: tg.matmul(x, y.T), rng.standard_normal((2, 3)), b)
    assert gradcheck(lambda x: x.logsumexp(axis=-1, keepdims=True), rng.standard_normal((3, 4)))


def test_passes_index_inputs_through_and_handles_list_outputs():
    weight = np.random.default_rng(3).standard_normal((5, 2))
    ids = np.array([[0, 4, 0], [2, 2, 1]])
    assert gradcheck(tg.embedding, weight, ids)
    assert gradcheck(lambda x: tg.split(x, [1, 3], axis=1), np.arange(8.0).reshape(2, 4))


def test_gradcheck_leaves_the_callers_inputs_alone_and_uses_float64():
    x = tg.tensor(np.linspace(0.5, 2.0, 4).astype(np.float32), requires_grad=True)
    dtypes = []

    def log(t):
        dtypes.append(t.dtype)
        return t.log()

    gradcheck(log, x)
    assert set(dtypes) == {np.dtype(np.float64)}
    assert x.grad is None and x.dtype == np.float32


def test_non_contiguous_inputs_reach_the_op_non_contiguous():
    x = np.arange(12.0).reshape(3, 4).T  # (3, 4) -> (4, 3), a transposed view
    layouts = []

    def double(t):
        layouts.append(t.data.flags.c_contiguous)
        return t * 2.0

    gradcheck(double, x)
    assert layouts[0] is False


def test_large_inputs_use_random_directions_and_still_catch_a_wrong_backward():
    x = np.linspace(-2.0, 2.0, 3000)
    calls = []

    def counted_tanh(t):
        calls.append(1)
        return t.tanh()

    assert gradcheck(counted_tanh, x, n_directions=3, dense_max_elements=2000)
    assert len(calls) == 1 + 2 * 3  # one analytic pass, two evaluations per direction
    with pytest.raises(GradcheckError, match="directional check"):
        gradcheck(wrong_exp, x)


def test_directional_check_catches_a_single_wrong_element_in_a_large_input():
    x = np.arange(2100.0).reshape(30, 70) / 2100
    with pytest.raises(GradcheckError, match="directional"):
        gradcheck(OneWrongElement.apply, x)


def test_dense_check_tries_every_element():
    x = np.arange(6.0).reshape(2, 3)
    calls = []

    def counted(t):
        calls.append(1)
        return t * t

    gradcheck(counted, x)
    assert len(calls) == 1 + 2 * x.size


def test_wrt_limits_which_inputs_are_checked():
    a, b = np.arange(1.0, 7.0).reshape(2, 3), np.full((2, 3), 0.5)
    assert gradcheck(lambda x, y: x * y.detach(), a, b, wrt=(0,))
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(lambda x, y: x * y.detach(), a, b)  # y's true gradient is not zero


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="no floating input"):
        gradcheck(lambda i: tg.tensor(i), np.arange(3))
    with pytest.raises(TypeError, match="must return a Tensor"):
        gradcheck(lambda x: x.data, np.ones(2))
    with pytest.raises(GradcheckError, match="does not require grad"):
        gradcheck(lambda x: x.detach(), np.ones(2))


def test_gradcheck_imports_without_hypothesis():
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import numpy as np, tinygrad_lm\n"
        "from tinygrad_lm.testing import gradcheck, check_close\n"
        "assert gradcheck(lambda x: x.exp(), np.ones(3))\n"
        "try:\n    from tinygrad_lm.testing import strategies\nexcept ImportError:\n    pass\n"
        "else:\n    raise SystemExit('strategies imported without hypothesis')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_importing_the_package_does_not_import_hypothesis():
    code = "import sys, tinygrad_lm, tinygrad_lm.testing; assert 'hypothesis' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# --- check_close ---------------------------------------------------------------------------
def test_check_close_scales_its_tolerance_with_the_dtype():
    expected = np.array([1.0, -2.0, 3.0])
    nudged = expected * (1 + 1e-7)
    check_close(nudged.astype(np.float32), expected)  # within float32 rounding
    with pytest.raises(AssertionError, match="float64"):
        check_close(nudged, expected)
    assert DEFAULT_TOLERANCES[np.dtype(np.float16)][0] > DEFAULT_TOLERANCES[np.dtype(np.float32)][0]


def test_check_close_names_the_worst_index_and_both_values():
    expected = np.zeros((2, 3))
    actual = expected.copy()
    actual[1, 0], actual[0, 2] = 1e-3, 5e-3
    with pytest.raises(AssertionError) as failure:
        check_close(actual, expected, name="probe")
    message = str(failure.value)
    assert "check_close(probe)" in message and "index (0, 2)" in message
    assert "actual 0.005" in message and "2 of 6 elements" in message


def test_check_close_scale_allows_for_cancellation():
    terms = np.array([1e8, 1.0, -1e8], dtype=np.float32)
    total = terms.sum()  # float32 loses the 1.0 entirely
    with pytest.raises(AssertionError):
        check_close(total, np.float64(1.0))
    check_close(total, np.float64(1.0), scale=np.abs(terms).sum(), rtol=1e-7)


def test_check_close_special_values_shapes_and_integers():
    check_close(np.array([np.nan, np.inf, -np.inf]), np.array([np.nan, np.inf, -np.inf]))
    with pytest.raises(AssertionError, match="differ"):
        check_close(np.array([np.inf]), np.array([1.0]))
    with pytest.raises(AssertionError, match="shape"):
        check_close(np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(AssertionError, match="int64"):
        check_close(np.array([1, 2]), np.array([1, 3]))
    check_close(tg.tensor(np.array([1.5])), np.array([1.5]))
