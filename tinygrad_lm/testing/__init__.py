"""The proof kit: gradient checks, array comparison, Hypothesis strategies and the op registry.

    from tinygrad_lm.testing import gradcheck, check_close   # needs only NumPy
    from tinygrad_lm.testing import strategies               # needs Hypothesis
    from tinygrad_lm.testing import all_specs, get, OpSpec   # the op registry (Hypothesis too)

``gradcheck`` and ``check_close`` (``gradcheck.py``) import no test framework, so code outside
a test suite can use them. ``strategies``, ``profiles`` and the registry import Hypothesis; they
are loaded on first use (PEP 562 module ``__getattr__``), so ``import tinygrad_lm.testing``
works without Hypothesis installed.
"""

from .gradcheck import DEFAULT_TOLERANCES, GradcheckError, check_close, gradcheck

_SUBMODULES = ("profiles", "registry", "strategies")
_REGISTRY_NAMES = ("Case", "OpSpec", "Tolerances", "all_specs", "get")

__all__ = [
    "DEFAULT_TOLERANCES", "Case", "GradcheckError", "OpSpec", "Tolerances", "all_specs",
    "check_close", "get", "gradcheck", "profiles", "registry", "strategies",
]


def __getattr__(name):
    """Load the Hypothesis-backed parts only when someone asks for them."""
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _REGISTRY_NAMES:
        return getattr(importlib.import_module(f"{__name__}.registry"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
