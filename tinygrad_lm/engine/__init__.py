"""The autograd engine: Tensor, Function, Context, the graph walk and its switches.

The engine knows nothing about particular ops; ``tinygrad_lm.ops`` defines them on top of
``Function`` and attaches them to ``Tensor``. ``scalar.py`` is the micrograd-sized scalar
engine used as chapter 1 of the book and as a test oracle.

The engine is first-order: backward computes gradients, not gradients of gradients.
"""

from .device import (
    DEVICES,
    array_module,
    check_device,
    cuda_available,
    device_of,
    on_device,
    to_device,
    xp_for,
)
from .dtypes import default_float
from .errors import BackwardError, DeviceError, DTypeError, GraphError, ShapeError
from .function import Context, Function
from .grad_mode import detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .graph import draw_graph, graph_dot, graph_text
from .seeding import manual_seed
from .tensor import Tensor, arange, ones, randn, tensor, zeros

__all__ = [
    "DEVICES", "BackwardError", "Context", "DTypeError", "DeviceError", "Function", "GraphError",
    "ShapeError", "Tensor", "arange", "array_module", "check_device", "cuda_available", "default_float",
    "detect_anomaly", "device_of", "draw_graph", "enable_grad", "graph_dot", "graph_text", "is_grad_enabled",
    "manual_seed", "no_grad", "on_device", "ones",
    "randn", "tensor", "to_device", "xp_for", "zeros",
]
