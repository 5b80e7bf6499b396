"""The float32 exp and erf polynomials of ``numba_cpu/_math.py`` keep the accuracy they claim.

Over points spread across the whole range each function is used on (exp: t in [-110, 0],
including the float32 subnormals, 0 and -inf; erf: the real line), the polynomial must agree
with the C library's function: ``exp_nonpositive`` (float64 arithmetic) to 1e-9 relative, far
below float32's 6e-8 rounding step, and 0 below its floor (-110); with ``fast=False`` it is
exactly the C library's. The float32-arithmetic ``exp_f32`` is within one float32 step and 0
below -87.33; ``erf_f32`` within 5e-7 absolute and never outside [-1, 1].
"""

import math

import numpy as np
import pytest

pytest.importorskip("numba")
from numba import njit  # noqa: E402

from tinygrad_lm.backends.numba_cpu import _math  # noqa: E402


def exp_points():
    t = -np.concatenate([np.geomspace(1e-8, 110, 1500), np.linspace(0, 110, 500)])
    return [0.0, -0.0, -1e-30, -87.3, -103.9, -104.0, -200.0, -math.inf, *t.tolist()]


def test_exp_nonpositive_is_within_1e9_relative_and_rounds_like_float32():
    for t in exp_points():
        got, want = _math.exp_nonpositive(t), math.exp(t)
        if t < _math.EXP_FLOOR:  # clamped: exp(-110) = 1.7e-48, which float32 rounds to 0
            assert got < 2e-48 and np.float32(got) == 0.0, (t, got)
            continue
        assert abs(got - want) <= 1e-9 * want + 1e-300, (t, got, want)
        assert np.float32(got) == np.float32(want) or abs(np.float32(got) - np.float32(want)) <= np.spacing(
            np.float32(want)), (t, got, want)  # at most one float32 step apart


def test_exp_nonpositive_of_falls_back_to_the_exact_exp():
    for t in (-0.5, -20.0, -700.0):
        assert _math.exp_nonpositive_of(t, False) == math.exp(t)
        assert _math.exp_nonpositive_of(t, True) == _math.exp_nonpositive(t)


@njit
def each(function, points):
    """``function`` of every element of the float32 array ``points``, compiled as a kernel calls it."""
    out = np.empty_like(points)
    for i in range(points.shape[0]):
        out[i] = function(points[i])
    return out


def test_erf_f32_is_within_5e7_absolute_in_float32_arithmetic():
    x = np.concatenate([np.linspace(-6, 6, 40001), [0.0, 4.0, -4.0, 1e-8, 3.999]]).astype(np.float32)
    got = each(_math.erf_f32, x)
    assert got.dtype == np.float32
    want = np.array([math.erf(v) for v in x.tolist()])
    worst = int(np.argmax(np.abs(got - want)))
    assert abs(got[worst] - want[worst]) <= 5e-7, (x[worst], got[worst], want[worst])


def test_erf_f32_stays_within_minus_one_and_one():
    # Unclamped, x P / Q passes 1 at |x| >= 4, which made exact GELU(-20) positive.
    x = np.array([4.0, 5.0, 14.1, 1e4, 1e30, math.inf, *np.linspace(3.0, 4.0, 1001)], dtype=np.float32)
    got, mirrored = each(_math.erf_f32, x), each(_math.erf_f32, -x)
    assert np.all(got <= 1.0) and np.all(mirrored == -got)
    assert np.all(got[:6] == 1.0)
    assert math.isnan(_math.erf_f32(np.float32(math.nan)))


def test_exp_f32_is_within_one_float32_step_and_0_below_its_floor():
    t = -np.concatenate([np.geomspace(1e-8, 87.3, 20000), np.linspace(0, 87.3, 20000)]).astype(np.float32)
    got = each(_math.exp_f32, t)
    want = np.exp(t.astype(np.float64))
    steps = np.abs(got - want) / np.spacing(want.astype(np.float32))
    worst = int(np.argmax(steps))
    assert steps[worst] <= 1.0, (t[worst], got[worst], want[worst])
    below = np.array([-87.34, -90.0, -1e4, -3.4e38, -math.inf], dtype=np.float32)
    assert np.all(each(_math.exp_f32, below) == 0.0)
    assert math.isnan(_math.exp_f32(np.float32(math.nan)))


def test_exp_nonpositive_is_exactly_0_below_its_floor_and_keeps_inf_and_nan():
    for t in (-110.5, -1e4, -3.4e38, -math.inf):
        assert _math.exp_nonpositive(t) == 0.0, t  # 0, not exp(-110) = 1.7e-48: x * exp(...) stays 0
    assert _math.exp_nonpositive(-110.0) > 0.0
    assert _math.exp_nonpositive(710.0) == math.inf and _math.exp_nonpositive(math.inf) == math.inf
    assert math.isnan(_math.exp_nonpositive(math.nan))
