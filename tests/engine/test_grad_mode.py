"""Tests for the engine's global switches: ``no_grad``, ``enable_grad`` and ``detect_anomaly``.

``no_grad`` must build no graph at all (outputs neither require grad nor hold a Context),
whether used as a ``with`` block or a decorator, nested, or left by an exception;
``enable_grad`` turns recording back on inside it. ``detect_anomaly`` is off by default and,
when on, names the first op whose forward output or backward gradient holds NaN or Inf.

Not tested here: what the graph computes (test_autograd.py).
"""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.engine.grad_mode import is_anomaly_enabled


def leaf():
    return tg.tensor([1.0, 2.0, 3.0], requires_grad=True)


def assert_no_graph(t):
    assert not t.requires_grad and t._ctx is None and t.is_leaf


# --- no_grad ---------------------------------------------------------------------------------------
def test_no_grad_builds_no_graph():
    x = leaf()
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = (x * 2.0).exp().sum()
        z = x @ x
    assert tg.is_grad_enabled()
    assert_no_graph(y)
    assert_no_graph(z)
    with pytest.raises(tg.GraphError):
        y.backward()
    assert x.grad is None


def test_no_grad_as_a_decorator():
    @tg.no_grad()
    def double(x):
        assert not tg.is_grad_enabled()
        return x * 2.0

    y = double(leaf())
    assert_no_graph(y)
    assert tg.is_grad_enabled()
    assert (double(leaf()) * 1.0).requires_grad is False  # each call switches off and back on


def test_nested_no_grad_stays_off_until_the_outer_block_ends():
    x = leaf()
    with tg.no_grad():
        with tg.no_grad():
            pass
        assert not tg.is_grad_enabled()
        assert_no_graph(x * 2.0)
    assert tg.is_grad_enabled()
    assert (x * 2.0).requires_grad


def test_no_grad_restores_recording_when_an_exception_leaves_it():
    with pytest.raises(ZeroDivisionError), tg.no_grad():
        raise ZeroDivisionError
    assert tg.is_grad_enabled()

    @tg.no_grad()
    def failing():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        failing()
    assert tg.is_grad_enabled()


def test_enable_grad_records_inside_no_grad_and_hands_back():
    x = leaf()
    with tg.no_grad():
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            y = (x * x).sum()
        assert not tg.is_grad_enabled()
        assert_no_graph(x * 2.0)
    assert y.requires_grad and y._ctx is not None
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])


def test_leaves_made_under_no_grad_can_still_require_grad():
    with tg.no_grad():
        x = leaf()
    assert x.requires_grad
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0, 3.0])


# --- detect_anomaly ----------------------------------------------------------------------------------
def test_detect_anomaly_is_off_by_default():
    assert not is_anomaly_enabled()
    with np.errstate(invalid="ignore"):
        y = tg.tensor([-1.0]).log()
    assert np.isnan(y.item())


def test_detect_anomaly_names_the_op_whose_forward_made_nan():
    x = tg.tensor([1.0, -1.0], requires_grad=True)
    with tg.detect_anomaly(), np.errstate(invalid="ignore"):
        h = x * 2.0  # fine
        with pytest.raises(FloatingPointError, match=r"Log\.forward produced NaN"):
            h.log()
    assert not is_anomaly_enabled()


def test_detect_anomaly_names_the_op_whose_backward_made_inf():
    x = tg.tensor([0.0, 4.0], requires_grad=True)
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt().sum()  # sqrt(0) = 0 is finite; its slope 1/(2 sqrt 0) is not
        with pytest.raises(FloatingPointError, match=r"Sqrt\.backward.*produced Inf"):
            y.backward()


def test_detect_anomaly_passes_finite_graphs_and_integer_results():
    x = tg.tensor([0.5, 2.0], requires_grad=True)
    with tg.detect_anomaly():
        y = (x.log() * x.argmax()).sum()
        y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 0.5])


def test_detect_anomaly_restores_itself_after_an_error():
    with pytest.raises(FloatingPointError), tg.detect_anomaly(), np.errstate(invalid="ignore"):
        tg.tensor([-1.0]).sqrt()
    assert not is_anomaly_enabled()
