"""What the exercise tests check, and the settings they share.

Each `test_chNN.py` here checks the answers to chapter NN's exercises. Its tests take the
fixture `answers`: the module they check, loaded from

- `tutorials/exercises/chNN.py` by default: the skeleton you edit, your answers;
- `tutorials/solutions/chNN.py` when the environment variable `TINYGRAD_LM_EXERCISES` is
  `solutions`: the reference solutions (CI checks that they pass every test).

Run one chapter's tests from the repository root: `pytest tutorials/exercises -k ch03`.

The tests compare answers with the library's reference kernel table (plain NumPy, the truth
the other tables are tested against), so nothing waits for a Numba compile, and they take
their Hypothesis profile from `$TINYGRAD_LM_HYPOTHESIS_PROFILE` as `tests/conftest.py` does.
"""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from tinygrad_lm.backends import use_kernels
from tinygrad_lm.testing.profiles import load_profile_from_env

ENV_VAR = "TINYGRAD_LM_EXERCISES"
FOLDERS = {"exercises": Path(__file__).resolve().parent,
           "solutions": Path(__file__).resolve().parents[1] / "solutions"}

load_profile_from_env()


def answers_folder(environ=None):
    """The folder whose chNN.py files the tests check, chosen by ``$TINYGRAD_LM_EXERCISES``."""
    environ = os.environ if environ is None else environ
    which = environ.get(ENV_VAR) or "exercises"
    if which not in FOLDERS:
        raise ValueError(f"{ENV_VAR}={which!r}: expected 'solutions' (the reference solutions) or "
                         f"'exercises' (your answers, the default)")
    return which, FOLDERS[which]


def load_answers(chapter):
    """Import ``chNN.py`` (``chapter`` = "ch03") from the chosen folder as a fresh module."""
    which, folder = answers_folder()
    path = folder / f"{chapter}.py"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: every test_{chapter}.py needs a {chapter}.py "
                                f"in tutorials/exercises and in tutorials/solutions")
    name = f"tinygrad_lm_{which}_{chapter}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # classes defined there can be found again (inspect, pickling)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def answers(request):
    """The chNN module that ``test_chNN.py`` checks: your answers, or the solutions."""
    return load_answers(request.path.stem.removeprefix("test_"))


@pytest.fixture(scope="session", autouse=True)
def reference_kernels():
    """Every fused op in the exercise tests runs the NumPy reference table."""
    with use_kernels("numpy"):
        yield
