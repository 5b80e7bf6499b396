"""Tests for the protection of arrays saved for backward (``engine/saved.py``).

Writing into an array an op saved, between its forward and its backward, would silently give
a wrong gradient. Saved arrays are read-only until every op that saved them has released
them (after its backward, or when its graph is garbage-collected), so a raw NumPy write raises
NumPy's read-only ``ValueError``. Writes through the engine (in-place operators under
``no_grad``, optimizer steps) go through and mark the old graph stale: its backward raises
``GraphError`` naming the op and the write.
"""


import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.engine.saved import claim_for_write, saved_by


def test_writing_into_a_saved_output_before_backward_is_refused():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    e = x.exp()
    s = e.sum()
    with pytest.raises(ValueError, match="read-only"):
        e.data[...] = 100.0
    s.backward()
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]), rtol=1e-6)  # the right gradient


def test_scaling_a_saved_input_before_backward_is_refused():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(ValueError, match="read-only"):
        x.data *= 2
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_an_in_place_update_under_no_grad_makes_the_old_graph_refuse_backward():
    W = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    loss = (tg.tensor([1.0, 1.0]) @ W).tanh().sum()
    assert saved_by(W.data) == ["MatMul"]
    with tg.no_grad():
        W -= 0.1  # allowed: the engine's own write lets go of W and marks MatMul stale
    np.testing.assert_allclose(W.data, [[0.9, 1.9], [2.9, 3.9]])
    assert saved_by(W.data) == [] and W.data.flags.writeable
    with pytest.raises(tg.GraphError) as error:
        loss.backward()
    message = str(error.value)
    assert message.startswith("MatMul: ") and "in-place -=" in message and "forward again" in message
    assert W.grad is None


def test_an_optimizer_step_on_a_retained_graph_then_a_second_backward_is_caught():
    from tinygrad_lm.optim import SGD

    W = tg.tensor([1.0, 2.0], requires_grad=True)
    loss = (W * W).sum()
    loss.backward(retain_graph=True)
    SGD([W], lr=0.1).step()  # W is saved by the retained graph: the step marks it stale
    np.testing.assert_allclose(W.data, [0.8, 1.6])
    with pytest.raises(tg.GraphError, match=r"^Mul: .*SGD\.step"):
        loss.backward()


def test_an_old_graph_left_alive_does_not_block_training():
    from tinygrad_lm.optim import AdamW

    W = tg.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    x = tg.tensor(np.ones((4, 3), np.float32))
    old_logits = x @ W  # kept, never backpropagated (a notebook's earlier cell)
    optimizer = AdamW([W], lr=0.1)
    for _ in range(2):
        loss = (x @ W).tanh().sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert not np.allclose(W.data, 1.0)
    with pytest.raises(tg.GraphError, match=r"^MatMul: .*AdamW\.step"):
        old_logits.sum().backward()


def test_a_retained_graph_stays_protected_until_it_is_collected():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.log().sum()
    y.backward(retain_graph=True)
    assert not x.data.flags.writeable
    y.backward()  # the second walk releases it
    assert x.data.flags.writeable
    z = (x * x).sum()  # never backpropagated
    assert not x.data.flags.writeable
    del z
    assert x.data.flags.writeable  # the graph died, and let go of its arrays


def test_an_array_saved_by_two_ops_stays_protected_until_both_release():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a, b = x.log().sum(), (x * 3.0).tanh().sum()
    assert saved_by(x.data) == ["Log", "Mul"]
    a.backward()
    assert saved_by(x.data) == ["Mul"] and not x.data.flags.writeable
    b.backward()
    assert saved_by(x.data) == [] and x.data.flags.writeable


def test_views_and_the_array_they_view_are_protected_together():
    base = np.zeros((2, 3))  # owns its memory (a view made before, like arange(6.).reshape, is not caught)
    x = tg.tensor(base, requires_grad=True)
    r = x.reshape(3, 2)  # r.data is a view of base
    y = r.exp().sum()  # Exp saves its output, a fresh array; Mul below saves the view
    z = (r * r).sum()
    with pytest.raises(ValueError, match="read-only"):
        base[0, 0] = 5.0  # the user's own array: tensor() shares its memory
    with pytest.raises(ValueError, match="read-only"):
        r.data[0, 0] = 5.0
    y.backward(retain_graph=True)  # the two graphs share the Reshape
    z.backward()
    assert base.flags.writeable and r.data.flags.writeable


def test_an_array_that_was_read_only_before_stays_read_only():
    frozen = np.ones(3)
    frozen.flags.writeable = False
    x = tg.tensor(frozen, requires_grad=True)
    (x * x).sum().backward()
    assert not frozen.flags.writeable


def test_no_grad_saves_nothing_and_protects_nothing():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        y = x.exp()
    assert x.data.flags.writeable and y.data.flags.writeable and saved_by(y.data) == []


def test_claim_for_write_marks_every_holder_stale_and_frees_the_array():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a, b = (x * 2.0).sum(), x.log().sum()
    claim_for_write(x.data, "my_update")
    assert x.data.flags.writeable and saved_by(x.data) == []
    x.data[0] = 5.0
    for root, op in ((a, "Mul"), (b, "Log")):
        with pytest.raises(tg.GraphError, match=f"^{op}: .*my_update"):
            root.backward()
    claim_for_write(np.ones(2), "nothing holds this")  # a no-op


def test_a_graph_collected_while_the_registry_is_busy_lets_go_at_the_next_call():
    from tinygrad_lm.engine import saved

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    token = saved.hold([x.data], "Exp")
    with saved._lock:  # as if the garbage collector ran inside hold() on this thread
        saved.let_go(token, from_del=True)  # must not wait for the lock it would deadlock on
    assert not x.data.flags.writeable  # deferred ...
    assert saved_by(x.data) == [] and x.data.flags.writeable  # ... and done at the next call
