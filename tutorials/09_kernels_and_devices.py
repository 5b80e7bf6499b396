"""Chapter 9 of the tinygrad_lm book: kernel tables and devices, or how the same model runs fast.

Teaches what a fused op's kernel table is, how the NumPy reference and the Numba kernels are
chosen (`set_kernels`, `use_kernels`, the environment variable) and proven equal, the two
tricks that made the Numba loops fast (no zero-division branch, a polynomial exp for
float32), and where arrays live: `tensor(..., device=...)`, `.to`, the error that refuses to
mix devices, and the CuPy kernel table that arrays on a GPU use. It ends by checking that a
training step gives the same loss under both CPU tables, that the polynomial exp is as exact
as float32 can tell, and that devices are never mixed silently (on a machine with a GPU, also
that the GPU step matches the CPU's).
Run it from the repository root with `python tutorials/09_kernels_and_devices.py`, or open it
as a notebook with jupytext. TINYGRAD_LM_TUTORIAL_SMALL=1 times fewer repetitions.
Left out: writing a CUDA kernel (read `tinygrad_lm/backends/cupy_gpu/*.cu`), and the timing
methodology, which is `benchmarks/README.md`'s subject.
"""

# %%
import math
import os
import time

import numpy as np

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm.backends import DEVICE_TABLES, kernel_backends, kernels, use_kernels
from tinygrad_lm.backends.numba_cpu import _math
from tinygrad_lm.engine.device import cuda_problem
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.optim import AdamW
from tinygrad_lm.testing import check_close

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
rng = np.random.default_rng(0)

# %% [markdown]
# # Chapter 9 — Kernel tables and devices
#
# Every fused op in `tinygrad_lm.functional` (chapter 4 met the fused attention) computes
# nothing itself: its forward and backward look up *kernels* by name, `softmax_fwd`,
# `attention_bwd`, `adamw_step`, ..., in a *kernel table*, and call them on raw arrays. A
# table is a module that defines every name with the same signature. There are three:
#
# - `numpy`: the reference, plain vectorised NumPy, and the truth every other table is
#   tested against;
# - `numba`: the same kernels as compiled loops (`@numba.njit`), the default on the CPU;
# - `cupy`: CUDA kernels through CuPy, used automatically for arrays on an NVIDIA GPU.
#
# The CPU table is a setting; the GPU table is chosen by where the arrays live.

# %%
print("CPU tables:", kernel_backends(), "  device tables:", DEVICE_TABLES)
x = rng.standard_normal((4, 6)).astype(np.float32)
print("table for a host array:", kernels(x)["softmax_fwd"].__module__)
with use_kernels("numpy"):  # for one block; tg.set_kernels("numpy") for the rest of the program
    print("inside use_kernels('numpy'):", kernels(x)["softmax_fwd"].__module__)

# %% [markdown]
# ## 1. Two tables, one answer
#
# The Numba kernels are proven equal to the reference kernel by kernel (tests/backends) and
# op by op. Here is one op under both tables: the values agree to float32 rounding, not bit
# for bit, because the loops add in another order.

# %%
logits = tg.tensor(rng.standard_normal((8, 65)).astype(np.float32))
with use_kernels("numpy"):
    reference = F.log_softmax(logits).numpy()
with use_kernels("numba"):
    compiled = F.log_softmax(logits).numpy()
print("largest difference:", float(np.abs(reference - compiled).max()))
check_close(compiled, reference, name="log_softmax numba vs numpy")

# %% [markdown]
# ## 2. What made the loops fast
#
# A loop over a million floats is fast only when the compiler turns it into SIMD code: one
# instruction on 8 or 16 numbers. Two things stopped that in the first Numba kernels.
#
# **Division checks.** Python raises `ZeroDivisionError` on `1.0 / 0.0`, and Numba, by
# default, keeps that promise with a test before every float division. A branch inside the
# loop body is enough for LLVM to give up on vectorising it. With `error_model="numpy"`,
# `x / 0` is `inf` as in NumPy, the branch is gone, and the exact-GELU forward ran 8 times
# faster.
#
# **exp.** Numba calls the C library's `exp` once per element, and a loop that calls a
# function is never vectorised. For float32 data, whose rounding step is 6e-8, a polynomial
# computed in float64 is exact enough, and it is only multiply-adds:
#
# $$e^t = \left(e^{t/1024}\right)^{1024}, \qquad e^u \approx \sum_{n=0}^{7} \frac{u^n}{n!}
# \text{ for } u = t/1024 \in [-0.11, 0],$$
#
# then ten squarings. The Taylor error is below $u^8/8! \approx 5\cdot10^{-13}$, and the
# squarings multiply it by 1024: still $5\cdot10^{-10}$, far below float32's step.

# %%
ts = -np.geomspace(1e-6, 100, 2001)
polynomial = np.array([_math.exp_nonpositive(float(t)) for t in ts])
exact = np.exp(ts)
worst = float(np.max(np.abs(polynomial - exact) / exact))
print(f"largest relative error of the polynomial exp on [-100, 0]: {worst:.2e}")
same = (polynomial.astype(np.float32) == exact.astype(np.float32)).mean()
print(f"rounded to float32, identical to the exact exp on {100 * same:.1f}% of the points")

# %%
big = rng.standard_normal(1 << 20).astype(np.float32)
repeats = 3 if SMALL else 20
with use_kernels("numba"):
    F.gelu(tg.tensor(big))  # the first call compiles (or loads the on-disk cache)
for table in ("numpy", "numba"):
    with use_kernels(table):
        start = time.perf_counter()
        for _ in range(repeats):
            F.gelu(tg.tensor(big))
        print(f"{table:5s} exact GELU of 2^20 floats: {(time.perf_counter() - start) / repeats * 1e3:6.2f} ms")

# %% [markdown]
# (Timings are this machine's, today; `benchmarks/` measures them properly, interleaved and
# repeated. Nothing in the book asserts a speed.)
#
# ## 3. Where arrays live
#
# A tensor's data is a NumPy array on the CPU or a CuPy array on an NVIDIA GPU; its
# `.device` says which. Nothing moves between them unless the code says so:
# `tensor(data, device="cuda")`, `x.to("cuda")`, `model.to("cuda")`, and `.numpy()` or
# `.item()` to read results back. An op on tensors from two devices is an error that names
# both, never a silent copy: copies across the PCIe bus are slow, and a library that makes
# them for you hides where the time goes.

# %%
x = tg.tensor([1.0, 2.0, 3.0])
print("device:", x.device, "  x.to('cpu') is x:", x.to("cpu") is x)
problem = cuda_problem()
print("cuda here:", "available" if problem is None else f"unavailable ({problem})")
try:
    x.to("cuda")
    moved = True
except tg.DeviceError as error:
    moved = False
    print("DeviceError:", error)

# %% [markdown]
# On a machine with a GPU the same model trains there: build it, move it, build the optimizer
# (its state is created on the parameters' device), move each batch. The GPU step uses the
# CuPy table and cuBLAS; the loss must match the CPU's to float32 rounding.

# %%
config = GPTConfig(vocab_size=20, block_size=16, n_layer=2, n_head=2, n_embd=32, seed=3)
ids = rng.integers(0, 20, (4, 17))


def one_step(device, table="numba"):
    model = GPT(config).to(device)
    optimizer = AdamW(model.parameters(), lr=1e-3)
    x, y = tg.tensor(ids[:, :-1], device=device), tg.tensor(ids[:, 1:], device=device)
    with use_kernels(table):  # the CPU table; GPU arrays use the cupy table whatever it is
        _, loss = model(x, y)
        loss.backward()
        optimizer.step()
        _, after = model(x, y)
    return loss.item(), after.item()


cpu_numpy, cpu_numba = one_step("cpu", "numpy"), one_step("cpu", "numba")
print("loss before and after one step, numpy table:", cpu_numpy)
print("loss before and after one step, numba table:", cpu_numba)
gpu = one_step("cuda") if moved else None
print("the same on the GPU:", gpu if gpu is not None else "skipped: no GPU here")

# %% [markdown]
# ## The checks
#
# Both CPU tables give the same step; the polynomial exp is within $10^{-9}$ and rounds like
# the exact one in float32; and devices are explicit: without a GPU, asking for one raises
# `DeviceError` with the reason, and with one, the GPU step matches the CPU's.

# %%
assert math.isclose(cpu_numba[0], cpu_numpy[0], rel_tol=1e-5) and math.isclose(cpu_numba[1], cpu_numpy[1],
                                                                                 rel_tol=1e-4)
assert worst < 1e-9 and same > 0.99
if problem is None:
    assert moved and math.isclose(gpu[0], cpu_numpy[0], rel_tol=1e-4)
else:
    assert not moved
print("chapter 9 checks passed")

# %% [markdown]
# ## Exercises
#
# Three exercises wait in `tutorials/exercises/ch09.py`. Edit that file, then check your answers
# from the repository root with `pytest tutorials/exercises -k ch09`. Reference solutions are in
# `tutorials/solutions/ch09.py`. Each is a kernel on raw arrays, checked against the NumPy
# reference table's entry of the same name.
#
# 1. **`softmax_rows`**: `softmax_fwd` as the row loop a Numba kernel runs: maximum, exp-sum,
#    normalise; finite for logits of $\pm 10^4$.
# 2. **`exp_nonpositive`**: section 2's polynomial exp (degree-7 Taylor on $t/1024$, then ten
#    squarings), within $10^{-9}$ of the exact one on $[-100, 0]$.
# 3. **`layer_norm_rows`**: `layer_norm_fwd`, returning the mean and reciprocal standard
#    deviation the backward kernel reads back.
