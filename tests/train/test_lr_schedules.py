"""The trainer's learning-rate schedules, read through ``Trainer.lr_at`` (it needs only the config)."""

import dataclasses
import math
from types import SimpleNamespace

import pytest

from tinygrad_lm.train import ConfigError, Trainer, preset


def lr_at(config, step):
    return Trainer.lr_at(SimpleNamespace(config=config), step)


def test_inverse_sqrt_rises_linearly_to_lr_at_warmup_then_falls_as_one_over_sqrt_step():
    """lr_t = lr * min(s / w, sqrt(w / s)), s = step + 1: the paper's shape with lr as its peak."""
    config = dataclasses.replace(preset("translate-en-es"), lr_schedule="inverse_sqrt", lr=1e-3, warmup_iters=100)
    assert lr_at(config, 0) == pytest.approx(1e-3 / 100)
    assert lr_at(config, 49) == pytest.approx(1e-3 * 50 / 100)
    assert lr_at(config, 99) == pytest.approx(1e-3)
    assert lr_at(config, 399) == pytest.approx(1e-3 * math.sqrt(100 / 400))
    assert max(lr_at(config, s) for s in range(1000)) == pytest.approx(1e-3)


def test_inverse_sqrt_needs_a_warmup():
    with pytest.raises(ConfigError, match="warmup_iters"):
        dataclasses.replace(preset("translate-en-es"), lr_schedule="inverse_sqrt", warmup_iters=0)
