"""Aligning verse pairs (empty and shifted chapters, length ratios), small capitals, the book split."""

import pytest

from tinygrad_lm.data.corpora import ChecksumMismatchError, CorpusUnavailableError
from tinygrad_lm.data.parallel_verses import (
    TEST_BOOKS,
    VALIDATION_BOOKS,
    VersePair,
    align_verses,
    load_parallel_verses,
    parallel_stats,
    restore_small_capitals,
    split_by_book,
)

SOURCE = {
    ("Gen", 1, 1): "In the beginning.", ("Gen", 1, 2): "And the earth.",
    ("Gen", 2, 1): "Thus the heavens.", ("Gen", 3, 1): "Now the serpent.",
    ("Num", 1, 1): "And the LORD spake.", ("Num", 1, 2): "Take ye the sum.", ("Num", 1, 3): "From twenty years.",
    ("Num", 2, 1): "And the LORD spake unto Moses and unto Aaron.", ("Num", 2, 2): "Every man.",
    ("Ruth", 1, 1): "Now it came to pass.", ("Joel", 1, 1): "The word of the LORD.",
}
TARGET = {
    ("Gen", 1, 1): "En el principio.", ("Gen", 1, 2): "",  # empty: Gen 1 and Gen 2 go
    ("Gen", 2, 1): "Y fueron acabados.", ("Gen", 3, 1): "Empero la serpiente.",
    ("Num", 1, 1): "Y habló Jehová.", ("Num", 1, 2): "Tomad.", ("Num", 1, 3): "De edad de veinte años arriba, todos.",
    ("Num", 2, 1): "Y habló.", ("Num", 2, 2): "Cada uno.",  # one ratio outlier: that verse goes
    ("Ruth", 1, 1): "Y aconteció.", ("Joel", 1, 1): "Palabra de Jehová.",
}


def test_alignment_rules_and_their_counts():
    pairs, stats = align_verses(SOURCE, TARGET)
    assert [p.ref for p in pairs] == [("Gen", 3, 1), ("Num", 2, 2), ("Ruth", 1, 1), ("Joel", 1, 1)]
    assert pairs[0] == VersePair(("Gen", 3, 1), "Now the serpent.", "Empero la serpiente.")
    # Num 1 has two verses outside [0.5, 2.0] (Tomad. 0.35, De edad ... 2.0+): shifted, dropped whole
    assert stats == {"verses": 11, "kept": 4, "empty_chapters": 3, "shifted_chapters": 3, "ratio": 1}


def test_only_references_in_both_are_paired():
    pairs, stats = align_verses(SOURCE, {("Ruth", 1, 1): "Y aconteció."})
    assert [p.ref for p in pairs] == [("Ruth", 1, 1)] and stats["verses"] == 1


def test_small_capitals_take_their_most_common_casing():
    verses = {("Gen", 1, 1): "EN el principio.", ("Num", 1, 1): "Y HABLÓ Jehová.",
              ("Num", 2, 1): "Y JEHOVÁ habló.", ("Num", 2, 2): "Jehová, Jehová, y habló.",
              ("Rom", 1, 1): "PABLO, siervo.", ("Rom", 1, 2): "Pablo.", ("Ps", 3, 1): "¡OH Jehová!",
              ("Ps", 3, 2): "MUCHOS dicen."}  # not a first verse: left alone
    assert restore_small_capitals(verses) == {
        ("Gen", 1, 1): "En el principio.", ("Num", 1, 1): "Y habló Jehová.",
        ("Num", 2, 1): "Y Jehová habló.", ("Num", 2, 2): "Jehová, Jehová, y habló.",
        ("Rom", 1, 1): "Pablo, siervo.", ("Rom", 1, 2): "Pablo.", ("Ps", 3, 1): "¡Oh Jehová!",
        ("Ps", 3, 2): "MUCHOS dicen."}


def test_split_by_book_and_stats():
    pairs, _ = align_verses(SOURCE, TARGET)
    splits = split_by_book(pairs)
    assert {name: [p.ref[0] for p in ps] for name, ps in splits.items()} == {
        "train": ["Gen", "Num"], "validation": ["Joel"], "test": ["Ruth"]}
    stats = parallel_stats(splits)
    assert stats["train"] == {"pairs": 2, "books": 2, "source_words": 5, "target_words": 5,
                              "mean_source_words": 2.5, "mean_target_words": 2.5}


@pytest.mark.parametrize("test_books, validation_books, message", [
    (("Ruth", "Tobit"), (), "unknown book 'Tobit'"),
    (("Ruth",), ("Ruth",), r"\['Ruth'\] named as both test and validation books"),
])
def test_split_by_book_refuses_bad_book_lists(test_books, validation_books, message):
    with pytest.raises(ValueError, match=message):
        split_by_book([], test_books, validation_books)


def test_the_real_split():
    try:
        splits = load_parallel_verses()
    except (CorpusUnavailableError, ChecksumMismatchError) as reason:
        pytest.skip(f"the SWORD modules cannot be fetched here: {reason}")
    sizes = {name: len(pairs) for name, pairs in splits.items()}
    assert sizes == {"train": 28706, "validation": 270, "test": 1334}
    books = {name: {p.ref[0] for p in pairs} for name, pairs in splits.items()}
    assert books["test"] == set(TEST_BOOKS) and books["validation"] == set(VALIDATION_BOOKS)
    assert not books["train"] & (books["test"] | books["validation"])
    assert splits["test"][0].target.startswith("Y aconteció en los días que gobernaban los jueces")
