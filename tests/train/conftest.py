"""Fixtures shared by the trainer tests: a small deterministic corpus with structure to learn.

``write_corpus(path, words)`` writes ``words`` random words (seeded) from a tiny vocabulary, with
line breaks, and returns ``path``; ``corpus`` is such a file of 2,000 words, once per test module.
"""

import numpy as np
import pytest

WORDS = ["the ", "king ", "queen ", "is ", "dead ", "long ", "live ", "and ", "so ", "it ", "goes. \n"]


@pytest.fixture(scope="session")
def write_corpus():
    def write(path, words=2000):
        rng = np.random.default_rng(0)
        path.write_text("".join(rng.choice(WORDS, size=words)))
        return path

    return write


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, write_corpus):
    return str(write_corpus(tmp_path_factory.mktemp("corpus") / "text.txt"))
