"""Training, checkpoints and resume across devices.

On the fake GPU (tests/fake_cuda.py) a run without dropout must give exactly the CPU's losses
(both use the NumPy reference kernels; dropout masks are drawn on each device), write a checkpoint of host arrays that loads onto either device,
and resume on the other device. Without CuPy the Trainer refuses "cuda" before doing any
work. The ``gpu``-marked test repeats the 50-step comparison on a real GPU, within 1e-3.
"""

import dataclasses
import json

import numpy as np
import pytest

from tinygrad_lm.backends import use_kernels
from tinygrad_lm.engine import DeviceError
from tinygrad_lm.train import ConfigError, Trainer, apply_overrides, load_model, preset
from tinygrad_lm.train.checkpoint import load_checkpoint
from tinygrad_lm.train.trainer import CHECKPOINT, LOG


def _config(corpus, **changes):
    base = dataclasses.replace(preset("tiny"), text_path=corpus, n_embd=16, block_size=16, batch_size=4,
                               max_iters=6, eval_interval=3, eval_iters=1, warmup_iters=2, lr_decay_iters=12,
                               dropout=0.0)  # with dropout the GPU draws other masks than the CPU
    return dataclasses.replace(base, **changes)


def _train_losses(out_dir):
    records = map(json.loads, (out_dir / LOG).read_text().splitlines())
    return [r["loss"] for r in records if r["kind"] == "train"]


def test_device_is_a_checked_config_field():
    assert preset("tiny").device == "cpu"
    assert apply_overrides(preset("tiny"), ["device=cuda"]).device == "cuda"
    with pytest.raises(ConfigError, match="device must be 'cpu' or 'cuda', got 'tpu'"):
        apply_overrides(preset("tiny"), ["device=tpu"])


def test_the_trainer_refuses_cuda_without_it_before_doing_any_work(no_cuda, tmp_path, corpus):
    with pytest.raises(DeviceError, match="train: device 'cuda' is unavailable: CuPy is not installed"):
        Trainer(_config(corpus, device="cuda"), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_a_run_on_the_gpu_matches_the_cpu_and_its_checkpoint_loads_anywhere(fake_cuda, tmp_path, corpus):
    with use_kernels("numpy"):
        cpu = Trainer(_config(corpus), tmp_path / "cpu", progress=False).run()
        trainer = Trainer(_config(corpus, device="cuda"), tmp_path / "gpu", progress=False)
        gpu = trainer.run()
    assert gpu["train_losses"] == cpu["train_losses"]
    assert gpu["final_eval"]["val_loss"] == cpu["final_eval"]["val_loss"]
    assert trainer.model.device == "cuda"
    assert all(isinstance(s["exp_avg"], fake_cuda.DeviceArray) for s in trainer.optimizer.state)

    path = tmp_path / "gpu" / CHECKPOINT
    host, _ = load_checkpoint(path)
    assert all(type(a) is np.ndarray for a in host.values())  # written from the GPU as host arrays
    on_gpu, _ = load_checkpoint(path, device="cuda")
    assert all(isinstance(a, fake_cuda.DeviceArray) for a in on_gpu.values())
    on_cpu_model, _, _ = load_model(path)
    on_gpu_model, _, _ = load_model(path, device="cuda")
    assert on_cpu_model.device == "cpu" and on_gpu_model.device == "cuda"
    for (name, p), (_, q) in zip(trainer.model.named_parameters(), on_gpu_model.named_parameters()):
        np.testing.assert_array_equal(q.numpy(), p.numpy(), err_msg=name)
        np.testing.assert_array_equal(on_cpu_model.state_dict()[name], p.numpy(), err_msg=name)


def test_a_run_resumes_on_the_other_device_bit_exactly(fake_cuda, tmp_path, corpus):
    with use_kernels("numpy"):
        Trainer(_config(corpus), tmp_path / "straight", progress=False).run()
        Trainer(_config(corpus, max_iters=3, device="cuda"), tmp_path / "halves", progress=False).run()
        Trainer(_config(corpus), tmp_path / "halves", progress=False).run()  # resumed on the CPU
    assert _train_losses(tmp_path / "halves") == _train_losses(tmp_path / "straight")


@pytest.mark.gpu
def test_fifty_tiny_steps_on_a_real_gpu_match_the_cpu(real_cuda, tmp_path):
    config = preset("tiny")
    with use_kernels("numpy"):
        cpu = Trainer(config, tmp_path / "cpu", progress=False).run()
    gpu = Trainer(dataclasses.replace(config, device="cuda"), tmp_path / "gpu", progress=False).run()
    assert len(gpu["train_losses"]) == len(cpu["train_losses"]) == 50
    np.testing.assert_allclose(gpu["train_losses"], cpu["train_losses"], rtol=1e-3, atol=0)
