"""CI runs what README.md's Quick start says, and .ci/run handles exit codes as promised.

Checked here:
- README.md's two marked blocks (``<!-- ci:main -->``, ``<!-- ci:test -->``) yield one
  command each, through the same ``extract_command`` that .ci/run calls; the main command
  builds .venv and installs the ``test`` extra; the test command runs pytest from that .venv.
- ``extract_command`` refuses malformed READMEs with a message naming the marker.
- .ci/run itself, run in a scratch copy with a stand-in README: it removes an old .venv,
  exports the ``ci`` Hypothesis profile, turns pytest's exit code 5 (no tests collected)
  into a failure, passes any other failing code through, and stops after a failing main
  command. The real install is not run here (that is .ci/run's job, minutes long).
"""

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CI_DIR = ROOT / ".ci"


def load_readme_commands():
    """Import .ci/readme_commands.py (it lives outside any package) as a module."""
    spec = importlib.util.spec_from_file_location("readme_commands", CI_DIR / "readme_commands.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


readme_commands = load_readme_commands()


def readme_with(main_cmd: str, test_cmd: str) -> str:
    """A minimal README holding the two marked blocks."""
    return (f"# x\n\n<!-- ci:main -->\n```bash\n{main_cmd}\n```\n\n"
            f"<!-- ci:test -->\n\n```bash\n{test_cmd}\n```\n")


def test_readme_main_command_builds_venv_and_installs_the_test_extra():
    command = readme_commands.extract_command((ROOT / "README.md").read_text(encoding="utf-8"), "main")
    assert "-m venv .venv" in command
    extras = re.search(r'pip install -e "\.\[([^\]]*)\]"', command)
    assert extras, f"the main command installs no extras: {command}"
    assert "test" in extras.group(1).split(","), f"the main command lacks the test extra: {command}"


def test_readme_test_command_runs_pytest_from_the_venv():
    command = readme_commands.extract_command((ROOT / "README.md").read_text(encoding="utf-8"), "test")
    assert command.startswith(".venv/bin/python -m pytest"), command


def test_extract_command_reads_the_block_after_the_marker():
    text = readme_with("echo one", "echo two")
    assert readme_commands.extract_command(text, "main") == "echo one"
    assert readme_commands.extract_command(text, "test") == "echo two"


@pytest.mark.parametrize("text, words", [
    ("no markers here\n", "exactly once, found it 0 times"),
    (readme_with("a", "b") + "<!-- ci:main -->\n```bash\nc\n```\n", "exactly once, found it 2 times"),
    ("<!-- ci:main -->\n```sh\nls\n```\n", "must be followed by a ```bash"),
    ("<!-- ci:main -->\n```bash\nls\n", "never closed"),
    ("<!-- ci:main -->\n```bash\nls\npwd\n```\n", "exactly one command line, found 2"),
    ("<!-- ci:main -->\n```bash\n\n```\n", "exactly one command line, found 0"),
])
def test_extract_command_refuses_malformed_readmes(text, words):
    with pytest.raises(readme_commands.ReadmeCommandError, match=re.escape(words)) as caught:
        readme_commands.extract_command(text, "main")
    assert "<!-- ci:main -->" in str(caught.value)


def run_ci_in(tmp_path: Path, readme_text: str) -> subprocess.CompletedProcess:
    """Run a copy of .ci/run from outside tmp_path, with README.md in tmp_path holding readme_text."""
    if shutil.which("bash") is None or shutil.which("python3") is None:
        pytest.skip(".ci/run needs bash and python3 on PATH")
    shutil.copytree(CI_DIR, tmp_path / ".ci", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "README.md").write_text(readme_text, encoding="utf-8")
    return subprocess.run([str(tmp_path / ".ci" / "run")], cwd="/", capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60, check=False)


def test_ci_run_passes_and_sets_up_a_fresh_environment(tmp_path):
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "stale").write_text("left from an old run")
    result = run_ci_in(tmp_path, readme_with("ls -a > listing.txt",
                                             'test "$TINYGRAD_LM_HYPOTHESIS_PROFILE" = ci'))
    assert result.returncode == 0, result.stdout + result.stderr
    assert ".venv" not in (tmp_path / "listing.txt").read_text().split()  # ran in the root, .venv gone
    assert "[ci] main: ls -a > listing.txt" in result.stdout
    assert re.search(r"\[ci\] test: exit code 0 after \d+ s", result.stdout)


def test_ci_run_treats_no_tests_collected_as_failure(tmp_path):
    result = run_ci_in(tmp_path, readme_with("true", "exit 5"))
    assert result.returncode == 1
    assert "no tests collected" in result.stderr


def test_ci_run_passes_through_a_failing_test_code(tmp_path):
    result = run_ci_in(tmp_path, readme_with("true", "exit 3"))
    assert result.returncode == 3
    assert "test command exited with code 3" in result.stderr


def test_ci_run_stops_after_a_failing_main_command(tmp_path):
    result = run_ci_in(tmp_path, readme_with("exit 7", "touch test-ran"))
    assert result.returncode == 7
    assert "main command exited with code 7" in result.stderr
    assert not (tmp_path / "test-ran").exists()


def test_ci_run_refuses_a_readme_without_the_main_marker(tmp_path):
    result = run_ci_in(tmp_path, "# nothing marked\n<!-- ci:test -->\n```bash\ntrue\n```\n")
    assert result.returncode != 0
    assert "<!-- ci:main -->" in result.stderr
