"""Checks of chapter 2's exercises (the `answers` fixture: see conftest.py)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lm as tg
from tinygrad_lm.engine import Function, array_module
from tinygrad_lm.testing import GradcheckError, check_close, gradcheck
from tinygrad_lm.testing import strategies as ts

rng = np.random.default_rng(2)


def test_Softsign_forward_matches_numpy(answers):
    x = np.array([-1e300, -3.0, -0.5, 0.0, 0.25, 7.0, 1e300])
    out = answers.Softsign.apply(tg.tensor(x))
    check_close(out, x / (1 + np.abs(x)))
    assert out.shape == x.shape and out.dtype == np.float64


@given(x=ts.float_arrays(ts.shapes(max_dims=3), min_value=-5.0, max_value=5.0))
def test_Softsign_passes_gradcheck(answers, x):
    assert gradcheck(answers.Softsign.apply, x, name="Softsign")


def test_Softsign_gradient_at_large_inputs(answers):
    x = tg.tensor(np.array([-1e300, 1e300, 0.0]), requires_grad=True)
    answers.Softsign.apply(x).backward(np.array([1.0, 1.0, 2.0]))
    check_close(x.grad, [0.0, 0.0, 2.0])


@given(shapes=ts.broadcastable_shapes(n=2, max_dims=3), data=st.data())
def test_Hypot_broadcasts_and_passes_gradcheck(answers, shapes, data):
    a, b = (data.draw(ts.float_arrays(shape, min_value=0.5, max_value=3.0)) for shape in shapes)
    a = a * data.draw(st.sampled_from([-1.0, 1.0]))
    check_close(answers.Hypot.apply(tg.tensor(a), tg.tensor(b)), np.hypot(a, b))
    assert gradcheck(answers.Hypot.apply, a, b, name="Hypot")


def test_Hypot_does_not_overflow_and_skips_constant_inputs(answers):
    a = tg.tensor(np.array([3e200, 3.0]), requires_grad=True)
    b = tg.tensor(np.array([4e200, 4.0]))  # a constant: needs_input_grad[1] is False
    out = answers.Hypot.apply(a, b)
    check_close(out, [5e200, 5.0])
    out.backward(np.array([1.0, 10.0]))
    check_close(a.grad, [0.6, 6.0])
    assert b.grad is None


class ShippedSigmoid(Function):
    """The skeleton's BrokenSigmoid as it ships, bug included: gradcheck must reject it."""

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        e = xp.exp(-xp.abs(x))
        out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save(x=x, out=out)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.x * (1 - ctx.x),)


def test_BrokenSigmoid_is_fixed_where_gradcheck_caught_the_bug(answers):
    x = rng.standard_normal((3, 4)) * 3
    with pytest.raises(GradcheckError, match="gradient of input 0 is wrong"):
        gradcheck(ShippedSigmoid.apply, x, name="the shipped BrokenSigmoid")
    assert gradcheck(answers.BrokenSigmoid.apply, x, name="your BrokenSigmoid")


def test_BrokenSigmoid_matches_the_library_sigmoid(answers):
    x_np, g = rng.standard_normal((5, 2)) * 4, rng.standard_normal((5, 2))
    mine, library = tg.tensor(x_np, requires_grad=True), tg.tensor(x_np, requires_grad=True)
    out = answers.BrokenSigmoid.apply(mine)
    check_close(out, library.sigmoid().numpy())
    out.backward(g)
    library.sigmoid().backward(g)
    check_close(mine.grad, library.grad, name="gradient")
