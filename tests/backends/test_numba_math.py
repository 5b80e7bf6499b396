"""The float32 exp and erf polynomials of ``numba_cpu/_math.py`` keep the accuracy they claim.

Over points spread across the whole range each function is used on (exp: t in [-110, 0],
including the float32 subnormals, 0 and -inf; erf: the real line), the polynomial must agree
with the C library's function: exp to 1e-9 relative (far below float32's 6e-8 rounding step)
and erf to 7e-8 absolute; below exp's floor (-110) the result is 0 once rounded to float32.
With ``fast=False`` both are exactly the C library's.
"""

import math

import numpy as np
import pytest

pytest.importorskip("numba")
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


def test_erf_rational_is_within_7e8_absolute():
    for x in np.linspace(-6, 6, 4001).tolist() + [0.0, 4.0, -4.0, 1e-8, math.inf, -math.inf]:
        assert abs(_math.erf_rational(x) - math.erf(x)) <= 7e-8, x
    assert _math.erf_of(0.3, False) == math.erf(0.3)



def test_erf_rational_stays_within_minus_one_and_one():
    # Unclamped, x P / Q is 1 + 4.9e-8 at |x| >= 4, which made exact GELU(-20) = +4.9e-7.
    for x in [4.0, 5.0, 14.1, 1e4, 1e30, math.inf]:
        assert _math.erf_rational(x) == 1.0 and _math.erf_rational(-x) == -1.0, x
    for x in np.linspace(3.0, 4.0, 1001).tolist():  # where the ratio crosses 1
        assert -1.0 <= -_math.erf_rational(-x) == _math.erf_rational(x) <= 1.0, x
    assert math.isnan(_math.erf_rational(math.nan))


def test_exp_nonpositive_is_exactly_0_below_its_floor_and_keeps_inf_and_nan():
    for t in (-110.5, -1e4, -3.4e38, -math.inf):
        assert _math.exp_nonpositive(t) == 0.0, t  # 0, not exp(-110) = 1.7e-48: x * exp(...) stays 0
    assert _math.exp_nonpositive(-110.0) > 0.0
    assert _math.exp_nonpositive(710.0) == math.inf and _math.exp_nonpositive(math.inf) == math.inf
    assert math.isnan(_math.exp_nonpositive(math.nan))
