"""Checks of chapter 3's exercises (the `answers` fixture: see conftest.py)."""

import numpy as np
import pytest
from hypothesis import given

import tinygrad_lm as tg
from tinygrad_lm.engine import Function, array_module
from tinygrad_lm.engine.autograd import unbroadcast as library_unbroadcast
from tinygrad_lm.testing import GradcheckError, check_close, gradcheck
from tinygrad_lm.testing import strategies as ts

rng = np.random.default_rng(3)


@given(shapes=ts.broadcastable_shapes(n=2, max_dims=4))
def test_unbroadcast_matches_the_engine(answers, shapes):
    shape, other = shapes
    grad = rng.standard_normal(np.broadcast_shapes(shape, other))
    mine = answers.unbroadcast(grad, shape)
    assert np.shape(mine) == tuple(shape)
    check_close(mine, library_unbroadcast(grad, shape))


def test_unbroadcast_is_the_gradient_of_a_broadcast_add(answers):
    x = tg.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    bias = tg.tensor(rng.standard_normal((3, 1)), requires_grad=True)
    g = rng.standard_normal((2, 3, 4))
    (x + bias).backward(g)
    check_close(answers.unbroadcast(g, (3, 1)), bias.grad)
    check_close(answers.unbroadcast(g, ()), g.sum())


@pytest.mark.parametrize("a_shape, b_shape", [
    ((2, 3), (3, 4)),  # plain
    ((5, 2, 3), (3, 4)),  # a batch of a against one b: db sums over the batch
    ((2, 3), (5, 3, 4)),  # one a against a batch of b
    ((2, 1, 2, 3), (4, 3, 2)),  # batch axes broadcast both ways: (2, 1) and (4,) -> (2, 4)
])
def test_matmul_grads_match_the_engine(answers, a_shape, b_shape):
    a = tg.tensor(rng.standard_normal(a_shape), requires_grad=True)
    b = tg.tensor(rng.standard_normal(b_shape), requires_grad=True)
    out = a @ b
    g = rng.standard_normal(out.shape)
    out.backward(g)
    da, db = answers.matmul_grads(a.numpy(), b.numpy(), g)
    assert np.shape(da) == a_shape and np.shape(db) == b_shape
    check_close(da, a.grad, name="da")
    check_close(db, b.grad, name="db")


class ShippedLastAxisSum(Function):
    """The skeleton's BrokenLastAxisSum as it ships, bug included: gradcheck must reject it."""

    @staticmethod
    def forward(ctx, x):
        ctx.in_shape = x.shape
        return x.sum(axis=-1)

    @staticmethod
    def backward(ctx, g):
        return (array_module(g).broadcast_to(g, ctx.in_shape).copy(),)


def test_BrokenLastAxisSum_is_fixed_where_gradcheck_caught_the_bug(answers):
    square = rng.standard_normal((4, 4))
    with pytest.raises(GradcheckError, match="gradient of input 0 is wrong"):
        gradcheck(ShippedLastAxisSum.apply, square, name="the shipped BrokenLastAxisSum")
    assert gradcheck(answers.BrokenLastAxisSum.apply, square, name="your BrokenLastAxisSum")


@given(x=ts.float_arrays(ts.shapes(min_dims=1, max_dims=4)))
def test_BrokenLastAxisSum_equals_the_library_sum(answers, x):
    mine, library = tg.tensor(x, requires_grad=True), tg.tensor(x, requires_grad=True)
    out = answers.BrokenLastAxisSum.apply(mine)
    check_close(out, x.sum(axis=-1))
    g = rng.standard_normal(out.shape)
    out.backward(g)
    library.sum(axis=-1).backward(g)
    check_close(mine.grad, library.grad, name="gradient")
