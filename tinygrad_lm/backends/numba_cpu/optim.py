"""The AdamW update in Numba: one fused pass over param, grad, m and v, in place.

NumPy's version (``numpy_ref.adamw_step``) makes about ten passes over memory (one per
operator, with temporaries); this loop reads each of the four arrays once and writes three,
element by element, in parallel. The scalar factors (decay, bias corrections) are computed once
in the wrapper.

Left out: a multi-tensor version that updates every parameter in one call.
"""

import math

import numpy as np
from numba import prange

from ._wrappers import ROWS_PARALLEL_FROM, as_input, launch, loop


@loop(parallel_from=ROWS_PARALLEL_FROM)
def _adamw_flat(param, grad, m, v, decay, beta1, beta2, step_size, correction2, eps):
    for i in prange(param.shape[0]):  # element i of the flattened parameter
        g = grad[i]
        m[i] = beta1 * m[i] + (1.0 - beta1) * g  # first moment, stored in m's dtype
        v[i] = beta2 * v[i] + (1.0 - beta2) * g * g  # second moment
        denominator = math.sqrt(v[i] / correction2) + eps  # sqrt(vhat) + eps
        param[i] = param[i] * decay - step_size * m[i] / denominator  # decay first, then Adam


def adamw_step(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """One AdamW update in place on param, m and v; formula: numpy_ref.adamw_step. Returns None.

    Trick: one parallel pass over the elements. step_size = lr / (1 - beta1^step) and the
    decay 1 - lr * weight_decay are folded once; m and v are stored rounded to their dtype,
    and the new param uses those stored values, as the reference does. Contiguous float32 and
    float64 arrays are updated through flat views; any other array (non-contiguous, float16)
    as a contiguous copy (float32 for float16) that is written back afterwards.
    """
    if step < 1:
        raise ValueError(f"adamw_step: step counts updates from 1, got {step}")
    dtype = np.float32 if param.dtype == np.float16 else param.dtype  # Numba has no float16
    flats = [np.ascontiguousarray(a, dtype=dtype).reshape(-1) for a in (param, grad, m, v)]  # (...) -> (N,)
    flats[1] = as_input(flats[1])  # grad is only read
    launch(_adamw_flat, flats[0].size, *flats, 1.0 - lr * weight_decay, float(beta1), float(beta2),
                lr / (1.0 - beta1**step), 1.0 - beta2**step, float(eps))
    for target, flat in zip((param, m, v), (flats[0], flats[2], flats[3])):
        if not np.shares_memory(target, flat):  # updated as a copy (non-contiguous, or float16)
            target[...] = flat.reshape(target.shape)
