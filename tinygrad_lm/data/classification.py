"""Labelled text for classification: the data type, a reader for users' files, a stratified split.

* `ClassificationData`: ``texts`` (list of str), ``labels`` (int64 ids, shape (N,)) and
  ``label_names`` (id -> name, a tuple of str).
* `load_labelled_file(path, text_column="text", label_column="label")` reads a CSV, TSV or
  JSONL file of (text, label) rows. The format comes from the extension (``.csv``; ``.tsv`` or
  ``.tab``; ``.jsonl`` or ``.ndjson``), else it is sniffed: a first line starting with ``{``
  means JSONL, otherwise `csv.Sniffer` picks comma or tab. CSV/TSV need a header row naming
  the two columns; fields may be quoted and hold commas, tabs, quotes ("") and newlines.
  Each JSONL line is one object; its label may be a str or an int. Texts are stripped of
  surrounding whitespace. Labels are compared as str ("1" and 1 are one class);
  ``label_names`` are sorted, numerically when every label is an integer ("-1" < "2" < "10"),
  else as str, and ids are positions in that order.
* `split_stratified(data, fractions=(0.8, 0.1, 0.1), seed=0)` returns {"train", "val",
  "test"} (or {"train", "val"} for two fractions). The rule, the same on every machine:
  one ``numpy.random.default_rng(seed)``; for each class in id order, its examples (in file
  order) are shuffled by ``rng.permutation``, and the class's n examples are cut into
  consecutive pieces whose sizes are n * fraction rounded by largest remainder (floors
  first; the leftover examples go one each to the largest fractional parts, ties to the
  earlier split), so each split holds each class within one example of its exact share.
  Then each split, classes concatenated in id order, is shuffled once by the same rng.

Bad files raise `LabelledFileError` (a `CorpusFileError`): one line naming the file, the
line and the problem, and how to fix it. Left out: the named datasets that are downloaded
(classification_datasets.py), tokenization and batching.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinygrad_lm.data.corpora import CorpusFileError, load_text_file

SPLIT_NAMES = ("train", "val", "test")
CSV_EXTENSIONS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
JSONL_EXTENSIONS = (".jsonl", ".ndjson")


class LabelledFileError(CorpusFileError):
    """A labelled data file has missing columns, an empty text or label, one class only, bad JSON..."""


@dataclass(eq=False)  # == on a NumPy field would be ambiguous; compare the fields instead
class ClassificationData:
    """Texts with one class each: ``labels[i]`` is the id of ``texts[i]``'s class.

    ``label_names[k]`` is the name of class id k; ``labels`` is int64 with shape (N,).
    """

    texts: list[str]
    labels: np.ndarray
    label_names: tuple[str, ...]

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)  # (N,)
        self.label_names = tuple(self.label_names)
        if len(self.texts) != len(self.labels):
            raise ValueError(
                f"ClassificationData: {len(self.texts)} texts but {len(self.labels)} labels; "
                "pass one label per text"
            )
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.label_names)):
            raise ValueError(
                f"ClassificationData: label ids must lie in [0, {len(self.label_names)}) for "
                f"label_names {self.label_names}, got ids {self.labels.min()}..{self.labels.max()}"
            )

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: np.ndarray) -> ClassificationData:
        """The examples at `indices`, in that order, with the same label_names."""
        return ClassificationData([self.texts[i] for i in indices], self.labels[indices], self.label_names)

    def class_counts(self) -> dict[str, int]:
        """{label name: number of examples}, in id order (classes with none included)."""
        counts = np.bincount(self.labels, minlength=len(self.label_names))
        return {name: int(count) for name, count in zip(self.label_names, counts)}


def split_sizes(n: int, fractions: tuple[float, ...]) -> list[int]:
    """`n` cut by `fractions` with largest-remainder rounding: sums to n, each within 1 of n*f.

    Floors first; the n - sum(floors) leftover items go one each to the largest fractional
    parts, ties to the earlier split. E.g. n=5326, (0.8, 0.1, 0.1) -> [4261, 533, 532].
    """
    exact = np.round(n * np.asarray(fractions, dtype=np.float64), 9)  # 9 places: no 0.29*100 -> 28.99...
    sizes = np.floor(exact).astype(np.int64)
    leftover = n - int(sizes.sum())
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[:leftover]] += 1
    return [int(size) for size in sizes]


def _check_fractions(fractions) -> tuple[float, ...]:
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) not in (2, 3) or not all(0.0 < f < 1.0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(
            f"split_stratified: fractions must be 2 (train, val) or 3 (train, val, test) numbers in "
            f"(0, 1) summing to 1, got {fractions}; e.g. (0.8, 0.1, 0.1)"
        )
    return fractions


def split_stratified(
    data: ClassificationData, fractions: tuple[float, ...] = (0.8, 0.1, 0.1), seed: int = 0
) -> dict[str, ClassificationData]:
    """{"train", "val"[, "test"]} cut per class by `fractions`; the rule is in the module docstring.

    Raises ValueError for fractions that are not 2 or 3 positive numbers summing to 1, or
    when a split would get no example at all (too little data for those fractions).
    """
    fractions = _check_fractions(fractions)
    names = SPLIT_NAMES[: len(fractions)]
    rng = np.random.default_rng(seed)
    pieces: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for class_id in range(len(data.label_names)):
        members = np.flatnonzero(data.labels == class_id)  # file order
        members = members[rng.permutation(len(members))]
        bounds = np.cumsum([0, *split_sizes(len(members), fractions)])
        for name, start, stop in zip(names, bounds[:-1], bounds[1:]):
            pieces[name].append(members[start:stop])
    splits = {}
    for name in names:
        indices = np.concatenate(pieces[name])
        if len(indices) == 0:
            raise ValueError(
                f"split_stratified: the {name!r} split of {len(data)} examples with fractions "
                f"{fractions} is empty; use more data or a larger {name} fraction"
            )
        splits[name] = data.subset(indices[rng.permutation(len(indices))])
    return splits


def _label_order(labels: list[str]) -> tuple[str, ...]:
    """The distinct labels sorted: by integer value when all are integers, else as str."""
    distinct = set(labels)
    try:
        return tuple(sorted(distinct, key=int))
    except ValueError:
        return tuple(sorted(distinct))


def _file_format(path: Path, text: str) -> str:
    """"jsonl", "," or "\\t": from the extension, else sniffed from the first lines."""
    suffix = path.suffix.lower()
    if suffix in CSV_EXTENSIONS:
        return CSV_EXTENSIONS[suffix]
    if suffix in JSONL_EXTENSIONS:
        return "jsonl"
    if text.lstrip().startswith("{"):
        return "jsonl"
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=",\t").delimiter
    except csv.Error:
        raise LabelledFileError(
            f"{path}: cannot tell whether it is CSV, TSV or JSONL; rename it with a .csv, .tsv "
            "or .jsonl extension"
        ) from None


def _read_jsonl(path: Path, text: str, text_column: str, label_column: str):
    """Yield (line number, text, label as str) for each non-blank line of a JSONL file."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise LabelledFileError(
                f"{where}: not valid JSON ({error.msg} at column {error.colno}); each line "
                "must be one JSON object such as {\"text\": \"...\", \"label\": \"positive\"}"
            ) from None
        if not isinstance(record, dict):
            raise LabelledFileError(f"{where}: a JSON {type(record).__name__}, not an object; "
                                    "each line must be one object with a text and a label")
        missing = [key for key in (text_column, label_column) if key not in record]
        if missing:
            raise LabelledFileError(
                f"{where}: no key {missing[0]!r} (keys: {', '.join(map(repr, record))}); add it, or "
                f"pass {'text' if missing[0] == text_column else 'label'}_column=NAME naming the right key"
            )
        value, label = record[text_column], record[label_column]
        if not isinstance(value, str):
            raise LabelledFileError(f"{where}: {text_column!r} is a JSON {type(value).__name__}, "
                                    "not a string; texts must be strings")
        if isinstance(label, bool) or not isinstance(label, (str, int)):
            raise LabelledFileError(f"{where}: {label_column!r} is {label!r}; a label must be a "
                                    "string or an integer")
        yield number, value, str(label)


def _read_delimited(path: Path, text: str, delimiter: str, text_column: str, label_column: str):
    """Yield (line number, text, label) for each record of a CSV/TSV file with a header row."""
    kind = "TSV" if delimiter == "\t" else "CSV"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        missing = [name for name in (text_column, label_column) if name not in header]
        if missing:
            raise LabelledFileError(
                f"{path} line 1: the {kind} header has columns {header}, no {missing[0]!r}; add a "
                f"header row naming the columns, or pass {'text' if missing[0] == text_column else 'label'}"
                "_column=NAME naming one of them"
            )
        text_at, label_at = header.index(text_column), header.index(label_column)
        start = reader.line_num + 1
        for row in reader:
            if row:  # a blank line
                if len(row) != len(header):
                    raise LabelledFileError(
                        f"{path} line {start}: {len(row)} fields, the header has {len(header)}; "
                        f"quote fields that hold the delimiter {delimiter!r} or newlines"
                    )
                yield start, row[text_at], row[label_at]
            start = reader.line_num + 1
    except csv.Error as error:
        raise LabelledFileError(
            f"{path} line {reader.line_num}: malformed {kind} ({error}); check the quotes there"
        ) from None


def load_labelled_file(
    path: str | os.PathLike[str], text_column: str = "text", label_column: str = "label"
) -> ClassificationData:
    """A CSV, TSV or JSONL file of (text, label) as `ClassificationData` (rules: module docstring).

    Raises `CorpusFileError` for a missing, non-regular, unreadable, empty or non-UTF-8
    file and `LabelledFileError` for missing columns, an empty text or label, a malformed
    row, or fewer than two classes: each a line naming the file, the line and the fix.
    """
    path = Path(path)
    text = load_text_file(path)
    delimiter = _file_format(path, text)
    rows = (_read_jsonl(path, text, text_column, label_column) if delimiter == "jsonl"
            else _read_delimited(path, text, delimiter, text_column, label_column))  # fmt: skip
    texts, labels = [], []
    for number, value, label in rows:
        value, label = value.strip(), label.strip()
        if not value:
            raise LabelledFileError(f"{path} line {number}: the text is empty; fill it in or "
                                    "remove that row")
        if not label:
            raise LabelledFileError(f"{path} line {number}: the label is empty; fill it in or "
                                    "remove that row")
        texts.append(value)
        labels.append(label)
    names = _label_order(labels)
    if len(names) < 2:
        found = f"only the label {names[0]!r}" if names else "no rows"
        raise LabelledFileError(
            f"{path}: {found} in {len(texts)} rows; a classifier needs examples of at least two "
            "classes"
        )
    ids = {name: index for index, name in enumerate(names)}
    return ClassificationData(texts, np.array([ids[label] for label in labels], dtype=np.int64), names)
