"""Learning-rate schedules at their key points, their monotone stretches, errors, LRScheduler."""

import functools
import json
import math
import re

import numpy as np
import pytest

from tinygrad_lm.optim import (
    SGD,
    LRScheduler,
    cyclic,
    linear_decay,
    step_decay,
    warmup_cosine,
)
from tinygrad_lm.optim.schedules import inverse_sqrt_warmup


def lrs(schedule, steps, **kwargs):
    return np.array([schedule(step, **kwargs) for step in steps])


def test_warmup_cosine_key_points():
    # base 1.0, warm-up 10, total 110, min 0.1 (nanoGPT's formula):
    kw = {"base_lr": 1.0, "warmup_steps": 10, "total_steps": 110, "min_lr": 0.1}
    assert warmup_cosine(0, **kw) == pytest.approx(1 / 11, abs=1e-15)   # (0 + 1) / (10 + 1)
    assert warmup_cosine(9, **kw) == pytest.approx(10 / 11, abs=1e-15)  # last warm-up step
    assert warmup_cosine(10, **kw) == 1.0                                # peak: cos(0) = 1
    assert warmup_cosine(60, **kw) == pytest.approx(0.55, abs=1e-15)    # midpoint: 0.1 + 0.5 * 0.9
    assert warmup_cosine(110, **kw) == pytest.approx(0.1, abs=1e-15)    # end: cos(pi) = -1
    assert warmup_cosine(111, **kw) == 0.1 and warmup_cosine(10**6, **kw) == 0.1


def test_warmup_cosine_rises_then_falls():
    kw = {"base_lr": 6e-4, "warmup_steps": 20, "total_steps": 200, "min_lr": 6e-5}
    up, down = lrs(warmup_cosine, range(21), **kw), lrs(warmup_cosine, range(20, 260), **kw)
    assert (np.diff(up) > 0).all()
    assert (np.diff(down) <= 0).all() and (np.diff(down[:181]) < 0).all()
    assert down.min() == 6e-5 and up.max() == 6e-4


def test_warmup_cosine_without_warmup_starts_at_base():
    assert warmup_cosine(0, 2.0, warmup_steps=0, total_steps=4) == 2.0
    assert warmup_cosine(2, 2.0, warmup_steps=0, total_steps=4) == pytest.approx(1.0, abs=1e-15)


def test_linear_decay_key_points():
    kw = {"base_lr": 1.0, "total_steps": 10}
    assert [linear_decay(s, **kw) for s in (0, 5, 10, 20)] == [1.0, 0.5, 0.0, 0.0]
    # with warm-up 4 and end 0.2: (s + 1) / 5 for s < 4, then 1 -> 0.2 over steps 4..10
    kw = {"base_lr": 1.0, "total_steps": 10, "end_lr": 0.2, "warmup_steps": 4}
    got = [linear_decay(s, **kw) for s in (0, 3, 4, 7, 10, 11)]
    np.testing.assert_allclose(got, [0.2, 0.8, 1.0, 0.6, 0.2, 0.2], rtol=0, atol=1e-15)
    assert (np.diff(lrs(linear_decay, range(4, 15), **kw)) <= 0).all()


def test_step_decay_key_points():
    got = [step_decay(s, 1.0, step_size=3, gamma=0.5) for s in range(8)]
    assert got == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_cyclic_is_a_periodic_triangle():
    kw = {"base_lr": 0.1, "max_lr": 1.1, "period": 10}
    np.testing.assert_allclose(lrs(cyclic, (0, 2, 5, 7, 10), **kw), [0.1, 0.5, 1.1, 0.7, 0.1], rtol=0, atol=1e-15)
    one, two = lrs(cyclic, range(10), **kw), lrs(cyclic, range(10, 20), **kw)
    np.testing.assert_array_equal(one, two)
    assert (np.diff(one[:6]) > 0).all() and (np.diff(one[5:]) < 0).all()


@pytest.mark.parametrize("call, message", [
    (lambda: warmup_cosine(-1, 1.0, 10, 100), "warmup_cosine: step = -1 must be >= 0"),
    (lambda: warmup_cosine(1.5, 1.0, 10, 100), "warmup_cosine: step = 1.5 must be an integer"),
    (lambda: warmup_cosine(0, 1.0, 10, 10), "warmup_cosine: total_steps = 10 must be >= 11"),
    (lambda: warmup_cosine(0, 1.0, 10, 100, min_lr=2.0), "warmup_cosine: min_lr = 2.0 must be <= base_lr = 1.0"),
    (lambda: warmup_cosine(0, -1.0, 10, 100), "warmup_cosine: base_lr = -1.0 must be finite and >= 0"),
    (lambda: linear_decay(0, 1.0, 5, warmup_steps=5), "linear_decay: total_steps = 5 must be >= 6"),
    (lambda: linear_decay(0, 1.0, 5, end_lr=1.5), "linear_decay: end_lr = 1.5 must be <= base_lr = 1.0"),
    (lambda: step_decay(0, 1.0, step_size=0), "step_decay: step_size = 0 must be >= 1"),
    (lambda: step_decay(0, 1.0, step_size=2, gamma=1.5), "step_decay: gamma = 1.5 must be in (0, 1]"),
    (lambda: step_decay(0, 1.0, step_size=2, gamma=0.0), "step_decay: gamma = 0.0 must be in (0, 1]"),
    (lambda: cyclic(0, 1.0, 0.5, 10), "cyclic: max_lr = 0.5 must be >= base_lr = 1.0"),
    (lambda: cyclic(0, 0.1, 1.0, 1), "cyclic: period = 1 must be >= 2"),
    (lambda: cyclic(0, 0.1, float("inf"), 4), "cyclic: max_lr = inf must be finite and >= 0"),
])
def test_nonsense_arguments_are_named(call, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        call()


def make_optimizer(make_param, lrs_per_group=(0.1, 0.01)):
    return SGD([{"params": [make_param([1.0])], "lr": lr} for lr in lrs_per_group], lr=1.0)


def test_scheduler_sets_each_group_from_its_own_base_lr(make_param):
    optimizer = make_optimizer(make_param)
    scheduler = LRScheduler(optimizer, functools.partial(step_decay, step_size=2, gamma=0.5))
    seen = [scheduler.lrs()]
    for _ in range(4):
        scheduler.step()
        seen.append(scheduler.lrs())
    assert seen == [[0.1, 0.01], [0.1, 0.01], [0.05, 0.005], [0.05, 0.005], [0.025, 0.0025]]
    assert [group["lr"] for group in optimizer.param_groups] == [0.025, 0.0025]


def test_scheduler_state_round_trip_resumes_the_same_lrs(make_param):
    schedule = functools.partial(warmup_cosine, warmup_steps=3, total_steps=12, min_lr=0.001)
    straight = LRScheduler(make_optimizer(make_param), schedule)
    expected = []
    for step in range(10):
        expected.append(straight.lrs())
        straight.step()
        if step == 4:
            saved = json.dumps(straight.state_dict())
    resumed = LRScheduler(make_optimizer(make_param, (0.5, 0.5)), schedule)  # wrong lrs, fixed by the load
    resumed.load_state_dict(json.loads(saved))
    got = []
    for _ in range(5):
        got.append(resumed.lrs())
        resumed.step()
    assert got == expected[5:]


def test_scheduler_errors(make_param):
    with pytest.raises(TypeError, match="schedule must be callable"):
        LRScheduler(make_optimizer(make_param), 0.1)
    with pytest.raises(ValueError, match=re.escape("LRScheduler (param group 0, step 0): the schedule's result: "
                                                   "lr = -0.1 must be finite and >= 0")):
        LRScheduler(make_optimizer(make_param), lambda step, base_lr: -base_lr)
    scheduler = LRScheduler(make_optimizer(make_param), lambda step, base_lr: base_lr)
    with pytest.raises(ValueError, match="the state has 1 base lrs, the optimizer has 2 param groups"):
        scheduler.load_state_dict({"step": 3, "base_lrs": [0.1]})
    with pytest.raises(ValueError, match="expected a dict with keys 'step' and 'base_lrs'"):
        scheduler.load_state_dict({"last_epoch": 3})
    assert scheduler.current_step == 0 and math.isclose(scheduler.lrs()[0], 0.1)


# --- the Transformer's inverse-square-root warm-up ------------------------------------------
def test_inverse_sqrt_warmup_is_the_papers_formula_at_key_points():
    def paper(step_number, d_model=512, warmup=4000):  # eq. 3, steps counted from 1
        return d_model ** -0.5 * min(step_number ** -0.5, step_number * warmup ** -1.5)

    for step in (0, 1, 999, 3998, 3999, 4000, 10_000, 100_000):
        assert inverse_sqrt_warmup(step, 1.0, 512, 4000) == pytest.approx(paper(step + 1), rel=1e-15)
    peak = inverse_sqrt_warmup(3999, 2.0, 512, 4000)  # step 3999 is the paper's step 4000
    assert peak == pytest.approx(2.0 / math.sqrt(512 * 4000), rel=1e-15)
    curve = lrs(inverse_sqrt_warmup, range(8000), base_lr=2.0, d_model=512, warmup_steps=4000)
    assert curve.max() == peak and np.argmax(curve) == 3999
    assert (np.diff(curve[:4000]) > 0).all() and (np.diff(curve[3999:]) < 0).all()
    np.testing.assert_allclose(curve[:4000], curve[0] * np.arange(1, 4001), rtol=1e-12)  # linear warm-up
    with pytest.raises(ValueError, match=r"inverse_sqrt_warmup: warmup_steps = 0 must be >= 1"):
        inverse_sqrt_warmup(0, 1.0, 512, 0)
    with pytest.raises(ValueError, match=r"inverse_sqrt_warmup: d_model = 0.5 must be an integer"):
        inverse_sqrt_warmup(0, 1.0, 0.5, 10)
