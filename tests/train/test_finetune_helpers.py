"""Shared by the fine-tuning tests (no tests here): a labelled CSV of synthetic sentences and a tiny stand-in for MiniLM.

``use_tiny_encoder(monkeypatch)`` makes ``load_pretrained`` in the classifier task return a
2-layer, 16-wide BERT (seeded) and a WordPiece vocabulary learned from the sentences, so a
fine-tuning run takes a second instead of loading MiniLM.
"""

import numpy as np

from tinygrad_lm.data import train_wordpiece
from tinygrad_lm.models import BertConfig, BertModel
from tinygrad_lm.train import classifier_task

GOOD = ["good", "great", "lovely", "superb", "fine", "charming"]
BAD = ["bad", "awful", "dull", "boring", "poor", "tedious"]
NOUNS = ["film", "movie", "story", "plot", "cast", "ending", "script", "score"]


def sentences(n=48, seed=0):
    """n (text, label) pairs: 'the <noun> was <good word>' is pos, with a bad word neg; balanced."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(n):
        label = "pos" if index % 2 == 0 else "neg"
        word = rng.choice(GOOD if label == "pos" else BAD)
        rows.append((f"the {rng.choice(NOUNS)} was really {word} .", label))
    return rows


def write_csv(path, n=48, seed=0):
    lines = ["text,label"] + [f"{text},{label}" for text, label in sentences(n, seed)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tiny_encoder():
    texts = [text for text, _ in sentences(200, 1)]
    tokenizer = train_wordpiece(texts, 60)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden=16, n_layers=2, n_heads=2, intermediate=32,
                        max_position=32, seed=3)
    return BertModel(config), tokenizer


def use_tiny_encoder(monkeypatch):
    model, tokenizer = tiny_encoder()
    monkeypatch.setattr(classifier_task, "load_pretrained", lambda name: (model, tokenizer))
    return model, tokenizer
