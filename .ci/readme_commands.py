"""Read the commands that README.md's Quick start marks for CI.

README.md is the one place that says how to install and test the project. A marker line
`<!-- ci:NAME -->` stands right before a ```bash block holding exactly one command:

    <!-- ci:main -->    the install-and-demo command a new user types first
    <!-- ci:test -->    the command that runs the test suite

`.ci/run` executes those lines as written and tests/test_ci_script.py checks them, both
through `extract_command` below, so what CI runs cannot drift from what the README says.
This file only reads text: it runs nothing and needs nothing beyond the standard library
(it runs under the system python3, before any virtual environment exists).

Usage: python3 .ci/readme_commands.py {main,test} [README_PATH]
"""

import sys
from pathlib import Path

MARKERS = ("main", "test")
FENCE_OPEN = "```bash"
FENCE_CLOSE = "```"


class ReadmeCommandError(ValueError):
    """README.md does not hold a well-formed marked command block."""


def extract_command(readme_text: str, marker: str) -> str:
    """Return the single command in the ```bash block right after `<!-- ci:MARKER -->`.

    Blank lines may separate the marker from the fence. Raises ReadmeCommandError naming
    the marker when it is missing or repeated, when no ```bash fence follows it, when the
    fence is never closed, or when the block does not hold exactly one non-empty line.
    """
    tag = f"<!-- ci:{marker} -->"
    lines = readme_text.splitlines()
    positions = [i for i, line in enumerate(lines) if line.strip() == tag]
    if len(positions) != 1:
        raise ReadmeCommandError(
            f"README must contain the line {tag} exactly once, found it {len(positions)} times"
        )
    i = positions[0] + 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i == len(lines) or lines[i].strip() != FENCE_OPEN:
        raise ReadmeCommandError(f"{tag} must be followed by a {FENCE_OPEN} fenced block")
    try:
        close = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == FENCE_CLOSE)
    except StopIteration:
        raise ReadmeCommandError(f"the {FENCE_OPEN} block after {tag} is never closed") from None
    commands = [line.strip() for line in lines[i + 1 : close] if line.strip()]
    if len(commands) != 1:
        raise ReadmeCommandError(
            f"the {FENCE_OPEN} block after {tag} must hold exactly one command line, "
            f"found {len(commands)}"
        )
    return commands[0]


def main(argv: list[str]) -> int:
    """Print the command for one marker; on a malformed README print one error line, return 2."""
    if len(argv) not in (1, 2) or argv[0] not in MARKERS:
        print(f"usage: readme_commands.py {{{','.join(MARKERS)}}} [README_PATH]", file=sys.stderr)
        return 2
    readme = Path(argv[1]) if len(argv) == 2 else Path(__file__).resolve().parents[1] / "README.md"
    try:
        print(extract_command(readme.read_text(encoding="utf-8"), argv[0]))
    except (OSError, ReadmeCommandError) as error:
        print(f"readme_commands.py: {readme}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
