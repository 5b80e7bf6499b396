"""RMSprop: divide the gradient by a running root-mean-square of recent gradients.

Tieleman & Hinton (2012), "Lecture 6.5 - rmsprop", COURSERA: Neural Networks for Machine
Learning; the centered variant (subtract the squared running mean, so the denominator is a
running standard deviation) is Graves (2013), "Generating Sequences With Recurrent Neural
Networks", eq. (38)-(45). The update, momentum and weight decay follow ``torch.optim.RMSprop``.

Left out: ``maximize``, sparse gradients.
"""

from typing import ClassVar

from ..engine import array_module
from ._checks import require
from .optimizer import Optimizer


def _buffer(state, key, param):
    """``state[key]``, created as zeros like ``param`` on first use."""
    if key not in state:
        state[key] = array_module(param).zeros_like(param)
    return state[key]


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton 2012), optionally centered (Graves 2013) and with momentum.

    For each parameter p with gradient g:

        g    <- g + weight_decay * p
        v_t   = alpha * v_{t-1} + (1 - alpha) * g^2                   (v_0 = 0)
        d     = sqrt(v_t) + eps                                        not centered
        a_t   = alpha * a_{t-1} + (1 - alpha) * g     (a_0 = 0)        centered:
        d     = sqrt(max(v_t - a_t^2, 0)) + eps                          running std. deviation
        b_t   = momentum * b_{t-1} + g / d            (b_0 = 0)        if momentum > 0:
        p    <- p - lr * b_t                                             heavy-ball step
        p    <- p - lr * g / d                                         otherwise

    State: ``square_avg`` (v); ``grad_avg`` (a) when centered; ``momentum_buffer`` (b) when
    momentum > 0; all like p.
    Hyperparameters: lr >= 0, alpha in [0, 1), eps > 0, weight_decay >= 0, momentum >= 0.
    """

    hyperparameter_types: ClassVar[dict] = {
        "lr": float, "alpha": float, "eps": float, "weight_decay": float,
        "momentum": float, "centered": bool,
    }
    state_keys = ("square_avg", "grad_avg", "momentum_buffer")
    required_state_keys = ("square_avg",)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered})

    def check_group(self, group, where):
        for field in ("lr", "weight_decay", "momentum"):
            require(group[field] >= 0, where, field, group[field], "must be >= 0")
        require(0 <= group["alpha"] < 1, where, "alpha", group["alpha"], "must be in [0, 1)")
        require(group["eps"] > 0, where, "eps", group["eps"], "must be > 0")

    def update(self, param, grad, state, group):
        xp = array_module(param)
        alpha = group["alpha"]
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param  # a new array: .grad itself is never changed
        square_avg = _buffer(state, "square_avg", param)
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = _buffer(state, "grad_avg", param)
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            variance = xp.maximum(square_avg - grad_avg * grad_avg, 0)  # v >= a^2 exactly; rounding may not
            denominator = xp.sqrt(variance) + group["eps"]
        else:
            denominator = xp.sqrt(square_avg) + group["eps"]
        if group["momentum"] > 0:
            buffer = _buffer(state, "momentum_buffer", param)
            buffer *= group["momentum"]
            buffer += grad / denominator
            param -= group["lr"] * buffer
        else:
            param -= group["lr"] * grad / denominator
