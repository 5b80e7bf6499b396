"""Optimizer state lives on its parameter's device; a parameter that moves later is caught.

Run on the fake GPU (tests/fake_cuda.py): every optimizer creates its moment buffers with the
parameter's array module, steps identically on both devices, saves host arrays, and loads
them back onto whichever device its parameters are on.
"""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.backends import use_kernels
from tinygrad_lm.engine import DeviceError
from tinygrad_lm.optim import SGD, Adagrad, Adam, AdamW, RMSprop, clip_grad_norm_

OPTIMIZERS = {
    "SGD": lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "Adam": lambda ps: Adam(ps, lr=0.1, weight_decay=0.01),
    "AdamW": lambda ps: AdamW(ps, lr=0.1),
    "RMSprop": lambda ps: RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    "Adagrad": lambda ps: Adagrad(ps, lr=0.1, initial_accumulator_value=0.1),
}


def _params(device):
    rng = np.random.default_rng(0)
    shapes = ((3, 4), (4,))
    return [tg.tensor(rng.standard_normal(shape), requires_grad=True, device=device) for shape in shapes]


def _steps(optimizer, params, n):
    for step in range(n):
        for k, p in enumerate(params):
            grad = np.cos(np.arange(p.size).reshape(p.shape) + step + k)  # varies by step; never all-ones
            p.grad = tg.tensor(grad, device=p.device).data
        clip_grad_norm_(params, 1.0)
        optimizer.step()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_is_created_on_the_parameters_device_and_steps_match_the_cpu(fake_cuda, name):
    with use_kernels("numpy"):
        cpu, gpu = _params("cpu"), _params("cuda")
        cpu_opt, gpu_opt = OPTIMIZERS[name](cpu), OPTIMIZERS[name](gpu)
        _steps(cpu_opt, cpu, 3)
        _steps(gpu_opt, gpu, 3)
    arrays = [v for state in gpu_opt.state for v in state.values() if not isinstance(v, (int, float))]
    assert arrays and all(isinstance(v, fake_cuda.DeviceArray) for v in arrays)
    for c, g in zip(cpu, gpu):
        assert isinstance(g.data, fake_cuda.DeviceArray)
        np.testing.assert_array_equal(g.numpy(), c.numpy())
    saved = gpu_opt.state_arrays()
    assert saved and all(type(a) is np.ndarray for a in saved.values())  # host copies for checkpoints


def test_a_parameter_moved_after_the_first_step_is_caught_and_the_fix_works(fake_cuda):
    params = _params("cpu")
    optimizer = AdamW(params, lr=0.1)
    _steps(optimizer, params, 1)
    for p in params:
        p.data = p.to("cuda").data  # what Module.to does, after the optimizer made its state
    with pytest.raises(DeviceError) as error:
        _steps(optimizer, params, 1)
    message = str(error.value)
    assert "parameter 0" in message and "is on cuda" in message
    assert "(exp_avg, exp_avg_sq) is on cpu" in message
    assert "load_state_dict(optimizer.state_dict())" in message
    optimizer.load_state_dict(optimizer.state_dict())  # the documented, explicit fix
    assert all(isinstance(s[k], fake_cuda.DeviceArray) for s in optimizer.state for k in ("exp_avg", "exp_avg_sq"))
    _steps(optimizer, params, 1)


def test_a_gradient_on_another_device_is_refused(fake_cuda):
    param = tg.tensor(np.ones(3), requires_grad=True, device="cuda")
    optimizer = SGD([param], lr=0.1)
    param.grad = np.ones(3)
    with pytest.raises(DeviceError, match="is on cuda but its gradient is on cpu"):
        optimizer.step()


def test_a_cpu_state_dict_loads_onto_gpu_parameters(fake_cuda):
    cpu = _params("cpu")
    optimizer = Adam(cpu, lr=0.1)
    _steps(optimizer, cpu, 2)
    gpu = [p.to("cuda").detach().requires_grad_() for p in cpu]
    restored = Adam(gpu, lr=0.1)
    restored.load_state_dict(optimizer.state_dict())
    for state, gpu_state in zip(optimizer.state, restored.state):
        assert isinstance(gpu_state["exp_avg"], fake_cuda.DeviceArray)
        np.testing.assert_array_equal(gpu_state["exp_avg"].get(), state["exp_avg"])


def test_moving_the_model_after_building_the_optimizer_but_before_its_first_step_is_fine(fake_cuda):
    params = _params("cpu")
    optimizer = Adam(params, lr=0.1)  # state is made on the first step, so nothing is stale yet
    for p in params:
        p.data = p.to("cuda").data
    _steps(optimizer, params, 1)
    assert all(isinstance(s["exp_avg"], fake_cuda.DeviceArray) for s in optimizer.state)
