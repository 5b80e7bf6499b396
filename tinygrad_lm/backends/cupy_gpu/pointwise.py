"""Elementwise kernels on the GPU: GELU (both forms), mse, kl_div and the AdamW step.

Each is one ``cupy.ElementwiseKernel`` (``ELEMENTWISE`` holds its parameters and its CUDA
body; T is the arrays' dtype): one pass over memory where the reference's NumPy expressions
make one pass, and one temporary, per operator. Any shape and any strides work, 0-d
included. ``adamw_step`` passes param, m and v as the kernel's *outputs*, which CuPy binds
by reference, so the update happens in place, also on a non-contiguous view.

Dropout (``y = x * keep``) is one multiplication, already one CuPy kernel, so the table uses
``numpy_ref.dropout_fwd`` / ``dropout_bwd`` (written against ``xp``) unchanged.

Formulas: ``numpy_ref``. Constants are written as Python's shortest round-trip repr (the
exact float64 value) and cast to T, so float32 rounds them once, as NumPy does when a Python
float meets a float32 array. GELU's backward clips x to +-100 inside tanh and its slope, as the
reference does (x^2 of float's max is inf, and 0 * inf NaN); ``(T)0 * x`` keeps x = +-inf NaN.
"""

import math

import numpy as np

from ._compile import elementwise, float16_via_float32

_C = {"rsqrt2": 1.0 / math.sqrt(2.0), "sqrt2_pi": math.sqrt(2.0 / math.pi),
      "rsqrt_2pi": 1.0 / math.sqrt(2.0 * math.pi), "cubic": 0.044715, "flat": 100.0}
_K = {name: f"(T){value!r}" for name, value in _C.items()}  # C literals cast to T

# name -> (in_params, out_params, operation) of a cupy.ElementwiseKernel.
ELEMENTWISE = {
    "tg_gelu_fwd_erf": ("T x", "T y", f"y = (T)0.5 * x * ((T)1 + erf(x * {_K['rsqrt2']}));"),
    "tg_gelu_fwd_tanh": (
        "T x", "T y",
        f"y = (T)0.5 * x * ((T)1 + tanh({_K['sqrt2_pi']} * (x + {_K['cubic']} * x * x * x)));"),
    "tg_gelu_bwd_erf": (
        "T x, T gy", "T gx",
        f"const T cdf = (T)0.5 * ((T)1 + erf(x * {_K['rsqrt2']}));"
        f" gx = gy * (cdf + x * {_K['rsqrt_2pi']} * exp((T)-0.5 * x * x));"),
    "tg_gelu_bwd_tanh": (  # x clipped to +-100 (t is +-1 there) as in numpy_ref: x^2 stays finite
        "T x, T gy", "T gx",
        f"const T c = x > {_K['flat']} ? {_K['flat']} : (x < -{_K['flat']} ? -{_K['flat']} : x);"
        f" const T t = tanh({_K['sqrt2_pi']} * (c + {_K['cubic']} * c * c * c));"
        f" const T du = {_K['sqrt2_pi']} * ((T)1 + (T)3 * {_K['cubic']} * c * c);"
        f" gx = gy * ((T)0.5 * ((T)1 + t) + (T)0.5 * c * ((T)1 - t * t) * du + (T)0 * x);"),
    "tg_mse_fwd": ("T pred, T target", "T e", "const T d = pred - target; e = d * d;"),
    "tg_mse_bwd": ("T pred, T target, T g", "T gpred, T gtarget",
                   "const T t = (T)2 * (pred - target) * g; gpred = t; gtarget = -t;"),
    "tg_kl_div_fwd": ("T s, T t", "T loss", "loss = t > (T)0 ? t * (log(t) - s) : (T)0;"),
    "tg_kl_div_fwd_log": ("T s, T t", "T loss", "loss = exp(t) * (t - s);"),
    "tg_kl_div_bwd": ("T s, T t, T g", "T gs, T gt",
                      "const bool pos = t > (T)0; gs = pos ? -t * g : (T)0;"
                      " gt = pos ? (log(t) - s + (T)1) * g : (T)0;"),
    "tg_kl_div_bwd_log": ("T s, T t, T g", "T gs, T gt",
                          "const T e = exp(t); gs = -e * g; gt = e * (t - s + (T)1) * g;"),
    "tg_adamw_step": (
        "T grad, float64 lr, float64 beta1, float64 beta2, float64 eps, float64 decay, "
        "float64 correction1, float64 correction2",
        "T param, T m, T v",
        "param = param * (T)(1.0 - lr * decay);"
        " m = (T)beta1 * m + (T)(1.0 - beta1) * grad;"
        " v = (T)beta2 * v + (T)(1.0 - beta2) * grad * grad;"
        " param = param - (T)(lr / correction1) * m / (sqrt(v / (T)correction2) + (T)eps);"),
}


def _kernel(name):
    return elementwise(name, *ELEMENTWISE[name])


@float16_via_float32
def gelu_fwd(x, approximate):
    """GELU of every element, exact (erf) or "tanh" form; formula: numpy_ref.gelu_fwd.

    CUDA: one ElementwiseKernel per form, the whole formula in registers, computed in T.
    """
    return _kernel("tg_gelu_fwd_tanh" if approximate == "tanh" else "tg_gelu_fwd_erf")(x)


@float16_via_float32
def gelu_bwd(x, gy, approximate):
    """gx = gy * dGELU/dx elementwise, both forms; formula: numpy_ref.gelu_bwd.

    CUDA: one ElementwiseKernel per form (tanh and the cubic recomputed from x, nothing saved).
    """
    return _kernel("tg_gelu_bwd_tanh" if approximate == "tanh" else "tg_gelu_bwd_erf")(x, gy)


@float16_via_float32
def mse_fwd(pred, target):
    """e = (pred - target)^2 elementwise, any shape; formula: numpy_ref.mse_fwd.

    CUDA: one ElementwiseKernel (the difference stays in a register).
    """
    return _kernel("tg_mse_fwd")(pred, target)


@float16_via_float32
def mse_bwd(pred, target, g):
    """(gpred, gtarget) = (2 (pred - target) g, -2 (pred - target) g); formula: numpy_ref.mse_bwd.

    CUDA: one ElementwiseKernel with two outputs.
    """
    return _kernel("tg_mse_bwd")(pred, target, g)


@float16_via_float32
def kl_div_fwd(input, target, log_target):
    """Pointwise KL terms t (log t - s), or exp(t) (t - s) for log_target; formula: numpy_ref.kl_div_fwd.

    CUDA: one ElementwiseKernel; log is taken only where t > 0 (0 log 0 = 0), so no -inf or
    NaN is ever formed.
    """
    return _kernel("tg_kl_div_fwd_log" if log_target else "tg_kl_div_fwd")(input, target)


@float16_via_float32
def kl_div_bwd(input, target, g, log_target):
    """(ginput, gtarget) of kl_div_fwd for upstream g; formula: numpy_ref.kl_div_bwd.

    CUDA: one ElementwiseKernel with two outputs; both are 0 where t <= 0 (log_target False).
    """
    return _kernel("tg_kl_div_bwd_log" if log_target else "tg_kl_div_bwd")(input, target, g)


def adamw_step(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """One AdamW update in place on param, m and v; formula: numpy_ref.adamw_step. Returns None.

    CUDA: one ElementwiseKernel reads grad, param, m, v once and writes param, m, v in place
    (they are the kernel's outputs, bound by reference): decay first, then the moments, then
    the bias-corrected step, computed in T in the reference's order. float16 arrays are
    updated as float32 copies and written back.
    """
    if step < 1:
        raise ValueError(f"adamw_step: step counts updates from 1, got {step}")
    half = param.dtype == np.float16
    work = [a.astype(np.float32) for a in (param, grad, m, v)] if half else [param, grad, m, v]
    _kernel("tg_adamw_step")(work[1], lr, beta1, beta2, eps, weight_decay,
                             1.0 - beta1**step, 1.0 - beta2**step, work[0], work[2], work[3])
    if half:
        for target, updated in zip((param, m, v), (work[0], work[2], work[3])):
            target[...] = updated
