"""GPT on the (fake) GPU: same losses, gradients and generated tokens as on the CPU.

(Without dropout: the GPU draws its dropout masks on the device, from a seed taken from the
model's rng, so they repeat run to run but differ from the CPU's.)

The fake GPU (tests/fake_cuda.py) runs NumPy underneath with the NumPy reference kernels, so
against a CPU run with ``use_kernels("numpy")`` everything must agree exactly: what this
checks is that every array stays on the device, ids and targets move only when asked, and
generation copies the right things to and from the host.
"""

import dataclasses

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.backends import use_kernels
from tinygrad_lm.engine import DeviceError
from tinygrad_lm.generate import sample_next
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.optim import AdamW

CONFIG = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16, dropout=0.1, seed=3)


def _train(device, steps=3, config=CONFIG):
    model = GPT(config).to(device)
    optimizer = AdamW(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(steps):
        x, y = rng.integers(0, 11, (2, 8)), rng.integers(0, 11, (2, 8))
        _, loss = model(tg.tensor(x, device=device), tg.tensor(y, device=device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model, optimizer, losses


def test_training_steps_on_the_gpu_match_the_cpu_exactly(fake_cuda):
    no_dropout = dataclasses.replace(CONFIG, dropout=0.0)  # the GPU draws its own dropout masks
    with use_kernels("numpy"):
        cpu_model, _, cpu_losses = _train("cpu", config=no_dropout)
        gpu_model, optimizer, gpu_losses = _train("cuda", config=no_dropout)
    assert gpu_losses == cpu_losses
    for (name, c), (_, g) in zip(cpu_model.named_parameters(), gpu_model.named_parameters()):
        assert isinstance(g.data, fake_cuda.DeviceArray) and isinstance(g.grad, fake_cuda.DeviceArray), name
        np.testing.assert_array_equal(g.numpy(), c.numpy(), err_msg=name)
    assert all(isinstance(s["exp_avg"], fake_cuda.DeviceArray) for s in optimizer.state)


def test_dropout_masks_are_drawn_on_the_gpu_and_repeat_from_the_seed(fake_cuda, monkeypatch):
    draws = []
    random_state = fake_cuda.FAKE_CUPY.random.RandomState
    monkeypatch.setattr(fake_cuda.FAKE_CUPY.random, "RandomState",
                        lambda seed: draws.append(seed) or random_state(seed))
    with use_kernels("numpy"):
        _, _, first = _train("cuda")
        _, _, again = _train("cuda")
        _, _, cpu = _train("cpu")
    assert first == again  # one seed, one run
    assert first != cpu  # other masks than the host's
    layers_with_dropout = 1 + 3 * CONFIG.n_layer  # embeddings; attention probs, attention out, MLP out
    assert len(draws) == 2 * 3 * layers_with_dropout  # every mask drawn on the device, none uploaded


def test_forward_refuses_ids_and_targets_from_the_host_for_a_gpu_model(fake_cuda):
    model = GPT(CONFIG).to("cuda")
    ids = np.zeros((1, 4), dtype=np.int64)
    with pytest.raises(DeviceError, match="GPT.forward: idx: an array on cpu .* tensors on cuda"):
        model(ids)
    with pytest.raises(DeviceError, match="on cpu .* on cuda"):
        model(tg.tensor(ids, device="cuda"), ids)
    logits, _ = model(tg.tensor(ids, device="cuda"))
    assert logits.device == "cuda" and logits.shape == (1, 4, 11)


@pytest.mark.parametrize("use_cache", [True, False])
def test_generation_on_the_gpu_matches_the_cpu(fake_cuda, use_cache):
    prompt = np.array([[1, 2, 3], [4, 5, 6]])
    with use_kernels("numpy"):
        expected = GPT(CONFIG).generate(prompt, 10, top_k=5, rng=7, use_cache=use_cache)  # past block_size
        gpu = GPT(CONFIG).to("cuda")
        got = gpu.generate(tg.tensor(prompt, device="cuda"), 10, top_k=5, rng=7, use_cache=use_cache)
    assert type(got) is np.ndarray
    np.testing.assert_array_equal(got, expected)


def test_the_kv_cache_stays_on_the_device(fake_cuda):
    model = GPT(CONFIG).to("cuda").eval()
    cache = model.new_cache()
    with tg.no_grad():
        model(tg.tensor([[1, 2, 3]], device="cuda"), cache=cache)
    assert len(cache) == 3
    assert all(isinstance(layer.keys.data, fake_cuda.DeviceArray) for layer in cache.layers)


def test_sample_next_reads_gpu_logits_through_an_explicit_copy(fake_cuda):
    logits = np.log(np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]]))
    expected = sample_next(logits, rng=1)
    np.testing.assert_array_equal(sample_next(tg.tensor(logits, device="cuda"), rng=1), expected)
    np.testing.assert_array_equal(sample_next(tg.tensor(logits, device="cuda").data, rng=1), expected)
