"""The CuPy kernel table (``tinygrad_lm/backends/cupy_gpu``): the CUDA side, with and without a GPU.

Without a GPU (every machine CI has):
1. The table imports without CuPy and passes the contract test (it is in ``BACKENDS``); a
   CUDA kernel called without CuPy raises an ImportError that names the kernel and says
   what to install; ``set_kernels("cupy")`` is refused (device tables are chosen by device).
2. Every CUDA source compiles with ``nvcc --ptx -arch=sm_90`` (warnings are errors), for
   float and for double, and the PTX holds every instantiation; every ElementwiseKernel
   body compiles too, wrapped the way CuPy wraps it. Skipped when nvcc is not on PATH.
3. Launch contract: with a recording stand-in for CuPy, every wrapper's launch passes
   exactly what its kernel's C signature declares (count, pointer dtypes, C-contiguity,
   np.int64 for index_t, np.int32 for int, T for T), within the grid, block and
   shared-memory limits; every kernel is launched by some case.
The parts written against ``xp`` are run on NumPy in test_cupy_gpu_numpy.py.

4. GPU parity (marked ``gpu``; skipped with the reason when CuPy or a GPU is missing):
   every kernel against ``numpy_ref`` over several shapes (T = 1, odd sizes, rows wider than
   a block, more rows than one layer_norm chunk), float32 and float64, within
   ``atol + rtol * scale`` scaled to the dtype's epsilon; fully masked attention rows give
   exact zeros and lse = -inf; extreme inputs (NaN, +-inf, +-max, rows of -inf) give NaN and
   inf exactly where the reference does; embedding_bwd is bit-identical to the reference and
   every kernel bit-identical from one run to the next.
Nothing in this file has run on a GPU yet.
"""

import copy
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lm import backends
from tinygrad_lm.backends import numpy_ref as R
from tinygrad_lm.backends.cupy_gpu import _compile, attention, pointwise
from tinygrad_lm.engine.device import cuda_problem
from tinygrad_lm.testing import check_close

ROOT = Path(__file__).resolve().parents[2]
NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc is not on PATH: the CUDA sources are "
                                "compiled only where the CUDA toolkit is installed")
DTYPES = [np.float32, np.float64]


# --- 1. importing without CuPy -----------------------------------------------------------
def test_the_table_imports_without_cupy_and_is_a_device_table():
    code = ("import sys; sys.modules['cupy'] = None\n"
            "from tinygrad_lm import backends\n"
            "table = backends.load_kernels('cupy')\n"
            "print(sorted(table) == sorted(backends.KERNEL_NAMES), backends.kernel_backends())\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True ['numba', 'numpy']"
    with pytest.raises(ValueError, match="'cupy' kernels run by themselves for arrays on their device"):
        backends.set_kernels("cupy")


def cases(rng, n, c, batch, tq, tk, d, dv, positions, vocab, dtype):
    """label -> (kernel name, arguments as NumPy arrays and numbers) covering every kernel and
    its settings. Backward kernels get the reference forward's outputs. The attention mask
    leaves the last batch entry (when there are two or more) no visible key."""
    def f(*shape):
        return rng.standard_normal(shape).astype(dtype)

    x, gy, w, b = f(n, c), f(n, c), f(c), f(c)
    _, mean, rstd = R.layer_norm_fwd(x, w, b, 1e-5)
    targets = rng.integers(0, c, n)
    targets[0] = -100  # ignore_index
    class_weight = (np.abs(w) + 0.5).astype(dtype)
    _, lse = R.cross_entropy_fwd(x, targets, class_weight, -100, 0.1)
    q, k, v, gout = f(batch, tq, d), f(batch, tk, d), f(batch, tk, dv), f(batch, tq, dv)
    mask = rng.random((batch, tq, tk)) < 0.8
    if batch > 1:
        mask[-1] = False
    keep = ((rng.random((batch, tq, tk)) < 0.9) / 0.9).astype(dtype)
    out, alse = R.attention_fwd(q, k, v, mask, keep, True, 0.35)
    plain_out, plain_lse = R.attention_fwd(q, k, v, None, None, False, 0.35)
    teacher = np.where(np.abs(gy) < 0.3, 0, np.abs(gy)).astype(dtype)  # probabilities with zeros
    drop = ((rng.random((n, c)) < 0.7) / 0.7).astype(dtype)
    adam = (x, gy, np.abs(gy), gy * gy, 0.1, 0.9, 0.95, 1e-8, 0.1, 2)
    return {
        "softmax_fwd": ("softmax_fwd", (x,)), "softmax_bwd": ("softmax_bwd", (R.softmax_fwd(x), gy)),
        "log_softmax_fwd": ("log_softmax_fwd", (x,)),
        "log_softmax_bwd": ("log_softmax_bwd", (R.log_softmax_fwd(x), gy)),
        "gelu_fwd[none]": ("gelu_fwd", (x, "none")), "gelu_fwd[tanh]": ("gelu_fwd", (x, "tanh")),
        "gelu_bwd[none]": ("gelu_bwd", (x, gy, "none")), "gelu_bwd[tanh]": ("gelu_bwd", (x, gy, "tanh")),
        "layer_norm_fwd": ("layer_norm_fwd", (x, w, b, 1e-5)),
        "layer_norm_bwd": ("layer_norm_bwd", (x, w, mean, rstd, gy)),
        "cross_entropy_fwd": ("cross_entropy_fwd", (x, targets, class_weight, -100, 0.1)),
        "cross_entropy_bwd": ("cross_entropy_bwd", (x, targets, class_weight, lse, gy[:, 0], -100, 0.1)),
        "cross_entropy_fwd[plain]": ("cross_entropy_fwd", (x, np.maximum(targets, 0), np.ones(c, dtype), 7, 0.0)),
        "attention_fwd": ("attention_fwd", (q, k, v, mask, keep, True, 0.35)),
        "attention_bwd": ("attention_bwd", (q, k, v, mask, keep, out, alse, gout, True, 0.35)),
        "attention_fwd[plain]": ("attention_fwd", (q, k, v, None, None, False, 0.35)),
        "attention_bwd[plain]": ("attention_bwd", (q, k, v, None, None, plain_out, plain_lse, gout, False, 0.35)),
        "adamw_step": ("adamw_step", adam),
        "embedding_bwd": ("embedding_bwd", (rng.integers(0, vocab, positions), f(positions, 70), vocab)),
        "dropout_fwd": ("dropout_fwd", (x, drop)), "dropout_bwd": ("dropout_bwd", (drop, gy)),
        "mse_fwd": ("mse_fwd", (x, gy)), "mse_bwd": ("mse_bwd", (x, gy, w * x)),
        "kl_div_fwd": ("kl_div_fwd", (x, teacher, False)), "kl_div_fwd[log]": ("kl_div_fwd", (x, gy, True)),
        "kl_div_bwd": ("kl_div_bwd", (x, teacher, gy, False)), "kl_div_bwd[log]": ("kl_div_bwd", (x, gy, w * x, True)),
    }


SMALL = {"n": 3, "c": 5, "batch": 2, "tq": 1, "tk": 2, "d": 3, "dv": 2, "positions": 6, "vocab": 3}


def reference(name, args):
    """Every array ``numpy_ref``'s kernel returns, or updates in place (adamw_step), on copies."""
    args = copy.deepcopy(args)
    result = getattr(R, name)(*args)
    return list(result) if isinstance(result, tuple) else [result] if result is not None else [args[0], *args[2:4]]


@pytest.mark.parametrize("label", sorted(cases(np.random.default_rng(0), **SMALL, dtype=np.float64)))
def test_a_cuda_kernel_without_cupy_raises_an_import_error_naming_it(label, monkeypatch):
    name, args = cases(np.random.default_rng(0), **SMALL, dtype=np.float64)[label]
    if name.startswith("dropout"):  # numpy_ref's x * keep, which runs on any array module
        assert backends.load_kernels("cupy")[name].__module__ == R.__name__
        return
    monkeypatch.setitem(sys.modules, "cupy", None)  # what `import cupy` meets without CuPy
    with pytest.raises(ImportError, match=rf"{name}.* runs CUDA kernels through CuPy, which cannot be imported"):
        backends.load_kernels("cupy")[name](*args)


# --- 2. the CUDA C compiles ------------------------------------------------------------------
def nvcc_ptx(tmp_path, stem, text):
    """PTX of ``text`` compiled by nvcc for sm_90 with every warning an error."""
    source, ptx = tmp_path / f"{stem}.cu", tmp_path / f"{stem}.ptx"
    source.write_text(text, encoding="utf-8")
    result = subprocess.run([NVCC, "--ptx", "-arch=sm_90", "--Werror", "all-warnings", "-o", str(ptx), str(source)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"nvcc {stem}.cu:\n{result.stderr}"
    return ptx.read_text(encoding="utf-8")


def instantiate(expressions):
    """Host code that takes each kernel's address, so nvcc instantiates every template, as
    NVRTC does for CuPy's name expressions."""
    return "\nvoid* tg_instances[] = {" + ", ".join(f"(void*)&{e}" for e in expressions) + "};\n"


def entries(names):
    """The PTX entry names of ``names`` for float (f) and double (d): _Z<len><name>I<f|d>E."""
    return [f".entry _Z{len(name)}{name}I{code}E" for name in names for code in "fd"]


@needs_nvcc
@pytest.mark.parametrize("source", sorted(_compile.SOURCES))
def test_every_cuda_source_compiles_for_float_and_double(source, tmp_path):
    ptx = nvcc_ptx(tmp_path, source[:-3], _compile.source_text(source) + instantiate(_compile.name_expressions(source)))
    missing = [entry for entry in entries(_compile.SOURCES[source]) if entry not in ptx]
    assert not missing, f"{source}: no PTX for {missing}"


C_TYPES = {"float64": "double", "float32": "float", "int64": "long long", "bool": "bool"}


def as_cuda(name, in_params, out_params, operation):
    """An ElementwiseKernel as the CUDA C template CuPy generates for it: a grid-stride loop,
    array inputs bound as const values, outputs by reference (so in-place updates work),
    scalars by value."""
    params, binds = [], []
    for declaration in in_params.split(","):
        kind, var = declaration.split()
        if kind == "T":
            params.append(f"const T* _{var}")
            binds.append(f"const T {var} = _{var}[_i];")
        else:
            params.append(f"const {C_TYPES[kind]} {var}")
    for declaration in out_params.split(","):
        _, var = declaration.split()
        params.append(f"T* _{var}")
        binds.append(f"T& {var} = _{var}[_i];")
    return (f"template <typename T> __global__ void {name}({', '.join(params)}, long long _n) {{\n"
            f"  for (long long _i = blockIdx.x * (long long)blockDim.x + threadIdx.x; _i < _n;"
            f" _i += (long long)gridDim.x * blockDim.x) {{\n    {' '.join(binds)}\n    {operation}\n  }}\n}}\n")


@needs_nvcc
def test_every_elementwise_kernel_body_compiles_for_float_and_double(tmp_path):
    text = "".join(as_cuda(name, *spec) for name, spec in pointwise.ELEMENTWISE.items())
    ptx = nvcc_ptx(tmp_path, "elementwise", text + instantiate(
        f"{name}<{ctype}>" for name in pointwise.ELEMENTWISE for ctype in ("float", "double")))
    missing = [entry for entry in entries(pointwise.ELEMENTWISE) if entry not in ptx]
    assert not missing, f"no PTX for {missing}"


# --- 3. what the wrappers launch matches what the kernels declare ---------------------------
C_SCALARS = {"index_t": np.int64, "long": np.int64, "int": np.int32, "bool": np.bool_}


def declared(code, name):
    """(is pointer, C base type) of each parameter of ``__global__ void name(...)`` in ``code``."""
    params = re.search(rf"__global__ void {name}\((.*?)\)\s*{{", code, re.S).group(1)
    kinds = []
    for param in params.split(","):
        words = param.replace("__restrict__", " ").replace("const", " ").replace("*", " * ").split()
        kinds.append(("*" in words, words[0]))
    return kinds


class RecordingModule:
    """Stands in for cupy.RawModule: each launch is checked against the kernel's C signature."""

    launched = set()

    def __init__(self, code, name_expressions):
        self.code, self.expressions = code, name_expressions

    def get_function(self, expression):
        assert expression in self.expressions, f"{expression} is not among the compiled name expressions"
        name, ctype = re.fullmatch(r"(\w+)<(\w+)>", expression).groups()
        t = np.dtype(np.float32 if ctype == "float" else np.float64)

        def launch(grid, block, args, shared_mem=0):
            kinds = declared(self.code, name)
            assert len(args) == len(kinds), f"{name}: {len(args)} arguments for {len(kinds)} parameters"
            for i, (arg, (pointer, base)) in enumerate(zip(args, kinds)):
                want = t if base == "T" else np.dtype(C_SCALARS[base])
                if pointer:
                    assert isinstance(arg, np.ndarray) and arg.flags.c_contiguous, f"{name} argument {i}"
                    assert arg.dtype == want, f"{name} argument {i}: {arg.dtype} for {base}*"
                else:
                    assert type(arg) is want.type, f"{name} argument {i}: {type(arg).__name__} for {base}"
            threads = int(np.prod(block))
            assert all(int(g) >= 1 for g in grid) and 32 <= threads <= 1024 and threads % 32 == 0
            assert len(grid) < 2 or grid[1] <= 65535
            assert 0 <= shared_mem <= attention.SHARED_LIMIT
            RecordingModule.launched.add(name)

        return launch


class RecordingElementwise:
    """Stands in for cupy.ElementwiseKernel: checks the arguments against in_params/out_params."""

    launched = set()

    def __init__(self, in_params, out_params, operation, name):
        self.inputs = [p.split()[0] for p in in_params.split(",")]
        self.outputs, self.name = out_params.split(","), name

    def __call__(self, *args):
        assert len(args) in (len(self.inputs), len(self.inputs) + len(self.outputs)), self.name
        arrays = [a for a, kind in zip(args, self.inputs + ["T"] * len(self.outputs)) if kind == "T"]
        assert all(a.dtype == arrays[0].dtype and a.shape == arrays[0].shape for a in arrays), self.name
        assert all(isinstance(a, (int, float)) for a, kind in zip(args, self.inputs) if kind != "T"), self.name
        RecordingElementwise.launched.add(self.name)
        outputs = args[len(self.inputs):] or [np.zeros_like(arrays[0]) for _ in self.outputs]
        return tuple(outputs) if len(outputs) > 1 else outputs[0]


def test_every_launch_passes_what_its_kernel_declares(monkeypatch):
    fake = types.ModuleType("cupy")  # NumPy arrays stand in for device arrays
    for name in ("ascontiguousarray", "asarray", "broadcast_to", "int64", "ones", "zeros", "zeros_like"):
        setattr(fake, name, getattr(np, name))
    fake.empty, fake.empty_like = np.zeros, np.zeros_like  # nothing runs, so outputs stay 0
    fake.RawModule, fake.ElementwiseKernel = RecordingModule, RecordingElementwise
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(_compile, "_modules", {})
    monkeypatch.setattr(_compile, "_elementwise", {})
    table = backends.load_kernels("cupy")
    for shape in ({**SMALL}, {"n": 70, "c": 600, "batch": 2, "tq": 9, "tk": 40, "d": 200, "dv": 200,
                              "positions": 9, "vocab": 4}):
        for dtype in (*DTYPES, np.float16):
            for name, args in cases(np.random.default_rng(0), **shape, dtype=dtype).values():
                table[name](*copy.deepcopy(args))
    names = {name for source in _compile.SOURCES.values() for name in source}
    assert RecordingModule.launched == names and RecordingElementwise.launched == set(pointwise.ELEMENTWISE)


def close(got, want, scale):
    """Same dtype, and within 512 epsilons of ``max(|want|, scale)`` plus 64 epsilons."""
    eps = float(np.finfo(want.dtype).eps)
    assert got.dtype == want.dtype
    check_close(got, want, rtol=512 * eps, atol=64 * eps, scale=scale)


# --- 4. on a GPU -----------------------------------------------------------------------------
@pytest.fixture
def cp():
    """The cupy module, or a skip that says what is missing."""
    problem = cuda_problem()
    if problem is not None:
        pytest.skip(f"needs CuPy and an NVIDIA GPU: {problem}")
    import cupy

    return cupy


def on_gpu(cp, name, args):
    """Run the cupy table's kernel on device copies of ``args``; every array it returns or
    updates in place, back on the host."""
    table = backends.load_kernels("cupy")
    args = [cp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    result = table[name](*args)
    arrays = list(result) if isinstance(result, tuple) else [result] if result is not None else [args[0], *args[2:4]]
    return [cp.asnumpy(a) for a in arrays]


SHAPES = {  # n rows of c; attention (batch, tq, tk, d, dv); embedding positions and vocab
    "tiny": {"n": 1, "c": 1, "batch": 1, "tq": 1, "tk": 1, "d": 1, "dv": 1, "positions": 1, "vocab": 1},
    "odd": {"n": 7, "c": 33, "batch": 3, "tq": 9, "tk": 5, "d": 7, "dv": 5, "positions": 30, "vocab": 11},
    "t1": {"n": 2, "c": 3, "batch": 2, "tq": 1, "tk": 41, "d": 16, "dv": 8, "positions": 5, "vocab": 40},
    "wide": {"n": 65, "c": 1000, "batch": 4, "tq": 70, "tk": 70, "d": 64, "dv": 64, "positions": 500, "vocab": 50},
    "tall": {"n": 1000, "c": 7, "batch": 12, "tq": 33, "tk": 65, "d": 128, "dv": 96, "positions": 2000, "vocab": 3},
}


def labels():
    return sorted(cases(np.random.default_rng(0), **SMALL, dtype=np.float64))


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("label", labels())
def test_every_kernel_matches_the_reference_on_the_gpu(cp, label, shape, dtype):
    name, args = cases(np.random.default_rng(5), **SHAPES[shape], dtype=dtype)[label]
    got, want = on_gpu(cp, name, args), reference(name, args)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        finite = np.abs(w[np.isfinite(w)])
        close(g, w, scale=(finite.max() if finite.size else 0) + 1)
        assert np.array_equal(np.isneginf(g), np.isneginf(w))


@pytest.mark.gpu
@pytest.mark.parametrize("label", labels())
def test_every_kernel_repeats_its_bits_and_embedding_bwd_equals_add_at(cp, label):
    name, args = cases(np.random.default_rng(6), **SHAPES["wide"], dtype=np.float32)[label]
    first, again = on_gpu(cp, name, args), on_gpu(cp, name, args)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    if name == "embedding_bwd":
        np.testing.assert_array_equal(first[0], R.embedding_bwd(*args))


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_fully_masked_attention_rows_give_exact_zeros_on_the_gpu(cp, dtype):
    rng = np.random.default_rng(0)
    q, k, v, gout = (rng.standard_normal(s).astype(dtype) for s in [(2, 4, 3), (2, 2, 3), (2, 2, 3), (2, 4, 3)])
    mask = np.ones((2, 4, 2), dtype=bool)
    mask[1] = False  # entry 1 sees nothing; causal with Tq > Tk also hides queries 0 and 1
    out, lse = on_gpu(cp, "attention_fwd", (q, k, v, mask, None, True, 0.5))
    assert np.all(out[1] == 0) and np.all(out[0, :2] == 0) and np.all(np.isneginf(lse[1]))
    grads = on_gpu(cp, "attention_bwd", (q, k, v, mask, None, out, lse, gout, True, 0.5))
    assert all(np.all(np.isfinite(g)) for g in grads)
    assert all(np.all(g[1] == 0) for g in grads) and np.all(grads[0][0, :2] == 0)


@pytest.mark.gpu
def test_large_heads_fall_back_and_extremes_stay_finite_on_the_gpu(cp):
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((2, 3, 1024)) for _ in range(3))  # beyond one block's shared memory
    for g, w in zip(on_gpu(cp, "attention_fwd", (q, k, v, None, None, True, 0.03)),
                    R.attention_fwd(q, k, v, None, None, True, 0.03)):
        close(g, w, scale=np.abs(w).max() + 1)
    logits = np.array([[1e4, -1e4, 0.0, 9999.0], [-1e4, -1e4, -9998.0, -1e4]], dtype=np.float32)
    losses, lse = on_gpu(cp, "cross_entropy_fwd", (logits, np.array([3, 2]), np.ones(4, np.float32), -100, 0.1))
    assert np.all(np.isfinite(losses)) and np.all(np.isfinite(lse))
    close(on_gpu(cp, "softmax_fwd", (logits,))[0], R.softmax_fwd(logits), scale=1.0)


@pytest.mark.gpu
def test_adamw_updates_a_non_contiguous_view_in_place_and_float16_works_on_the_gpu(cp):
    rng = np.random.default_rng(2)
    base = cp.asarray(rng.standard_normal((4, 6)))
    param, grad = base[:, ::2], cp.asarray(rng.standard_normal((4, 3)))
    m, v = cp.zeros((4, 3)), cp.zeros((4, 3))
    want = [cp.asnumpy(param), np.zeros((4, 3)), np.zeros((4, 3))]
    untouched = cp.asnumpy(base[:, 1::2])
    settings = (0.01, 0.9, 0.95, 1e-8, 0.1, 1)
    R.adamw_step(want[0], cp.asnumpy(grad), want[1], want[2], *settings)
    backends.load_kernels("cupy")["adamw_step"](param, grad, m, v, *settings)
    for got, expected in zip((cp.asnumpy(base[:, ::2]), cp.asnumpy(m), cp.asnumpy(v)), want):
        close(got, expected, scale=1.0)
    np.testing.assert_array_equal(cp.asnumpy(base[:, 1::2]), untouched)  # the other columns are left alone
    x = rng.standard_normal((3, 5)).astype(np.float16)
    (y,) = on_gpu(cp, "softmax_fwd", (x,))
    assert y.dtype == np.float16
    check_close(y, R.softmax_fwd(x.astype(np.float32)), dtype=np.float16)


def nonfinite_agree(got, want):
    """NaN and +-inf at the same places (the GPU's finite values are checked by the tests above)."""
    assert got.dtype == want.dtype
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.where(np.isinf(got), np.sign(got), 0), np.where(np.isinf(want), np.sign(want), 0))


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_inputs_give_nan_and_inf_where_the_reference_does_on_the_gpu(cp, dtype):
    from tinygrad_lm.testing.strategies import extreme_values

    rng = np.random.default_rng(9)
    x = rng.choice(np.array(extreme_values(dtype) + (0.5, -1.5, 2.0), dtype), size=(64, 7))  # (N, C)
    x[0], x[1] = -np.inf, [np.inf, 0, 1, 2, 3, 4, 5]  # a row of -inf only; a row holding +inf
    targets, weight = rng.integers(-1, 7, 64), np.ones(7, dtype)
    with np.errstate(all="ignore"):
        for name, args in [("softmax_fwd", (x,)), ("log_softmax_fwd", (x,)), ("gelu_fwd", (x, "none")),
                           ("gelu_bwd", (x, np.ones_like(x), "tanh")), ("layer_norm_fwd", (x, weight, weight, 1e-5)),
                           ("cross_entropy_fwd", (x, targets, weight, -1, 0.0)),
                           ("cross_entropy_fwd", (x, targets, weight, -1, 0.1))]:
            want = getattr(R, name)(*args)
            for g, w in zip(on_gpu(cp, name, args), want if isinstance(want, tuple) else (want,)):
                nonfinite_agree(g, w)
        q = rng.standard_normal((2, 5, 8)).astype(dtype)
        q[0, 1, 3], q[1, 2, 0] = np.nan, np.inf  # a NaN query row; an inf one (scores +-inf)
        k, v, gout = (rng.standard_normal(s).astype(dtype) for s in [(2, 6, 8), (2, 6, 4), (2, 5, 4)])
        out, lse = R.attention_fwd(q, k, v, None, None, True, 0.35)
        for g, w in zip(on_gpu(cp, "attention_fwd", (q, k, v, None, None, True, 0.35)), (out, lse)):
            nonfinite_agree(g, w)
        for g, w in zip(on_gpu(cp, "attention_bwd", (q, k, v, None, None, out, lse, gout, True, 0.35)),
                        R.attention_bwd(q, k, v, None, None, out, lse, gout, True, 0.35)):
            nonfinite_agree(g, w)
