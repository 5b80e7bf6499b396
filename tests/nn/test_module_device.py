"""``Module.to`` moves every Parameter in place; state dicts cross devices explicitly."""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.backends import use_kernels
from tinygrad_lm.engine import DeviceError
from tinygrad_lm.nn import Embedding, LayerNorm, Linear, Module, Sequential


class Tied(Module):
    def __init__(self):
        self.embed = Embedding(5, 3, rng=0)
        self.norm = LayerNorm(3)
        self.head = Linear(3, 5, rng=1)
        self.head.weight = self.embed.weight  # tied: one Parameter under two names


def test_to_moves_every_parameter_in_place_and_returns_the_module(fake_cuda):
    model = Tied()
    params = model.parameters()
    before = [p.numpy().copy() for p in params]
    model.head.bias.grad = np.ones(5, dtype=np.float32)
    assert model.to("cuda") is model and model.device == "cuda"
    assert model.parameters() == params  # the same Parameter objects (an optimizer keeps them)
    for p, b in zip(params, before):
        assert isinstance(p.data, fake_cuda.DeviceArray) and p.is_leaf and p.requires_grad
        np.testing.assert_array_equal(p.numpy(), b)
    assert model.head.weight is model.embed.weight
    assert isinstance(model.head.bias.grad, fake_cuda.DeviceArray)
    assert model.to("cpu").device == "cpu" and type(model.head.weight.data) is np.ndarray


def test_a_module_on_the_gpu_computes_there(fake_cuda):
    layer = Sequential(Linear(4, 3, rng=0), LayerNorm(3))
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    with use_kernels("numpy"):  # the fake GPU runs the NumPy reference kernels
        expected = layer(tg.tensor(x)).numpy()
    out = layer.to("cuda")(tg.tensor(x, device="cuda"))
    assert out.device == "cuda"
    np.testing.assert_array_equal(out.numpy(), expected)
    with pytest.raises(DeviceError, match="cpu and cuda|cuda and cpu"):
        layer(tg.tensor(x))


def test_a_module_split_across_devices_says_so(fake_cuda):
    model = Tied()
    model.norm.to("cuda")
    with pytest.raises(DeviceError, match="Tied: its parameters are on cpu and cuda"):
        _ = model.device


def test_state_dicts_are_host_arrays_and_load_onto_the_modules_device(fake_cuda):
    source = Tied().to("cuda")
    state = source.state_dict()
    assert all(type(a) is np.ndarray for a in state.values())
    target = Tied()
    for p in target.parameters():
        p.data[...] = 0
    target.to("cuda").load_state_dict(state)  # host arrays onto a GPU module
    for (name, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        assert isinstance(b.data, fake_cuda.DeviceArray), name
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    on_cpu = Tied().load_state_dict(dict(source.named_parameters()))  # GPU tensors onto a CPU module
    assert on_cpu.device == "cpu"
    np.testing.assert_array_equal(on_cpu.embed.weight.numpy(), source.embed.weight.numpy())


def test_to_an_unavailable_device_leaves_the_module_where_it_was(no_cuda):
    model = Tied()
    with pytest.raises(DeviceError, match="Tied.to: device 'cuda' is unavailable"):
        model.to("cuda")
    assert model.device == "cpu"
