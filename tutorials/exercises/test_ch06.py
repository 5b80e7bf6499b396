"""Checks of chapter 6's exercises (the `answers` fixture: see conftest.py)."""

import numpy as np
import pytest

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm.engine import Function, array_module
from tinygrad_lm.optim import AdamW, warmup_cosine
from tinygrad_lm.testing import GradcheckError, check_close, gradcheck

rng = np.random.default_rng(6)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
def test_cross_entropy_and_grad_match_the_library(answers, smoothing):
    logits_np, targets = rng.standard_normal((6, 5)) * 3, rng.integers(0, 5, 6)
    logits = tg.tensor(logits_np, requires_grad=True)
    loss = F.cross_entropy(logits, targets, label_smoothing=smoothing)
    loss.backward()
    mine, grad = answers.cross_entropy_and_grad(logits_np, targets, label_smoothing=smoothing)
    assert isinstance(mine, float) and grad.shape == logits_np.shape
    check_close(np.array(mine), loss.numpy(), name="loss")
    check_close(grad, logits.grad, name="gradient", scale=1.0)


def test_cross_entropy_and_grad_is_finite_for_huge_logits(answers):
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]])
    loss, grad = answers.cross_entropy_and_grad(logits, np.array([2, 1]))
    check_close(np.array(loss), (2e4 + np.log(3)) / 2, name="loss")  # row 0: lse - x_t = 1e4 - (-1e4)
    check_close(grad, [[0.5, 0.0, -0.5], [1 / 6, -1 / 3, 1 / 6]], name="gradient (p - onehot) / N", scale=1.0)


def test_adamw_update_matches_the_optimizer_for_several_steps(answers):
    param0, grads = rng.standard_normal((3, 4)), rng.standard_normal((5, 3, 4))
    settings = {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-8, "weight_decay": 0.1}
    weights = tg.tensor(param0.copy(), requires_grad=True)
    optimizer = AdamW([weights], **settings)
    param, m, v = param0.copy(), np.zeros_like(param0), np.zeros_like(param0)
    for step, grad in enumerate(grads, start=1):
        weights.grad = grad.copy()
        optimizer.step()
        param, m, v = answers.adamw_update(param, grad, m, v, step, **settings)
        check_close(param, weights.numpy(), name=f"param after step {step}")
    check_close(m, optimizer.state[0]["exp_avg"], name="m")
    check_close(v, optimizer.state[0]["exp_avg_sq"], name="v")


def test_adamw_update_leaves_its_inputs_alone_and_corrects_the_first_step(answers):
    param, grad = np.array([1.0, -2.0]), np.array([0.3, -4.0])
    originals = [a.copy() for a in (param, grad)]
    new, m, v = answers.adamw_update(param, grad, np.zeros(2), np.zeros(2), 1, lr=0.1, weight_decay=0.0)
    assert all(np.array_equal(a, b) for a, b in zip((param, grad), originals))
    check_close(new, param - 0.1 * np.sign(grad), rtol=1e-7)  # step 1: mhat / sqrt(vhat) = sign(grad)


@pytest.mark.parametrize("warmup, total, min_lr", [(10, 100, 1e-4), (0, 50, 0.0), (5, 6, 3e-4)])
def test_warmup_cosine_lr_matches_the_library(answers, warmup, total, min_lr):
    for step in range(total + 5):
        mine = answers.warmup_cosine_lr(step, 1e-3, warmup, total, min_lr)
        assert mine == pytest.approx(warmup_cosine(step, 1e-3, warmup, total, min_lr), rel=1e-12, abs=1e-18), step


class ShippedEmbedding(Function):
    """The skeleton's BrokenEmbedding as it ships, bug included: gradcheck must reject it."""

    @staticmethod
    def forward(ctx, weight, ids):
        ctx.save(ids=ids)
        ctx.vocab = weight.shape[0]
        return weight[ids]

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        dim = g.shape[-1]
        dweight = xp.zeros((ctx.vocab, dim), dtype=g.dtype)
        dweight[ctx.ids.reshape(-1)] += g.reshape(-1, dim)  # (..., D) -> (N, D)
        return dweight, None


def test_BrokenEmbedding_is_fixed_where_gradcheck_caught_the_bug(answers):
    weight = rng.standard_normal((5, 3))
    distinct, repeated = np.array([[4, 0], [2, 1]]), np.array([[1, 3], [1, 1]])
    assert gradcheck(lambda w: ShippedEmbedding.apply(w, tg.tensor(distinct)), weight)  # the bug hides
    with pytest.raises(GradcheckError, match="gradient of input 0 is wrong"):
        gradcheck(lambda w: ShippedEmbedding.apply(w, tg.tensor(repeated)), weight, name="the shipped op")
    for ids in (distinct, repeated):
        assert gradcheck(lambda w, ids=ids: answers.BrokenEmbedding.apply(w, tg.tensor(ids)), weight,
                         name="your BrokenEmbedding")


def test_BrokenEmbedding_matches_the_library(answers):
    weight_np, ids = rng.standard_normal((6, 4)), rng.integers(0, 3, (5, 7))  # ids repeat a lot
    g = rng.standard_normal((5, 7, 4))
    mine, library = tg.tensor(weight_np, requires_grad=True), tg.tensor(weight_np, requires_grad=True)
    out = answers.BrokenEmbedding.apply(mine, tg.tensor(ids))
    check_close(out, weight_np[ids])
    out.backward(g)
    F.embedding(library, ids).backward(g)
    check_close(mine.grad, library.grad, name="dweight")
