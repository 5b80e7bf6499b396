"""Tests of the Hypothesis profiles: they register, load by environment variable, and an unknown
name fails with the list of valid ones."""

import pytest
from hypothesis import HealthCheck, settings

from tinygrad_lm.testing.profiles import (
    ENV_VAR,
    PROFILES,
    load_profile_from_env,
    register_profiles,
)


@pytest.fixture
def restore_profile():
    yield
    load_profile_from_env()  # back to the profile this test run was started with


def test_profiles_are_registered_with_the_promised_settings():
    register_profiles()
    ci = settings.get_profile("ci")
    assert ci.derandomize and 15 <= ci.max_examples <= 25 and ci.deadline is None
    assert ci.print_blob and ci.database is None
    assert HealthCheck.too_slow in ci.suppress_health_check
    dev, thorough = settings.get_profile("dev"), settings.get_profile("thorough")
    assert not dev.derandomize and ci.max_examples < dev.max_examples < thorough.max_examples
    assert thorough.max_examples >= 200


def test_profile_comes_from_the_environment_and_defaults_to_ci(restore_profile):
    assert load_profile_from_env({}) == "ci"
    assert settings.default.derandomize
    assert load_profile_from_env({ENV_VAR: "dev"}) == "dev"
    assert settings.default.max_examples == PROFILES["dev"]["max_examples"]


def test_an_unknown_profile_names_the_valid_ones(restore_profile):
    with pytest.raises(ValueError) as failure:
        load_profile_from_env({ENV_VAR: "fast"})
    message = str(failure.value)
    assert ENV_VAR in message and "'fast'" in message
    assert all(name in message for name in ("ci", "dev", "thorough"))
