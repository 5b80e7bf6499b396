"""Tests for in-place writes (``W -= lr * W.grad``, ``t[i] = v``) and for inputs to ``Function.apply``.

In-place operators update ``.data`` and keep the object (a leaf stays a leaf), but only where
no gradient could be lost: on a tensor that requires grad while recording is on, or with a
right-hand side that requires grad, they raise ``GraphError`` naming the idiom that works.
A right-hand side that would change the shape or the dtype is refused.

Not tested here: writes to arrays saved for backward (test_saved_arrays.py).
"""

import re

import numpy as np
import pytest

import tinygrad_lm as tg

OPERATORS = {
    "-=": lambda t, v: t.__isub__(v), "+=": lambda t, v: t.__iadd__(v),
    "*=": lambda t, v: t.__imul__(v), "/=": lambda t, v: t.__itruediv__(v),
}
REFERENCE = {"-=": np.subtract, "+=": np.add, "*=": np.multiply, "/=": np.divide}


def test_minus_equals_on_a_leaf_that_requires_grad_names_the_working_idiom():
    W = tg.tensor([1.0, 2.0], requires_grad=True)
    (W * W).sum().backward()
    original = W
    with pytest.raises(tg.GraphError) as error:
        W -= 0.1 * W.grad
    message = str(error.value)
    assert "with no_grad(): W -= lr * W.grad" in message and "W.data -=" in message
    assert "-=" in message and "(2,)" in message
    assert W is original and W.is_leaf and W.requires_grad
    np.testing.assert_array_equal(W.data, [1.0, 2.0])  # nothing was written


@pytest.mark.parametrize("op", sorted(OPERATORS))
def test_every_in_place_operator_refuses_while_recording(op):
    W = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(tg.GraphError, match=re.escape(f"in-place {op} on a tensor that requires grad")):
        OPERATORS[op](W, 2.0)


@pytest.mark.parametrize("op", sorted(OPERATORS))
def test_under_no_grad_in_place_updates_the_data_and_keeps_the_leaf(op):
    W = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (W * W).sum().backward()
    data, expected = W.data, REFERENCE[op](W.data, 0.5 * W.grad)
    original = W
    with tg.no_grad():
        result = OPERATORS[op](W, 0.5 * W.grad)
    assert result is original and W.data is data  # the same object and the same array, updated
    assert W.is_leaf and W.requires_grad and W.dtype == np.float32 and W.shape == (2, 2)
    np.testing.assert_allclose(W.data, expected)


def test_the_training_idiom_trains_and_the_next_step_still_works():
    W = tg.tensor([3.0, -2.0], requires_grad=True)
    for _ in range(50):
        loss = (W * W).sum()
        W.zero_grad()
        loss.backward()
        with tg.no_grad():
            W -= 0.1 * W.grad
    assert W.is_leaf and W.requires_grad and float((W * W).sum()) < 1e-8


def test_in_place_on_a_tensor_that_does_not_require_grad_works_while_recording():
    x = tg.tensor([1.0, 2.0])
    x *= 3.0
    x += tg.tensor([1.0, 1.0])
    x -= np.array([0.5, 0.5], dtype=np.float32)
    assert x.tolist() == [3.5, 6.5] and not x.requires_grad
    n = tg.tensor([1, 2])
    n += 1
    assert n.tolist() == [2, 3] and n.dtype == np.int64


def test_a_right_hand_side_that_requires_grad_is_refused_while_recording():
    x, w = tg.tensor([1.0, 2.0]), tg.tensor([1.0, 1.0], requires_grad=True)
    with pytest.raises(tg.GraphError, match=r"right-hand side requires grad.*x = x \+ other"):
        x += w
    with tg.no_grad():
        x += w  # nothing is recorded here anyway
    assert x.tolist() == [2.0, 3.0]


def test_in_place_broadcasts_the_right_hand_side_but_never_the_result():
    with tg.no_grad():
        x = tg.zeros((2, 3))
        x += tg.tensor([1.0, 2.0, 3.0])  # (3,) broadcasts into (2, 3)
        assert x.tolist() == [[1, 2, 3], [1, 2, 3]]
        with pytest.raises(tg.ShapeError, match=r"\+=.*\(2, 3\).*\(4, 2, 3\).*keeps the shape"):
            x += tg.zeros((4, 2, 3))
        with pytest.raises(tg.ShapeError, match=r"\(2, 3\).*\(4,\)"):
            x += tg.zeros(4)


def test_in_place_never_changes_the_dtype():
    n = tg.tensor([1, 2])
    with pytest.raises(tg.DTypeError, match=r"\*=.*int64.*float32.*astype"):
        n *= 0.5
    x = tg.tensor([1.0], dtype="float32")
    with pytest.raises(tg.DTypeError, match="float32 and float64"):
        x += tg.tensor([1.0], dtype="float64")
    assert n.tolist() == [1, 2] and x.tolist() == [1.0]


def test_in_place_on_a_non_leaf_is_refused_while_recording():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    with pytest.raises(tg.GraphError, match="in-place"):
        h += 1.0


def test_setitem_writes_in_place_under_the_same_rules():
    t = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    data = t.data
    t[0] += 1.0  # t.__getitem__, in-place add on the row, t.__setitem__
    t[:, 1] = 0.0
    t[1] = tg.tensor([7.0, 8.0])
    assert t.data is data and t.tolist() == [[2.0, 0.0], [7.0, 8.0]]
    with pytest.raises(tg.ShapeError, match=r"value of shape \(3,\) cannot fill t\[index\] of shape \(2,\)"):
        t[0] = tg.zeros(3)
    with pytest.raises(IndexError, match=r"^t\[index\] = value: index 5 .*\(2, 2\)"):
        t[5] = 1.0
    with pytest.raises(tg.DTypeError, match="int64 and the value float32"):
        tg.tensor([1, 2])[0] = 0.5
    W = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(tg.GraphError, match="with no_grad"):
        W[0] = 3.0
    with tg.no_grad():
        W[0] -= 0.5
    assert W.tolist() == [0.5, 2.0] and W.is_leaf and W.requires_grad


# --- Function.apply takes Tensors only ---------------------------------------------------------
class Scale(tg.Function):
    @staticmethod
    def forward(ctx, x, factor=2.0):
        ctx.factor = factor
        return x * factor

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.factor,)


@pytest.mark.parametrize("bad, kind", [(3.0, "float"), (np.ones(2), "numpy.ndarray"), ([1.0], "list")])
def test_apply_with_a_non_tensor_input_names_the_op_position_and_type(bad, kind):
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError) as error:
        Scale.apply(x, bad)
    message = str(error.value)
    assert message.startswith("Scale.apply: input 1 is a " + kind)
    assert "inputs must be Tensors" in message and "keyword arguments" in message
    assert Scale.apply(x, factor=3.0).tolist() == [3.0, 6.0]  # the way that works
    with pytest.raises(TypeError, match="input 0 is a numpy.ndarray"):
        Scale.apply(np.ones(2))
