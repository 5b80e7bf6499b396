"""Adam and AdamW: adaptive moment estimation, with coupled (L2) or decoupled weight decay.

Adam is Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", Algorithm 1, with
weight decay added to the gradient as an L2 term (as in ``torch.optim.Adam``). AdamW is
Loshchilov & Hutter (2019), "Decoupled Weight Decay Regularization", Algorithm 2: the decay
shrinks the weights directly and never passes through the moment estimates, so every weight
decays at the same relative rate however large its gradient history. Adam's update is written
out here in NumPy; AdamW's runs as the fused ``adamw_step`` kernel of the active kernel table
(one pass over param, grad and both moments instead of about ten), whose reference version in
``backends/numpy_ref.py`` is the same algebra.

Convention for AdamW's decay: ``p <- p - lr * weight_decay * p``, i.e. the decay is scaled by
the current learning rate (PyTorch's convention; the paper scales it by the schedule
multiplier eta_t alone, which is the same rule with weight_decay measured in units of lr).
A learning-rate schedule therefore also schedules the decay.

Left out: AMSGrad, ``maximize``, a multi-tensor kernel that updates every parameter in one call.
"""

from typing import ClassVar

from ..backends import get_kernel
from ..engine import array_module
from ._checks import require
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1) with optional L2 weight decay.

    For each parameter p with gradient g, at its step t (t = 1, 2, ...):

        g     <- g + weight_decay * p                  (L2 decay, coupled to the gradient)
        m_t    = beta1 * m_{t-1} + (1 - beta1) * g      (first moment,  m_0 = 0)
        v_t    = beta2 * v_{t-1} + (1 - beta2) * g^2    (second moment, v_0 = 0)
        m_hat  = m_t / (1 - beta1^t)                    (bias corrections)
        v_hat  = v_t / (1 - beta2^t)
        p     <- p - lr * m_hat / (sqrt(v_hat) + eps)

    State: ``step`` (t, an int), ``exp_avg`` (m) and ``exp_avg_sq`` (v), both like p.
    Hyperparameters: lr >= 0, betas in [0, 1) each, eps > 0, weight_decay >= 0.
    """

    hyperparameter_types: ClassVar[dict] = {"lr": float, "betas": tuple, "eps": float, "weight_decay": float}
    state_keys = ("step", "exp_avg", "exp_avg_sq")
    required_state_keys = state_keys

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    def check_group(self, group, where):
        require(group["lr"] >= 0, where, "lr", group["lr"], "must be >= 0")
        for i, beta in enumerate(group["betas"]):
            require(0 <= beta < 1, where, f"betas[{i}]", beta, "must be in [0, 1)")
        require(group["eps"] > 0, where, "eps", group["eps"], "must be > 0")
        require(group["weight_decay"] >= 0, where, "weight_decay", group["weight_decay"], "must be >= 0")

    @staticmethod
    def _start(param, state):
        """Count this step; create the zero moments on a parameter's first step."""
        if "step" not in state:
            xp = array_module(param)
            state.update(step=0, exp_avg=xp.zeros_like(param), exp_avg_sq=xp.zeros_like(param))
        state["step"] += 1

    def update(self, param, grad, state, group):
        xp = array_module(param)
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        self._start(param, state)
        if weight_decay != 0:
            grad = grad + weight_decay * param  # L2: a new array, .grad itself is never changed
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        param -= lr * m_hat / (xp.sqrt(v_hat) + group["eps"])


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019, Algorithm 2): Adam with decoupled weight decay.

    For each parameter p with gradient g, at its step t:

        p     <- p - lr * weight_decay * p              (decoupled decay, before the Adam step)
        m_t, v_t, m_hat, v_hat as in Adam, from the raw g
        p     <- p - lr * m_hat / (sqrt(v_hat) + eps)

    Default weight_decay = 0.01 (PyTorch's). Pair it with ``param_groups_for_weight_decay`` so
    biases, LayerNorm weights (and, if asked, embeddings) are not decayed. The update runs as
    the active kernel table's ``adamw_step``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def update(self, param, grad, state, group):
        self._start(param, state)
        beta1, beta2 = group["betas"]
        adamw_step = get_kernel("adamw_step", param)  # the CuPy kernel for a GPU parameter
        adamw_step(param, grad, state["exp_avg"], state["exp_avg_sq"], group["lr"], beta1, beta2,
                   group["eps"], group["weight_decay"], state["step"])
