"""Tests for ``Tensor`` itself: construction, dtypes, leaving the engine, repr, len and bool.

What a Tensor promises before any op touches it: which dtype each kind of input data gets
(Python floats float32, ints int64, bools bool, NumPy arrays keep theirs), which dtypes are
refused (complex, float128, strings, bfloat16 by name), how data leaves the engine (``numpy``,
``item``, ``tolist``, ``detach``), that integer tensors cannot require grad, and what ``len``,
``bool`` and ``repr`` do.

Not tested here: ops (tests/ops), gradients and the graph walk (test_autograd.py), dtype
promotion between tensors (test_dtypes.py).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lm as tg

SUPPORTED_DTYPES = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool"]


# --- construction ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, "float32"),
        ([1.0, 2.0], "float32"),
        ([[1, 2.5]], "float32"),  # a mixed int/float list is float data
        (3, "int64"),
        ([1, 2, 3], "int64"),
        (True, "bool"),
        ([True, False], "bool"),
    ],
)
def test_python_data_gets_the_documented_dtype(data, dtype):
    assert tg.tensor(data).dtype == np.dtype(dtype)


@given(array=hnp.arrays(st.sampled_from(SUPPORTED_DTYPES), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0)))
def test_numpy_arrays_keep_their_dtype_and_values(array):
    t = tg.tensor(array)
    assert t.dtype == array.dtype
    assert t.shape == array.shape
    np.testing.assert_array_equal(t.numpy(), array)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_dtype_argument_converts_python_data(dtype):
    t = tg.tensor([1, 2], dtype=dtype)
    assert t.dtype == np.dtype(dtype)
    assert t.tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda: tg.tensor(np.zeros(2, np.complex64)), "complex64"),
        (lambda: tg.tensor([1 + 2j]), "complex128"),
        (lambda: tg.tensor(np.zeros(2, np.longdouble)), "float128"),
        (lambda: tg.tensor(["a", "b"]), "<U1"),
        (lambda: tg.tensor([1.0], dtype="bfloat16"), "bfloat16"),
        (lambda: tg.zeros((2,), dtype="complex128"), "complex128"),
    ],
)
def test_unsupported_dtypes_are_refused_by_name(make, fragment):
    with pytest.raises(tg.DTypeError, match="not") as error:
        make()
    assert fragment in str(error.value)


def test_factories_default_to_float32_and_int64():
    assert tg.zeros((2, 3)).dtype == np.float32
    assert tg.ones((2,)).dtype == np.float32
    assert tg.randn(2, 3).dtype == np.float32
    assert tg.arange(4).dtype == np.int64
    assert tg.zeros((2,), dtype="float64").dtype == np.float64
    assert tg.randn(2, dtype="float16").shape == (2,)


def test_randn_is_reproducible_from_its_generator():
    a = tg.randn(3, 4, rng=np.random.default_rng(7))
    b = tg.randn(3, 4, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_randn_without_rng_draws_fresh_numbers_from_the_seeded_default_generator():
    a, b = tg.randn(3), tg.randn(3)
    assert not np.array_equal(a.numpy(), b.numpy())  # one generator, advancing, never reseeded
    tg.manual_seed(123)
    first = [tg.randn(2, 2).numpy(), tg.randn(3).numpy()]
    tg.manual_seed(123)
    again = [tg.randn(2, 2).numpy(), tg.randn(3).numpy()]
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    tg.manual_seed(123)
    np.testing.assert_array_equal(tg.randn(3).numpy(), np.random.default_rng(123).standard_normal(3).astype(np.float32))


def test_manual_seed_returns_the_default_generator_and_refuses_bad_seeds():
    from tinygrad_lm.engine.seeding import as_generator, default_generator

    generator = tg.manual_seed(5)
    assert generator is default_generator() and as_generator(None) is generator
    assert as_generator(generator) is generator
    np.testing.assert_array_equal(as_generator(9).random(2), np.random.default_rng(9).random(2))
    for bad in (-1, 1.5, "0"):
        with pytest.raises(ValueError, match="manual_seed: the seed must be a non-negative int"):
            tg.manual_seed(bad)


# --- requires_grad -----------------------------------------------------------------------------
@pytest.mark.parametrize("data", [[1, 2], np.array([1], np.int32), [True, False], np.uint8(3)])
def test_integer_and_bool_tensors_cannot_require_grad(data):
    with pytest.raises(tg.DTypeError, match="requires_grad") as error:
        tg.tensor(data, requires_grad=True)
    assert str(tg.tensor(data).dtype) in str(error.value)


def test_requires_grad_underscore_refuses_integers_and_toggles_floats():
    with pytest.raises(tg.DTypeError, match="int64"):
        tg.arange(3).requires_grad_()
    x = tg.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    assert not x.requires_grad_(False).requires_grad


def test_a_new_tensor_is_a_leaf_without_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert x.is_leaf and x._ctx is None and x.grad is None
    assert x.device == "cpu"


# --- leaving the engine -------------------------------------------------------------------------
def test_numpy_shares_memory_with_the_tensor():
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    x.numpy()[0, 0] = 42.0
    assert x.data[0, 0] == 42.0


def test_detach_shares_memory_and_leaves_the_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    d = y.detach()
    assert not d.requires_grad and d._ctx is None and d.is_leaf
    assert np.shares_memory(d.data, y.data)
    with pytest.raises(tg.GraphError):
        d.sum().backward()


def test_zero_dimensional_op_results_are_arrays_not_numpy_scalars():
    # NumPy returns scalars from 0-d arithmetic; a Tensor must still hold an ndarray, and a
    # 0-d leaf's gradient must be an ndarray too (optimizers update them in place).
    x = tg.tensor(2.0, requires_grad=True)
    y = x * 3.0
    assert isinstance(y.data, np.ndarray) and y.shape == ()
    y.backward()
    assert isinstance(x.grad, np.ndarray) and x.grad.shape == () and x.grad == 3.0
    assert np.shares_memory(y.detach().numpy(), y.data)


@pytest.mark.parametrize("data, expected, kind", [([[2.5]], 2.5, float), (7, 7, int), (np.bool_(True), True, bool)])
def test_item_gives_a_python_number(data, expected, kind):
    value = tg.tensor(data).item()
    assert value == expected and type(value) is kind


def test_item_of_several_elements_names_the_shape():
    with pytest.raises(ValueError, match=r"item: .*\(2, 2\)"):
        tg.tensor(np.ones((2, 2))).item()


@pytest.mark.parametrize("data", [[[2.75]], 2.75, np.float64(2.75)])
def test_float_int_and_format_of_a_one_element_tensor(data):
    t = tg.tensor(data, requires_grad=True)
    assert float(t) == 2.75 and type(float(t)) is float
    assert int(t) == 2 and type(int(t)) is int
    assert format(t, ".3f") == "2.750" and f"{t:>8.1f}" == "     2.8"
    assert int(tg.tensor([7])) == 7 and float(tg.tensor(7)) == 7.0


def test_float_int_and_format_of_other_sizes_name_the_shape():
    t = tg.zeros((2, 3))
    for convert in (float, int, lambda x: format(x, ".3f")):
        with pytest.raises(ValueError, match=r"has 6 elements, not 1.*\(2, 3\)") as error:
            convert(t)
        assert "index it first" in str(error.value)
    assert format(t, "") == str(t) == repr(t)  # an empty spec keeps the repr, as for any object


@given(array=hnp.arrays(st.sampled_from(["float64", "int64", "bool"]), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0)))
def test_tolist_matches_numpy(array):
    assert tg.tensor(array).tolist() == array.tolist()


# --- repr, len, bool -----------------------------------------------------------------------------
def test_repr_shows_values_dtype_and_requires_grad():
    text = repr(tg.tensor([[1.0, 2.0]], requires_grad=True))
    assert text.startswith("Tensor([[1., 2.]]") and "dtype=float32" in text and "requires_grad=True" in text
    assert "requires_grad" not in repr(tg.tensor([1, 2]))
    assert "dtype=int64" in repr(tg.tensor([1, 2]))


def test_repr_of_a_big_tensor_is_summarised():
    assert "..." in repr(tg.zeros((100, 100)))


def test_len_is_the_first_axis_and_undefined_for_0d():
    assert len(tg.zeros((4, 2))) == 4
    assert len(tg.zeros((0, 3))) == 0
    with pytest.raises(TypeError, match="0-d"):
        len(tg.tensor(1.0))


@pytest.mark.parametrize("data, truth", [(0.0, False), (2.0, True), ([[0]], False), ([True], True)])
def test_bool_of_a_one_element_tensor_is_its_value(data, truth):
    assert bool(tg.tensor(data)) is truth


@pytest.mark.parametrize("shape", [(2,), (0,), (2, 2)])
def test_bool_of_other_sizes_is_ambiguous_and_names_the_shape(shape):
    with pytest.raises(ValueError, match="ambiguous") as error:
        bool(tg.zeros(shape))
    assert str(shape) in str(error.value)


def test_comparisons_give_boolean_tensors_without_grad():
    x = tg.tensor([1.0, 3.0], requires_grad=True)
    mask = x > 2.0
    assert mask.dtype == np.bool_ and not mask.requires_grad
    assert mask.tolist() == [False, True]
    same = tg.tensor([1.0, 3.0])
    assert (x == same).all() and not (x != same).any()


def test_iteration_walks_the_first_axis_and_refuses_0d():
    x = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    rows = list(x)
    assert [r.shape for r in rows] == [(3,), (3,)]
    (rows[0] * 2 + rows[1]).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2, 2, 2], [1, 1, 1]])
    with pytest.raises(TypeError, match="0-d"):
        list(tg.tensor(1.0))
