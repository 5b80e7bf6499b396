"""freeze / unfreeze by name pattern on any Module: what they match, what backward and an optimizer then do."""

import numpy as np
import pytest

from tinygrad_lm import tensor
from tinygrad_lm.nn import (
    Linear,
    Sequential,
    freeze,
    trainable_named_parameters,
    unfreeze,
)
from tinygrad_lm.optim import AdamW


def mlp():
    rng = np.random.default_rng(0)
    return Sequential(Linear(3, 4, rng=rng), Linear(4, 2, rng=rng))


def loss_of(model):
    x = tensor(np.arange(6, dtype=np.float32).reshape(2, 3))  # (B=2, 3)
    return (model(x) ** 2).sum()


def test_freeze_by_glob_returns_the_names_and_backward_skips_them():
    model = mlp()
    assert freeze(model, "0.*") == ["0.bias", "0.weight"]
    loss_of(model).backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert grads["0.weight"] is None and grads["0.bias"] is None
    assert grads["1.weight"] is not None and grads["1.bias"] is not None
    assert [name for name, _ in trainable_named_parameters(model)] == ["1.weight", "1.bias"]


def test_regex_pattern_matches_whole_names_and_unfreeze_restores():
    model = mlp()
    assert freeze(model, r"re:\d\.bias") == ["0.bias", "1.bias"]
    with pytest.raises(ValueError, match="matches no parameter"):
        freeze(model, "re:bias")  # fullmatch: "bias" alone is no name
    assert unfreeze(model, "*") == sorted(name for name, _ in model.named_parameters())
    assert all(p.requires_grad for p in model.parameters())


def test_frozen_parameters_do_not_change_and_get_no_optimizer_state():
    model = mlp()
    freeze(model, "1.weight")
    before = {name: p.numpy().copy() for name, p in model.named_parameters()}
    optimizer = AdamW(trainable_named_parameters(model), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        loss_of(model).backward()
        optimizer.step()
    after = dict(model.named_parameters())
    np.testing.assert_array_equal(after["1.weight"].numpy(), before["1.weight"])
    assert not np.array_equal(after["0.weight"].numpy(), before["0.weight"])
    names = [name for group in optimizer.state_meta()["param_groups"] for name in group["param_names"]]
    assert names == ["0.weight", "0.bias", "1.bias"] and len(optimizer.state) == 3
    assert len(optimizer.state_arrays()) == 2 * 3  # exp_avg and exp_avg_sq of the three trainable ones


def test_freezing_drops_a_stale_gradient():
    model = mlp()
    loss_of(model).backward()
    freeze(model, "0.weight")
    assert dict(model.named_parameters())["0.weight"].grad is None


@pytest.mark.parametrize(("pattern", "error", "words"), [
    ("decoder.*", ValueError, "pattern 'decoder.*' matches no parameter of this Sequential .names look like: 0.weight"),
    ("re:(", ValueError, "not a valid regular expression"),
    ("", TypeError, "non-empty str"),
])
def test_bad_patterns_are_one_line_errors(pattern, error, words):
    with pytest.raises(error, match=words):
        freeze(mlp(), pattern)
