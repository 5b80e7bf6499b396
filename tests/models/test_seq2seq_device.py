"""Seq2Seq on the (fake) GPU: the same loss, gradients, greedy and beam outputs as on the CPU.

The fake GPU (tests/fake_cuda.py) runs NumPy underneath with the NumPy reference kernels, so
against a CPU run with ``use_kernels("numpy")`` everything must agree exactly: what this
checks is that the ids move to the device only when asked (the decoders copy host sources
there themselves), and that beam search's row selections reach the cached keys and values
on the device.
"""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.backends import use_kernels
from tinygrad_lm.engine import DeviceError
from tinygrad_lm.models import Seq2Seq, Seq2SeqConfig, beam_hypotheses, greedy_decode

CONFIG = Seq2SeqConfig(vocab_size=9, n_encoder_layers=1, n_decoder_layers=2, n_head=2, n_embd=8, d_ff=16,
                       max_positions=8, dropout=0.0, seed=4)
SRC = np.array([[3, 4, 5, 6], [7, 8, 0, 0]])
TGT_IN, TGT_OUT = np.array([[1, 5, 6], [1, 7, 0]]), np.array([[5, 6, 2], [7, 2, 0]])


def test_loss_and_gradients_on_the_gpu_match_the_cpu_exactly(fake_cuda):
    with use_kernels("numpy"):
        cpu, gpu = Seq2Seq(CONFIG), Seq2Seq(CONFIG).to("cuda")
        cpu.loss(SRC, TGT_IN, TGT_OUT).backward()
        on_gpu = [tg.tensor(a, device="cuda") for a in (SRC, TGT_IN, TGT_OUT)]
        loss = gpu.loss(*on_gpu)
        loss.backward()
        assert loss.item() == cpu.loss(SRC, TGT_IN, TGT_OUT).item()
    for (name, c), (_, g) in zip(cpu.named_parameters(), gpu.named_parameters()):
        assert isinstance(g.grad, fake_cuda.DeviceArray), name
        np.testing.assert_array_equal(g.grad.get(), c.grad, err_msg=name)
    with pytest.raises(DeviceError, match="src"):
        gpu.encode(SRC)  # host ids for a GPU model: refused, not copied silently


def test_greedy_and_beam_on_the_gpu_match_the_cpu_exactly(fake_cuda):
    with use_kernels("numpy"):
        cpu, gpu = Seq2Seq(CONFIG), Seq2Seq(CONFIG).to("cuda")
        cpu.embed.weight.data[...] *= 3.0
        gpu.embed.weight.data[...] *= 3.0
        assert greedy_decode(gpu, SRC) == greedy_decode(cpu, SRC)  # host sources, copied by the decoder
        on_cpu, on_gpu = beam_hypotheses(cpu, SRC, beam=3), beam_hypotheses(gpu, SRC, beam=3)
    assert on_gpu == on_cpu
