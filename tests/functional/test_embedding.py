"""F.embedding, the fused version (kernel ``embedding_bwd``), against the primitive ops.embedding.

The composed version is ``tinygrad_lm.ops.embedding`` (a gather with an ``add.at`` backward).
Hypothesis draws tables of both float dtypes and id arrays of any rank, 0-d included, with
repeated ids, whose rows must accumulate. The fused forward is the same gather, so values are
equal; the weight gradient is bit-identical too, because both add the gradient rows in position
order. Bad ids are refused by both versions with the same message, and ``nn.Embedding`` goes
through the fused op (a counting kernel table shows it). The conftest runs all of it under both
kernel tables.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lm as tg
from tinygrad_lm import backends
from tinygrad_lm.functional import composed, fused
from tinygrad_lm.nn import Embedding
from tinygrad_lm.testing import gradcheck
from tinygrad_lm.testing import strategies as ts


@st.composite
def table_and_ids(draw):
    vocab, dim = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    weight = draw(ts.float_arrays((vocab, dim), dtype))
    ids = draw(ts.index_arrays(vocab, shape=ts.shapes(max_dims=3, max_side=4)))
    return weight, ids


@given(table_and_ids())
def test_fused_equals_composed_in_value_and_gradient_bit_for_bit(case):
    weight, ids = case
    upstream = np.random.default_rng(0).standard_normal((*ids.shape, weight.shape[1])).astype(weight.dtype)
    results = []
    for version in (fused, composed):
        w = tg.tensor(weight, requires_grad=True)
        out = version.embedding(w, ids)
        out.backward(upstream)
        results.append((out.data, w.grad))
    (fused_out, fused_grad), (composed_out, composed_grad) = results
    assert fused_out.dtype == fused_grad.dtype == weight.dtype
    np.testing.assert_array_equal(fused_out, composed_out)
    np.testing.assert_array_equal(fused_grad, composed_grad)


def test_repeated_ids_accumulate_and_unused_rows_get_zero():
    w = tg.tensor(np.zeros((4, 2)), requires_grad=True)
    fused.embedding(w, np.array([[3, 1], [3, 3]])).backward(np.ones((2, 2, 2)))
    np.testing.assert_array_equal(w.grad, [[0, 0], [1, 1], [0, 0], [3, 3]])


def test_gradcheck():
    weight = np.random.default_rng(1).standard_normal((5, 3))
    assert gradcheck(lambda w: fused.embedding(w, np.array([[0, 4, 4], [2, 0, 1]])), weight, name="embedding")


@pytest.mark.parametrize("ids, error, message", [
    (np.array([0.0, 1.0]), tg.DTypeError, "embedding: ids must be integers, got float64"),
    (np.array([1, 5]), IndexError, r"embedding: id 5 is outside the vocabulary 0..3"),
    (np.array([-1, 2]), IndexError, r"embedding: id -1 is outside the vocabulary 0..3"),
])
@pytest.mark.parametrize("version", [fused, composed], ids=["fused", "composed"])
def test_bad_ids_are_refused_the_same_way_by_both(version, ids, error, message):
    with pytest.raises(error, match=message):
        version.embedding(tg.tensor(np.zeros((4, 2))), ids)


def test_a_weight_that_is_not_a_table_is_refused():
    for version in (fused, composed):
        with pytest.raises(tg.ShapeError, match=r"embedding: weight must be \(vocab, dim\), got shape \(4,\)"):
            version.embedding(tg.tensor(np.zeros(4)), np.array([1]))


def test_nn_embedding_runs_the_fused_kernel(monkeypatch, kernel_table):
    calls = []
    table = backends.load_kernels(kernel_table)
    kernel = table["embedding_bwd"]
    monkeypatch.setitem(table, "embedding_bwd", lambda *args: calls.append(1) or kernel(*args))
    layer = Embedding(6, 3, rng=0)
    layer(np.array([[1, 2, 1]])).sum().backward()
    assert calls == [1]
    np.testing.assert_array_equal(layer.weight.grad.sum(axis=1), [0, 6, 3, 0, 0, 0])
