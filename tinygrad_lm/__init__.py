"""tinygrad_lm: the machinery behind language models, built from first principles.

    import tinygrad_lm as tg
    x = tg.tensor([[1.0, 2.0]], requires_grad=True)
    (x * x).sum().backward()
    x.grad  # array([[2., 4.]], dtype=float32)

The package is a ladder (see README): ``engine`` (Tensor, Function, the graph walk), ``ops``
(primitives with hand-derived backward), ``backends`` (the kernel tables behind the fused
ops: ``set_kernels("numba" | "numpy")``, ``use_kernels``; GPU arrays use the CuPy table), and ``testing`` (gradcheck,
Hypothesis strategies, the op registry) that proves every op. ``graph_text``, ``graph_dot`` and
``draw_graph`` show the graph that produced a tensor. Importing the package attaches
the ops to Tensor.
"""

from . import ops
from .backends import active_backend, set_kernels, use_kernels
from .engine import (
    BackwardError,
    DeviceError,
    DTypeError,
    Function,
    GraphError,
    ShapeError,
    Tensor,
    arange,
    cuda_available,
    detect_anomaly,
    draw_graph,
    enable_grad,
    graph_dot,
    graph_text,
    is_grad_enabled,
    manual_seed,
    no_grad,
    ones,
    randn,
    tensor,
    zeros,
)
from .ops import *  # noqa: F403 - the primitives as functions: tg.exp(x), tg.matmul(a, b)

__version__ = "0.1.0"

__all__ = [
    "BackwardError", "DeviceError", "DTypeError", "Function", "GraphError", "ShapeError", "Tensor",
    "arange", "cuda_available", "detect_anomaly", "draw_graph", "enable_grad", "graph_dot", "graph_text",
    "is_grad_enabled", "manual_seed", "no_grad", "ones", "ops", "randn",
    "tensor", "zeros", "active_backend", "set_kernels", "use_kernels",
]
__all__ += ops.__all__
