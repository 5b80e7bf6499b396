"""Checks of chapter 4's exercises (the `answers` fixture: see conftest.py)."""

import math

import numpy as np
import pytest
from hypothesis import given

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm.testing import check_close
from tinygrad_lm.testing import strategies as ts

rng = np.random.default_rng(4)


@pytest.mark.parametrize("t_q, t_k", [(1, 1), (4, 4), (1, 5), (2, 5), (5, 3)])
def test_causal_mask_is_bottom_right_aligned(answers, t_q, t_k):
    mask = answers.causal_mask(t_q, t_k)
    assert isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == (t_q, t_k)
    expected = np.arange(t_k)[None, :] <= np.arange(t_q)[:, None] + (t_k - t_q)
    assert np.array_equal(mask, expected), mask.astype(int)


def test_causal_mask_is_what_causal_true_uses(answers):
    q, k, v = (tg.tensor(rng.standard_normal((2, t, 3))) for t in (3, 6, 6))
    by_flag = F.scaled_dot_product_attention(q, k, v, causal=True)
    by_mask = F.scaled_dot_product_attention(q, k, v, mask=answers.causal_mask(3, 6))
    check_close(by_mask, by_flag.numpy())


def _compare_with_library(answers, q_np, k_np, v_np, mask):
    """Values and float64 gradients of the answer against F.scaled_dot_product_attention."""
    results = []
    upstream = rng.standard_normal(q_np.shape[:-1] + v_np.shape[-1:])
    for attention in (answers.attention, F.scaled_dot_product_attention):
        q, k, v = (tg.tensor(a, requires_grad=True) for a in (q_np, k_np, v_np))
        out = attention(q, k, v, mask=mask)
        out.backward(upstream)
        results.append([out.numpy(), q.grad, k.grad, v.grad])
    for name, mine, library in zip(["output", "dq", "dk", "dv"], *results):
        check_close(mine, library, name=name)


@given(shapes=ts.attention_shapes_and_masks())
def test_attention_matches_the_library(answers, shapes):
    B, H, Tq, Tk, D = shapes.batch, shapes.heads, shapes.q_len, shapes.k_len, shapes.head_dim
    q, k = rng.standard_normal((B, H, Tq, D)), rng.standard_normal((B, H, Tk, D))
    v = rng.standard_normal((B, H, Tk, 2))  # Dv = 2, whatever D is
    _compare_with_library(answers, q, k, v, shapes.mask)


def test_attention_of_a_fully_masked_row_is_zero_not_nan(answers):
    q, k, v = (rng.standard_normal((4, 2)) for _ in range(3))
    mask = np.tril(np.ones((4, 4), dtype=bool)) & np.array([False, True, True, True])  # query 0 sees nothing
    _compare_with_library(answers, q, k, v, mask)
    out = answers.attention(tg.tensor(q), tg.tensor(k), tg.tensor(v), mask=mask).numpy()
    assert np.all(out[0] == 0) and np.isfinite(out).all()


def test_attention_mask_cannot_be_outbid(answers):
    q = tg.tensor([[0.0, 2e4 * math.sqrt(2)]])  # scores key 1 (not allowed) 2e4 above key 0
    k = v = tg.tensor([[1.0, 0.0], [0.0, 1.0]])
    out = answers.attention(q, k, v, mask=np.array([[True, False]]))
    assert np.array_equal(out.numpy(), [[1.0, 0.0]]), "a masked key got weight: use -inf, not a finite fill"


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_heads_matches_the_library(answers, causal):
    B, T, C, H = 2, 5, 12, 3
    qkv_np, upstream = rng.standard_normal((B, T, 3 * C)), rng.standard_normal((B, T, C))
    grads = []
    for function in (answers.self_attention_heads, F.self_attention):
        qkv = tg.tensor(qkv_np, requires_grad=True)
        out = function(qkv, H, causal=causal)
        assert out.shape == (B, T, C)
        out.backward(upstream)
        grads.append((out.numpy(), qkv.grad))
    check_close(grads[0][0], grads[1][0], name="output")
    check_close(grads[0][1], grads[1][1], name="d qkv")
