"""Optimizers, learning-rate schedules, gradient clipping and regularization helpers.

    optimizer.py       Optimizer: param groups, step / zero_grad, the pickle-free state dict
    sgd.py             SGD (momentum, dampening, Nesterov, coupled weight decay)
    adam.py            Adam (L2 weight decay) and AdamW (decoupled weight decay)
    adagrad.py         Adagrad
    rmsprop.py         RMSprop (momentum, centered)
    schedules.py       warmup_cosine, linear_decay, step_decay, cyclic, LRScheduler
    clip.py            grad_norm, clip_grad_norm_ (and the gradient-accumulation pattern)
    regularization.py  l1_penalty, l2_penalty, param_groups_for_weight_decay

A training step with all the pieces:

    groups = param_groups_for_weight_decay(model.named_parameters(), weight_decay=0.1)
    optimizer = AdamW(groups, lr=6e-4, betas=(0.9, 0.95))
    scheduler = LRScheduler(optimizer, partial(warmup_cosine, warmup_steps=100,
                                               total_steps=5000, min_lr=6e-5))
    loss.backward()
    clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step(); optimizer.zero_grad(); scheduler.step()

Optimizers touch only each parameter's ``.data`` (updated in place) and ``.grad``; they do
not know about modules. Left out: second-order methods, LBFGS, Adafactor, Lion, EMA weights.
"""

from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, grad_norm
from .optimizer import STATE_FORMAT, Optimizer
from .regularization import l1_penalty, l2_penalty, param_groups_for_weight_decay
from .rmsprop import RMSprop
from .schedules import LRScheduler, cyclic, linear_decay, step_decay, warmup_cosine
from .sgd import SGD

__all__ = [
    "SGD", "STATE_FORMAT", "Adagrad", "Adam", "AdamW", "LRScheduler", "Optimizer", "RMSprop",
    "clip_grad_norm_", "cyclic", "grad_norm", "l1_penalty", "l2_penalty", "linear_decay",
    "param_groups_for_weight_decay", "step_decay", "warmup_cosine",
]
