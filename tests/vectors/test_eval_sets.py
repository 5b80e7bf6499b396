"""The evaluation sets come out of a gensim wheel, checked file by file; a wrong or broken wheel is refused."""

import zipfile

import pytest

from tinygrad_lm.data.corpora import CorpusError
from tinygrad_lm.vectors import eval_sets
from tinygrad_lm.vectors.eval_sets import (
    EVAL_FILES,
    MEMBER_FOLDER,
    extract_eval_files,
    fetch_eval_sets,
)


def make_wheel(path, contents):
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in contents.items():
            wheel.writestr(f"{MEMBER_FOLDER}/{name}", data)
    return path


def test_a_wheel_with_other_bytes_is_refused(tmp_path):
    wheel = make_wheel(tmp_path / "gensim-4.4.0-x.whl", {name: b"tampered" for name in EVAL_FILES})
    with pytest.raises(CorpusError, match="has sha256 .* expected"):
        extract_eval_files(wheel, tmp_path)


def test_a_wheel_without_the_files_or_not_a_zip_is_refused(tmp_path):
    with pytest.raises(CorpusError, match="has no member gensim/test/test_data/questions-words.txt"):
        extract_eval_files(make_wheel(tmp_path / "a.whl", {}), tmp_path)
    (tmp_path / "b.whl").write_bytes(b"not a zip")
    with pytest.raises(CorpusError, match="not a readable wheel"):
        extract_eval_files(tmp_path / "b.whl", tmp_path)


def test_a_wheel_put_by_hand_is_used_offline(tmp_path, monkeypatch):
    real = eval_sets.eval_dir()
    if not eval_sets._is_complete(real):
        pytest.skip("the evaluation sets are not cached here (run tinygrad-lm evaluate-vectors once)")
    contents = {name: (real / name).read_bytes() for name in EVAL_FILES}
    monkeypatch.setenv("TINYGRAD_LM_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache" / "downloads").mkdir(parents=True)
    make_wheel(tmp_path / "cache" / "downloads" / "gensim-4.4.0-cp399-none-any.whl", contents)
    monkeypatch.setattr(eval_sets, "pip_download", lambda *a: pytest.fail("pip must not run"))
    folder = fetch_eval_sets()
    assert folder == tmp_path / "cache" / "word_vector_eval"
    assert {p.name for p in folder.iterdir()} == set(EVAL_FILES)
    assert fetch_eval_sets() == folder  # the cache is checked and reused
