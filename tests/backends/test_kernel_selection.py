"""Which kernel table runs: the default, the environment variable, the fallback, and that it matters not.

The default is decided on first use (``tinygrad_lm.backends.default_backend``), so each case
runs in a fresh interpreter: ``numba`` when Numba imports; ``$TINYGRAD_LM_KERNELS`` when set
(an unknown value is refused at first use, naming the valid ones); ``numpy`` with one warning
when the Numba table cannot be imported. A missing Numba is simulated by blocking the module
(``sys.modules["numba"] = None``) after ``import tinygrad_lm``, because the ops layer itself
compiles erf with Numba at import time (``tinygrad_lm/ops/_special.py``).

The Numba table sets OMP_WAIT_POLICY=PASSIVE unless it is set (see numba_cpu/_wrappers.py).
Finally the two tables are interchangeable for real: 50 AdamW steps of a tiny GPT (dropout
on, so attention's dropout path runs too) give the same losses under both within 1e-4.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lm.backends import ENV_VAR, use_kernels
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.optim import AdamW

ROOT = Path(__file__).resolve().parents[2]


def fresh(code, kernels=None):
    """Run ``code`` in a new interpreter with $TINYGRAD_LM_KERNELS set to ``kernels`` (None: unset)."""
    env = {name: value for name, value in os.environ.items() if name != ENV_VAR}
    if kernels is not None:
        env[ENV_VAR] = kernels
    return subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


SHOW = "from tinygrad_lm import backends; print(backends.active_backend(), backends.get_kernel('softmax_fwd').__module__)"
BLOCK_NUMBA = "import sys, warnings; import tinygrad_lm; sys.modules['numba'] = None\n"


def test_numba_is_the_default_when_numba_imports():
    result = fresh("import warnings; warnings.simplefilter('error', RuntimeWarning)\n" + SHOW)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["numba", "tinygrad_lm.backends.numba_cpu.rows"]


@pytest.mark.parametrize("name, module", [("numpy", "tinygrad_lm.backends.numpy_ref"),
                                          ("numba", "tinygrad_lm.backends.numba_cpu.rows")])
def test_the_environment_variable_chooses_the_default(name, module):
    result = fresh(SHOW, kernels=name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [name, module]


def test_an_unknown_environment_value_is_refused_at_first_use_naming_the_valid_ones():
    result = fresh("import tinygrad_lm.functional; print('imported')\n" + SHOW, kernels="fortran")
    assert result.stdout.strip() == "imported"  # importing works; the first use fails
    assert "ValueError: TINYGRAD_LM_KERNELS='fortran' is not a kernel backend; valid values are numba, numpy" in result.stderr


def test_without_numba_the_numpy_table_is_used_with_one_warning():
    code = BLOCK_NUMBA + (
        "from tinygrad_lm import backends\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    print(backends.active_backend(), backends.active_backend(), backends.get_kernel('softmax_fwd').__module__)\n"
        "print(len(caught), caught[0].category.__name__, caught[0].message)\n"
    )
    result = fresh(code)
    assert result.returncode == 0, result.stderr
    chosen, warning = result.stdout.splitlines()
    assert chosen == "numpy numpy tinygrad_lm.backends.numpy_ref"
    assert warning.startswith("1 RuntimeWarning tinygrad_lm: the Numba kernels are unavailable")
    assert f"set {ENV_VAR}=numpy" in warning


def test_asking_for_numba_without_numba_is_an_import_error_naming_the_table():
    result = fresh(BLOCK_NUMBA + SHOW, kernels="numba")
    assert "ImportError: kernel table 'numba' (tinygrad_lm.backends.numba_cpu) cannot be imported" in result.stderr


@pytest.mark.parametrize("chosen, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_numba_table_lets_idle_openmp_threads_sleep_unless_told_otherwise(chosen, expected):
    env = "" if chosen is None else f"import os; os.environ['OMP_WAIT_POLICY'] = {chosen!r}\n"
    code = env + "import os, tinygrad_lm.backends.numba_cpu; print(os.environ['OMP_WAIT_POLICY'])"
    result = fresh("import os; os.environ.pop('OMP_WAIT_POLICY', None)\n" + code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def train_losses(backend, steps=50):
    """Losses of ``steps`` AdamW steps of a tiny GPT on fixed random batches, under ``backend``."""
    config = GPTConfig(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=16, dropout=0.1, seed=0)
    batches = np.random.default_rng(1).integers(0, config.vocab_size, (steps, 4, config.block_size + 1))
    losses = []
    with use_kernels(backend):
        model = GPT(config)
        optimizer = AdamW(model.parameters(), lr=3e-3, weight_decay=0.1)
        for batch in batches:
            _, loss = model(batch[:, :-1], batch[:, 1:])  # (B, T) inputs, next tokens as targets
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return np.array(losses)


def test_fifty_training_steps_give_the_same_losses_under_both_tables():
    reference, numba = train_losses("numpy"), train_losses("numba")
    assert reference[-10:].mean() < reference[:10].mean()  # it trains
    np.testing.assert_allclose(numba, reference, rtol=1e-4)
