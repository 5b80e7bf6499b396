"""The ``module_gradcheck`` fixture: gradcheck a layer w.r.t. its inputs and all its Parameters."""

import pytest

from tinygrad_lm.nn import functional_call
from tinygrad_lm.testing.gradcheck import gradcheck


def _module_gradcheck(module, *inputs, call_kwargs=None, **options):
    """gradcheck of ``module(*inputs, **call_kwargs)`` w.r.t. every floating input and Parameter.

    The Parameters are passed to gradcheck as extra inputs and swapped into the module with
    ``functional_call``, so gradcheck can nudge them like any other input. Build the module with
    ``dtype="float64"``. ``options`` go to gradcheck (e.g. ``dense_max_elements``).
    """
    names = [name for name, _ in module.named_parameters()]

    def run(*args):
        given, params = args[:len(inputs)], args[len(inputs):]
        return functional_call(module, dict(zip(names, params)), *given, **(call_kwargs or {}))

    return gradcheck(run, *inputs, *module.parameters(), name=type(module).__name__, **options)


@pytest.fixture
def module_gradcheck():
    return _module_gradcheck
