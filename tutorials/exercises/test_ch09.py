"""Checks of chapter 9's exercises (the `answers` fixture: see conftest.py).

Every comparison is with the NumPy reference table (conftest.py makes it the active one).
"""

import math

import numpy as np
import pytest

from tinygrad_lm.backends import get_kernel
from tinygrad_lm.testing import check_close

rng = np.random.default_rng(9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_rows_matches_the_reference_kernel(answers, dtype):
    x = (rng.standard_normal((7, 13)) * 3).astype(dtype)
    y = answers.softmax_rows(x)
    assert y.dtype == dtype
    check_close(y, get_kernel("softmax_fwd")(x))


def test_softmax_rows_is_finite_for_huge_logits(answers):
    x = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]], dtype=np.float32)
    y = answers.softmax_rows(x)
    check_close(y, get_kernel("softmax_fwd")(x))
    assert np.isfinite(y).all() and y[0].tolist() == [1.0, 0.0, 0.0]


def test_exp_nonpositive_is_within_1e_minus_9(answers):
    ts = -np.geomspace(1e-8, 100, 500)
    worst = max(abs(answers.exp_nonpositive(float(t)) - math.exp(t)) / math.exp(t) for t in ts)
    assert worst < 1e-9, worst
    assert answers.exp_nonpositive(0.0) == 1.0


def test_exp_nonpositive_below_the_floor_is_zero(answers):
    assert answers.exp_nonpositive(-110.5) == 0.0 and answers.exp_nonpositive(-1e30) == 0.0
    assert answers.exp_nonpositive(-105.0) == pytest.approx(math.exp(-105.0), rel=1e-9)


@pytest.mark.parametrize("dtype, eps", [(np.float64, 1e-5), (np.float32, 1e-5), (np.float64, 0.5)])
def test_layer_norm_rows_matches_the_reference_kernel(answers, dtype, eps):
    x = (rng.standard_normal((6, 10)) * 4 + 2).astype(dtype)
    weight, bias = rng.standard_normal(10).astype(dtype), rng.standard_normal(10).astype(dtype)
    mine = answers.layer_norm_rows(x, weight, bias, eps)
    reference = get_kernel("layer_norm_fwd")(x, weight, bias, eps)
    for name, a, b in zip(["y", "mean", "rstd"], mine, reference):
        assert a.shape == b.shape and a.dtype == x.dtype, (name, a.shape, a.dtype)
        check_close(a, b, name=name, scale=np.abs(b).max())


def test_layer_norm_rows_of_a_constant_row(answers):
    y, mean, rstd = answers.layer_norm_rows(np.full((1, 4), 3.0), np.ones(4), np.arange(4.0), 1e-5)
    check_close(y, [[0.0, 1.0, 2.0, 3.0]])
    check_close(mean, [3.0])
    check_close(rstd, [1 / math.sqrt(1e-5)])
