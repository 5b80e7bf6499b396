"""Post-training weight quantization: symmetric int8 per output channel or per group of 64, or float16.

Symmetric int8 (no zero point), for a weight W (N, K) = (out_features, in_features):

    per channel   s_n = max_k |W[n, k]| / 127                      scales (N,)
    per group     s_ng = max_{k in group g} |W[n, k]| / 127        scales (N, ceil(K / 64))
    q = clip(round(W / s), -127, 127) as int8                      (N, K)
    W ~ q * s     (s broadcast over its channel or group)          error |W - q s| <= s / 2

-128 is never used, so the range is symmetric and -q never overflows. A row (or group) of
zeros gets s = 1 (q = 0 exactly). float16 keeps W as IEEE half precision (2 bytes, ~3
significant digits) with no scale.

``QuantizedLinear`` stores q (int8 or float16) and the scales as plain arrays (not
Parameters: nothing to train) and the bias as a float32 Parameter; its forward dequantizes
the weight on the fly into float32 and runs the ordinary ``F.linear`` (BLAS), so gradients
still flow to its input. ``QuantizedEmbedding`` does the same for embedding tables (one scale
per row, a row being the output channel of GPT's tied head ``x @ wte.weight^T``); its
``weight`` property is the dequantized table. With ``gemm="int8"`` (per-channel scheme, no
gradient wanted) a QuantizedLinear runs ``int8_gemm.int8_linear`` instead: activations
quantized per row, an int8 x int8 -> int32 Numba GEMM, then one rescale.

``quantize_model(model, scheme)`` swaps every Linear and Embedding of a model for its
quantized twin in place (LayerNorms and biases stay float32); ``quantized_state(model)`` and
``load_quantized_state(model, arrays)`` give and take the arrays a checkpoint stores
(``NAME.qweight``, ``NAME.scale`` beside the float ``NAME`` of everything else).

Left out: activation-aware or GPTQ-style error correction, int4, asymmetric zero points,
quantizing LayerNorm or attention scores, quantization-aware training.
"""

import numpy as np

from .. import functional as F
from ..engine import array_module, is_grad_enabled, tensor, to_device
from ..nn import Embedding, Linear, Module, Parameter

SCHEMES = ("int8-channel", "int8-group64", "float16")
GROUP_SIZE = 64
QMAX = 127  # symmetric int8: q in [-127, 127]
QUANTIZED_SUFFIXES = (".qweight", ".scale")


class QuantizationError(ValueError):
    """A model or checkpoint that cannot be quantized (again) or dequantized as asked."""


def check_scheme(scheme):
    """``scheme`` if it is one of SCHEMES, else a one-line QuantizationError."""
    if scheme not in SCHEMES:
        raise QuantizationError(f"unknown quantization scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    return scheme


def quantize_int8(weight, group_size=None):
    """Symmetric int8 of a 2-D float array W (N, K): returns (q int8 (N, K), scales float32).

    scales are (N,) per output channel, or (N, ceil(K / group_size)) per group (the last group
    may be shorter). Formula in the module docstring."""
    w = np.asarray(weight, dtype=np.float32)
    if w.ndim != 2:
        raise QuantizationError(f"quantize_int8: expected a 2-D weight (out, in), got shape {w.shape}")
    n, k = w.shape
    size = k if group_size is None else group_size
    groups = -(-k // size)  # ceil(K / size)
    padded = np.zeros((n, groups * size), np.float32)
    padded[:, :k] = w
    blocks = padded.reshape(n, groups, size)  # (N, K_padded) -> (N, G, size)
    scales = np.abs(blocks).max(axis=2) / QMAX  # (N, G)
    scales[scales == 0] = 1.0  # an all-zero group: any scale gives q = 0
    q = np.clip(np.rint(blocks / scales[:, :, None]), -QMAX, QMAX).astype(np.int8)
    q = q.reshape(n, groups * size)[:, :k]  # (N, G, size) -> (N, K)
    return np.ascontiguousarray(q), (scales[:, 0] if group_size is None else scales).astype(np.float32)


def dequantize(qweight, scale, group_size=GROUP_SIZE):
    """float32 W (N, K) from q (N, K) and scales (N,) or (N, ceil(K / group_size)); float16 q with
    scale None is cast. Works on NumPy or CuPy arrays."""
    xp = array_module(qweight)
    if scale is None:
        return qweight.astype(xp.float32)
    if scale.ndim == 1:
        return qweight.astype(xp.float32) * scale[:, None]  # (N, K) * (N, 1)
    k = qweight.shape[1]
    expanded = xp.repeat(scale, group_size, axis=1)[:, :k]  # (N, G) -> (N, G * group_size) -> (N, K)
    return qweight.astype(xp.float32) * expanded


def _quantize_array(weight, scheme):
    """(qweight, scale or None) of a float array under ``scheme``."""
    if scheme == "float16":
        return np.asarray(weight, dtype=np.float16), None
    return quantize_int8(weight, GROUP_SIZE if scheme == "int8-group64" else None)


class _Quantized(Module):
    """What both quantized layers share: the stored arrays, their device moves, the scheme."""

    def _store(self, weight, scheme):
        self.scheme = check_scheme(scheme)
        self.qweight, self.scale = _quantize_array(weight, scheme)

    def dequantized(self):
        """The float32 weight q * s (or the float16 weight cast), on the module's device."""
        return dequantize(self.qweight, self.scale)

    def to(self, device):
        super().to(device)
        self.qweight = to_device(self.qweight, device)
        self.scale = None if self.scale is None else to_device(self.scale, device)
        return self

    @property
    def device(self):
        return "cuda" if array_module(self.qweight) is not np else "cpu"

    def nbytes(self):
        """Bytes of the stored weight and scales."""
        return int(self.qweight.nbytes) + (0 if self.scale is None else int(self.scale.nbytes))


class QuantizedLinear(_Quantized):
    """y = x @ (q * s)^T + b: a Linear whose weight (N, K) is stored quantized.

    ``QuantizedLinear(linear, scheme)`` quantizes a Linear's weight; x (..., K) -> (..., N).
    ``gemm``: "dequant" (default: float32 BLAS on the dequantized weight) or "int8" (the Numba
    int8 GEMM, int8-channel only, inference only)."""

    def __init__(self, linear, scheme, gemm="dequant"):
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self._store(linear.weight.numpy(), scheme)
        self.bias = None if linear.bias is None else Parameter(linear.bias.numpy().astype(np.float32))
        self.gemm = gemm

    def forward(self, x):
        if self.gemm == "int8" and not (is_grad_enabled() and x.requires_grad):
            from .int8_gemm import int8_linear  # the Numba kernels compile on first use

            if self.scale is None or self.scale.ndim != 1:
                raise QuantizationError(f"QuantizedLinear: gemm='int8' needs the int8-channel scheme, not {self.scheme}")
            bias = None if self.bias is None else self.bias.data
            lead = x.shape[:-1]
            rows = x.data.reshape(-1, self.in_features)  # (..., K) -> (M, K)
            y = int8_linear(rows, self.qweight, self.scale, bias)  # (M, N)
            return tensor(y.reshape(*lead, self.out_features), device=x.device)
        weight = tensor(self.dequantized(), device=self.device)  # (N, K) float32, a constant
        return F.linear(x, weight, self.bias)  # (..., K) -> (..., N)

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, scheme={self.scheme!r}, gemm={self.gemm!r}"


class QuantizedEmbedding(_Quantized):
    """Rows of a quantized table (V, C): ids (...) -> (..., C). ``weight`` is the dequantized table."""

    def __init__(self, embedding, scheme):
        self.num_embeddings, self.embedding_dim = embedding.num_embeddings, embedding.embedding_dim
        self._store(embedding.weight.numpy(), scheme)

    @property
    def weight(self):
        """The float32 table (V, C) as a constant Tensor (GPT's tied head reads it)."""
        return tensor(self.dequantized(), device=self.device)

    def forward(self, ids):
        return F.embedding(self.weight, ids)  # (...) -> (..., C)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}, scheme={self.scheme!r}"


def quantization_scheme(model):
    """The scheme of the first quantized layer of ``model``, or None for a float model."""
    for _, module in model.named_modules():
        if isinstance(module, _Quantized):
            return module.scheme
    return None


def require_float(model, what):
    """Refuse a quantized model where float32 weights are needed (training, pruning, distillation)."""
    scheme = quantization_scheme(model)
    if scheme is not None:
        raise QuantizationError(f"{what}: the model is quantized ({scheme}) and has no float32 weights to "
                                f"train or change; use the float checkpoint it was quantized from")


def quantize_model(model, scheme="int8-channel", gemm="dequant"):
    """Replace every Linear and Embedding of ``model`` by its quantized twin, in place; returns ``model``.

    A model already quantized is refused (quantizing twice would compound the rounding)."""
    check_scheme(scheme)
    previous = quantization_scheme(model)
    if previous is not None:
        raise QuantizationError(f"the model is already quantized ({previous}); quantize the float checkpoint "
                                f"instead of quantizing twice")
    for _, parent in model.named_modules():
        for name, child in list(parent.named_children()):
            if isinstance(child, Linear):
                setattr(parent, name, QuantizedLinear(child, scheme, gemm))
            elif isinstance(child, Embedding):
                setattr(parent, name, QuantizedEmbedding(child, scheme))
    return model


def quantized_state(model):
    """{name: host array}: the float Parameters (``state_dict``) plus ``NAME.qweight`` and
    ``NAME.scale`` of each quantized layer (int8-channel: scale (N,); group: (N, G); float16: no scale)."""
    state = model.state_dict()
    for name, module in model.named_modules():
        if isinstance(module, _Quantized):
            state[f"{name}.qweight"] = np.array(to_device(module.qweight, "cpu"), copy=True)
            if module.scale is not None:
                state[f"{name}.scale"] = np.array(to_device(module.scale, "cpu"), copy=True)
    return state


def load_quantized_state(model, arrays):
    """Copy ``quantized_state``-style arrays into a model already passed through ``quantize_model``.

    Each quantized layer's arrays must have the dtype and shape its scheme makes; a mismatch
    raises QuantizationError naming the array. The float rest goes through ``load_state_dict``."""
    floats = dict(arrays)
    for name, module in model.named_modules():
        if not isinstance(module, _Quantized):
            continue
        for suffix in QUANTIZED_SUFFIXES:
            key = name + suffix
            expected = getattr(module, suffix[1:])
            if expected is None:
                if key in floats:
                    raise QuantizationError(f"{key}: a {module.scheme} layer has no {suffix[1:]}")
                continue
            value = floats.pop(key, None)
            if value is None or value.dtype != expected.dtype or value.shape != expected.shape:
                got = "nothing" if value is None else f"{value.dtype} {value.shape}"
                raise QuantizationError(f"{key}: expected {expected.dtype} {expected.shape} for {module.scheme}, "
                                        f"got {got}")
            setattr(module, suffix[1:], value)
    model.load_state_dict(floats)
    return model


def weight_bytes(model):
    """Bytes the model's weights take: float Parameters plus quantized arrays."""
    floats = sum(int(p.numpy().nbytes) for p in model.parameters())
    return floats + sum(m.nbytes() for _, m in model.named_modules() if isinstance(m, _Quantized))


__all__ = ["GROUP_SIZE", "SCHEMES", "QuantizationError", "QuantizedEmbedding", "QuantizedLinear",
           "check_scheme", "dequantize", "load_quantized_state", "quantization_scheme", "quantize_int8",
           "quantize_model", "quantized_state", "require_float", "weight_bytes"]
