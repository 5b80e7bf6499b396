"""The AdamW update in Numba: one fused pass over param, grad, m and v, in place.

NumPy's version (``numpy_ref.adamw_step``) makes about ten passes over memory (one per
operator, with temporaries); this loop reads each of the four arrays once and writes three,
element by element (in parallel from ``_wrappers.PARALLEL_FROM`` elements). The scalar factors
(decay, 1 - beta, bias corrections) are computed once in the wrapper, in float64, and handed
to the loop rounded to the parameter's dtype, so the loop's arithmetic is in that dtype:

    float64 data   float64 arithmetic (the reference's, bit for bit on these formulas)
    float32 data   float32 arithmetic, as torch.optim.AdamW does: SIMD lanes twice as wide
                   and a float32 division and square root instead of float64 ones, 4 times
                   faster (810k weights on one core: 1.98 -> 0.50 ms). Rounding the scalars
                   and each operation to float32 moves a weight by a few of its float32 ulps
                   at most: tests/backends/test_numba_parity.py pins it to
                   8 eps32 (|p| + lr * step) of the float64 reference over 20 steps.

Left out: a multi-tensor version that updates every parameter in one call: with parameters
in separate arrays it would copy every parameter and gradient into one buffer and back,
which costs about what the 52 calls of a GPT step save.
"""

import math

import numpy as np
from numba import prange

from ._wrappers import as_input, launch, loop

_FLAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # updated through views, no copies


@loop()
def _adamw_flat(param, grad, m, v, decay, beta1, one_minus_beta1, beta2, one_minus_beta2, step_size, correction2,
                eps):
    for i in prange(param.shape[0]):  # element i of the flattened parameter; scalars in param's dtype
        g = grad[i]
        m[i] = beta1 * m[i] + one_minus_beta1 * g  # first moment
        v[i] = beta2 * v[i] + one_minus_beta2 * g * g  # second moment
        denominator = math.sqrt(v[i] / correction2) + eps  # sqrt(vhat) + eps
        param[i] = param[i] * decay - step_size * m[i] / denominator  # decay first, then Adam


def adamw_step(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """One AdamW update in place on param, m and v; formula: numpy_ref.adamw_step. Returns None.

    Trick: one parallel pass over the elements, in the parameter's dtype (float32 for float16).
    step_size = lr / (1 - beta1^step) and the decay 1 - lr * weight_decay are folded once; m
    and v are stored rounded to their dtype, and the new param uses those stored values, as
    the reference does. Contiguous float32 and
    float64 arrays are updated through flat views; any other array (non-contiguous, float16)
    as a contiguous copy (float32 for float16) that is written back afterwards.
    """
    if step < 1:
        raise ValueError(f"adamw_step: step counts updates from 1, got {step}")
    scalars = (1.0 - lr * weight_decay, beta1, 1.0 - beta1, beta2, 1.0 - beta2, lr / (1.0 - beta1**step),
               1.0 - beta2**step, eps)  # float64, then rounded once to the loop's dtype
    if param.dtype in _FLAT_DTYPES and all(a.flags.c_contiguous and a.dtype == param.dtype for a in (param, grad, m, v)):
        # the usual case: flat views of the arrays themselves, updated in place
        flat_param, flat_m, flat_v = param.reshape(-1), m.reshape(-1), v.reshape(-1)  # (...) -> (N,)
        launch(_adamw_flat, param.size, flat_param, as_input(grad).reshape(-1), flat_m, flat_v,
               *(param.dtype.type(c) for c in scalars))
        return
    dtype = np.dtype(np.float32 if param.dtype == np.float16 else param.dtype)  # Numba has no float16
    flats = [np.ascontiguousarray(a, dtype=dtype).reshape(-1) for a in (param, grad, m, v)]  # (...) -> (N,)
    flats[1] = as_input(flats[1])  # grad is only read
    launch(_adamw_flat, flats[0].size, *flats, *(dtype.type(c) for c in scalars))
    for target, flat in zip((param, m, v), (flats[0], flats[2], flats[3])):
        if not np.shares_memory(target, flat):  # updated as a copy (non-contiguous, or float16)
            target[...] = flat.reshape(target.shape)
