"""The standard word-vector test sets, fetched from gensim's wheel on PyPI and cached.

gensim ships the Google analogy questions and two word-similarity sets among its test data:

    questions-words.txt   19,544 analogy questions in 14 sections (Mikolov et al. 2013)
    wordsim353.tsv        353 word pairs with mean human relatedness (Finkelstein et al. 2002)
    simlex999.txt         999 word pairs with mean human similarity (Hill et al. 2015)

`fetch_eval_sets()` runs ``python -m pip download --no-deps gensim==4.4.0`` into a temporary
folder (gensim is never installed: the wheel is only a zip to read), or uses a gensim wheel a
user put by hand in ``<cache>/downloads/``, and copies the three files out of
``gensim/test/test_data/`` into ``<cache>/word_vector_eval/`` with a manifest. pip picks the
wheel for the running Python, and wheels for different Pythons have different checksums, so the
check is on what we use: each extracted file's sha256 must equal the value below (identical in
every 4.4.0 wheel). Later calls check the files against those hashes and return the folder.

Left out: other sets (MEN, RW, SimVerb), which no package here carries.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from tinygrad_lm.data.corpora import (
    CorpusError,
    CorpusUnavailableError,
    cache_dir,
    pip_download,
    sha256_bytes,
    staging_folder,
)
from tinygrad_lm.data.pretrained_files import downloads_dir

GENSIM_REQUIREMENT = "gensim==4.4.0"
MEMBER_FOLDER = "gensim/test/test_data"
EVAL_FILES = {
    "questions-words.txt": "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36",
    "wordsim353.tsv": "f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d",
    "simlex999.txt": "d5e0501971478a511430ee880bd0121e94ac701ba86d90544d83e6d2ba3db05d",
}
ANALOGIES = "questions-words.txt"
SIMILARITY_SETS = ("wordsim353.tsv", "simlex999.txt")


def eval_dir() -> Path:
    """Where the test sets are cached: <cache>/word_vector_eval."""
    return cache_dir() / "word_vector_eval"


def _is_complete(folder: Path) -> bool:
    try:
        return all(sha256_bytes((folder / name).read_bytes()) == digest for name, digest in EVAL_FILES.items())
    except OSError:
        return False


def _wheel(dest: Path) -> Path:
    """A gensim 4.4.0 wheel: one put by hand in downloads_dir(), else pip download into ``dest``."""
    by_hand = sorted(downloads_dir().glob("gensim-4.4.0-*.whl"))
    if by_hand:
        return by_hand[0]
    try:  # the wheel's name depends on the running Python, so pip_download cannot be told it: look after
        pip_download(GENSIM_REQUIREMENT, "", dest)
    except CorpusUnavailableError as reason:  # always raised (no name to find); a wheel in dest means success
        if not list(dest.glob("gensim-4.4.0-*.whl")):
            raise CorpusUnavailableError(
                f"could not download the word-vector test sets ('pip download --no-deps {GENSIM_REQUIREMENT}' failed: "
                f"{reason}); on a machine that reaches PyPI run that command and put the wheel in {downloads_dir()}/"
            ) from None
    return next(dest.glob("gensim-4.4.0-*.whl"))


def extract_eval_files(wheel: Path, dest: Path) -> None:
    """Copy the three files out of ``wheel`` into ``dest``, checking each one's sha256."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            for name, digest in EVAL_FILES.items():
                try:
                    data = archive.read(f"{MEMBER_FOLDER}/{name}")
                except KeyError:
                    raise CorpusError(f"{wheel} has no member {MEMBER_FOLDER}/{name}; is it {GENSIM_REQUIREMENT}?") from None
                if sha256_bytes(data) != digest:
                    raise CorpusError(f"{wheel}: {name} has sha256 {sha256_bytes(data)}, expected {digest}; "
                                      "the wheel is not the release this code was written for")
                (dest / name).write_bytes(data)
    except zipfile.BadZipFile as error:
        raise CorpusError(f"{wheel} is not a readable wheel (zip): {error}") from None


def fetch_eval_sets() -> Path:
    """The folder holding questions-words.txt, wordsim353.tsv and simlex999.txt, fetched on first use."""
    final = eval_dir()
    if _is_complete(final):
        return final
    staging = staging_folder(final)  # beside the entry; a killed fetch's stale ones are removed first
    try:
        with tempfile.TemporaryDirectory(prefix="tinygrad_lm_gensim_") as download_folder:
            extract_eval_files(_wheel(Path(download_folder)), staging)
        if final.exists():
            shutil.rmtree(final)
        try:
            os.replace(staging, final)
        except OSError:
            if not _is_complete(final):  # not another process finishing first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final
