"""The op registry: one declarative ``OpSpec`` per op, from which the op tests are generated.

    from tinygrad_lm.testing import all_specs, get
    for spec in all_specs(): ...          # every entry, in a stable order
    get("matmul").reference(a, b)         # one entry by name

Entries live by op family (``elementwise``, ``reduce``, ``movement``, ``indexing``,
``linalg``); ``spec.py`` defines ``OpSpec`` and ``Case``. Adding an entry to a family's
``SPECS`` list is all it takes for ``tests/ops/test_registry_ops.py`` to check its forward
against the NumPy reference (float64 and float32), its gradient (float64 gradcheck with a
random upstream gradient) and that it leaves its inputs alone. Several entries may cover one
public op (``pow`` with a tensor and with a number exponent); each public op in
``tinygrad_lm.ops`` must be covered by at least one.
"""

from . import elementwise, indexing, linalg, movement, reduce
from .spec import COVERAGE, Case, OpSpec, Tolerances, float_inputs


def _collect():
    specs = {}
    for family in (elementwise, reduce, movement, indexing, linalg):
        for spec in family.SPECS:
            if spec.name in specs:
                raise ValueError(f"op registry: two entries are named {spec.name!r}; names must be unique")
            specs[spec.name] = spec
    return specs


_SPECS = _collect()


def all_specs():
    """Every registry entry, grouped by family in a stable order."""
    return list(_SPECS.values())


def get(name):
    """The entry called ``name``; KeyError lists the known names."""
    try:
        return _SPECS[name]
    except KeyError:
        raise KeyError(f"op registry has no entry {name!r}; known entries: {', '.join(_SPECS)}") from None


__all__ = ["COVERAGE", "Case", "OpSpec", "Tolerances", "all_specs", "float_inputs", "get"]
