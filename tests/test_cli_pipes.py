"""``tinygrad-lm ... | head``: a reader that goes away early ends the command quietly.

Python ignores SIGPIPE, so writing to a pipe whose reader has closed raises BrokenPipeError,
and without handling that ends in a traceback (and a second "Exception ignored" one when the
interpreter flushes stdout on exit). Here the pipe's read end is closed before the command
starts, which is what ``| head -1`` amounts to once head has its line, without a race on how
much fits in the pipe's buffer first.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_lm.cli import BROKEN_PIPE_EXIT

ROOT = Path(__file__).resolve().parents[1]
GPT_GOLDEN = ROOT / "tests" / "golden" / "gpt-tiny"


def run_into_closed_pipe(argv):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    try:
        done = subprocess.run([sys.executable, "-m", "tinygrad_lm.cli", *argv], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120, check=False)
    finally:
        os.close(write_end)
    return done.returncode, done.stderr


@pytest.mark.parametrize("argv", [
    ["check-port", "--golden", str(GPT_GOLDEN), "--candidate", str(GPT_GOLDEN)],
    ["check-port", "--golden", str(GPT_GOLDEN), "--candidate", str(GPT_GOLDEN), "--json"],
    ["demo"],
])
def test_a_closed_stdout_ends_quietly(argv):
    code, stderr = run_into_closed_pipe(argv)
    assert stderr == ""  # no traceback, no "Exception ignored ... BrokenPipeError"
    assert code == BROKEN_PIPE_EXIT == 141  # 128 + SIGPIPE, what a shell reports for a writer cut off by head
