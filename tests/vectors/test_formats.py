"""The word2vec text and binary formats: round trips, gensim both ways, and clear errors for bad files."""

import numpy as np
import pytest

from tinygrad_lm.vectors.formats import VectorsFormatError, load_word2vec, save_word2vec
from tinygrad_lm.vectors.keyed import WordVectors


@pytest.fixture
def vectors():
    rng = np.random.default_rng(0)
    return WordVectors(["the", "king's", "café", "x"], rng.normal(size=(4, 5)).astype(np.float32))


@pytest.mark.parametrize("binary", [False, True])
def test_round_trip_is_exact(tmp_path, vectors, binary):
    path = tmp_path / "v.bin"
    save_word2vec(path, vectors, binary=binary)
    back = load_word2vec(path, binary=binary)
    assert back.words == vectors.words
    np.testing.assert_array_equal(back.vectors, vectors.vectors)


@pytest.mark.parametrize("binary", [False, True])
def test_gensim_reads_ours_and_we_read_gensims(tmp_path, vectors, binary):
    keyedvectors = pytest.importorskip("gensim.models.keyedvectors", reason="gensim (bench extra) is not installed")
    ours = tmp_path / "ours"
    save_word2vec(ours, vectors, binary=binary)
    theirs = keyedvectors.KeyedVectors.load_word2vec_format(str(ours), binary=binary)
    assert list(theirs.index_to_key) == vectors.words
    np.testing.assert_array_equal(theirs.vectors, vectors.vectors)
    theirs.save_word2vec_format(str(tmp_path / "theirs"), binary=binary)
    back = load_word2vec(tmp_path / "theirs", binary=binary)
    assert back.words == vectors.words
    np.testing.assert_array_equal(back.vectors, vectors.vectors)


@pytest.mark.parametrize("content, message", [
    (b"", "no header"),
    (b"hello world\n", "first line must be 'V D'"),
    (b"2 3\na 1 2 3\nb 1 2\n", r"line 3 \(word 'b'\) has 2 values, the header says 3"),
    (b"3 2\na 1 2\nb 1 2\n", "promises 3 words, the file has 2"),
    (b"1 2\na 1 zz\n", "not a number"),
    (b"1 2\n\xff\xfe 1 2\n", "line 2 is not valid UTF-8"),
])  # fmt: skip
def test_bad_text_files_are_named(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(VectorsFormatError, match=message):
        load_word2vec(path)


def test_truncated_binary_and_missing_file(tmp_path, vectors):
    path = tmp_path / "v.bin"
    save_word2vec(path, vectors, binary=True)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(VectorsFormatError, match="ends in word 4; it is truncated"):
        load_word2vec(path, binary=True)
    with pytest.raises(VectorsFormatError, match="does not exist"):
        load_word2vec(tmp_path / "nope.txt")


def test_words_with_whitespace_cannot_be_written(tmp_path):
    with pytest.raises(VectorsFormatError, match="'new york'"):
        save_word2vec(tmp_path / "v.txt", WordVectors(["new york"], np.zeros((1, 2))))
