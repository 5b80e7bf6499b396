"""Checks of chapter 16's exercises (the `answers` fixture: see conftest.py)."""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.compress.distill import distillation_loss
from tinygrad_lm.compress.prune import Masks, prunable_weights
from tinygrad_lm.compress.quantize import dequantize, quantize_int8
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.testing import check_close

rng = np.random.default_rng(16)


# --- 1. Symmetric int8 ------------------------------------------------------------------------
def test_quantize_symmetric_int8_by_hand(answers):
    w = np.array([[0.5, -1.27, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    q, scales, back = answers.quantize_symmetric_int8(w)
    assert q.dtype == np.int8 and q.tolist() == [[50, -127, 0], [0, 0, 0]]
    check_close(scales, np.array([0.01, 1.0], dtype=np.float32), name="scales")  # a zero row: s = 1
    check_close(back, np.array([[0.5, -1.27, 0.0], [0, 0, 0]], dtype=np.float32), name="q s")
    q, scales, _ = answers.quantize_symmetric_int8(w, group_size=2)  # groups: columns 0-1, column 2
    assert scales.shape == (2, 2) and q.tolist() == [[50, -127, 0], [0, 0, 0]]
    assert scales[0, 1] == 1.0  # the group holding only the 0.0


@pytest.mark.parametrize("group_size", [None, 64, 50])
def test_quantize_symmetric_int8_matches_the_library(answers, group_size):
    w = (rng.standard_normal((24, 200)) * 0.02).astype(np.float32)
    w[::6, 7] = 1.0  # outliers
    w[3] = 0.0  # a zero row
    q, scales, back = answers.quantize_symmetric_int8(w, group_size)
    expected_q, expected_scales = quantize_int8(w, group_size)
    assert q.dtype == np.int8 and np.array_equal(q, expected_q)
    check_close(scales, expected_scales, name="scales")
    library_back = dequantize(expected_q, expected_scales, group_size or 64)
    check_close(back, library_back, name="dequantized")
    step = scales[:, None] if group_size is None else np.repeat(scales, group_size, axis=1)[:, :200]
    assert np.all(np.abs(back - w) <= step / 2 + 1e-8)  # half a step at most


def test_quantize_symmetric_int8_per_group_confines_an_outlier(answers):
    w = (rng.standard_normal((8, 256)) * 0.02).astype(np.float32)
    w[:, 3] = 1.0  # one outlier per row, in the first group of 64
    per_channel = np.abs(answers.quantize_symmetric_int8(w)[2] - w)
    per_group = np.abs(answers.quantize_symmetric_int8(w, 64)[2] - w)
    assert per_group[:, 64:].mean() < per_channel[:, 64:].mean() / 10  # the other groups keep a fine step


# --- 2. Global magnitude masks ----------------------------------------------------------------
def test_global_magnitude_masks_by_hand(answers):
    small, large = np.array([[0.1, -0.2], [0.3, 0.05]]), np.array([1.0, -2.0, 0.4, 3.0])
    masks = answers.global_magnitude_masks([small, large], 0.5)  # drop 4 of 8: 0.05, 0.1, 0.2, 0.3
    assert [m.shape for m in masks] == [(2, 2), (4,)] and all(m.dtype == bool for m in masks)
    assert not masks[0].any() and masks[1].all()  # the small matrix loses everything
    masks = answers.global_magnitude_masks([small, large], 0.3)  # round(2.4) = 2
    assert masks[0].tolist() == [[False, True], [True, False]] and masks[1].all()


@pytest.mark.parametrize("sparsity", [0.1, 0.5, 0.93])
def test_global_magnitude_masks_match_the_library(answers, sparsity):
    model = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=16, seed=3))
    for _, parameter in prunable_weights(model)[::3]:
        parameter.data[...] *= 0.3  # some matrices smaller than the rest
    weights = [p.numpy().copy() for _, p in prunable_weights(model)]
    masks = answers.global_magnitude_masks(weights, sparsity)
    expected = [mask for _, _, mask in Masks.magnitude(model, sparsity, scope="global").pairs]
    assert len(masks) == len(expected)
    for mine, theirs in zip(masks, expected):
        assert mine.shape == theirs.shape and np.array_equal(mine, theirs)


# --- 3. The distillation loss and its gradient ------------------------------------------------
@pytest.mark.parametrize("temperature, alpha", [(1.0, 1.0), (2.0, 0.5), (4.0, 0.9), (3.0, 0.0)])
def test_distillation_loss_and_gradient_match_the_library(answers, temperature, alpha):
    zs, zt, labels = 3 * rng.standard_normal((5, 7)), 3 * rng.standard_normal((5, 7)), rng.integers(0, 7, 5)
    student = tg.tensor(zs, requires_grad=True, dtype="float64")
    expected = distillation_loss(student, zt, labels, temperature=temperature, alpha=alpha)
    expected.backward()
    loss, grad = answers.distillation_loss_and_gradient(zs, zt, labels, temperature, alpha)
    assert isinstance(loss, float) and grad.shape == (5, 7)
    check_close(np.array(loss), expected.numpy(), name="loss")
    check_close(grad, student.grad, name="d loss / d z_s")


def test_distillation_loss_and_gradient_by_hand(answers):
    z, labels = rng.standard_normal((3, 4)), np.array([0, 1, 2])
    loss, grad = answers.distillation_loss_and_gradient(z, z + 5.0, labels, temperature=2.0, alpha=1.0)
    assert abs(loss) < 1e-12 and np.abs(grad).max() < 1e-12  # same distribution (a shift changes nothing)
    big = np.array([[1000.0, 0.0]])  # no overflow: softmax after subtracting the row maximum
    loss, grad = answers.distillation_loss_and_gradient(big, big[:, ::-1], np.array([0]), temperature=1.0, alpha=1.0)
    assert abs(loss - 1000.0) < 1e-9 and np.allclose(grad, [[1.0, -1.0]])
