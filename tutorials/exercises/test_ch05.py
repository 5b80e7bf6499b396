"""Checks of chapter 5's exercises (the `answers` fixture: see conftest.py)."""

import math

import numpy as np
import pytest
from hypothesis import given

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm.engine import Function, array_module
from tinygrad_lm.testing import GradcheckError, check_close, gradcheck
from tinygrad_lm.testing import strategies as ts

rng = np.random.default_rng(5)


def _value_and_gradient(function, x_np, g):
    x = tg.tensor(x_np, requires_grad=True)
    out = function(x)
    out.backward(g)
    return out.numpy(), x.grad


@given(x=ts.float_arrays(ts.shapes(max_dims=3), min_value=-6.0, max_value=6.0))
def test_gelu_tanh_matches_the_library(answers, x):
    g = rng.standard_normal(x.shape)
    mine = _value_and_gradient(answers.gelu_tanh, x, g)
    library = _value_and_gradient(lambda t: F.gelu(t, approximate="tanh"), x, g)
    check_close(mine[0], library[0], name="value")
    check_close(mine[1], library[1], name="gradient")


def test_gelu_tanh_in_float32_stays_float32(answers):
    x = tg.tensor(np.linspace(-5, 5, 11, dtype=np.float32))
    out = answers.gelu_tanh(x)
    assert out.dtype == np.float32
    check_close(out, F.gelu(x, approximate="tanh").numpy())


SQRT_2_OVER_PI, GELU_CUBIC = math.sqrt(2.0 / math.pi), 0.044715


class ShippedTanhGelu(Function):
    """The skeleton's BrokenTanhGelu as it ships, bug included: gradcheck must reject it."""

    @staticmethod
    def forward(ctx, x):
        t = array_module(x).tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x))
        ctx.save(x=x, t=t)
        return 0.5 * x * (1 + t)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.x, ctx.t
        du = SQRT_2_OVER_PI
        return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du),)


def test_BrokenTanhGelu_is_fixed_where_gradcheck_caught_the_bug(answers):
    x = rng.uniform(-3, 3, (4, 5))
    with pytest.raises(GradcheckError, match="gradient of input 0 is wrong"):
        gradcheck(ShippedTanhGelu.apply, x, name="the shipped BrokenTanhGelu")
    assert gradcheck(answers.BrokenTanhGelu.apply, x, name="your BrokenTanhGelu")


def test_BrokenTanhGelu_matches_the_library(answers):
    x, g = rng.uniform(-4, 4, (3, 7)), rng.standard_normal((3, 7))
    mine = _value_and_gradient(answers.BrokenTanhGelu.apply, x, g)
    library = _value_and_gradient(lambda t: F.gelu(t, approximate="tanh"), x, g)
    check_close(mine[0], library[0], name="value")
    check_close(mine[1], library[1], name="gradient")


@pytest.mark.parametrize("shape, eps", [((4, 8), 1e-5), ((2, 3, 5), 1e-5), ((1,), 1e-5), ((3, 6), 0.1)])
def test_layer_norm_matches_the_library(answers, shape, eps):
    arrays = [rng.standard_normal(shape) * 3 + 1, rng.standard_normal(shape[-1]), rng.standard_normal(shape[-1])]
    g = rng.standard_normal(shape)
    results = []
    for function in (answers.layer_norm, F.layer_norm):
        x, w, b = (tg.tensor(a, requires_grad=True) for a in arrays)
        out = function(x, w, b, eps=eps)
        out.backward(g)
        results.append([out.numpy(), x.grad, w.grad, b.grad])
    for name, mine, library in zip(["value", "dx", "dweight", "dbias"], *results):
        check_close(mine, library, name=name, scale=np.abs(library).max())


def test_layer_norm_of_a_constant_row_is_the_bias(answers):
    bias = tg.tensor(np.arange(4.0))
    out = answers.layer_norm(tg.tensor(np.full((2, 4), 7.0)), tg.tensor(np.ones(4)), bias)
    check_close(out, np.broadcast_to(bias.numpy(), (2, 4)))
