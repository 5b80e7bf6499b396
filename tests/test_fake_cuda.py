"""Tests of the test double: the fake CuPy must behave like CuPy where the library relies on it.

If the fake let host arrays mix with device arrays, or dropped results back to plain NumPy,
the device tests built on it would pass for the wrong reason. So: results stay on the device
(ufuncs, reductions, matmul, NumPy functions, indexing), host arrays are refused the way
CuPy refuses them, and uploads and downloads are copies.
"""

import numpy as np
import pytest

from tinygrad_lm.engine import array_module, device_of
from tinygrad_lm.engine import device as device_module


def test_installing_makes_the_fake_the_array_module_of_its_arrays(fake_cuda):
    x = fake_cuda.FAKE_CUPY.asarray(np.arange(3.0))
    assert device_module._cupy is fake_cuda.FAKE_CUPY
    assert array_module(x) is fake_cuda.FAKE_CUPY and device_of(x) == "cuda"
    assert device_of(np.arange(3.0)) == "cpu"


def test_results_stay_on_the_device(fake_cuda):
    cp = fake_cuda.FAKE_CUPY
    a = cp.asarray(np.arange(6.0).reshape(2, 3))
    b = cp.asarray(np.ones((3, 2)))
    results = {
        "ufunc": a * 2 + 1, "exp": cp.exp(a), "sum": a.sum(), "full sum": cp.sum(a), "mean": a.mean(axis=0),
        "max": a.max(), "var": a.var(), "argmax": cp.argmax(a), "matmul": a @ b,
        "where": cp.where(a > 2, a, 0.0),
        "concatenate": cp.concatenate([a, a]), "fancy index": a[cp.asarray(np.array([1, 0]))],
        "slice": a[:, 1:], "transpose": a.T, "zeros": cp.zeros((2,)), "astype": a.astype(np.float32),
        "erf": __import__("cupyx.scipy.special").scipy.special.erf(a), "comparison": a == a,
        "split": cp.split(a, np.array([1]), axis=1)[1],
    }
    for name, value in results.items():
        assert isinstance(value, fake_cuda.DeviceArray), f"{name} left the device: {type(value)}"
    assert results["sum"].shape == ()  # 0-d array, never a NumPy scalar (as in CuPy)
    dx = cp.zeros((3,))
    cp.add.at(dx, cp.asarray(np.array([0, 0, 2])), cp.asarray(np.ones(3)))
    np.testing.assert_array_equal(dx.get(), [2.0, 0.0, 1.0])


@pytest.mark.parametrize("mix", [
    lambda cp, d, h: d + h, lambda cp, d, h: cp.exp(h), lambda cp, d, h: cp.where(d > 0, d, h),
    lambda cp, d, h: cp.concatenate([d, h]), lambda cp, d, h: np.maximum(d, h),
    lambda cp, d, h: cp.add.at(d, 0, h),
], ids=["operator", "ufunc on host", "where", "concatenate", "numpy ufunc", "add.at"])
def test_host_arrays_are_refused_like_cupy_refuses_them(fake_cuda, mix):
    cp = fake_cuda.FAKE_CUPY
    with pytest.raises(TypeError, match="host numpy.ndarray"):
        mix(cp, cp.asarray(np.ones(2)), np.ones(2))


def test_upload_and_download_are_copies(fake_cuda):
    cp = fake_cuda.FAKE_CUPY
    host = np.zeros(3)
    device = cp.asarray(host)
    device[0] = 1.0
    assert host[0] == 0.0
    back = device.get()
    assert type(back) is np.ndarray
    back[1] = 5.0
    assert device[1] == 0.0
    assert cp.asarray(device) is device  # already on the device: no copy, as in CuPy
