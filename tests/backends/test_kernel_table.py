"""Tests for the kernel tables (``tinygrad_lm/backends``): selection, the contract, adamw_step.

The contract every table keeps is frozen here as ``SIGNATURES``: a Numba or CuPy table added
to ``BACKENDS`` is checked against it (names, parameter lists, docstrings) the moment it is
registered. Selection: unknown names are refused with the known ones listed, ``use_kernels``
restores the previous table even when its block raises, and the fused ops really call the
active table (a counting table proves it, and that backward uses the forward's table).
``adamw_step`` is compared with a plain NumPy re-derivation written the way PyTorch does it.
Kernel formulas themselves are tested through the functional ops (tests/functional).
"""

import inspect
import sys
import types

import numpy as np
import pytest

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm import backends
from tinygrad_lm.backends import numpy_ref
from tinygrad_lm.testing import check_close

SIGNATURES = {
    "softmax_fwd": "(x)",
    "softmax_bwd": "(y, gy)",
    "log_softmax_fwd": "(x)",
    "log_softmax_bwd": "(y, gy)",
    "gelu_fwd": "(x, approximate)",
    "gelu_bwd": "(x, gy, approximate)",
    "layer_norm_fwd": "(x, weight, bias, eps)",
    "layer_norm_bwd": "(x, weight, mean, rstd, gy)",
    "cross_entropy_fwd": "(logits, targets, weight, ignore_index, label_smoothing)",
    "cross_entropy_bwd": "(logits, targets, weight, lse, grad_losses, ignore_index, label_smoothing)",
    "attention_fwd": "(q, k, v, mask, dropout_keep, causal, scale)",
    "attention_bwd": "(q, k, v, mask, dropout_keep, out, lse, gout, causal, scale)",
    "adamw_step": "(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, step)",
    "embedding_bwd": "(ids, grad, vocab_size)",
    "dropout_fwd": "(x, keep)",
    "dropout_bwd": "(keep, gy)",
    "mse_fwd": "(pred, target)",
    "mse_bwd": "(pred, target, g)",
    "kl_div_fwd": "(input, target, log_target)",
    "kl_div_bwd": "(input, target, g, log_target)",
}


def test_the_contract_lists_every_kernel_name():
    assert set(SIGNATURES) == set(backends.KERNEL_NAMES)
    assert len(backends.KERNEL_NAMES) == len(set(backends.KERNEL_NAMES))


@pytest.mark.parametrize("backend", sorted(backends.BACKENDS))  # device tables (cupy) too
def test_every_table_has_every_kernel_with_the_contract_signature(backend):
    table = backends.load_kernels(backend)
    assert set(table) == set(SIGNATURES)
    for name, kernel in table.items():
        assert str(inspect.signature(kernel)) == SIGNATURES[name], f"{backend}.{name}"


@pytest.mark.parametrize("backend", sorted(backends.BACKENDS))
def test_every_kernel_documents_itself(backend):
    for name, kernel in backends.load_kernels(backend).items():
        doc = inspect.getdoc(kernel) or ""
        assert len(doc) > 40, f"{backend}.{name} needs a docstring with its formula and shapes"


def test_the_default_table_is_active_until_another_is_set():
    # Which table is the default (numba, or the environment's choice) is tested in
    # test_kernel_selection.py, in fresh processes.
    default = backends.default_backend()
    assert default in backends.kernel_backends()
    assert backends.active_backend() == default
    assert backends.get_kernel("softmax_fwd") is backends.load_kernels(default)["softmax_fwd"]
    with backends.use_kernels("numpy"):
        assert backends.get_kernel("softmax_fwd") is numpy_ref.softmax_fwd
        assert backends.kernels()["adamw_step"] is numpy_ref.adamw_step
    assert backends.active_backend() == default


def test_an_unknown_backend_is_refused_with_the_known_ones_listed():
    with pytest.raises(ValueError, match=r"unknown kernel backend 'nope'.*known backends are numba, numpy"):
        backends.set_kernels("nope")
    with pytest.raises(ValueError, match="'nope'"), backends.use_kernels("nope"):
        pass
    assert backends.active_backend() == backends.default_backend()


def test_an_unknown_kernel_name_is_refused_with_the_names_listed():
    with pytest.raises(KeyError, match=r"no kernel named 'softmax'.*softmax_fwd"):
        backends.get_kernel("softmax")


def _register(monkeypatch, backend, kernels_by_name):
    """Register a table made of ``kernels_by_name`` as ``backend`` for one test."""
    module = types.ModuleType(f"fake_table_{backend}")
    for name, kernel in kernels_by_name.items():
        setattr(module, name, kernel)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(backends.BACKENDS, backend, module.__name__)
    monkeypatch.setattr(backends, "_tables", {})


def test_a_table_missing_a_kernel_is_refused_naming_it(monkeypatch):
    table = {name: getattr(numpy_ref, name) for name in backends.KERNEL_NAMES if name != "gelu_bwd"}
    _register(monkeypatch, "partial", table)
    with pytest.raises(ImportError, match=r"'partial'.*lacks \['gelu_bwd'\]"):
        backends.set_kernels("partial")
    assert backends.active_backend() == backends.default_backend()


def _counting_table(calls):
    def counted(name):
        def kernel(*args):
            calls.append(name)
            return getattr(numpy_ref, name)(*args)
        return kernel
    return {name: counted(name) for name in backends.KERNEL_NAMES}


def test_fused_ops_call_the_active_table_and_use_kernels_restores_it(monkeypatch):
    calls = []
    _register(monkeypatch, "counting", _counting_table(calls))
    x = tg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    with backends.use_kernels("counting"):
        assert backends.active_backend() == "counting"
        F.softmax(x).sum().backward()
        F.layer_norm(x).sum().backward()
    assert backends.active_backend() == backends.default_backend()
    assert calls == ["softmax_fwd", "softmax_bwd", "layer_norm_fwd", "layer_norm_bwd"]


def test_backward_uses_the_table_its_forward_ran_with(monkeypatch):
    calls = []
    _register(monkeypatch, "counting", _counting_table(calls))
    x = tg.tensor(np.random.default_rng(1).standard_normal((2, 5)), requires_grad=True)
    with backends.use_kernels("counting"):
        y = F.gelu(x)
    y.backward(np.ones_like(x.data))  # outside the block: still the counting table
    assert calls == ["gelu_fwd", "gelu_bwd"]


def test_use_kernels_restores_the_table_when_its_block_raises(monkeypatch):
    _register(monkeypatch, "counting", _counting_table([]))
    with pytest.raises(RuntimeError, match="inside"), backends.use_kernels("counting"):
        raise RuntimeError("inside")
    assert backends.active_backend() == backends.default_backend()


def test_set_kernels_switches_until_switched_back(monkeypatch):
    _register(monkeypatch, "counting", _counting_table([]))
    default = backends.default_backend()
    try:
        backends.set_kernels("counting")
        assert backends.active_backend() == "counting"
    finally:
        backends.set_kernels(default)
    assert backends.active_backend() == default


# --- adamw_step --------------------------------------------------------------------------
def adamw_reference(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """AdamW as PyTorch's single-tensor loop writes it, on copies: returns (param, m, v)."""
    param = param * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    step_size = lr / (1 - beta1**step)
    denom = np.sqrt(v) / np.sqrt(1 - beta2**step) + eps
    return param - step_size * m / denom, m, v


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adamw_step_matches_a_plain_numpy_derivation_over_several_steps(dtype, weight_decay):
    rng = np.random.default_rng(2)
    param = rng.standard_normal((4, 3)).astype(dtype)
    m, v = np.zeros_like(param), np.zeros_like(param)
    ref = (param.astype(np.float64), np.zeros((4, 3)), np.zeros((4, 3)))
    settings = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": weight_decay}
    for step in range(1, 6):
        grad = rng.standard_normal(param.shape).astype(dtype)
        buffers = (param, m, v)
        assert numpy_ref.adamw_step(param, grad, m, v, step=step, **settings) is None
        assert all(a is b for a, b in zip((param, m, v), buffers))  # updated in place
        ref = adamw_reference(*ref[:1], grad.astype(np.float64), *ref[1:], step=step, **settings)
        for name, got, want in zip(("param", "m", "v"), (param, m, v), ref):
            assert got.dtype == dtype
            check_close(got, want, rtol=1e-12 if dtype == np.float64 else 1e-5, atol=1e-7, name=name)


def test_adamw_first_step_moves_each_weight_by_about_lr():
    # With bias correction, mhat / sqrt(vhat) = g / |g| on step 1: every weight moves by lr.
    param = np.array([1.0, -2.0, 3.0])
    grad = np.array([0.5, -0.001, 20.0])
    numpy_ref.adamw_step(param, grad, np.zeros(3), np.zeros(3), lr=0.1, beta1=0.9, beta2=0.999,
                         eps=1e-12, weight_decay=0.0, step=1)
    check_close(param, [0.9, -1.9, 2.9], rtol=1e-9, atol=1e-9)


def test_adamw_decay_is_decoupled_from_the_gradient():
    # A zero gradient leaves m = v = 0, so only the decay acts: param * (1 - lr * wd).
    param = np.array([2.0, -4.0])
    numpy_ref.adamw_step(param, np.zeros(2), np.zeros(2), np.zeros(2), lr=0.1, beta1=0.9,
                         beta2=0.999, eps=1e-8, weight_decay=0.5, step=3)
    check_close(param, [2.0 * 0.95, -4.0 * 0.95], rtol=1e-12, atol=0)


def test_adamw_step_refuses_step_zero():
    a = np.zeros(2)
    with pytest.raises(ValueError, match="adamw_step: step counts updates from 1, got 0"):
        numpy_ref.adamw_step(a, a, a, a, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, step=0)
