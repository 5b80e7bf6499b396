"""The Numba int8 GEMM: exact int32 equality with NumPy, and the quantized linear built on it."""

import numpy as np
import pytest

pytest.importorskip("numba")

from tinygrad_lm.compress.int8_gemm import (  # noqa: E402
    int8_linear,
    int8_matmul,
    matmul_reference,
    quantize_rows,
)


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 5, 7), (64, 128, 96), (17, 300, 33)])
def test_int8_matmul_equals_numpy_int32_exactly(shape):
    m, k, n = shape
    rng = np.random.default_rng(m * k * n)
    a = rng.integers(-127, 128, (m, k), dtype=np.int8)
    b = rng.integers(-127, 128, (n, k), dtype=np.int8)
    result = int8_matmul(a, b)
    assert result.dtype == np.int32
    np.testing.assert_array_equal(result, matmul_reference(a, b))


def test_extreme_values_do_not_overflow():
    a = np.full((2, 4096), -127, np.int8)
    b = np.full((3, 4096), 127, np.int8)
    np.testing.assert_array_equal(int8_matmul(a, b), np.full((2, 3), -127 * 127 * 4096, np.int32))


def test_row_quantization_keeps_each_row_within_half_a_step():
    x = np.random.default_rng(0).standard_normal((6, 50)).astype(np.float32)
    x[3] = 0.0
    q, s = quantize_rows(x)
    assert np.all(np.abs(q.astype(np.float32) * s[:, None] - x) <= s[:, None] / 2 + 1e-7)


def test_int8_linear_approximates_the_float_layer():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((16, 64)).astype(np.float32)
    scale = np.abs(w).max(axis=1) / 127
    qw = np.rint(w / scale[:, None]).astype(np.int8)
    x, bias = rng.standard_normal((5, 64)).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    exact = x @ (qw * scale[:, None]).T + bias
    np.testing.assert_allclose(int8_linear(x, qw, scale, bias), exact, atol=0.15)


@pytest.mark.parametrize("a, b, message", [
    (np.zeros((2, 3), np.int16), np.zeros((2, 3), np.int8), "a must be a 2-D int8"),
    (np.zeros((2, 3), np.int8), np.zeros((2, 4), np.int8), "must share K"),
])
def test_bad_operands_are_named(a, b, message):
    with pytest.raises(ValueError, match=message):
        int8_matmul(a, b)
