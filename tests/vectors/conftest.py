"""Shared fixtures for the word-vector tests: a tiny two-topic corpus whose structure training must find."""

import numpy as np
import pytest

ANIMALS = ["cat", "dog", "horse", "cow", "sheep", "goat", "pig", "mouse", "lion", "tiger"]
TOOLS = ["hammer", "saw", "drill", "wrench", "chisel", "pliers", "axe", "file", "rasp", "vise"]


def topic_tokens(n_sentences=600, length=8, seed=0):
    """Sentences of 8 words drawn from one topic each (animals or tools), concatenated."""
    rng = np.random.default_rng(seed)
    tokens = []
    for s in range(n_sentences):
        topic = ANIMALS if s % 2 == 0 else TOOLS
        tokens += [topic[i] for i in rng.integers(0, len(topic), size=length)]
    return tokens


@pytest.fixture(scope="session")
def topics():
    """The two-topic token list (600 sentences of 8 words)."""
    return topic_tokens()


@pytest.fixture(scope="session")
def topic_groups():
    """(ANIMALS, TOOLS): the two word groups of `topics`."""
    return ANIMALS, TOOLS
