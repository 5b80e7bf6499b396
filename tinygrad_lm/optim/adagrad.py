"""Adagrad: per-coordinate learning rates from the running sum of squared gradients.

Duchi, Hazan & Singer (2011), "Adaptive Subgradient Methods for Online Learning and
Stochastic Optimization", the diagonal update of eq. (1)/Figure 1, with PyTorch's extras
(``torch.optim.Adagrad``): a learning-rate decay, an initial accumulator value and weight
decay. Coordinates that have seen large gradients take small steps from then on; the steps
only ever shrink, which is why Adagrad suits sparse features and tires on long runs.

Left out: sparse gradients, ``maximize``.
"""

from typing import ClassVar

from ..engine import array_module
from ._checks import require
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011) with optional lr decay and weight decay.

    For each parameter p with gradient g, at its step t (t = 1, 2, ...):

        g    <- g + weight_decay * p
        lr_t  = lr / (1 + (t - 1) * lr_decay)
        s_t   = s_{t-1} + g^2                      (s_0 = initial_accumulator_value everywhere)
        p    <- p - lr_t * g / (sqrt(s_t) + eps)

    State: ``step`` (t, an int) and ``sum`` (s, like p).
    Hyperparameters: lr >= 0, lr_decay >= 0, weight_decay >= 0, initial_accumulator_value >= 0,
    eps > 0 (default 1e-10, as PyTorch).
    """

    hyperparameter_types: ClassVar[dict] = {
        "lr": float, "lr_decay": float, "weight_decay": float,
        "initial_accumulator_value": float, "eps": float,
    }
    state_keys = ("step", "sum")
    required_state_keys = state_keys

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10):
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value, "eps": eps})

    def check_group(self, group, where):
        for field in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value"):
            require(group[field] >= 0, where, field, group[field], "must be >= 0")
        require(group["eps"] > 0, where, "eps", group["eps"], "must be > 0")

    def update(self, param, grad, state, group):
        xp = array_module(param)
        if "step" not in state:
            state.update(step=0, sum=xp.full_like(param, group["initial_accumulator_value"]))
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param  # a new array: .grad itself is never changed
        state["step"] += 1
        lr_t = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        accumulator = state["sum"]
        accumulator += grad * grad
        param -= lr_t * grad / (xp.sqrt(accumulator) + group["eps"])
