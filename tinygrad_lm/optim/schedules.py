"""Learning-rate schedules, and ``LRScheduler``, which applies one to an optimizer's groups.

Every schedule is a plain function ``schedule(step, base_lr, ...) -> lr`` (steps count from 0):

    warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr=0.0)   GPT pre-training
    linear_decay(step, base_lr, total_steps, end_lr=0.0, warmup_steps=0)  BERT fine-tuning
    step_decay(step, base_lr, step_size, gamma=0.1)                       ResNet-style drops
    cyclic(step, base_lr, max_lr, period)                                 triangular cycles
    inverse_sqrt_warmup(step, base_lr, d_model, warmup_steps)             the Transformer's ("Noam")

Warm-up, where a schedule has one, is nanoGPT's (``inverse_sqrt_warmup`` keeps the paper's own): ``lr = base_lr * (step + 1) / (warmup_steps + 1)``
for step < warmup_steps. It starts just above 0 (never at 0, so step 0 is not wasted) and
reaches base_lr exactly at step == warmup_steps, where the decay begins.

Use one directly (``lr = warmup_cosine(it, 6e-4, 2000, 600000, 6e-5)``, as nanoGPT does) or
hand it to ``LRScheduler`` with its other arguments bound; the scheduler calls
``schedule(step, base_lr)`` with each group's own starting lr:

    scheduler = LRScheduler(optimizer, functools.partial(warmup_cosine, warmup_steps=100,
                                                         total_steps=5000, min_lr=1e-5))
    for ...:  loss.backward(); optimizer.step(); optimizer.zero_grad(); scheduler.step()

Arguments that make no sense (negative steps or lrs, total_steps <= warmup_steps, min_lr
above base_lr, gamma outside (0, 1], a period below 2) raise ``ValueError`` naming them.

Left out: ReduceLROnPlateau (it needs the validation loss, the trainer's business),
one-cycle and exponential schedules (a line each with these pieces), momentum cycling.
"""

import math

from ._checks import as_finite_nonnegative, as_int, require


def _warmup(step, base_lr, warmup_steps):
    """nanoGPT's linear warm-up: base_lr * (step + 1) / (warmup_steps + 1), for step < warmup_steps."""
    return base_lr * (step + 1) / (warmup_steps + 1)


def warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    """Linear warm-up, then half a cosine from base_lr down to min_lr, then min_lr (nanoGPT).

        step <  warmup_steps:  base_lr * (step + 1) / (warmup_steps + 1)
        step >  total_steps:   min_lr
        otherwise:             r = (step - warmup_steps) / (total_steps - warmup_steps)
                               min_lr + 0.5 * (1 + cos(pi * r)) * (base_lr - min_lr)

    Loshchilov & Hutter (2017), "SGDR", eq. (5), without restarts. Needs
    0 <= warmup_steps < total_steps and 0 <= min_lr <= base_lr.
    """
    where = "warmup_cosine"
    step, base_lr = as_int(where, "step", step, 0), as_finite_nonnegative(where, "base_lr", base_lr)
    warmup_steps = as_int(where, "warmup_steps", warmup_steps, 0)
    total_steps = as_int(where, "total_steps", total_steps, warmup_steps + 1)
    min_lr = as_finite_nonnegative(where, "min_lr", min_lr)
    require(min_lr <= base_lr, where, "min_lr", min_lr, f"must be <= base_lr = {base_lr}")
    if step < warmup_steps:
        return _warmup(step, base_lr, warmup_steps)
    if step > total_steps:
        return min_lr
    ratio = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (base_lr - min_lr)


def linear_decay(step, base_lr, total_steps, end_lr=0.0, warmup_steps=0):
    """Optional linear warm-up, then a straight line from base_lr to end_lr, then end_lr.

        step <  warmup_steps:  base_lr * (step + 1) / (warmup_steps + 1)
        step >= total_steps:   end_lr
        otherwise:             base_lr + (end_lr - base_lr) * (step - warmup_steps) / (total_steps - warmup_steps)

    The schedule of BERT (Devlin et al. 2019, appendix A.2). Needs
    0 <= warmup_steps < total_steps and 0 <= end_lr <= base_lr.
    """
    where = "linear_decay"
    step, base_lr = as_int(where, "step", step, 0), as_finite_nonnegative(where, "base_lr", base_lr)
    warmup_steps = as_int(where, "warmup_steps", warmup_steps, 0)
    total_steps = as_int(where, "total_steps", total_steps, warmup_steps + 1)
    end_lr = as_finite_nonnegative(where, "end_lr", end_lr)
    require(end_lr <= base_lr, where, "end_lr", end_lr, f"must be <= base_lr = {base_lr}")
    if step < warmup_steps:
        return _warmup(step, base_lr, warmup_steps)
    if step >= total_steps:
        return end_lr
    return base_lr + (end_lr - base_lr) * (step - warmup_steps) / (total_steps - warmup_steps)


def step_decay(step, base_lr, step_size, gamma=0.1):
    """Multiply the lr by gamma every step_size steps: base_lr * gamma ** (step // step_size).

    He et al. (2016), "Deep Residual Learning", section 3.4 (lr / 10 at fixed points).
    Needs step_size >= 1 and 0 < gamma <= 1.
    """
    where = "step_decay"
    step, base_lr = as_int(where, "step", step, 0), as_finite_nonnegative(where, "base_lr", base_lr)
    step_size = as_int(where, "step_size", step_size, 1)
    gamma = as_finite_nonnegative(where, "gamma", gamma)
    require(0 < gamma <= 1, where, "gamma", gamma, "must be in (0, 1]")
    return base_lr * gamma ** (step // step_size)


def cyclic(step, base_lr, max_lr, period):
    """Triangular cycles between base_lr and max_lr (Smith 2017, "Cyclical Learning Rates").

        phase = (step mod period) / period                      in [0, 1)
        lr    = base_lr + (max_lr - base_lr) * (1 - |2 * phase - 1|)

    So lr = base_lr at step 0, period, 2 * period, ... and max_lr at period / 2 (Smith's
    stepsize is period / 2). Needs period >= 2 and 0 <= base_lr <= max_lr.
    """
    where = "cyclic"
    step, base_lr = as_int(where, "step", step, 0), as_finite_nonnegative(where, "base_lr", base_lr)
    max_lr = as_finite_nonnegative(where, "max_lr", max_lr)
    require(max_lr >= base_lr, where, "max_lr", max_lr, f"must be >= base_lr = {base_lr}")
    period = as_int(where, "period", period, 2)
    phase = (step % period) / period
    return base_lr + (max_lr - base_lr) * (1.0 - abs(2.0 * phase - 1.0))


def inverse_sqrt_warmup(step, base_lr, d_model, warmup_steps):
    """The schedule of "Attention Is All You Need" (Vaswani et al. 2017, section 5.3, eq. 3).

        s  = step + 1                                   the paper counts steps from 1
        lr = base_lr * d_model^-0.5 * min(s^-0.5, s * warmup_steps^-1.5)

    A straight line up for the first warmup_steps steps, then decay as 1 / sqrt(s); the two
    meet at s = warmup_steps, the peak base_lr / sqrt(d_model * warmup_steps). base_lr is a
    plain factor (the paper's schedule is base_lr = 1; The Annotated Transformer calls it
    ``factor``). Needs d_model >= 1 and warmup_steps >= 1.
    """
    where = "inverse_sqrt_warmup"
    step, base_lr = as_int(where, "step", step, 0), as_finite_nonnegative(where, "base_lr", base_lr)
    d_model = as_int(where, "d_model", d_model, 1)
    warmup_steps = as_int(where, "warmup_steps", warmup_steps, 1)
    s = step + 1
    return base_lr * d_model ** -0.5 * min(s ** -0.5, s * warmup_steps ** -1.5)


class LRScheduler:
    """Set every param group's lr to ``schedule(step, base_lr)`` of the group's starting lr.

    ``base_lrs`` are the groups' lrs when the scheduler is made; the lr for step 0 is set at
    once, and each ``step()`` (call it after ``optimizer.step()``) moves to the next step.
    Works with any object that has ``param_groups`` (a list of dicts with an ``"lr"``).
    ``state_dict()`` is JSON-able: ``{"step": int, "base_lrs": [float, ...]}``.
    """

    def __init__(self, optimizer, schedule):
        if not callable(schedule):
            raise TypeError(f"LRScheduler: schedule must be callable as schedule(step, base_lr), "
                            f"got {type(schedule).__name__}")
        self.optimizer, self.schedule = optimizer, schedule
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.current_step = 0
        self._apply()

    def _apply(self):
        for g, (group, base_lr) in enumerate(zip(self.optimizer.param_groups, self.base_lrs)):
            where = f"LRScheduler (param group {g}, step {self.current_step}): the schedule's result"
            group["lr"] = as_finite_nonnegative(where, "lr", self.schedule(self.current_step, base_lr))

    def step(self):
        """Advance one step and set each group's lr for it."""
        self.current_step += 1
        self._apply()

    def lrs(self):
        """The lr each param group has now."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        return {"step": self.current_step, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state):
        """Restore the step and base lrs, then set the groups' lrs for that step."""
        where = "LRScheduler.load_state_dict"
        if not isinstance(state, dict) or set(state) != {"step", "base_lrs"}:
            raise ValueError(f"{where}: expected a dict with keys 'step' and 'base_lrs' (as made by "
                             f"state_dict()), got {state!r}")
        if len(state["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(f"{where}: the state has {len(state['base_lrs'])} base lrs, the optimizer "
                             f"has {len(self.optimizer.param_groups)} param groups")
        step = as_int(where, "step", state["step"], 0)
        self.base_lrs = [as_finite_nonnegative(where, "base_lrs", lr) for lr in state["base_lrs"]]
        self.current_step = step
        self._apply()
