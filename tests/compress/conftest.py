"""A tiny GPT run trained once per session (a few seconds), for the compression tests.

``gpt_run`` is a run directory trained through the CLI on a word corpus: 2 layers, width 64,
2 heads (MLP 256), so per-group int8 has full groups of 64 and structured pruning has heads
and neurons to remove.
"""

import numpy as np
import pytest

from tinygrad_lm import cli

WORDS = ["the ", "king ", "queen ", "is ", "dead ", "long ", "live ", "and ", "so ", "it ", "goes. \n"]


@pytest.fixture(scope="session")
def gpt_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("compress")
    text = root / "text.txt"
    text.write_text("".join(np.random.default_rng(0).choice(WORDS, size=3000)))
    out = root / "run"
    code = cli.main(["train", "--preset", "tiny", "--text", str(text), "--out", str(out), "--no-progress",
                     "--kernels", "numpy", "n_embd=64", "n_head=2", "max_iters=40", "eval_interval=40"])
    assert code == 0
    return out
