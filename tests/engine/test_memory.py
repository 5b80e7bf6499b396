"""``keep_freed_memory``: after it, freed arrays are reused instead of faulted in again.

Measured in a fresh interpreter (the setting is process-wide): holding sixteen 1.5 MiB
arrays and freeing them, 20 times, faults in every 4 KiB page again each round with glibc's
defaults (it trims the freed heap), and almost never once the function has run. Skipped where the C library is not glibc.
"""

import subprocess
import sys

import pytest

PROBE = """
import resource, numpy as np
from tinygrad_lm.engine.memory import keep_freed_memory

def faults_per_round():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):  # like a training step: many arrays alive at once, then all freed
        arrays = [np.ones(3 << 17, dtype=np.float32) for _ in range(16)]  # 16 x 1.5 MiB, every page written
        del arrays
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20

default = faults_per_round()
applied = keep_freed_memory()
faults_per_round()  # the first round after it still faults the heap in once
print(applied, default, faults_per_round())
"""


def test_freed_arrays_are_reused_after_keep_freed_memory():
    if not sys.platform.startswith("linux"):
        pytest.skip("mallopt is glibc's; this platform is not Linux")
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    applied, default, kept = result.stdout.split()
    if applied != "True":
        pytest.skip("the C library is not glibc: keep_freed_memory() does nothing here")
    assert float(default) > 1000, result.stdout  # glibc's defaults: ~6,000 faults a round
    assert float(kept) < float(default) / 10, result.stdout
