"""The book's exercises are checked by their own tests; this file proves those tests work.

Each chapter `tutorials/NN_*.py` ends with exercises: skeletons a reader edits in
`tutorials/exercises/chNN.py` (one exercise = one public top-level function or class there),
reference solutions in `tutorials/solutions/chNN.py`, and the tests of the reader's answers in
`tutorials/exercises/test_chNN.py` (`pytest tutorials/exercises -k ch03`; with
`TINYGRAD_LM_EXERCISES=solutions` they check the solutions instead). Here:

1. every chapter has 2 to 4 exercises (``AWAITING_EXERCISES`` may name a new chapter whose
   exercises are still to come), the solutions define the same names, and every
   exercise has a test named after it (`test_<exercise>_...`), and every test names one;
2. on the solutions, every exercise test passes (none skipped);
3. on the skeletons as shipped, every exercise test fails, each for the intended reason:
   `NotImplementedError` where the reader writes the body; for a break-the-backward exercise
   (an op shipped with a bug in its backward), at least one test fails with `GradcheckError`,
   so gradcheck is shown to catch the shipped bug;
4. the copy of each shipped bug kept in a test file (`ShippedX` for the skeleton's `BrokenX`,
   which the reader's run checks gradcheck still rejects) is the skeleton's op, method for method.

The exercise tests run in a subprocess per mode (pytest writing a JUnit XML report), so each
test id is checked on its own. Check 3 is skipped when `tutorials/exercises` has local edits
(a reader's answers): it is about the skeletons as committed.
"""

import ast
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "tutorials" / "exercises"
SOLUTIONS = ROOT / "tutorials" / "solutions"
BOOK = sorted(f"ch{path.name[:2]}" for path in (ROOT / "tutorials").glob("[0-9][0-9]_*.py"))
# Chapters written in the same round as the exercises, whose exercises are still to come. A
# chapter leaves this list when its exercises land (a test fails until it does); any other
# chapter without exercises fails the suite.
AWAITING_EXERCISES = {}
CHAPTERS = [chapter for chapter in BOOK if chapter not in AWAITING_EXERCISES]
TIMEOUT_SECONDS = 300


def top_level_definitions(path):
    """{name: ast node} of the public functions and classes defined at the top of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")}


def raises_not_implemented(node):
    """Whether the skeleton's body of an exercise is left to the reader (raise NotImplementedError)."""
    return any(isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n) for n in ast.walk(node))


def exercise_of(test_name, names):
    """The exercise a test is named after: ``test_<exercise>_...`` or ``test_<exercise>[...]``."""
    base = test_name.split("[")[0]
    matches = [name for name in names if base == f"test_{name}" or base.startswith(f"test_{name}_")]
    return max(matches, key=len) if matches else None


def start_exercise_tests(folder, which):
    """Start pytest over tutorials/exercises checking ``which`` ("solutions" or "exercises")."""
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "TINYGRAD_LM_EXERCISES": which, "PYTHONPATH": python_path}
    with open(folder / f"{which}.log", "w") as log:  # a file, not a pipe: no buffer to fill up
        return subprocess.Popen(
            [sys.executable, "-m", "pytest", str(EXERCISES.relative_to(ROOT)), "-p", "no:cacheprovider",
             f"--junitxml={folder / f'{which}.xml'}", "-q"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )


def exercise_outcomes(process, folder, which):
    """{(chapter, test name): (outcome, message)} once the run of ``which`` has finished."""
    try:
        process.wait(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"the exercise tests ({which}) did not finish within {TIMEOUT_SECONDS} s")
    report, log = folder / f"{which}.xml", (folder / f"{which}.log").read_text()
    assert report.exists(), f"pytest wrote no report ({which}):\n{log[-3000:]}"
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        chapter = case.get("classname").rsplit(".", 1)[-1].removeprefix("test_")
        child = next(iter(case), None)
        outcome = "passed" if child is None or child.tag in ("system-out", "system-err") else child.tag
        outcomes[chapter, case.get("name")] = (outcome, "" if child is None else child.get("message", ""))
    assert outcomes, f"no exercise tests ran ({which}):\n{log[-3000:]}"
    return outcomes


def _skeletons_have_local_edits():
    try:
        status = subprocess.run(["git", "status", "--porcelain", "--", str(EXERCISES)], cwd=ROOT,
                                check=True, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return False  # not a git checkout: check the files as they are
    return bool(status.strip())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{"solutions": outcomes, "exercises": outcomes or None}: both runs at once, in parallel."""
    folder = tmp_path_factory.mktemp("exercise_runs")
    modes = ["solutions"] + ([] if _skeletons_have_local_edits() else ["exercises"])
    started = {which: start_exercise_tests(folder, which) for which in modes}
    try:
        return {which: exercise_outcomes(started[which], folder, which) if which in started else None
                for which in ("solutions", "exercises")}
    finally:
        for process in started.values():
            if process.poll() is None:  # the other run, when one failed: do not leave it behind
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def definitions():
    """{chapter: {exercise name: its ast node in the skeleton}}."""
    return {chapter: top_level_definitions(EXERCISES / f"{chapter}.py")
            for chapter in CHAPTERS if (EXERCISES / f"{chapter}.py").exists()}


def test_every_chapter_has_two_to_four_exercises_with_solutions(definitions):
    assert CHAPTERS, "no chapters found in tutorials/"
    assert CHAPTERS[:9] == [f"ch{n:02d}" for n in range(1, 10)], CHAPTERS
    for chapter in CHAPTERS:
        assert chapter in definitions, f"tutorials/exercises/{chapter}.py is missing: every chapter has exercises"
        names = sorted(definitions[chapter])
        assert 2 <= len(names) <= 4, f"{chapter} has {len(names)} exercises {names}; a chapter has 2 to 4"
        solved = sorted(top_level_definitions(SOLUTIONS / f"{chapter}.py"))
        assert solved == names, f"tutorials/solutions/{chapter}.py defines {solved}, the skeleton {names}"
        assert (EXERCISES / f"test_{chapter}.py").exists(), f"tutorials/exercises/test_{chapter}.py is missing"


def test_chapters_awaiting_exercises_exist_and_have_none_yet():
    for chapter, title in AWAITING_EXERCISES.items():
        assert chapter in BOOK, f"{chapter} ({title}) is not a chapter of tutorials/: remove it from AWAITING_EXERCISES"
        assert not (EXERCISES / f"{chapter}.py").exists(), (
            f"{chapter} ({title}) has exercises now: remove it from AWAITING_EXERCISES so they are checked")


def test_every_exercise_has_a_test_and_every_test_an_exercise(definitions):
    for chapter, names in definitions.items():
        tree = ast.parse((EXERCISES / f"test_{chapter}.py").read_text(encoding="utf-8"))
        tests = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        orphans = [t for t in tests if exercise_of(t, names) is None]
        assert not orphans, f"test_{chapter}.py: {orphans} name no exercise of {sorted(names)} (test_<exercise>_...)"
        untested = sorted(set(names) - {exercise_of(t, names) for t in tests})
        assert not untested, f"{chapter}: exercises without a test: {untested}"


def test_solutions_pass_every_exercise_test(runs):
    outcomes = runs["solutions"]
    not_passed = {f"{c}::{name}": f"{outcome}: {message[:300]}"
                  for (c, name), (outcome, message) in outcomes.items() if outcome != "passed"}
    assert not not_passed, f"on tutorials/solutions, these exercise tests did not pass: {not_passed}"
    assert {chapter for chapter, _ in outcomes} == set(CHAPTERS)


def test_untouched_skeletons_fail_every_exercise_test_for_the_intended_reason(definitions, runs):
    if runs["exercises"] is None:
        pytest.skip("tutorials/exercises has local edits (your answers?): this check is about the "
                    "skeletons as committed; `git status tutorials/exercises` shows what changed")
    outcomes = runs["exercises"]
    passed = sorted(f"{c}::{name}" for (c, name), (outcome, _) in outcomes.items() if outcome == "passed")
    assert not passed, f"on the untouched skeletons these exercise tests pass, so they check nothing: {passed}"
    caught = set()
    for (chapter, name), (outcome, message) in outcomes.items():
        exercise = exercise_of(name, definitions[chapter])
        assert exercise is not None, f"{chapter}::{name} names no exercise (test_<exercise>_...)"
        assert outcome == "failure", f"{chapter}::{name}: {outcome} (a broken test, not a failed answer): {message}"
        if raises_not_implemented(definitions[chapter][exercise]):
            assert message.startswith("NotImplementedError"), (
                f"{chapter}::{name} fails on the skeleton without reaching the exercise: {message[:300]}")
        elif "GradcheckError" in message.split(":")[0]:
            caught.add((chapter, exercise))
    broken = {(c, n) for c, names in definitions.items() for n, node in names.items() if not raises_not_implemented(node)}
    assert len(broken) >= 3, f"the book needs at least 3 break-the-backward exercises, found {sorted(broken)}"
    assert caught == broken, f"gradcheck did not catch the shipped bug of {sorted(broken - caught)}"


def test_the_shipped_bug_kept_in_each_test_file_is_the_skeletons(definitions):
    for chapter, names in definitions.items():
        kept = top_level_definitions(EXERCISES / f"test_{chapter}.py")
        for name, node in names.items():
            if raises_not_implemented(node):
                continue
            copy = kept.get(name.replace("Broken", "Shipped", 1))
            assert copy is not None, f"test_{chapter}.py keeps no Shipped copy of {name}'s bug"
            methods = [[ast.dump(m) for m in n.body if isinstance(m, ast.FunctionDef)] for n in (node, copy)]
            assert methods[0] == methods[1], f"test_{chapter}.py's {copy.name} is not {name} as shipped"


@pytest.mark.parametrize("test_name, expected", [
    ("test_attention_matches_the_library", "attention"),
    ("test_self_attention_heads_matches_the_library[True]", "self_attention_heads"),
    ("test_silu[0.5]", "silu"),
    ("test_silus_are_not_silu", None),
    ("test_unknown_thing", None),
])
def test_exercise_of_reads_the_exercise_from_a_test_name(test_name, expected):
    assert exercise_of(test_name, {"attention", "self_attention_heads", "silu"}) == expected
