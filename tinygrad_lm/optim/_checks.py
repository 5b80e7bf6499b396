"""Argument checks shared by the optimizers, schedules and clipping: one message shape for all.

Every bad hyperparameter or schedule argument is a ``ValueError`` that names where it was
given, the field, the value and the rule it broke:

    Adam (param group 1): betas[0] = 1.0 must be in [0, 1)

Left out: checks of tensors and gradients, which live next to the code that uses them.
"""

import math
import numbers


def require(condition, where, field, value, rule):
    """Raise ``ValueError("<where>: <field> = <value> <rule>")`` unless ``condition`` holds."""
    if not condition:
        raise ValueError(f"{where}: {field} = {value!r} {rule}")


def as_float(where, field, value):
    """``value`` as a Python float, or ``ValueError`` if it is not a real number (bools are not)."""
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    require(is_number, where, field, value, "must be a real number")
    return float(value)


def as_int(where, field, value, minimum):
    """``value`` as a Python int of at least ``minimum``, or ``ValueError``."""
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    require(is_int, where, field, value, "must be an integer")
    require(value >= minimum, where, field, value, f"must be >= {minimum}")
    return int(value)


def as_finite_nonnegative(where, field, value):
    """``value`` as a finite float >= 0 (learning rates, weight decay), or ``ValueError``."""
    value = as_float(where, field, value)
    require(math.isfinite(value) and value >= 0, where, field, value, "must be finite and >= 0")
    return value
