"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay.

The update is PyTorch's ``torch.optim.SGD``, written out in ``SGD``'s docstring. Momentum is
the heavy ball of Polyak (1964); the Nesterov form is Sutskever et al. (2013), "On the
importance of initialization and momentum in deep learning", eq. (3)-(4), rewritten so the
update needs only the current gradient.

Left out: ``maximize``, gradient-free closures, sparse gradients.
"""

from typing import ClassVar

from ._checks import require
from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent.

    For each parameter p with gradient g, at step t (t = 1, 2, ...):

        g   <- g + weight_decay * p                          (coupled weight decay, L2)
        if momentum != 0:
            b_t = g                                          if t == 1 (no dampening yet)
            b_t = momentum * b_{t-1} + (1 - dampening) * g   otherwise
            g   <- g + momentum * b_t    if nesterov
            g   <- b_t                   otherwise
        p   <- p - lr * g

    State: ``momentum_buffer`` (b, like p), only when momentum != 0.
    Hyperparameters: lr >= 0, momentum >= 0, 0 <= dampening <= 1, weight_decay >= 0;
    nesterov needs momentum > 0 and dampening = 0.
    """

    hyperparameter_types: ClassVar[dict] = {
        "lr": float, "momentum": float, "dampening": float, "weight_decay": float, "nesterov": bool,
    }
    state_keys = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov})

    def check_group(self, group, where):
        require(group["lr"] >= 0, where, "lr", group["lr"], "must be >= 0")
        require(group["momentum"] >= 0, where, "momentum", group["momentum"], "must be >= 0")
        require(0 <= group["dampening"] <= 1, where, "dampening", group["dampening"], "must be in [0, 1]")
        require(group["weight_decay"] >= 0, where, "weight_decay", group["weight_decay"], "must be >= 0")
        if group["nesterov"]:
            require(group["momentum"] > 0, where, "momentum", group["momentum"],
                    "must be > 0 when nesterov=True (Nesterov momentum needs momentum)")
            require(group["dampening"] == 0, where, "dampening", group["dampening"],
                    "must be 0 when nesterov=True")

    def update(self, param, grad, state, group):
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        if weight_decay != 0:
            grad = grad + weight_decay * param  # a new array: .grad itself is never changed
        if momentum != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = grad.copy()
            else:
                buffer = state["momentum_buffer"]
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad
            buffer = state["momentum_buffer"]
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param -= lr * grad
