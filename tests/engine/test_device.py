"""Devices: choosing one, moving tensors explicitly, and refusing to mix them.

Without CuPy (``no_cuda``) every "cuda" request fails with a ``DeviceError`` that says how to
fix it. With the NumPy-backed fake CuPy (``fake_cuda``, tests/fake_cuda.py) the GPU paths run
for real on the CPU: what lives where, what moves, and that gradients cross ``.to`` correctly.
"""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import functional as F
from tinygrad_lm.engine import (
    BackwardError,
    DeviceError,
    Function,
    check_device,
    cuda_available,
    on_device,
    to_device,
    xp_for,
)
from tinygrad_lm.engine.device import cuda_problem
from tinygrad_lm.ops.elementwise import Add


# --- choosing a device --------------------------------------------------------------------------
def test_cpu_is_always_there_and_unknown_devices_are_named():
    assert check_device("cpu") == "cpu" and xp_for("cpu") is np
    for bad in ("gpu", "cuda:0", None, 0):
        with pytest.raises(DeviceError, match="unknown device") as error:
            check_device(bad, "Tensor.to")
        assert "Tensor.to" in str(error.value) and "'cpu' and 'cuda'" in str(error.value)


def test_cuda_without_cupy_says_how_to_install_it(no_cuda):
    assert not cuda_available()
    with pytest.raises(DeviceError) as error:
        check_device("cuda", "--device")
    message = str(error.value)
    assert "--device" in message and "CuPy is not installed" in message
    assert "pip install 'tinygrad_lm[gpu]'" in message and "'cpu'" in message


def test_cupy_without_a_gpu_says_no_gpu_is_visible(monkeypatch, fake_cuda):
    fake_cuda.uninstalled_cuda(monkeypatch, available=False)
    with pytest.raises(DeviceError, match="no CUDA GPU is visible"):
        check_device("cuda")


def test_a_driver_failure_counts_as_unavailable(monkeypatch, fake_cuda):
    def broken():
        raise RuntimeError("cudaErrorInsufficientDriver")

    monkeypatch.setattr(fake_cuda.FAKE_CUPY, "is_available", broken)
    assert "cudaErrorInsufficientDriver" in cuda_problem()
    assert not cuda_available()


@pytest.mark.parametrize("make", [
    lambda: tg.tensor([1.0], device="cuda"), lambda: tg.zeros((2,), device="cuda"),
    lambda: tg.ones((2,), device="cuda"), lambda: tg.randn(2, device="cuda"),
    lambda: tg.arange(3, device="cuda"), lambda: tg.tensor([1.0]).to("cuda"), lambda: tg.tensor([1.0]).cuda(),
], ids=["tensor", "zeros", "ones", "randn", "arange", "to", "cuda"])
def test_every_way_to_ask_for_cuda_fails_clearly_without_it(no_cuda, make):
    with pytest.raises(DeviceError, match="CuPy is not installed"):
        make()


def test_to_the_device_a_tensor_is_on_returns_the_same_tensor():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert x.to("cpu") is x and x.cpu() is x
    assert to_device(x.data, "cpu") is x.data


# --- moving tensors (fake GPU) ------------------------------------------------------------------
def test_tensors_are_made_on_the_device_asked_for(fake_cuda):
    made = (tg.tensor([[1.0, 2.0]], device="cuda"), tg.zeros((2, 3), device="cuda"),
            tg.ones(4, device="cuda", dtype="float64"), tg.randn(3, 2, device="cuda"), tg.arange(5, device="cuda"))
    for t in made:
        assert t.device == "cuda" and isinstance(t.data, fake_cuda.DeviceArray)
    tg.manual_seed(4)
    on_gpu = tg.randn(3, 2, device="cuda").numpy()
    tg.manual_seed(4)
    np.testing.assert_array_equal(on_gpu, tg.randn(3, 2).numpy())  # drawn on the host either way
    assert tg.tensor([1.5]).dtype == tg.tensor([1.5], device="cuda").dtype == np.float32
    assert "device='cuda'" in repr(tg.ones(2, device="cuda")) and "device" not in repr(tg.ones(2))


def test_to_copies_both_ways_and_keeps_shape_and_dtype(fake_cuda):
    host = np.arange(6.0, dtype=np.float64).reshape(2, 3)
    x = tg.tensor(host)
    g = x.to("cuda")
    assert g.device == "cuda" and g.shape == (2, 3) and g.dtype == np.float64
    g.data[0, 0] = 99.0  # a copy: the host array is untouched
    assert host[0, 0] == 0.0
    back = g.to("cpu")
    assert back.device == "cpu" and type(back.data) is np.ndarray
    np.testing.assert_array_equal(back.data, g.numpy())
    assert type(g.numpy()) is np.ndarray and g.to("cuda") is g and g.cuda() is g


def test_to_is_differentiable_in_both_directions(fake_cuda):
    rng = np.random.default_rng(0)
    a, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    x = tg.tensor(a, requires_grad=True)
    wg = tg.tensor(w, requires_grad=True, device="cuda")
    y = x.to("cuda")
    assert not y.is_leaf and y.requires_grad
    loss = ((y @ wg).tanh().to("cpu") ** 2).sum()  # crosses to the GPU and back
    assert loss.device == "cpu"
    loss.backward()
    assert type(x.grad) is np.ndarray and isinstance(wg.grad, fake_cuda.DeviceArray)
    t = np.tanh(a @ w)
    upstream = 2 * t * (1 - t**2)
    np.testing.assert_allclose(x.grad, upstream @ w.T, rtol=1e-12)
    np.testing.assert_allclose(wg.grad.get(), a.T @ upstream, rtol=1e-12)


def test_to_of_a_tensor_without_grad_is_a_leaf_and_no_grad_builds_no_graph(fake_cuda):
    assert tg.tensor([1.0]).to("cuda").is_leaf
    with tg.no_grad():
        moved = tg.tensor([1.0], requires_grad=True).to("cuda")
    assert moved.is_leaf and not moved.requires_grad


def test_tensor_with_a_device_argument_is_a_new_leaf(fake_cuda):
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor(x, device="cuda", requires_grad=True)
    assert y.is_leaf and y.device == "cuda" and x.device == "cpu"


# --- mixing devices is an error that names both -------------------------------------------------
@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: b * a, lambda a, b: a @ b, lambda a, b: tg.maximum(a, b),
    lambda a, b: tg.concatenate([a, b]), lambda a, b: tg.where(a > 0, a, b),
], ids=["add", "mul", "matmul", "maximum", "concatenate", "where"])
def test_ops_on_two_devices_name_both(fake_cuda, op):
    a, b = tg.ones((2, 2)), tg.ones((2, 2), device="cuda")
    with pytest.raises(DeviceError) as error:
        op(a, b)
    message = str(error.value)
    assert "cpu" in message and "cuda" in message and ".to(" in message


def test_the_op_is_named_and_a_host_array_counts_as_cpu(fake_cuda):
    with pytest.raises(DeviceError, match=r"add: operands are on different devices \(cuda and cpu\)"):
        tg.ones(2, device="cuda") + np.ones(2)
    assert (tg.ones(2, device="cuda") * 2).device == "cuda"  # Python numbers are not arrays


def test_function_apply_refuses_mixed_inputs_too(fake_cuda):
    with pytest.raises(DeviceError, match=r"Add: inputs live on different devices \(cpu\(2,\), cuda\(2,\)\)"):
        Add.apply(tg.ones(2), tg.ones(2, device="cuda"))


def test_a_backward_that_returns_a_gradient_on_the_wrong_device_is_caught(fake_cuda):
    class Leaky(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return (g.get(),)  # the bug: the gradient went to the host

    x = tg.tensor([1.0, 2.0], requires_grad=True, device="cuda")
    with pytest.raises(BackwardError, match="gradient for input 0 is on cpu, but the input is on cuda"):
        Leaky.apply(x).sum().backward()


@pytest.mark.parametrize("where", ["host array", "cpu tensor"])
def test_targets_ids_masks_and_indices_from_the_other_device_are_refused(fake_cuda, where):
    def other(array):
        return array if where == "host array" else tg.tensor(array)

    logits = tg.randn(4, 5, device="cuda", requires_grad=True)
    targets = np.array([0, 1, 2, 3])
    calls = {
        "cross_entropy": lambda: F.cross_entropy(logits, other(targets)),
        "weight": lambda: F.cross_entropy(logits, targets.tolist(), weight=other(np.ones(5))),
        "embedding": lambda: F.embedding(logits, other(targets)),
        "attention mask": lambda: F.scaled_dot_product_attention(
            logits[None], logits[None], logits[None], mask=other(np.ones((4, 4), dtype=bool))),
        "masked_fill": lambda: logits.masked_fill(other(np.zeros((4, 5), dtype=bool)), 0.0),
        "getitem": lambda: logits[other(targets)],
    }
    for name, call in calls.items():
        with pytest.raises(DeviceError) as error:
            call()
        message = str(error.value)
        assert "cpu" in message and "cuda" in message, f"{name}: {message}"


def test_backward_refuses_an_upstream_gradient_from_the_other_device(fake_cuda):
    y = tg.ones(3, device="cuda", requires_grad=True) * 2
    with pytest.raises(DeviceError, match="backward: grad: an array on cpu"):
        y.backward(np.ones(3, dtype=np.float32))
    y.backward([1.0, 2.0, 3.0])  # a literal is made on the device


def test_device_tensors_and_python_literals_are_accepted_on_the_device(fake_cuda):
    logits = tg.randn(4, 5, device="cuda", requires_grad=True)
    on_gpu = F.cross_entropy(logits, tg.tensor([0, 1, 2, 3], device="cuda"))
    literal = F.cross_entropy(logits, [0, 1, 2, 3])
    reference = F.cross_entropy(logits.to("cpu"), np.array([0, 1, 2, 3]))
    assert on_gpu.device == literal.device == "cuda"
    assert on_gpu.item() == literal.item() == reference.item()
    assert F.embedding(logits, [[1, 1]]).device == "cuda" and logits[[0, 2]].device == "cuda"


def test_a_gpu_array_given_to_a_cpu_op_is_refused(fake_cuda):
    gpu_targets = tg.tensor([0, 1], device="cuda").data
    with pytest.raises(DeviceError, match="an array on cuda .* for tensors on cpu"):
        F.cross_entropy(tg.randn(2, 3), gpu_targets)
    assert isinstance(on_device(np.int64(3), "cuda", "x"), fake_cuda.DeviceArray)
