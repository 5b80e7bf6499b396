"""Rules about the shape of the repository, checked on every test run.

1. ruff (an explicit, version-stable rule set) is clean over the package, the tests, the tutorials, the benchmarks
   and the CI helper.
2. Layering: imports inside ``tinygrad_lm`` go downward only. Each subpackage or module
   directly under ``tinygrad_lm/`` has a tier (``TIERS``); a module may import from its own
   tier or lower ones. Absolute and relative imports count, wherever they sit (inside a
   function too). ``from tinygrad_lm import name`` where ``name`` is not a tier means the
   package root, whose tier is the highest tier its ``__init__.py`` imports. That
   ``__init__.py`` is itself exempt: its job is to re-export.
3. Every folder of ``.py`` files under ``tinygrad_lm/`` is a regular package (has an
   ``__init__.py``), because setuptools' ``find:`` leaves other folders out of a wheel.
4. Every ``.py`` file under ``tinygrad_lm/`` opens with a module docstring.
5. Every ``.py`` file under ``tinygrad_lm/`` is under ``LINE_LIMIT`` lines.

This file checks structure only; whether the code is right is the other tests' business.
"""

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tinygrad_lm"
LINT_PATHS = ("tinygrad_lm", "tests", "tutorials", "benchmarks", ".ci")
LINE_LIMIT = 450

TIERS = {
    "engine": 0, "ops": 1, "backends": 2, "functional": 3, "nn": 4, "optim": 5, "generate": 5,
    "models": 6, "data": 7, "metrics": 7, "train": 8, "baselines": 8, "testing": 9, "porting": 9, "cli": 10, "cli_text": 10, "cli_porting": 10, "cli_finetune": 10,
    "vectors": 8, "compress": 8, "cli_metrics": 10, "cli_seq2seq": 10, "cli_vectors": 10, "cli_compress": 10,
}


def package_files() -> list[Path]:
    """Every .py file of the package, __pycache__ left out, in a stable order."""
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> tuple[str, bool]:
    """(dotted module name, is_package) of a file: tinygrad_lm/ops/__init__.py -> ('tinygrad_lm.ops', True)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def imported_modules(tree: ast.AST, module: str, is_package: bool):
    """Yield (line, dotted name) for every import in ``tree``, relative ones resolved.

    ``from X import a`` yields ``X.a`` when X is the package root (``a`` may be a
    subpackage), and ``X`` otherwise. A relative import that climbs above the top-level
    package yields ``None`` as its name.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level > len(package):
                    yield node.lineno, None
                    continue
                base = package[: len(package) - node.level + 1] + ([node.module] if node.module else [])
                base = ".".join(base)
            else:
                base = node.module
            if base == "tinygrad_lm":
                for alias in node.names:
                    yield node.lineno, f"{base}.{alias.name}"
            else:
                yield node.lineno, base


def tier_of(dotted: str, root_tier: int) -> tuple[str, int] | None:
    """(tier name, tier) of an imported tinygrad_lm module, or None when it is not ours."""
    parts = dotted.split(".")
    if parts[0] != "tinygrad_lm":
        return None
    if len(parts) > 1 and parts[1] in TIERS:
        return parts[1], TIERS[parts[1]]
    return "package root", root_tier


def root_tier_of(init_source: str) -> int:
    """The tier of ``import tinygrad_lm``: the highest tier tinygrad_lm/__init__.py imports."""
    tree = ast.parse(init_source)
    found = [tier_of(name, 0) for _, name in imported_modules(tree, "tinygrad_lm", True) if name]
    return max((tier for _, tier in filter(None, found)), default=0)


def find_layer_violations(source: str, module: str, is_package: bool = False,
                          root_tier: int = 0, label: str = "") -> list[str]:
    """Every upward import in ``source`` (the text of ``module``), one message per import."""
    label = label or module
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in TIERS:
        return [f"{label}: {module} has no tier; add its top-level name to TIERS in tests/test_layout.py"]
    own_name, own = parts[1], TIERS[parts[1]]
    problems = []
    for line, dotted in imported_modules(ast.parse(source), module, is_package):
        if dotted is None:
            problems.append(f"{label}:{line}: relative import climbs above the tinygrad_lm package")
            continue
        target = tier_of(dotted, root_tier)
        if target is not None and target[1] > own:
            problems.append(
                f"{label}:{line}: {own_name} (tier {own}) imports {dotted} ({target[0]}, tier "
                f"{target[1]}); a module may import only from its own tier or lower"
            )
    return problems


# An explicit rule set (not ruff's defaults, which grow between releases) keeps the lint
# stable across ruff versions: pyflakes, pycodestyle errors, import order, bugbear, pyupgrade.
RUFF_RULES = ["--isolated", "--target-version", "py310", "--select", "E4,E7,E9,F,I,W,B,UP,SIM",
              "--ignore", "B905"]


def test_ruff_is_clean():
    if importlib.util.find_spec("ruff") is None:
        pytest.fail(f"ruff is not installed for {sys.executable}; install the test extra: "
                    "pip install -e '.[test]'")
    paths = [p for p in LINT_PATHS if (ROOT / p).exists()]
    result = subprocess.run([sys.executable, "-m", "ruff", "check", *RUFF_RULES, *paths],
                            check=False, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"ruff check {' '.join(paths)}:\n{result.stdout}{result.stderr}"


def test_every_top_level_module_has_a_tier():
    names = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.is_dir() and p.name != "__pycache__") or p.suffix == ".py"}
    missing = sorted(names - set(TIERS) - {"__init__"})
    assert not missing, f"tinygrad_lm/ holds {missing} with no tier; add them to TIERS in tests/test_layout.py"


def test_every_package_folder_has_an_init():
    folders = {p.parent for p in package_files()}
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists())
    assert not missing, (f"folders without __init__.py: {missing}; setup.cfg's packages = find: "
                         "leaves them out of a built wheel, so add an __init__.py with a docstring")


def test_imports_go_downward_only():
    init = PACKAGE / "__init__.py"
    root_tier = root_tier_of(init.read_text(encoding="utf-8")) if init.exists() else 0
    problems = []
    for path in package_files():
        if path == init:
            continue
        module, is_package = module_name(path)
        problems += find_layer_violations(path.read_text(encoding="utf-8"), module, is_package,
                                          root_tier, label=str(path.relative_to(ROOT)))
    assert not problems, "upward imports:\n" + "\n".join(problems)


@pytest.mark.parametrize("source, module, is_package, expected", [
    ("from tinygrad_lm.nn import Linear\n", "tinygrad_lm.engine.tensor", False, 1),
    ("import tinygrad_lm.models.gpt\n", "tinygrad_lm.ops.matmul", False, 1),
    ("from ..nn import Linear\n", "tinygrad_lm.engine.tensor", False, 1),
    ("from .. import optim, engine\n", "tinygrad_lm.nn.linear", False, 1),
    ("from ..train import fit\n", "tinygrad_lm.data", True, 1),
    ("def f():\n    from tinygrad_lm.cli import main\n", "tinygrad_lm.testing.gradcheck", False, 1),
    ("from ...x import y\n", "tinygrad_lm.engine.tensor", False, 1),
    ("from tinygrad_lm import tensor\n", "tinygrad_lm.ops.matmul", False, 1),  # root is tier 9 here
    ("from tinygrad_lm import tensor\n", "tinygrad_lm.cli", False, 0),
    ("from ..engine import Tensor\nfrom . import _special\n", "tinygrad_lm.ops.elementwise", False, 0),
    ("from .models import gpt\nimport numpy\n", "tinygrad_lm.generate", False, 1),
    ("from .optim import sgd\n", "tinygrad_lm.generate", False, 0),
])
def test_layer_checker_catches_upward_imports(source, module, is_package, expected):
    problems = find_layer_violations(source, module, is_package, root_tier=9)
    assert len(problems) == expected, problems


def test_layer_checker_names_file_line_and_tiers():
    source = "import numpy\n\nfrom tinygrad_lm.nn import Linear\n"
    [message] = find_layer_violations(source, "tinygrad_lm.engine.tensor", label="engine/tensor.py")
    assert message.startswith("engine/tensor.py:3: engine (tier 0) imports tinygrad_lm.nn (nn, tier 4)")


def test_layer_checker_rejects_a_module_without_a_tier():
    [message] = find_layer_violations("import numpy\n", "tinygrad_lm.plugins.extra")
    assert "has no tier" in message


def test_root_tier_is_the_highest_tier_the_package_root_imports():
    assert root_tier_of("from .engine import tensor\nfrom . import testing\nimport numpy\n") == 9
    assert root_tier_of("from .engine import Tensor\nfrom .ops import add\n") == 1


def test_every_module_starts_with_a_docstring():
    missing = [str(p.relative_to(ROOT)) for p in package_files()
               if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))]
    assert not missing, f"files without a module docstring: {missing}"


def test_every_module_is_under_the_line_limit():
    counts = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
              for p in package_files()}
    too_long = {name: n for name, n in counts.items() if n >= LINE_LIMIT}
    assert not too_long, f"files of {LINE_LIMIT} lines or more (split them along a seam): {too_long}"
