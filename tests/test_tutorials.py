"""Run every chapter of the book (tutorials/NN_*.py) as a script, so a chapter that breaks fails the suite.

Each chapter runs in its own Python process (`sys.executable`), from the repository root, with
TINYGRAD_LM_TUTORIAL_SMALL=1 so it picks small settings, and the repository root put first on
PYTHONPATH so `import tinygrad_lm` finds this checkout whether or not it is installed. A chapter
passes when it exits with status 0: each one ends with asserts that prove its own claim.

Chapters draw their figures with matplotlib into $TINYGRAD_LM_FIGURES_DIR (default
tutorials/figures/, where the full-size figures are committed for readers). Here that variable
points at a temporary folder, so a test run never overwrites the committed figures, and every
figure a chapter promises (`FIGURES`) must appear there as a non-empty PNG. Only files named
like a chapter (two digits, an underscore) count as chapters; helper modules and the
exercises/ and solutions/ folders do not.

What a chapter prints is not checked here; only that it ran to the end within the time limit
and drew its figures.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
CHAPTERS = sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))
TIMEOUT_SECONDS = 300
OUTPUT_TAIL = 4000  # characters of stdout shown when a chapter fails
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIGURES = {  # chapter number -> the figures it draws (tutorials/figures/<name>)
    "01": ["01_autograd_graph.png"],
    "04": ["04_attention_heatmap.png"],
    "06": ["06_optimizer_paths.png", "06_learning_rate_schedules.png", "06_early_stopping.png"],
    "07": ["07_loss_curve.png", "07_position_embeddings.png"],
    "10": ["10_post_ln_vs_pre_ln.png", "10_positions.png", "10_attention_heatmap.png"],
    "11": ["11_checker_errors.png", "11_float32_sum_error.png"],
    "12": ["12_confusion_matrix.png", "12_three_results.png"],
    "13": ["13_cross_attention.png"],
    "14": ["14_tokenisation_and_smoothing.png"],
    "15": ["15_word_vectors_pca.png"],
    "16": ["16_distillation.png", "16_quantization_error.png", "16_size_speed_quality.png", "16_sparsity_curve.png"],
}


def figure_names_in(chapter):
    """The names of the chapter's own figures (`NN_name.png`, NN its number) its source mentions."""
    number = chapter.name[:2]
    return sorted({name for name in re.findall(r"\b(\d\d_\w+\.png)\b", chapter.read_text())
                   if name.startswith(number)})


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[path.name for path in CHAPTERS])
def test_chapter_runs_to_the_end(chapter, tmp_path):
    figures = tmp_path / "figures"
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "TINYGRAD_LM_TUTORIAL_SMALL": "1", "PYTHONPATH": python_path,
           "TINYGRAD_LM_FIGURES_DIR": str(figures)}
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
    for name in FIGURES.get(chapter.name[:2], []):
        path = figures / name
        assert path.is_file(), f"tutorials/{chapter.name} ran but did not draw {name} into $TINYGRAD_LM_FIGURES_DIR"
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1000, (
            f"tutorials/{chapter.name}: {name} is not a drawn PNG ({len(data)} bytes)")


def test_the_figure_list_matches_the_chapters():
    """FIGURES names exactly the figures each chapter's source saves, so neither can drift."""
    mentioned = {chapter.name[:2]: figure_names_in(chapter) for chapter in CHAPTERS}
    mentioned = {number: names for number, names in mentioned.items() if names}
    expected = {number: sorted(names) for number, names in FIGURES.items()}
    assert mentioned == expected, "update FIGURES in tests/test_tutorials.py to the figures the chapters draw"


@pytest.mark.parametrize("name", [name for names in FIGURES.values() for name in names])
def test_every_figure_is_committed_for_readers(name):
    path = TUTORIALS / "figures" / name
    assert path.is_file() and path.read_bytes().startswith(PNG_SIGNATURE), (
        f"tutorials/figures/{name} is missing: run its chapter from the repository root without "
        "TINYGRAD_LM_FIGURES_DIR (and without TINYGRAD_LM_TUTORIAL_SMALL) and commit the PNG")
