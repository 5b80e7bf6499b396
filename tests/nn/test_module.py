"""Module bookkeeping: the parameter walk, tied weights, state dicts, modes, printing."""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.engine.errors import DTypeError
from tinygrad_lm.nn import (
    Dropout,
    Embedding,
    LayerNorm,
    Linear,
    Module,
    ModuleList,
    Parameter,
    Sequential,
    StateDictError,
    functional_call,
)


class Tiny(Module):
    """Parameters and children interleaved, a ModuleList, and a tied weight."""

    def __init__(self, tie=False):
        self.scale = Parameter(np.ones(3, dtype="float32"))
        self.emb = Embedding(5, 3, rng=0)
        self.layers = ModuleList([Linear(3, 3, rng=1), Linear(3, 3, bias=False, rng=2)])
        self.norm = LayerNorm(3)
        self.drop = Dropout(0.5, rng=3)
        if tie:
            self.head = Linear(3, 5, bias=False, rng=4)
            self.head.weight = self.emb.weight  # (5, 3): the same Parameter under two names

    def forward(self, ids):
        x = self.emb(ids) * self.scale
        for layer in self.layers:
            x = layer(x)
        return self.drop(self.norm(x))


EXPECTED_NAMES = [
    "scale", "emb.weight", "layers.0.weight", "layers.0.bias", "layers.1.weight", "norm.weight", "norm.bias",
]


def test_named_parameters_follow_assignment_order_with_dotted_names():
    assert [name for name, _ in Tiny().named_parameters()] == EXPECTED_NAMES


def test_named_modules_and_children():
    model = Tiny()
    assert [name for name, _ in model.named_modules()] == [
        "", "emb", "layers", "layers.0", "layers.1", "norm", "drop"]
    assert [type(m).__name__ for m in model.children()] == ["Embedding", "ModuleList", "LayerNorm", "Dropout"]


def test_tied_parameter_appears_once_under_its_first_name():
    model = Tiny(tie=True)
    names = [name for name, _ in model.named_parameters()]
    assert names == EXPECTED_NAMES  # "head.weight" is the same object as "emb.weight"
    assert len(model.parameters()) == len(EXPECTED_NAMES)
    assert model.num_parameters() == 3 + 15 + 12 + 9 + 6
    assert list(model.state_dict()) == EXPECTED_NAMES


def test_tied_parameter_loads_under_either_name_and_rejects_conflicting_values():
    model = Tiny(tie=True)
    state = model.state_dict()
    new = np.arange(15, dtype="float32").reshape(5, 3)
    alias_state = {k: v for k, v in state.items() if k != "emb.weight"} | {"head.weight": new}
    model.load_state_dict(alias_state)
    np.testing.assert_array_equal(model.emb.weight.data, new)
    assert model.head.weight is model.emb.weight
    with pytest.raises(StateDictError, match="tied parameter given different values under emb.weight, head.weight"):
        model.load_state_dict(state | {"head.weight": new + 1})


def test_state_dict_round_trip_copies_and_loads_in_place():
    source, target = Tiny(), Tiny()
    target.emb.weight.data[...] = 7.0
    state = source.state_dict()
    state["scale"][...] = 2.0  # a copy: the model is untouched
    assert np.all(source.scale.data == 1.0)
    array_before = target.layers[0].weight.data
    target.load_state_dict(state)
    assert target.layers[0].weight.data is array_before  # loaded in place: optimizer references stay valid
    for (name, a), b in zip(target.named_parameters(), state.values()):
        np.testing.assert_array_equal(a.data, b, err_msg=name)


def test_load_state_dict_lists_every_problem():
    model = Tiny()
    state = model.state_dict()
    del state["norm.bias"]
    state["extra.weight"] = np.zeros(2, dtype="float32")
    state["layers.0.weight"] = np.zeros((3, 4), dtype="float32")
    state["scale"] = np.ones(3, dtype="float64")
    with pytest.raises(StateDictError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing: norm.bias" in message
    assert "unexpected: extra.weight" in message
    assert "layers.0.weight: expected shape (3, 3), got (3, 4)" in message
    assert "scale: expected dtype float32, got float64" in message


def test_failed_load_changes_nothing():
    model = Tiny()
    before = model.state_dict()
    bad = {name: np.full_like(value, 9.0) for name, value in before.items()}
    bad["norm.weight"] = np.zeros(4, dtype="float32")
    with pytest.raises(StateDictError):
        model.load_state_dict(bad)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_non_strict_load_takes_a_subset_and_casts_but_still_checks_shapes():
    model = Tiny()
    model.load_state_dict({"scale": np.full(3, 3.0), "unknown": np.zeros(1)}, strict=False)
    assert model.scale.dtype == np.float32 and np.all(model.scale.data == 3.0)
    with pytest.raises(StateDictError, match="scale: expected shape"):
        model.load_state_dict({"scale": np.zeros(4)}, strict=False)


def test_train_eval_propagate_to_every_descendant():
    model = Tiny()
    assert all(m.training for _, m in model.named_modules())
    assert model.eval() is model
    assert not any(m.training for _, m in model.named_modules())
    model.train()
    assert all(m.training for _, m in model.named_modules())


def test_dropout_follows_the_training_flag():
    model = Tiny()
    ids = np.array([[0, 1, 2, 3]])
    model.eval()
    np.testing.assert_array_equal(model(ids).data, model(ids).data)
    model.train()
    assert not np.array_equal(model(ids).data, model(ids).data)  # p=0.5 on 12 values


def test_zero_grad_clears_every_gradient():
    model = Tiny()
    model.eval()
    model(np.array([[0, 1]])).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_apply_visits_children_before_parents():
    visited = []
    Tiny().apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "Tiny"
    assert visited.index("Linear") < visited.index("ModuleList")
    assert len(visited) == 7


def test_parameter_is_a_float_leaf_requiring_grad():
    p = Parameter(np.zeros((2, 2)))
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf and p.dtype == np.float64
    assert repr(p).startswith("Parameter(")
    with pytest.raises(DTypeError, match="cannot require grad"):
        Parameter(np.zeros(2, dtype="int64"))


def test_sequential_applies_in_order_and_names_items_by_index():
    first, second = Linear(2, 3, rng=0), Linear(3, 1, rng=1)
    model = Sequential(first, second)
    x = tg.tensor(np.ones((4, 2), dtype="float32"))
    np.testing.assert_array_equal(model(x).data, second(first(x)).data)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert len(model) == 2 and model[1] is second
    with pytest.raises(TypeError, match="expected a Module"):
        ModuleList([first, "not a module"])


def test_repr_shows_the_tree():
    text = repr(Tiny())
    assert text.startswith("Tiny(\n")
    assert "(layers): ModuleList(\n    (0): Linear(3, 3, bias=True)\n    (1): Linear(3, 3, bias=False)\n  )" in text
    assert "(drop): Dropout(p=0.5)" in text


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        Module()(1)


def test_functional_call_replaces_a_tied_parameter_under_every_name():
    class Tied(Module):
        def __init__(self):
            self.a = Parameter(np.ones(2))
            self.b = self.a

        def forward(self):
            return self.b * 1.0

    model = Tied()
    out = functional_call(model, {"a": tg.tensor(np.array([3.0, 4.0]))})
    np.testing.assert_array_equal(out.data, [3.0, 4.0])
    assert model.a is model.b and isinstance(model.b, Parameter)


def test_layers_without_rng_draw_from_the_default_generator_that_manual_seed_resets():
    tg.manual_seed(7)
    first = Linear(4, 3).weight.data.copy(), Embedding(5, 2).weight.data.copy()
    second = Linear(4, 3).weight.data.copy()
    tg.manual_seed(7)
    again = Linear(4, 3).weight.data, Embedding(5, 2).weight.data
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], second)  # the stream advances: no duplicate weights


def test_load_state_dict_while_an_old_graph_holds_a_parameter_makes_that_graph_refuse_backward():
    layer = Linear(3, 2, rng=0)
    out = layer(tg.tensor(np.ones((4, 3), dtype="float32"))).sum()
    layer.load_state_dict({name: value * 0 for name, value in layer.state_dict().items()})
    np.testing.assert_array_equal(layer.weight.data, 0)
    with pytest.raises(tg.GraphError, match="load_state_dict"):
        out.backward()
