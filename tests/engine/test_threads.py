"""Tests that the engine's switches belong to the thread that sets them, as in PyTorch.

Grad mode (``no_grad`` / ``enable_grad``), anomaly mode and a ``use_kernels`` block are
thread-local: one thread turning recording off must not stop another thread's graph. A new
thread starts with recording on, anomaly mode off, and the process-wide kernel table (the
last ``set_kernels``, or the default). Graphs in several threads may hold one saved array.
"""

import sys
import threading

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import backends
from tinygrad_lm.engine.grad_mode import is_anomaly_enabled
from tinygrad_lm.engine.saved import saved_by


@pytest.fixture(autouse=True)
def switch_threads_often():
    """Let the interpreter switch threads every microsecond, so interleavings actually happen."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def run_in_threads(target, count):
    """Start ``count`` threads on ``target(index)`` together; return the exceptions they raised."""
    errors, start = [], threading.Barrier(count)

    def body(index):
        start.wait()
        try:
            target(index)
        except Exception as error:  # noqa: BLE001 - collected and reported by the test
            errors.append(error)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_threads_backpropagate_while_others_toggle_no_grad():
    failures, rounds = [], 200
    scale = tg.tensor(np.full((5, 3), 0.5))  # saved by every thread's Mul: held by many graphs at once

    def backpropagate(index):
        rng = np.random.default_rng(index)
        for _ in range(rounds):
            w = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
            x = tg.tensor(rng.standard_normal((5, 4)))
            loss = ((x @ w) * scale).tanh().sum()
            loss.backward()
            expected = x.data.T @ (0.5 * (1 - np.tanh(0.5 * (x.data @ w.data)) ** 2))
            if w.grad is None or not np.allclose(w.grad, expected):
                failures.append(index)

    def toggle(index):
        for _ in range(rounds * 20):
            with tg.no_grad():
                assert not tg.is_grad_enabled()
            with tg.detect_anomaly():
                assert is_anomaly_enabled()

    errors = run_in_threads(lambda i: (backpropagate if i < 4 else toggle)(i), 6)
    assert errors == [] and failures == []
    assert saved_by(scale.data) == [] and scale.data.flags.writeable  # every graph let go


def test_no_grad_in_one_thread_does_not_leak_into_another():
    entered, checked = threading.Event(), threading.Event()
    seen = {}

    def quiet(_):
        with tg.no_grad(), tg.detect_anomaly():
            entered.set()
            checked.wait(5)
            seen["quiet"] = (tg.is_grad_enabled(), is_anomaly_enabled())

    def other(_):
        entered.wait(5)
        seen["other"] = (tg.is_grad_enabled(), is_anomaly_enabled(), (tg.tensor([1.0], requires_grad=True) * 2).requires_grad)
        checked.set()

    assert run_in_threads(lambda i: (quiet, other)[i](i), 2) == []
    assert seen == {"quiet": (False, True), "other": (True, False, True)}


def test_a_new_thread_starts_with_recording_on_even_inside_no_grad():
    seen = []
    with tg.no_grad():
        thread = threading.Thread(target=lambda: seen.append(tg.is_grad_enabled()))
        thread.start()
        thread.join()
    assert seen == [True]


def test_use_kernels_is_per_thread_and_set_kernels_is_process_wide():
    default = backends.active_backend()
    other = "numpy" if default != "numpy" else "numba"
    inside, checked, seen = threading.Event(), threading.Event(), {}

    def with_block(_):
        with backends.use_kernels(other):
            inside.set()
            checked.wait(5)
            seen["block"] = backends.active_backend()

    def without(_):
        inside.wait(5)
        seen["outside"] = backends.active_backend()
        checked.set()

    assert run_in_threads(lambda i: (with_block, without)[i](i), 2) == []
    assert seen == {"block": other, "outside": default}
    try:
        backends.set_kernels(other)
        thread = threading.Thread(target=lambda: seen.update(new=backends.active_backend()))
        thread.start()
        thread.join()
        assert seen["new"] == other  # a new thread starts with the process-wide choice
    finally:
        backends.set_kernels(default)
