"""Run every chapter of the book (tutorials/*.py) as a script, so a chapter that breaks fails the suite.

Each chapter runs in its own Python process (`sys.executable`), from the repository root, with
TINYGRAD_LM_TUTORIAL_SMALL=1 so it picks small settings, and the repository root put first on
PYTHONPATH so `import tinygrad_lm` finds this checkout whether or not it is installed. A chapter
passes when it exits with status 0: each one ends with asserts that prove its own claim.

What a chapter prints is not checked here; only that it ran to the end within the time limit.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "tutorials").glob("*.py"))
TIMEOUT_SECONDS = 300
OUTPUT_TAIL = 4000  # characters of stdout shown when a chapter fails


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[path.name for path in CHAPTERS])
def test_chapter_runs_to_the_end(chapter):
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "TINYGRAD_LM_TUTORIAL_SMALL": "1", "PYTHONPATH": python_path}
    try:
        result = subprocess.run(
            [sys.executable, str(chapter)],
            check=False, cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"tutorials/{chapter.name} did not finish within {TIMEOUT_SECONDS} s "
                    "with TINYGRAD_LM_TUTORIAL_SMALL=1; make its small settings smaller")
    assert result.returncode == 0, (
        f"tutorials/{chapter.name} exited with status {result.returncode}\n"
        f"--- stderr ---\n{result.stderr}\n"
        f"--- last {OUTPUT_TAIL} characters of stdout ---\n{result.stdout[-OUTPUT_TAIL:]}"
    )
