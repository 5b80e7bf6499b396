"""The Numba kernels also run as plain Python, under ``NUMBA_DISABLE_JIT=1`` (DESIGN.md, Backends).

That is how a reader steps through a kernel with a debugger or print statements, so the loops
must not use anything that only compiles (``prange`` becomes ``range``). A fresh interpreter
with the variable set runs the small parity cases of every kernel
(``test_numba_parity.py -k small``) and checks that the loops really are Python functions.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

from tinygrad_lm.backends import KERNEL_NAMES

ROOT = Path(__file__).resolve().parents[2]
PARITY = Path(__file__).with_name("test_numba_parity.py")


def run_without_jit(*args):
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    return subprocess.run([sys.executable, *args], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_loops_are_plain_python_functions_without_jit():
    check = ("import types; from tinygrad_lm.backends.numba_cpu import rows, attention; "
             "loops = (rows._softmax_fwd_rows.serial, rows._softmax_fwd_rows.parallel, attention._softmax_scores.parallel); "
             "assert all(isinstance(f, types.FunctionType) for f in loops), [type(f) for f in loops]")
    result = run_without_jit("-c", check)
    assert result.returncode == 0, result.stderr


def test_the_small_parity_cases_pass_without_jit():
    result = run_without_jit("-m", "pytest", str(PARITY), "-k", "small", "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) >= 2 * len(KERNEL_NAMES), result.stdout[-3000:]  # each kernel, 2 dtypes
