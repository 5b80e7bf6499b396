"""Hypothesis profiles: how many examples a property test tries, chosen by an environment variable.

    ci        derandomized (the same examples on every run and machine), ~20 examples per test,
              no example database: fast and reproducible. The default.
    dev       random examples, 100 per test, failures remembered in .hypothesis/.
    thorough  random examples, 500 per test: run before a release or after touching an op.

Pick one with ``TINYGRAD_LM_HYPOTHESIS_PROFILE=dev pytest``. ``tests/conftest.py`` calls
``register_profiles()`` and ``load_profile_from_env()``; a project reusing our strategies can do
the same in its own conftest.

Every profile turns the per-example deadline off (the first call of a Numba kernel compiles)
and prints a reproduction blob on failure.
"""

import os

from hypothesis import HealthCheck, settings

ENV_VAR = "TINYGRAD_LM_HYPOTHESIS_PROFILE"
DEFAULT_PROFILE = "ci"

_COMMON = {"deadline": None, "print_blob": True, "suppress_health_check": [HealthCheck.too_slow]}
PROFILES = {
    "ci": {**_COMMON, "derandomize": True, "max_examples": 20, "database": None},
    "dev": {**_COMMON, "max_examples": 100},
    "thorough": {**_COMMON, "max_examples": 500},
}


def register_profiles():
    """Register ``ci``, ``dev`` and ``thorough`` with Hypothesis (safe to call twice).

    Each builds on Hypothesis' own defaults, not on whichever profile is loaded now (which is
    what ``register_profile`` would otherwise inherit from).
    """
    defaults = settings.get_profile("default")
    for name, options in PROFILES.items():
        settings.register_profile(name, parent=defaults, **options)


def load_profile_from_env(environ=None):
    """Load the profile named by ``$TINYGRAD_LM_HYPOTHESIS_PROFILE`` (default ``ci``); return its name."""
    environ = os.environ if environ is None else environ
    name = environ.get(ENV_VAR, DEFAULT_PROFILE)
    if name not in PROFILES:
        raise ValueError(f"{ENV_VAR}={name!r} is not a Hypothesis profile; valid profiles are "
                         f"{', '.join(sorted(PROFILES))}")
    register_profiles()
    settings.load_profile(name)
    return name
