"""Bad input gets a clear error naming the function, the argument and the shapes or dtypes.

Both versions share their argument checks (``functional/_common.py``), so each case runs on
both and must raise the same error type with the same message, before any NumPy code can
fail deep inside a forward.
"""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.functional import composed, fused

VERSIONS = [pytest.param(fused, id="fused"), pytest.param(composed, id="composed")]
RNG = np.random.default_rng(50)


def t(*shape, dtype=np.float64):
    return tg.tensor(RNG.standard_normal(shape).astype(dtype))


SDPA = "scaled_dot_product_attention"
CASES = [
    ("layer_norm", (t(2, 3, 8),), {"weight": t(7)}, tg.ShapeError,
     r"layer_norm: weight has shape \(7,\) but x \(2, 3, 8\) has last dimension C=8; weight must have shape \(8,\)"),
    ("layer_norm", (t(2, 8),), {"bias": t(8, 1)}, tg.ShapeError, r"layer_norm: bias has shape \(8, 1\)"),
    ("layer_norm", (t(2, 8, dtype=np.float32),), {"weight": t(8)}, tg.DTypeError,
     "layer_norm: cannot mix float32 and float64"),
    ("layer_norm", (t(),), {}, tg.ShapeError, r"layer_norm: x needs a non-empty last axis .* shape \(\)"),
    ("layer_norm", (t(2, 4),), {"eps": -1.0}, ValueError, "layer_norm: eps must be >= 0"),
    (SDPA, (t(2, 4, 3, 8), t(2, 4, 5, 16), t(2, 4, 5, 16)), {}, tg.ShapeError,
     rf"{SDPA}: q and k need the same head dim D, got 8 and 16 \(q \(2, 4, 3, 8\), k \(2, 4, 5, 16\)"),
    (SDPA, (t(2, 3, 8), t(2, 5, 8), t(2, 6, 8)), {}, tg.ShapeError,
     rf"{SDPA}: k and v need the same number of keys Tk, got 5 and 6"),
    (SDPA, (t(2, 3, 8), t(3, 5, 8), t(3, 5, 8)), {}, tg.ShapeError,
     rf"{SDPA} \(batch axes of q, k, v\): shapes \(2,\) and \(3,\) and \(3,\) are not broadcastable"),
    (SDPA, (t(8), t(5, 8), t(5, 8)), {}, tg.ShapeError, rf"{SDPA}: q must be \(..., T, D\), got shape \(8,\)"),
    (SDPA, (t(3, 8), t(5, 8), t(5, 8)), {"mask": np.ones((3, 5))}, tg.DTypeError,
     rf"{SDPA}: mask must be boolean \(True = may attend\), got dtype float64"),
    (SDPA, (t(3, 8), t(5, 8), t(5, 8)), {"mask": np.ones((3, 4), dtype=bool)}, tg.ShapeError,
     rf"{SDPA} \(mask\): shapes \(3, 4\) and \(3, 5\) are not broadcastable"),
    (SDPA, (t(3, 8), t(5, 8), t(5, 8)), {"mask": np.ones((2, 3, 5), dtype=bool)}, tg.ShapeError,
     rf"{SDPA}: mask of shape \(2, 3, 5\) must broadcast to the scores' shape \(3, 5\)"),
    (SDPA, (t(3, 8), t(5, 8), t(5, 8)), {"dropout_p": 0.1}, ValueError, rf"{SDPA}: dropping with p > 0 needs rng=numpy.random.default_rng\(seed\)"),
    (SDPA, (t(3, 8), t(5, 8), t(5, 8)), {"dropout_p": 1.0, "rng": np.random.default_rng(0)}, ValueError,
     rf"{SDPA}: dropout_p must be in \[0, 1\), got 1.0"),
    (SDPA, (t(3, 8), t(0, 8), t(0, 8)), {}, tg.ShapeError, rf"{SDPA}: needs at least one key"),
    (SDPA, (t(3, 8), t(5, 8, dtype=np.float32), t(5, 8)), {}, tg.DTypeError, SDPA),
    ("softmax", (t(2, 3),), {"axis": 2}, tg.ShapeError, "softmax: axis 2 is out of range for a tensor with 2 dimensions"),
    ("softmax", (t(2, 3),), {"axis": (0, 1)}, TypeError, r"softmax: axis must be one int \(the class axis\), got \(0, 1\)"),
    ("log_softmax", (t(),), {}, tg.ShapeError, "log_softmax: needs at least one axis, got a 0-d tensor"),
    ("softmax", (t(2, 0),), {}, tg.ShapeError, r"softmax: axis 1 of shape \(2, 0\) is empty"),
    ("linear", (t(2, 3), t(4, 5)), {}, tg.ShapeError,
     r"linear: x has shape \(2, 3\) but weight \(4, 5\) expects a last axis of in_features = 5"),
    ("linear", (t(2, 3), t(4, 3, 1)), {}, tg.ShapeError, r"linear: weight must be 2-D \(out_features, in_features\)"),
    ("linear", (t(2, 3), t(4, 3)), {"bias": t(3)}, tg.ShapeError,
     r"linear: bias must have shape \(4,\) to match weight \(4, 3\), got \(3,\)"),
    ("linear", (t(2, 3, dtype=np.float32), t(4, 3)), {}, tg.DTypeError, "linear: cannot mix float32 and float64"),
    ("self_attention", (t(2, 3, 8), 2), {}, tg.ShapeError,
     r"self_attention: qkv must be \(..., T, 3C\) with C divisible by n_heads=2, got shape \(2, 3, 8\)"),
    ("self_attention", (t(2, 3, 12), 0), {}, ValueError, "self_attention: n_heads must be a positive int, got 0"),
    ("self_attention", (t(2, 3, 12), 2), {"mask": np.ones((3, 4), dtype=bool)}, tg.ShapeError,
     r"self_attention \(mask\): shapes \(3, 4\) and \(2, 2, 3, 3\) are not broadcastable"),
    ("self_attention", (t(2, 3, 12), 2), {"dropout_p": 0.5}, ValueError, "self_attention: dropping with p > 0"),
    ("gelu", (t(3),), {"approximate": "erf"}, ValueError, "gelu: approximate='erf' is not one of 'none', 'tanh'"),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("op, args, kwargs, error, message", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_bad_arguments_are_named(version, op, args, kwargs, error, message):
    with pytest.raises(error, match=message):
        getattr(version, op)(*args, **kwargs)


@pytest.mark.parametrize("version", VERSIONS)
def test_integer_inputs_are_computed_in_the_default_float(version):
    x = tg.tensor(np.arange(6).reshape(2, 3))
    for out in (version.softmax(x), version.log_softmax(x), version.gelu(x), version.layer_norm(x)):
        assert out.dtype == np.float32
