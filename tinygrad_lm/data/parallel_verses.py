"""English-Spanish verse pairs from the KJV and the Reina-Valera 1909, split by book.

Both SWORD modules (sword.py) use the KJV versification, so a verse reference names the same
verse in both. Use::

    splits = load_parallel_verses()          # {"train": [...], "validation": [...], "test": [...]}
    splits["test"][0]                        # VersePair(ref=("Ruth", 1, 1), source="Now it came
                                             #   to pass ...", target="Y aconteció en los días ...")
    parallel_stats(splits)                   # pairs, books, words and mean lengths per split

**Alignment** (`align_verses`), rules applied in this order:

1. A chapter is dropped whole if either side has an empty verse in it, and so is the next
   chapter of that book: RV 1909 numbers some verses elsewhere (Job 38:39-41 are its 39:1-3,
   Jonah 1:17 is its 2:1), leaves the KJV number empty and shifts the following chapter.
2. A chapter is dropped whole if two or more of its verses have a length ratio
   ``len(target) / len(source)`` (characters) outside [0.5, 2.0]: a sign of verses shifted
   within the chapter (1 Kings 22:43-53). The median ratio is 0.92; 1 in 500 verses is outside.
3. A single verse whose ratio is outside that band is dropped alone.

On the real modules this keeps 30,310 of 31,102 verses (586 dropped by rule 1, 190 by rule 2,
16 by rule 3; the `stats` of `align_verses` count them).

**Small capitals.** RV 1909 prints the first word of each chapter in capitals ("EN el
principio", "Y HABLÓ Jehová"). In the first verse of a chapter, the first all-capital word
of two or more letters (after opening punctuation and an optional one-letter word) gets
the casing it has most often elsewhere in the same module (habló, Jehová, Pablo), with a
capital first letter when it starts the verse. Nothing else about the text is changed.

**Split by book** (fixed; no verse of a held-out book is ever trained on): test = Ruth,
Esther, Jonah, Acts, James, Jude (narrative, letters: 1,334 pairs);
validation = Joel, Nahum, Titus, 1 Peter (270 pairs); every other book trains (28,706 pairs).
Synoptic parallels and quotations mean a held-out verse can still resemble a training verse
(Acts quotes the Psalms); no attempt is made to remove that.

Left out: sentence splitting inside verses, other language pairs, filtering by content.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from tinygrad_lm.data.sword import BOOKS, load_bible

TEST_BOOKS = ("Ruth", "Esth", "Jonah", "Acts", "Jas", "Jude")
VALIDATION_BOOKS = ("Joel", "Nah", "Titus", "1Pet")
SPLITS = ("train", "validation", "test")
RATIO_BAND = (0.5, 2.0)

_LEADING_CAPITALS = re.compile(r"^(\W*(?:\w\W+)?)(\w{2,})")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class VersePair:
    """One aligned verse: its reference ``(book, chapter, verse)``, source and target text."""

    ref: tuple[str, int, int]
    source: str
    target: str


def restore_small_capitals(verses: dict[tuple[str, int, int], str]) -> dict[tuple[str, int, int], str]:
    """The verses with each chapter's capitalised first word re-cased (rule in the module docstring)."""
    counts = Counter(_WORD.findall(" ".join(verses.values())))
    restored = dict(verses)
    for ref, text in verses.items():
        match = _LEADING_CAPITALS.match(text) if ref[2] == 1 else None
        if match is None or not match.group(2).isupper():
            continue
        word = match.group(2)
        lower, title = word.lower(), word[0] + word[1:].lower()
        starts_verse = not any(char.isalnum() for char in match.group(1))
        cased = title if counts[title] > counts[lower] or starts_verse else lower
        restored[ref] = match.group(1) + cased + text[match.end():]
    return restored


def _ratio_ok(source: str, target: str) -> bool:
    low, high = RATIO_BAND
    return low <= len(target) / len(source) <= high


def align_verses(source: dict, target: dict) -> tuple[list[VersePair], dict[str, int]]:
    """Pairs of the verses both dicts hold, by the rules in the module docstring, in `source` order.

    Returns ``(pairs, stats)``; stats counts ``verses`` (references in both), ``kept``,
    ``empty_chapters`` (verses dropped by rule 1), ``shifted_chapters`` (rule 2) and
    ``ratio`` (rule 3).
    """
    refs = [ref for ref in source if ref in target]
    chapters: dict[tuple[str, int], list] = {}
    for ref in refs:
        chapters.setdefault(ref[:2], []).append(ref)
    empty = {key for key, members in chapters.items()
             if any(not source[r].strip() or not target[r].strip() for r in members)}
    dropped_empty = empty | {(book, chapter + 1) for book, chapter in empty}
    shifted = {key for key, members in chapters.items() if key not in dropped_empty
               and sum(not _ratio_ok(source[r], target[r]) for r in members) >= 2}
    stats = {"verses": len(refs), "kept": 0, "empty_chapters": 0, "shifted_chapters": 0, "ratio": 0}
    pairs = []
    for ref in refs:
        if ref[:2] in dropped_empty:
            stats["empty_chapters"] += 1
        elif ref[:2] in shifted:
            stats["shifted_chapters"] += 1
        elif not _ratio_ok(source[ref], target[ref]):
            stats["ratio"] += 1
        else:
            pairs.append(VersePair(ref, source[ref], target[ref]))
    stats["kept"] = len(pairs)
    return pairs, stats


def split_by_book(pairs, test_books=TEST_BOOKS, validation_books=VALIDATION_BOOKS) -> dict[str, list[VersePair]]:
    """``{"train", "validation", "test"}`` lists of pairs, by the book of each reference.

    Raises ValueError for an unknown book name or a book named in both held-out lists.
    """
    for name in (*test_books, *validation_books):
        if name not in BOOKS:
            raise ValueError(f"split_by_book: unknown book {name!r}; books use OSIS names such as {BOOKS[:4]}")
    overlap = set(test_books) & set(validation_books)
    if overlap:
        raise ValueError(f"split_by_book: {sorted(overlap)} named as both test and validation books")
    splits: dict[str, list[VersePair]] = {name: [] for name in SPLITS}
    for pair in pairs:
        book = pair.ref[0]
        split = "test" if book in test_books else "validation" if book in validation_books else "train"
        splits[split].append(pair)
    return splits


def load_parallel_verses(source: str = "kjv", target: str = "rv1909") -> dict[str, list[VersePair]]:
    """The aligned pairs of two Bibles (sword.py names), split by book (`TEST_BOOKS`, `VALIDATION_BOOKS`).

    RV 1909's small capitals are re-cased (`restore_small_capitals`) on whichever side it is.
    """
    sides = [load_bible(name) for name in (source, target)]
    sides = [restore_small_capitals(v) if name == "rv1909" else v for name, v in zip((source, target), sides)]
    pairs, _ = align_verses(*sides)
    return split_by_book(pairs)


def parallel_stats(splits: dict[str, list[VersePair]]) -> dict[str, dict[str, float]]:
    """Per split: pairs, books, source/target words (whitespace-separated) and their means per pair."""
    stats = {}
    for name, pairs in splits.items():
        source_words = sum(len(p.source.split()) for p in pairs)
        target_words = sum(len(p.target.split()) for p in pairs)
        stats[name] = {"pairs": len(pairs), "books": len({p.ref[0] for p in pairs}),
                       "source_words": source_words, "target_words": target_words,
                       "mean_source_words": source_words / max(1, len(pairs)),
                       "mean_target_words": target_words / max(1, len(pairs))}
    return stats
