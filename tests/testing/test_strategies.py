"""Tests of the testers: each public strategy produces what its docstring promises.

"Reaches" claims (0-d shapes, size-1 axes, different ranks, negative indices, causal masks)
are checked with ``find`` on the generate phase only, so they cost a few draws each.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from tinygrad_lm.testing import strategies as ts

SEARCH = settings(max_examples=1000, phases=[Phase.generate], database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))


def reaches(strategy, condition):
    return find(strategy, condition, settings=SEARCH) is not None


@given(st.data(), st.integers(0, 3), st.integers(0, 3), st.integers(1, 3), st.integers(0, 4))
def test_shapes_stay_in_bounds(data, min_dims, extra_dims, min_side, extra_side):
    shape = data.draw(ts.shapes(min_dims, min_dims + extra_dims, min_side, min_side + extra_side))
    assert min_dims <= len(shape) <= min_dims + extra_dims
    assert all(min_side <= n <= min_side + extra_side for n in shape)


def test_shapes_reach_zero_dims_and_size_one_axes():
    assert reaches(ts.shapes(), lambda s: s == ())
    assert reaches(ts.shapes(), lambda s: len(s) >= 2 and 1 in s and max(s) > 1)


@given(st.integers(1, 4).flatmap(lambda n: st.tuples(st.just(n), ts.broadcastable_shapes(n))))
def test_broadcastable_shapes_broadcast(drawn):
    n, shapes = drawn
    assert len(shapes) == n
    np.broadcast_shapes(*shapes)  # raises if they do not broadcast
    assert all(len(s) <= 4 and all(1 <= side <= 5 for side in s) for s in shapes)


def test_broadcastable_shapes_reach_different_ranks_and_stretched_ones():
    def stretched(shapes):
        result = np.broadcast_shapes(*shapes)
        return any(1 in s and s != result[len(result) - len(s):] for s in shapes if s)

    assert reaches(ts.broadcastable_shapes(2), lambda s: len(s[0]) != len(s[1]))
    assert reaches(ts.broadcastable_shapes(2), stretched)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@given(data=st.data())
def test_float_arrays_are_finite_bounded_and_typed(dtype, data):
    array = data.draw(ts.float_arrays(ts.shapes(), dtype, min_value=0.1, max_value=3.3))
    assert array.dtype == dtype
    assert np.all(np.isfinite(array)) and np.all(array >= 0.1) and np.all(array <= 3.3)


def test_float_arrays_refuse_impossible_bounds():
    with pytest.raises(ValueError, match="finite range of float16"):
        ts.float_arrays((2,), np.float16, -1e6, 1.0)
    with pytest.raises(ValueError, match="dtype"):
        ts.float_arrays((2,), np.int64)


@given(ts.noncontiguous(ts.float_arrays(ts.shapes())))
def test_noncontiguous_views_are_noncontiguous_with_the_same_values(view):
    if view.size > 1:
        assert not view.flags.c_contiguous


@pytest.mark.parametrize("layout", ["strided", "reversed", "transposed"])
@given(array=ts.float_arrays(ts.shapes(min_dims=1)))
def test_noncontiguous_copy_keeps_values_dtype_and_shape(layout, array):
    view = ts.noncontiguous_copy(array, layout)
    assert view.dtype == array.dtype and view.shape == array.shape
    np.testing.assert_array_equal(view, array)
    assert view.size <= 1 or not view.flags.c_contiguous


def test_noncontiguous_copy_refuses_an_unknown_layout():
    with pytest.raises(ValueError, match="layout"):
        ts.noncontiguous_copy(np.zeros((2, 2)), "diagonal")


@given(st.integers(1, 6).flatmap(lambda size: st.tuples(st.just(size), ts.index_arrays(size, repeats=True))))
def test_index_arrays_stay_in_range_and_repeat_when_asked(drawn):
    size, ids = drawn
    assert ids.dtype == np.int64 and np.all((ids >= 0) & (ids < size))
    assert len(np.unique(ids)) < ids.size


def test_index_arrays_reach_negative_indices_and_refuse_impossible_repeats():
    assert reaches(ts.index_arrays(5, allow_negative=True), lambda ids: np.any(ids < 0))
    with pytest.raises(ValueError, match="fewer than 2 elements"):
        find(ts.index_arrays(3, shape=(1,), repeats=True), lambda _: True, settings=SEARCH)


@given(ts.shapes().flatmap(lambda s: st.tuples(st.just(s), ts.reduction_axes(len(s)))))
def test_reduction_axes_are_valid_numpy_axes(drawn):
    shape, axis = drawn
    np.sum(np.ones(shape), axis=axis)  # raises on an invalid or repeated axis


@given(ts.float_arrays(ts.shapes(), min_value=-2.0, max_value=2.0))
def test_away_from_moves_only_what_is_near_a_kink(array):
    kinks, margin = [-1.0, 0.0, 1.5], 0.1
    moved = ts.away_from(array, kinks, margin)
    assert isinstance(moved, np.ndarray) and moved.shape == array.shape and moved.dtype == array.dtype
    for kink in kinks:
        assert np.all(np.abs(moved - kink) >= margin - 1e-12)
        assert np.all(np.sign(moved - kink)[array != kink] == np.sign(array - kink)[array != kink])
    far = np.all([np.abs(array - k) >= margin for k in kinks], axis=0)
    np.testing.assert_array_equal(moved[far], array[far])


def test_away_from_refuses_kinks_too_close_together():
    with pytest.raises(ValueError, match="apart"):
        ts.away_from(np.zeros(3), [0.0, 0.1], margin=0.1)


@given(ts.float_arrays(ts.shapes()))
def test_distinct_spreads_values_and_keeps_their_order(array):
    spread = ts.distinct(array, 1e-3)
    flat = np.sort(spread.reshape(-1))
    assert isinstance(spread, np.ndarray) and spread.shape == array.shape
    assert np.all(np.diff(flat) >= 1e-3 - 1e-12)
    order = np.argsort(array.reshape(-1), kind="stable")
    assert np.all(np.diff(spread.reshape(-1)[order]) > 0)


@given(ts.broadcastable_shapes(2).flatmap(lambda s: st.tuples(ts.float_arrays(s[0]), ts.float_arrays(s[1]))))
def test_separated_leaves_no_pair_closer_than_the_margin(pair):
    a, b = pair
    a2, b2 = ts.separated(a, b, 1e-2)
    assert isinstance(a2, np.ndarray) and isinstance(b2, np.ndarray)
    assert a2.shape == a.shape and b2.shape == b.shape
    assert np.all(np.abs(a2[..., None] - b2.reshape(-1)) >= 1e-2 * (1 - 1e-9))  # every a-b pair
    assert np.all(np.abs(a2 - a) <= 1e-2 + 1e-12) and np.all(np.abs(b2 - b) <= 1e-2 + 1e-12)


@given(ts.attention_shapes_and_masks())
def test_attention_masks_broadcast_and_leave_a_visible_key_in_every_row(case):
    full = (case.batch, case.heads, case.q_len, case.k_len)
    assert case.mask.dtype == np.bool_ and 2 <= case.mask.ndim <= 4
    mask = np.broadcast_to(case.mask, full)
    assert np.all(mask.any(axis=-1))
    assert case.head_dim >= 1


def test_attention_masks_reach_causal_and_partly_hidden_rows():
    def causal(case):
        q, k = case.mask.shape[-2:]
        return q > 1 and k == q and np.array_equal(case.mask.reshape(-1, q, k)[0], np.tril(np.ones((q, k), bool)))

    assert reaches(ts.attention_shapes_and_masks(), causal)
    assert reaches(ts.attention_shapes_and_masks(), lambda case: not case.mask.all())


@given(st.sampled_from([np.float16, np.float32, np.float64]), st.data())
def test_extreme_float_arrays_hold_ordinary_or_extreme_values(dtype, data):
    a = data.draw(ts.extreme_float_arrays((3, 4), dtype))
    extremes = np.array(ts.extreme_values(dtype), dtype=dtype)
    assert a.dtype == dtype and a.shape == (3, 4)
    ordinary = np.isfinite(a) & (np.abs(a.astype(np.float64)) <= 4)
    assert np.all(ordinary | np.isin(a, extremes) | np.isnan(a))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_extreme_float_arrays_reach_each_kind_of_extreme(dtype):
    info = np.finfo(dtype)
    for check in (np.isnan, np.isposinf, np.isneginf, lambda a: a == info.max, lambda a: a == -info.max,
                  lambda a: (a != 0) & (np.abs(a) < info.smallest_normal)):
        assert reaches(ts.extreme_float_arrays((2, 3), dtype), lambda a, check=check: bool(check(a).any()))
    assert reaches(ts.extreme_float_arrays((2, 3), dtype), lambda a: bool(np.isfinite(a).all() and a.any()))
