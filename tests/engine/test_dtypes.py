"""Tests for the dtype rules of ``engine/dtypes.py`` as every op applies them.

The rules: two floating tensors of different dtypes never mix (``DTypeError`` naming both
dtypes and the op); Python scalars are weak (``x * 0.5`` keeps ``x``'s dtype); an integer or
boolean tensor meeting a floating one takes its dtype; integer true division gives float32;
gradients come back in each input's own dtype, float16 included.

Not tested here: which dtypes a tensor may have at all (test_tensor.py).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lm as tg
from tinygrad_lm.engine.dtypes import common_dtype, resolve_dtype

FLOATS = ["float16", "float32", "float64"]

BINARY_OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "maximum": tg.maximum,
    "minimum": tg.minimum,
    "matmul": lambda a, b: a @ b,
    "where": lambda a, b: tg.where(tg.tensor([True, False]), a, b),
    "concatenate": lambda a, b: tg.concatenate([a, b]),
    "stack": lambda a, b: tg.stack([a, b]),
}


@pytest.mark.parametrize("op", sorted(BINARY_OPS))
@pytest.mark.parametrize("left, right", [("float32", "float64"), ("float16", "float32"), ("float64", "float16")])
def test_two_float_dtypes_never_mix(op, left, right):
    a = tg.tensor(np.ones(2, dtype=left))
    b = tg.tensor(np.ones(2, dtype=right))
    with pytest.raises(tg.DTypeError) as error:
        BINARY_OPS[op](a, b)
    message = str(error.value)
    assert message.startswith(op) and left in message and right in message and "astype" in message


@pytest.mark.parametrize("dtype", FLOATS)
@given(scalar=st.one_of(st.integers(-5, 5), st.floats(-5, 5)))
def test_python_scalars_keep_the_tensor_dtype(dtype, scalar):
    x = tg.tensor(np.full(3, 1.5, dtype=dtype))
    for result in (x + scalar, scalar * x, x - scalar, scalar - x, tg.maximum(x, scalar), tg.where(x > 0, x, scalar)):
        assert result.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("other", ["int64", "int32", "uint8", "bool"])
def test_integer_and_bool_tensors_take_the_float_tensor_dtype(dtype, other):
    x = tg.tensor(np.ones(3, dtype=dtype))
    n = tg.tensor(np.ones(3, dtype=other))
    assert (x + n).dtype == np.dtype(dtype)
    assert (n * x).dtype == np.dtype(dtype)
    assert tg.concatenate([n, x]).dtype == np.dtype(dtype)


def test_integer_arithmetic_stays_integer_and_meets_python_floats_as_float32():
    n = tg.tensor([1, 2, 3])
    assert (n + 1).dtype == np.int64
    assert (n * n).dtype == np.int64
    assert (n * 0.5).dtype == np.float32
    assert (n * 0.5).tolist() == [0.5, 1.0, 1.5]


@pytest.mark.parametrize("left, right", [("int64", "int64"), ("int32", "int64"), ("bool", "int64")])
def test_integer_true_division_gives_float32(left, right):
    a = tg.tensor(np.array([1, 3], dtype=left))
    b = tg.tensor(np.array([2, 4], dtype=right))
    assert (a / b).dtype == np.float32
    np.testing.assert_allclose((a / b).numpy(), a.numpy().astype(np.float64) / b.numpy())
    assert (a / 2).dtype == np.float32


def test_integer_division_by_a_float64_tensor_gives_float64():
    assert (tg.tensor([1, 2]) / tg.tensor(np.array([2.0, 4.0]))).dtype == np.float64


@pytest.mark.parametrize("dtype", FLOATS)
def test_unary_math_on_integers_gives_the_default_float(dtype):
    n = tg.tensor([1, 2])
    for result in (n.exp(), n.log(), n.sqrt(), n.mean(), n.var()):
        assert result.dtype == np.float32
    assert tg.tensor(np.ones(2, dtype=dtype)).exp().dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_gradients_keep_each_input_dtype(dtype):
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.uniform(0.5, 1.5, (3, 4)).astype(dtype), requires_grad=True)
    w = tg.tensor(rng.uniform(-1, 1, (4, 2)).astype(dtype), requires_grad=True)
    ids = tg.tensor([2, 0])
    y = ((x @ w).tanh() * 0.5 + x.log().sum(axis=1, keepdims=True) / 3).sum()
    (y + tg.embedding(x, ids).max() + x[1:, ::2].mean() * tg.tensor([1, 2]).sum()).backward()
    assert y.dtype == np.dtype(dtype)
    for t in (x, w):
        assert t.grad.dtype == np.dtype(dtype) and t.grad.shape == t.shape
        assert np.isfinite(t.grad).all()


def test_a_cast_sends_the_gradient_back_in_the_original_dtype():
    x = tg.tensor(np.array([1.0, 2.0], dtype=np.float16), requires_grad=True)
    y = x.astype("float64") * tg.tensor(np.array([3.0, 4.0]))  # float64 math on a float16 leaf
    y.sum().backward()
    assert y.dtype == np.float64 and x.grad.dtype == np.float16
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_common_dtype_and_resolve_dtype_directly():
    f32, f64, i64 = np.dtype("float32"), np.dtype("float64"), np.dtype("int64")
    assert common_dtype("add", [f32, i64, np.dtype(bool)]) == f32
    assert common_dtype("add", [i64, np.dtype("int32")]) == i64
    with pytest.raises(tg.DTypeError, match="mix: float32 and float64|float32 and float64"):
        common_dtype("mix", [f32, f64])
    assert resolve_dtype("float16", "here") == np.float16
    with pytest.raises(tg.DTypeError, match=r"^here: .*complex64"):
        resolve_dtype("complex64", "here")
