"""Exercises for chapter 6 (losses and optimizers). Edit this file; check it with

    pytest tutorials/exercises -k ch06

Reference solutions: tutorials/solutions/ch06.py (look after you have tried).
Add the imports your answers need at the top; the solutions use

    import math
    import numpy as np

1. `cross_entropy_and_grad`: label-smoothed cross-entropy and its gradient p - q, in NumPy.
2. `adamw_update`: one AdamW step by hand, bias correction and decoupled decay included.
3. `warmup_cosine_lr`: the learning-rate schedule of GPT pre-training.
4. `BrokenEmbedding`: break-the-backward. A copy of the library's embedding whose backward
   loses repeated ids. First run `gradcheck` with ids that never repeat (it passes: the bug
   hides), then with a repeated id (it fails). Fix `backward`.
"""

from tinygrad_lm.engine import Function, array_module


def cross_entropy_and_grad(logits, targets, label_smoothing=0.0):
    """Mean cross-entropy of logits (N, C) against int targets (N,), and its gradient (N, C).

    With p = softmax(logits) per row (subtract the row maximum first) and the smoothed target
    distribution q = (1 - s) onehot(target) + s / C (s = label_smoothing):

        loss_i = -sum_c q_ic log p_ic,       loss = (1/N) sum_i loss_i
        d loss / d logits_ic = (p_ic - q_ic) / N

    Compute log p as logits - logsumexp (never log(softmax), which is -inf where p rounds to
    0), so logits of +-1e4 give a finite loss. Return (loss as a float, gradient as an array).
    """
    raise NotImplementedError("exercise ch06.cross_entropy_and_grad")


def adamw_update(param, grad, m, v, step, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    """One AdamW step (Loshchilov & Hutter 2019, Algorithm 2); return NEW (param, m, v) arrays.

        param <- param - lr * weight_decay * param          (decoupled decay, first)
        m     <- beta1 m + (1 - beta1) grad
        v     <- beta2 v + (1 - beta2) grad^2
        param <- param - lr * mhat / (sqrt(vhat) + eps),  mhat = m / (1 - beta1^step),
                                                          vhat = v / (1 - beta2^step)

    `step` counts updates from 1 (the bias corrections), m and v start as zeros. Do not modify
    the arrays you are given.
    """
    raise NotImplementedError("exercise ch06.adamw_update")


def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    """The learning rate at `step` (counting from 0) of nanoGPT's schedule:

        step <  warmup_steps:  base_lr * (step + 1) / (warmup_steps + 1)       (linear warm-up)
        step >  total_steps:   min_lr
        otherwise:             r = (step - warmup_steps) / (total_steps - warmup_steps)
                               min_lr + 0.5 * (1 + cos(pi r)) * (base_lr - min_lr)
    """
    raise NotImplementedError("exercise ch06.warmup_cosine_lr")


class BrokenEmbedding(Function):
    """out[..., :] = weight[ids[...], :]   weight (V, D), ids (...) -> out (..., D).

    dweight[v] = sum of g[...] over every position where ids == v (a scatter-add).
    (Its backward has a bug: fix it.)
    """

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
