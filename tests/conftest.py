"""Test-suite setup shared by every test: the Hypothesis profile.

The profile comes from ``$TINYGRAD_LM_HYPOTHESIS_PROFILE`` (``ci`` by default: derandomized and
bounded; ``dev`` and ``thorough`` try more examples). See ``tinygrad_lm/testing/profiles.py``.
"""

from tinygrad_lm.testing.profiles import load_profile_from_env

load_profile_from_env()
