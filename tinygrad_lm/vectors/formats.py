"""The word2vec file formats, text and binary, read and written so that gensim and the C tools agree.

Text (``.txt``/``.vec``): a header line ``V D``, then V lines ``word x1 x2 ... xD`` (space
separated, decimal floats). Binary (``.bin``, the C word2vec's ``-binary 1``): the same header
line, then per word its UTF-8 bytes, one space, D little-endian float32 (4 D bytes) and a newline
(gensim writes no newline; the reader skips newlines before each word, so both load).

We write floats with 9 significant digits, enough to read back the same float32. Words holding
whitespace cannot be written (the format has no quoting) and are refused. The reader checks the
header (two positive integers), every row's number of values, the count of rows, and that words
are UTF-8; every problem is a `VectorsFormatError` naming the file, the line or word, and what was
expected. Left out: gensim's pickled ``.model`` and the GloVe format without a header.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygrad_lm.vectors.keyed import WordVectors
from tinygrad_lm.vectors.vocab import VectorsError


class VectorsFormatError(VectorsError):
    """A vectors file that does not follow the word2vec format."""


def save_word2vec(path, vectors: WordVectors, binary: bool = False) -> None:
    """Write ``vectors`` to ``path`` in the word2vec text (default) or binary format."""
    bad = next((w for w in vectors.words if not w or any(c.isspace() for c in w)), None)
    if bad is not None:
        raise VectorsFormatError(f"cannot write word {bad!r} in the word2vec format: words must be non-empty and "
                                 "hold no whitespace")
    header = f"{len(vectors)} {vectors.dim}\n".encode()
    with open(path, "wb") as handle:
        handle.write(header)
        if binary:
            data = vectors.vectors.astype("<f4")
            handle.writelines(word.encode("utf-8") + b" " + row.tobytes() + b"\n" for word, row in zip(vectors.words, data))
        else:
            handle.writelines((word + " " + " ".join(f"{x:.9g}" for x in row.tolist()) + "\n").encode("utf-8") for word, row in zip(vectors.words, vectors.vectors))


def _header(path: Path, line: bytes) -> tuple[int, int]:
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or 0 in (int(parts[0]), int(parts[1])):
        shown = line[:60].decode("utf-8", "replace")
        raise VectorsFormatError(f"{path}: the first line must be 'V D' (number of words, dimensions, both > 0), "
                                 f"got {shown!r}; is this a word2vec file?")
    return int(parts[0]), int(parts[1])


def _word(path: Path, raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise VectorsFormatError(f"{path}: {where} is not valid UTF-8 ({error.reason} at byte {error.start} of "
                                 f"the word); re-encode the file as UTF-8") from None


def load_word2vec(path, binary: bool = False) -> WordVectors:
    """Read a word2vec text (default) or binary file into a WordVectors."""
    path = Path(path)
    if not path.is_file():
        raise VectorsFormatError(f"vectors file {str(path)!r} does not exist or is not a regular file")
    data = path.read_bytes()
    end = data.find(b"\n")
    if end < 0:
        raise VectorsFormatError(f"{path}: no header line 'V D'; the file is empty or not a word2vec file")
    n_words, dim = _header(path, data[:end])
    words, vectors = [], np.empty((n_words, dim), dtype=np.float32)
    if binary:
        position = end + 1
        for i in range(n_words):
            while data[position:position + 1] == b"\n":
                position += 1
            space = data.find(b" ", position)
            if space < 0 or space + 1 + 4 * dim > len(data):
                raise VectorsFormatError(f"{path}: the header promises {n_words} words of {dim} float32, but the "
                                         f"file ends in word {i + 1}; it is truncated or not binary (try text)")
            words.append(_word(path, data[position:space], f"word {i + 1}"))
            vectors[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
            position = space + 1 + 4 * dim
        return WordVectors(words, vectors)
    lines = data[end + 1:].splitlines()
    lines = [line for line in lines if line.strip()]
    if len(lines) != n_words:
        raise VectorsFormatError(f"{path}: the header promises {n_words} words, the file has {len(lines)} rows")
    for i, line in enumerate(lines):
        parts = line.rstrip().split(b" ")
        word = _word(path, parts[0], f"line {i + 2}")
        if len(parts) - 1 != dim:
            raise VectorsFormatError(f"{path}: line {i + 2} (word {word!r}) has {len(parts) - 1} values, the header "
                                     f"says {dim} dimensions; every row needs the same number")
        try:
            vectors[i] = np.array(parts[1:], dtype=np.float32)
        except ValueError:
            raise VectorsFormatError(f"{path}: line {i + 2} (word {word!r}) holds a value that is not a number") from None
        words.append(word)
    return WordVectors(words, vectors)
