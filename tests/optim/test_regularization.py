"""L1/L2 penalties (values, gradients, equivalence with coupled decay) and weight-decay groups."""

import numpy as np
import pytest

from tinygrad_lm.optim import (
    SGD,
    AdamW,
    l1_penalty,
    l2_penalty,
    param_groups_for_weight_decay,
)


def test_penalty_values_and_gradients(make_param):
    # a = [1, -2], b = [[0, 3]]: l1 = 1 + 2 + 0 + 3 = 6, l2 = 1 + 4 + 0 + 9 = 14
    a, b = make_param([1.0, -2.0]), make_param([[0.0, 3.0]])
    l1 = l1_penalty([a, b])
    assert l1.item() == 6.0
    l1.backward()
    np.testing.assert_array_equal(a.grad, [1.0, -1.0])
    np.testing.assert_array_equal(b.grad, [[0.0, 1.0]])  # sign(0) = 0
    a.zero_grad()
    b.zero_grad()
    l2 = l2_penalty([a, b])
    assert l2.item() == 14.0
    l2.backward()
    np.testing.assert_array_equal(a.grad, [2.0, -4.0])
    np.testing.assert_array_equal(b.grad, [[0.0, 6.0]])


def test_half_weight_decay_times_l2_penalty_equals_coupled_weight_decay(make_param):
    g = np.array([0.3, -0.7])
    coupled, penalized = make_param([1.0, -2.0]), make_param([1.0, -2.0])
    coupled.grad = g.copy()
    SGD([coupled], lr=0.1, weight_decay=0.05).step()
    (0.05 / 2 * l2_penalty([penalized])).backward()
    penalized.grad = penalized.grad + g
    SGD([penalized], lr=0.1).step()
    np.testing.assert_allclose(penalized.data, coupled.data, rtol=1e-15)


def test_penalties_need_parameters():
    with pytest.raises(ValueError, match="l2_penalty: got no parameters"):
        l2_penalty([])


def gpt_like(make_param):
    wte = make_param(np.ones((10, 4)))
    return [
        ("wte.weight", wte), ("wpe.weight", make_param(np.ones((8, 4)))),
        ("h.0.attn.c_attn.weight", make_param(np.ones((4, 12)))), ("h.0.attn.c_attn.bias", make_param(np.ones(12))),
        ("h.0.ln_1.weight", make_param(np.ones(4))), ("lm_head.weight", wte),  # tied to wte
    ]


def names(group):
    return [name for name, _ in group["params"]]


def test_default_split_decays_matrices_only(make_param):
    decay, keep = param_groups_for_weight_decay(gpt_like(make_param), weight_decay=0.1)
    assert names(decay) == ["wte.weight", "wpe.weight", "h.0.attn.c_attn.weight"]  # tied lm_head kept once
    assert names(keep) == ["h.0.attn.c_attn.bias", "h.0.ln_1.weight"]
    assert (decay["weight_decay"], keep["weight_decay"]) == (0.1, 0.0)


def test_skip_embeddings_and_a_custom_rule(make_param):
    decay, keep = param_groups_for_weight_decay(gpt_like(make_param), 0.1, skip_embeddings=True)
    assert names(decay) == ["h.0.attn.c_attn.weight"]
    assert names(keep) == ["wte.weight", "wpe.weight", "h.0.attn.c_attn.bias", "h.0.ln_1.weight"]
    (only,) = param_groups_for_weight_decay(dict(gpt_like(make_param)), 0.1, no_decay=lambda name, p: True)
    assert only["weight_decay"] == 0.0 and len(only["params"]) == 5  # the empty decay group is left out


def test_groups_feed_an_optimizer_that_skips_decay_where_asked(make_param):
    params = gpt_like(make_param)
    optimizer = AdamW(param_groups_for_weight_decay(params, weight_decay=0.5), lr=0.1)
    assert optimizer.param_groups[1]["param_names"] == ["h.0.attn.c_attn.bias", "h.0.ln_1.weight"]
    for _, p in params:
        p.grad = np.zeros(p.shape)
    optimizer.step()  # zero gradients: only the decoupled decay moves weights, 1 -> 1 - 0.1 * 0.5
    assert dict(params)["wpe.weight"].data[0, 0] == 0.95
    assert dict(params)["h.0.attn.c_attn.bias"].data[0] == 1.0


def test_bad_input(make_param):
    with pytest.raises(ValueError, match="param_groups_for_weight_decay: weight_decay = -0.1 must be finite and >= 0"):
        param_groups_for_weight_decay(gpt_like(make_param), -0.1)
    with pytest.raises(ValueError, match="got no parameters"):
        param_groups_for_weight_decay([], 0.1)
    with pytest.raises(TypeError, match=r"expected \(name, tensor\) pairs, got Tensor"):
        param_groups_for_weight_decay([make_param([1.0])], 0.1)
