"""The Optimizer base: param groups, skipping, zero_grad, input errors and the state dict.

The state-dict round trip is checked for every optimizer through real files (``np.savez``
with ``allow_pickle=False`` and ``json``): 5 steps, save, load into a fresh optimizer over
fresh parameters, 5 more steps must equal 10 uninterrupted steps bit for bit.
"""

import json
import re

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.optim import SGD, STATE_FORMAT, Adagrad, Adam, AdamW, RMSprop

EVERY_OPTIMIZER = [
    (SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (Adam, {"lr": 0.05, "weight_decay": 0.01}),
    (AdamW, {"lr": 0.05, "betas": (0.8, 0.9)}),
    (Adagrad, {"lr": 0.2, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    (RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
]
IDS = [cls.__name__ for cls, _ in EVERY_OPTIMIZER]


def test_groups_use_their_own_hyperparameters_and_fall_back_to_defaults(make_param):
    # One SGD step with g = 1 everywhere, p0 = 1 everywhere:
    # group 0: lr 0.1 (default), weight_decay 0.5  -> p = 1 - 0.1 * (1 + 0.5) = 0.85
    # group 1: lr 0.01,          weight_decay 0    -> p = 1 - 0.01 * 1       = 0.99
    a, b = make_param([1.0, 1.0]), make_param([1.0])
    optimizer = SGD([{"params": [a], "weight_decay": 0.5}, {"params": [b], "lr": 0.01}], lr=0.1)
    a.grad, b.grad = np.ones(2), np.ones(1)
    optimizer.step()
    np.testing.assert_allclose(a.data, [0.85, 0.85], rtol=0, atol=1e-15)
    np.testing.assert_allclose(b.data, [0.99], rtol=0, atol=1e-15)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.01]
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.5, 0.0]


def test_named_parameters_are_recorded(make_param):
    w, b = make_param([[1.0]]), make_param([0.0])
    optimizer = AdamW([("layer.w", w), ("layer.b", b)])
    assert optimizer.param_groups[0]["param_names"] == ["layer.w", "layer.b"]
    assert optimizer.param_groups[0]["params"][0] is w
    assert optimizer.state_meta()["param_groups"][0]["param_names"] == ["layer.w", "layer.b"]


def test_parameters_without_gradient_are_skipped_and_zero_grad_clears(make_param):
    with_grad, frozen = make_param([1.0]), make_param([1.0])
    optimizer = Adam([with_grad, frozen], lr=0.1)
    with_grad.grad = np.array([1.0])
    optimizer.step()
    assert with_grad.data[0] < 1.0 and frozen.data[0] == 1.0
    assert optimizer.state[1] == {}
    optimizer.zero_grad()
    assert with_grad.grad is None and frozen.grad is None


def test_step_after_backward_through_the_engine(make_param):
    # loss = sum(p^2): grad = 2p = [2, -4]; SGD lr 0.25 -> p - 0.25 * 2p = p / 2.
    p = make_param([1.0, -2.0])
    (p * p).sum().backward()
    SGD([p], lr=0.25).step()
    np.testing.assert_array_equal(p.data, [0.5, -1.0])
    assert p.grad is not None


@pytest.mark.parametrize("cls, hyper", EVERY_OPTIMIZER, ids=IDS)
def test_every_optimizer_updates_in_place_and_keeps_float32(cls, hyper, make_param):
    p = make_param([[1.0, -2.0], [3.0, 0.5]], dtype=np.float32)
    data = p.data
    optimizer = cls([p], **hyper)
    for _ in range(3):
        p.grad = np.array([[0.1, 0.2], [-0.3, 0.4]], dtype=np.float32)
        optimizer.step()
    assert p.data is data and data.dtype == np.float32
    assert all(v.dtype == np.float32 for v in optimizer.state[0].values() if isinstance(v, np.ndarray))
    assert np.isfinite(data).all() and not np.array_equal(data, [[1.0, -2.0], [3.0, 0.5]])


def two_groups(cls, params, hyper, second_lr=None):
    """The optimizer over [params[0]] and [params[1]], the second group with its own lr if given."""
    second = {"params": params[1:]} if second_lr is None else {"params": params[1:], "lr": second_lr}
    return cls([{"params": params[:1]}, second], **hyper)


@pytest.mark.parametrize("cls, hyper", EVERY_OPTIMIZER, ids=IDS)
def test_state_dict_round_trip_continues_the_same_trajectory(cls, hyper, quadratic, tmp_path):
    straight = quadratic.parameters()
    expected = quadratic.run(two_groups(cls, straight, hyper, hyper["lr"] / 2), straight, steps=10)

    first = quadratic.parameters()
    optimizer = two_groups(cls, first, hyper, hyper["lr"] / 2)
    quadratic.run(optimizer, first, steps=5)
    np.savez(tmp_path / "optim.npz", **optimizer.state_arrays())
    (tmp_path / "optim.json").write_text(json.dumps(optimizer.state_meta()))

    resumed = [tg.tensor(p.data.copy(), requires_grad=True) for p in first]
    fresh = two_groups(cls, resumed, hyper)  # group 1's lr must come back from the file
    with np.load(tmp_path / "optim.npz", allow_pickle=False) as arrays:
        fresh.load_state_dict({"meta": json.loads((tmp_path / "optim.json").read_text()),
                               "arrays": dict(arrays)})
    assert fresh.param_groups[1]["lr"] == hyper["lr"] / 2
    got = quadratic.run(fresh, resumed, steps=5)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_state_dict_format_is_documented_shape(make_param):
    w, b = make_param(np.ones((2, 3))), make_param(np.zeros(3))
    optimizer = Adam([("w", w), ("b", b)], lr=0.1)
    w.grad = np.ones((2, 3))
    optimizer.step()
    meta, arrays = optimizer.state_meta(), optimizer.state_arrays()
    assert meta == {
        "format": STATE_FORMAT, "optimizer": "Adam",
        "param_groups": [{"lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
                          "param_shapes": [[2, 3], [3]], "param_names": ["w", "b"]}],
        "state": [{"step": 1}, {}],
    }
    assert sorted(arrays) == ["state.0.exp_avg", "state.0.exp_avg_sq"]
    arrays["state.0.exp_avg"][:] = 7.0  # a copy: changing it does not touch the optimizer
    np.testing.assert_allclose(optimizer.state[0]["exp_avg"], 0.1)
    whole = optimizer.state_dict()
    assert whole["meta"] == meta and sorted(whole["arrays"]) == sorted(arrays)


# --- bad input -------------------------------------------------------------------------------
def test_construction_errors_name_what_is_wrong(make_param):
    p, q = make_param([1.0]), make_param([2.0])
    cases = [
        (lambda: SGD([], lr=0.1), ValueError, "SGD: got an empty parameter list"),
        (lambda: SGD([{"params": []}], lr=0.1), ValueError, "SGD (param group 0): 'params' is empty"),
        (lambda: SGD([{"params": [p]}, {"params": [q, p]}], lr=0.1), ValueError,
         "SGD: a parameter of shape (1,) appears in param group 0 and again in param group 1"),
        (lambda: SGD([p, p], lr=0.1), ValueError, "appears in param group 0 and again in param group 0"),
        (lambda: SGD([{"params": [p], "momentun": 0.9}], lr=0.1), ValueError,
         "SGD (param group 0): unknown key(s) ['momentun']"),
        (lambda: SGD([{"lr": 0.1}]), ValueError, "SGD (param group 0): a param-group dict needs a 'params' entry"),
        (lambda: SGD([{"params": [p]}, {"params": [q], "lr": -1}], lr=0.1), ValueError,
         "SGD (param group 1): lr = -1.0 must be >= 0"),
        (lambda: SGD(p, lr=0.1), TypeError, "SGD: params must be an iterable of tensors"),
        (lambda: SGD([{"params": [p]}, q], lr=0.1), TypeError, "SGD: params mixes param-group dicts with tensors"),
        (lambda: SGD([np.ones(3)], lr=0.1), TypeError, "SGD (param group 0): params[0] is a ndarray, not"),
        (lambda: SGD([("w", p), q], lr=0.1), ValueError, "params mixes (name, tensor) pairs with bare tensors"),
        (lambda: SGD([p * 2], lr=0.1), ValueError, "params[0] (shape (1,)) is the result of an op, not a leaf"),
        (lambda: SGD([tg.tensor(np.array([1, 2]))], lr=0.1), TypeError, "params[0] has dtype int64"),
    ]
    for make, error, message in cases:
        with pytest.raises(error, match=re.escape(message)):
            make()


def test_step_refuses_a_gradient_of_the_wrong_shape_or_dtype(make_param):
    p = make_param([[1.0, 2.0]])
    optimizer = SGD([("w", p)], lr=0.1)
    p.grad = np.ones(2)
    with pytest.raises(ValueError, match=re.escape("SGD.step: parameter 0 ('w', param group 0, shape (1, 2)) "
                                                   "has a gradient of shape (2,)")):
        optimizer.step()
    p.grad = np.ones((1, 2), dtype=np.float32)
    with pytest.raises(TypeError, match="has dtype float64 but its gradient has dtype float32"):
        optimizer.step()
    np.testing.assert_array_equal(p.data, [[1.0, 2.0]])


def stepped_adam(make_param, names=("w", "b"), shapes=((2, 2), (2,))):
    params = [make_param(np.ones(shape)) for shape in shapes]
    optimizer = Adam(list(zip(names, params)), lr=0.1)
    for param in params:
        param.grad = np.ones(param.shape)
    optimizer.step()
    return optimizer


def edited(state, edit):
    """A deep copy of ``state`` (meta through JSON, arrays copied) after ``edit(meta, arrays)``."""
    meta, arrays = json.loads(json.dumps(state["meta"])), {k: v.copy() for k, v in state["arrays"].items()}
    edit(meta, arrays)
    return {"meta": meta, "arrays": arrays}


@pytest.mark.parametrize("edit, message", [
    (lambda m, a: m.update(optimizer="AdamW"), "the state dict was saved by AdamW, not Adam"),
    (lambda m, a: m.update(format="other/9"), "format 'other/9' is not 'tinygrad_lm.optim/1'"),
    (lambda m, a: m.pop("state"), "the state dict's meta lacks ['state']"),
    (lambda m, a: m["param_groups"].append(m["param_groups"][0]), "the state dict has 2 param groups, this optimizer has 1"),
    (lambda m, a: m["param_groups"][0]["param_shapes"].pop(), "(param group 0): the state dict has 1 parameters, this optimizer has 2"),
    (lambda m, a: m["param_groups"][0].update(param_shapes=[[2, 3], [2]]),
     "(param group 0): params[0] has shape (2, 2), but the state dict's has shape (2, 3)"),
    (lambda m, a: m["param_groups"][0].update(param_names=["w", "bias"]),
     "(param group 0): params[1] is named 'b', but the state dict's is 'bias'"),
    (lambda m, a: m["param_groups"][0].pop("eps"), "hyperparameters ['betas', 'lr', 'weight_decay'] do not match"),
    (lambda m, a: m["param_groups"][0].update(lr=-1.0), "(param group 0): lr = -1.0 must be >= 0"),
    (lambda m, a: m["state"].pop(), "the state dict has state for 1 parameters, this optimizer has 2"),
    (lambda m, a: m["state"][0].update(momentum=3), "state of parameter 0 holds 'momentum' = 3"),
    (lambda m, a: a.update({"state.2.exp_avg": np.ones(2)}), "unexpected array 'state.2.exp_avg'"),
    (lambda m, a: a.update({"state.0.velocity": np.ones((2, 2))}), "unexpected array 'state.0.velocity'"),
    (lambda m, a: a.pop("state.0.exp_avg"),
     "the state of parameter 0 ('w', param group 0, shape (2, 2)) lacks ['exp_avg'] (a truncated state dict?)"),
    (lambda m, a: a.update({"state.1.exp_avg": np.ones(3)}),
     "array 'state.1.exp_avg' has shape (3,); it belongs to parameter 1 ('b', param group 0, shape (2,))"),
])
def test_load_refuses_a_mismatched_state_dict_and_changes_nothing(make_param, edit, message):
    source = stepped_adam(make_param).state_dict()
    target = stepped_adam(make_param)
    before = target.state_dict()
    with pytest.raises(ValueError, match=re.escape(message)):
        target.load_state_dict(edited(source, edit))
    after = target.state_dict()
    assert after["meta"] == before["meta"]
    assert all(np.array_equal(after["arrays"][k], before["arrays"][k]) for k in before["arrays"])


def test_load_refuses_something_that_is_not_a_state_dict(make_param):
    with pytest.raises(ValueError, match="expected a dict with keys 'meta' and 'arrays'"):
        stepped_adam(make_param).load_state_dict({"state": [], "param_groups": []})


def test_load_checks_names_only_when_both_sides_have_them(make_param):
    named = stepped_adam(make_param).state_dict()
    params = [make_param(np.ones((2, 2))), make_param(np.ones(2))]
    unnamed = Adam(params, lr=0.5)
    unnamed.load_state_dict(named)
    assert unnamed.param_groups[0]["lr"] == 0.1 and unnamed.state[0]["step"] == 1
