"""Run configuration: every field is checked where it is parsed, with its allowed range in the message."""

import dataclasses

import pytest

from tinygrad_lm.train import ConfigError, RunConfig, apply_overrides, preset
from tinygrad_lm.train.config import estimated_memory_bytes


@pytest.mark.parametrize("override, message", [
    ("lr=-1", "lr must be a finite number >= 0, got -1.0"),
    ("lr=nan", "lr must be a finite number >= 0, got nan"),
    ("lr=inf", "lr must be a finite number >= 0, got inf"),
    ("min_lr=-0.1", "min_lr must be a finite number in [0, lr]"),
    ("min_lr=nan", "min_lr must be a finite number in [0, lr]"),
    ("min_lr=1", "min_lr must be a finite number in [0, lr] (lr is 0.003), got 1.0"),
    ("beta1=1", "beta1 must be in [0, 1), got 1.0"),
    ("beta1=-0.5", "beta1 must be in [0, 1)"),
    ("beta2=nan", "beta2 must be in [0, 1), got nan"),
    ("beta2=inf", "beta2 must be in [0, 1)"),
    ("weight_decay=-0.1", "weight_decay must be a finite number >= 0"),
    ("weight_decay=nan", "weight_decay must be a finite number >= 0"),
    ("weight_decay=inf", "weight_decay must be a finite number >= 0"),
    ("grad_clip=nan", "grad_clip must be a finite number >= 0 (0 turns clipping off), got nan"),
    ("grad_clip=-1", "grad_clip must be a finite number >= 0"),
    ("grad_clip=-inf", "grad_clip must be a finite number >= 0"),
    ("grad_clip=inf", "grad_clip must be a finite number >= 0"),
    ("warmup_iters=-1", "warmup_iters must be an integer in [0, lr_decay_iters]"),
    ("warmup_iters=51", "warmup_iters must be an integer in [0, lr_decay_iters] (lr_decay_iters is 50), got 51"),
    ("early_stopping_patience=-1", "early_stopping_patience must be an integer >= 0 (0 = never stop early), got -1"),
    ("seed=-1", "seed must be an integer in [0, 4294967295], got -1"),
    ("seed=4294967296", "seed must be an integer in [0, 4294967295]"),
    ("dropout=nan", "dropout must be in [0, 1), got nan"),
    ("batch_size=0", "batch_size must be an integer >= 1, got 0"),
    ("block_size=-3", "block_size must be an integer >= 1"),
    ("corpus=wikipedia", "corpus must be 'shakespeare' or 'stdlib', got 'wikipedia'"),
    ("batch_size=1e9", "batch_size=1e9: expected int"),
])
def test_each_bad_value_names_the_field_and_its_allowed_range(override, message):
    with pytest.raises(ConfigError) as info:
        apply_overrides(preset("tiny"), [override])
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_values_at_the_edges_of_their_ranges_are_accepted():
    config = apply_overrides(preset("tiny"), ["lr=0", "min_lr=0", "beta1=0", "beta2=0.999", "weight_decay=0",
                                              "grad_clip=0", "warmup_iters=50", "early_stopping_patience=0",
                                              "seed=0", "dropout=0"])
    assert (config.lr, config.grad_clip, config.warmup_iters) == (0.0, 0.0, 50)
    assert apply_overrides(preset("tiny"), ["seed=4294967295"]).seed == 2**32 - 1


@pytest.mark.parametrize("values, message", [
    ({"lr": "0.1"}, "lr must be a number, got str '0.1'"),
    ({"max_iters": 2.5}, "max_iters must be an integer, got float 2.5"),
    ({"max_iters": True}, "max_iters must be an integer, got bool True"),
    ({"bias": 1}, "bias must be true or false, got int 1"),
    ({"text_path": 3}, "text_path must be a string, got int 3"),
])
def test_values_of_the_wrong_type_from_a_file_are_refused(values, message):
    """RunConfig.from_dict reads checkpoints: a wrong type is a ConfigError, never a TypeError deep inside."""
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RunConfig.from_dict({**preset("tiny").to_dict(), **values})


def test_an_integer_learning_rate_is_kept_as_a_float():
    assert dataclasses.replace(preset("tiny"), lr=1, min_lr=0).lr == 1.0
    assert isinstance(dataclasses.replace(preset("tiny"), lr=1, min_lr=0).lr, float)


def test_memory_estimate_grows_with_the_sizes_that_cost_memory():
    tiny = preset("tiny")
    base = estimated_memory_bytes(tiny, vocab_size=100)
    assert 10_000 < base < 100 * 2**20  # a tiny model: kilobytes to a few MiB
    assert estimated_memory_bytes(dataclasses.replace(tiny, batch_size=16), 100) > base
    assert estimated_memory_bytes(dataclasses.replace(tiny, block_size=64), 100) > base
    huge = dataclasses.replace(tiny, batch_size=10**9)
    assert estimated_memory_bytes(huge, 100) > 2**40  # 1 TiB
