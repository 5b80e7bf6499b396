"""GPTDecoder (the graph-free decoding path) against the autograd GPT it reads its weights from.

The decoder calls the same kernels on the same GEMM shapes in the same order as ``GPT.forward``,
so its logits are checked against the autograd model's at every step with a tight tolerance
(float32: rtol 1e-5, atol 1e-6; float64: 1e-12), for every variant a GPT can be in: bias on or
off, learned or sinusoidal positions, head- and neuron-pruned, quantized three ways and with
the int8 GEMM. Generation through it must pick the same tokens as ``fast_path=False``.
"""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.backends import use_kernels
from tinygrad_lm.compress import quantize_model
from tinygrad_lm.compress.prune import keep_heads, keep_neurons
from tinygrad_lm.engine.errors import ShapeError
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.models.gpt_decode import GPTDecoder

TINY = {"vocab_size": 13, "block_size": 10, "n_layer": 2, "n_head": 4, "n_embd": 16, "seed": 5}
TOLERANCE = {"float32": {"rtol": 1e-5, "atol": 1e-6}, "float64": {"rtol": 1e-12, "atol": 1e-12}}


def tiny(dtype="float32", **changes):
    model = GPT(GPTConfig(**{**TINY, **changes}), dtype=dtype)
    rng = np.random.default_rng(1)
    for p in model.parameters():  # larger weights than the 0.02 init, so differences would show in the logits
        p.data[...] = rng.normal(0.0, 0.3, p.shape)
    return model.eval()


def head_pruned():
    model = tiny()
    keep_heads(model.blocks[0].attn, [1, 3])  # attention width 2 * 4 = 8, not n_embd 16
    keep_heads(model.blocks[1].attn, [2])
    return model


def neuron_pruned():
    model = tiny()
    keep_neurons(model.blocks[0].mlp, [0, 5, 9, 20, 33])  # hidden 64 -> 5
    return model


VARIANTS = {
    "float32": tiny,
    "float64": lambda: tiny(dtype="float64"),
    "no bias": lambda: tiny(bias=False),
    "sinusoidal": lambda: tiny(position_embedding="sinusoidal"),
    "head-pruned": head_pruned,
    "neuron-pruned": neuron_pruned,
    "int8-channel": lambda: quantize_model(tiny(), "int8-channel"),
    "int8-group64": lambda: quantize_model(tiny(n_embd=80, n_head=4), "int8-group64"),  # 80 = 64 + a short group
    "float16": lambda: quantize_model(tiny(), "float16"),
    "int8 GEMM": lambda: quantize_model(tiny(), "int8-channel", gemm="int8"),
}


def ids(batch, time, seed=0):
    return np.random.default_rng(seed).integers(0, TINY["vocab_size"], (batch, time))


def tolerance(model):
    return TOLERANCE[str(model.wte.weight.data.dtype)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_decoder_logits_equal_the_autograd_models_at_every_step(variant):
    model = VARIANTS[variant]()
    x = ids(2, TINY["block_size"])
    cache = model.new_cache()
    decoder = GPTDecoder(model, batch=2)
    steps = [(0, 4)] + [(t, t + 1) for t in range(4, TINY["block_size"])]  # a 4-token prompt, then one at a time
    with tg.no_grad():
        full = model(x)[0].data  # every position at once, no cache
        for start, stop in steps:
            expected = model(x[:, start:stop], cache=cache)[0].data  # the autograd KV-cache path
            got = decoder(x[:, start:stop])
            assert got.shape == expected.shape == (2, stop - start, TINY["vocab_size"])
            np.testing.assert_allclose(got, expected, **tolerance(model), err_msg=f"{variant}, positions {start}:{stop}")
            np.testing.assert_allclose(got, full[:, start:stop], **tolerance(model), err_msg=f"{variant}, uncached")
    assert len(decoder) == TINY["block_size"]


@pytest.mark.parametrize("variant", ["float32", "head-pruned", "int8-group64", "sinusoidal"])
@pytest.mark.parametrize("settings", [
    {"temperature": 0},
    {"temperature": 1.3, "rng": 7},
    {"temperature": 0.8, "top_k": 4, "rng": 8},
    {"temperature": 1.0, "top_p": 0.7, "rng": 9},
    {"temperature": 1.1, "top_k": 6, "top_p": 0.9, "rng": 10},
])
def test_generation_picks_the_same_tokens_as_the_autograd_path(variant, settings):
    model = VARIANTS[variant]()
    prompt = ids(3, 3, seed=2)
    for use_cache in (True, False):  # 3 + 12 tokens > block_size 10: the window slides at the end
        fast = model.generate(prompt, 12, use_cache=use_cache, **settings)
        reference = model.generate(prompt, 12, use_cache=use_cache, fast_path=False, **settings)
        np.testing.assert_array_equal(fast, reference, err_msg=f"use_cache={use_cache}")
    assert fast.shape == (3, 15) and fast.dtype == np.int64


def test_generation_with_a_stop_token_and_a_prompt_longer_than_the_block():
    model = tiny()
    prompt = ids(2, 13, seed=4)  # longer than block_size from the start
    greedy = model.generate(prompt, 5, temperature=0, fast_path=False)
    stop = int(greedy[0, 14])
    np.testing.assert_array_equal(model.generate(prompt, 5, temperature=0, stop_token=stop),
                                  model.generate(prompt, 5, temperature=0, stop_token=stop, fast_path=False))


def test_a_reset_decoder_gives_what_a_fresh_one_gives():
    model = tiny()
    first, second = ids(1, 9, seed=5), ids(1, 6, seed=6)
    reused = GPTDecoder(model, batch=1)
    reused(first[:, :5])
    reused(first[:, 5:])  # fills 9 positions; the second sequence is shorter, so stale keys sit past it
    reused.reset()
    assert len(reused) == 0
    fresh = GPTDecoder(model, batch=1)
    for start, stop in [(0, 2), (2, 3), (3, 6)]:
        np.testing.assert_array_equal(reused(second[:, start:stop]), fresh(second[:, start:stop]))


def test_generate_reads_the_weights_as_they_are_at_each_call():
    model = tiny()
    prompt = ids(1, 2)
    before = model.generate(prompt, 6, temperature=0)
    model.wte.weight.data[...] = np.random.default_rng(3).normal(0.0, 0.5, model.wte.weight.shape)
    after = model.generate(prompt, 6, temperature=0)
    np.testing.assert_array_equal(after, model.generate(prompt, 6, temperature=0, fast_path=False))
    assert not np.array_equal(before, after)
    assert all(p.grad is None for p in model.parameters())


def test_bad_input_is_named():
    decoder = GPTDecoder(tiny(), batch=2)
    decoder(ids(2, 8))
    with pytest.raises(ShapeError, match=r"3 new tokens after 8 cached positions exceed block_size=10; reset\(\)"):
        decoder(ids(2, 3))
    decoder.reset()
    with pytest.raises(ShapeError, match=r"ids must be integer token ids of shape \(2, time>=1\), got int64 array "
                                         r"of shape \(1, 3\)"):
        decoder(ids(1, 3))
    with pytest.raises(ShapeError, match=r"got int64 array of shape \(2, 0\)"):
        decoder(ids(2, 0))
    with pytest.raises(ShapeError, match=r"got float64 array of shape \(2, 1\)"):
        decoder(np.zeros((2, 1)))
    with pytest.raises(IndexError, match=r"token ids must lie in 0..12, got values in \[-1, 4\]"):
        decoder(np.array([[4, -1], [0, 1]]))
    assert len(decoder) == 0  # refused input caches nothing


def test_the_decoder_keeps_its_cache_and_logits_on_the_models_device(fake_cuda):
    prompt = ids(2, 3)
    with use_kernels("numpy"):  # the fake GPU runs the NumPy reference kernels
        expected = tiny().generate(prompt, 9, temperature=0.9, top_k=5, rng=4)
        model = tiny().to("cuda")
        decoder = GPTDecoder(model, batch=2)
        logits = decoder(tg.tensor(prompt, device="cuda").data)
        got = model.generate(tg.tensor(prompt, device="cuda"), 9, temperature=0.9, top_k=5, rng=4)
    assert isinstance(logits, fake_cuda.DeviceArray)
    assert all(isinstance(b.keys, fake_cuda.DeviceArray) and isinstance(b.values, fake_cuda.DeviceArray)
               for b in decoder.blocks)
    np.testing.assert_array_equal(got, expected)


def test_a_model_in_training_mode_with_dropout_generates_as_in_eval_mode_and_stays_in_training_mode():
    model = tiny(dropout=0.3).train()
    prompt = ids(2, 3)
    modes = [(name, m.training) for name, m in model.named_modules()]
    fast = model.generate(prompt, 6, temperature=1.0, rng=3)
    reference = model.generate(prompt, 6, temperature=1.0, rng=3, fast_path=False)  # switches to eval and back
    np.testing.assert_array_equal(fast, reference)
    assert [(name, m.training) for name, m in model.named_modules()] == modes
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_the_decoder_runs_the_active_kernel_table_as_forward_does(backend):
    model = tiny(n_layer=1)
    x = ids(2, 6)
    with use_kernels(backend), tg.no_grad():
        cache = model.new_cache()
        decoder = GPTDecoder(model, batch=2)
        for start, stop in [(0, 3), (3, 4), (4, 6)]:  # the same kernels on the same shapes: the same bits
            np.testing.assert_array_equal(decoder(x[:, start:stop]), model(x[:, start:stop], cache=cache)[0].data)
