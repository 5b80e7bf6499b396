"""The SWORD zText reader on a tiny module written here, its errors, and the real KJV / RV 1909."""

import struct
import zlib

import pytest

from tinygrad_lm.data.corpora import (
    ChecksumMismatchError,
    CorpusError,
    CorpusUnavailableError,
)
from tinygrad_lm.data.sword import (
    BOOKS,
    KJV_VERSIFICATION,
    SOURCES,
    SwordFormatError,
    UnknownBibleError,
    fetch_module,
    load_bible,
    read_ztext,
    strip_osis,
)

# Two books of the "Old Testament" (Gen: chapters of 2 and 1 verses; Ruth: 1) and one of the New.
TINY = (("Gen", (2, 1)), ("Ruth", (1,)), ("Matt", (2,)))
TINY_TEXT = {
    ("Gen", 1, 1): '<w lemma="strong:H7225">In the beginning</w> God.',
    ("Gen", 1, 2): "",  # a verse the module lacks
    ("Gen", 2, 1): 'Thus <transChange type="added">the</transChange> heavens<note>or, skies</note>.',
    ("Ruth", 1, 1): "Now it came to pass &amp; so on.",
    ("Matt", 1, 1): "<title>HEADING</title>The book ¶ of the generation.",
    ("Matt", 1, 2): '<title canonical="true" type="psalm">A Psalm.</title> Abraham \\nd begat Isaac.',
}


def write_ztext(folder, versification, texts, old_testament_books):
    """Write a zText module: one zlib block per book, a heading entry per book and chapter."""
    halves = (versification[:old_testament_books], versification[old_testament_books:])
    for testament, books in zip(("ot", "nt"), halves):
        if not books:
            continue
        heading = b"<milestone/>"
        blocks, index = [heading], [(0, 0, 0), (0, 0, len(heading))]
        for book, chapters in books:
            block = bytearray(b"<div type='book'/>")
            index.append((len(blocks), 0, len(block)))
            for chapter, count in enumerate(chapters, start=1):
                index.append((len(blocks), len(block), 0))
                for verse in range(1, count + 1):
                    raw = texts[(book, chapter, verse)].encode("utf-8")
                    index.append((len(blocks), len(block), len(raw)))
                    block += raw
            blocks.append(bytes(block))
        compressed = [zlib.compress(block) for block in blocks]
        offsets = [sum(len(c) for c in compressed[:i]) for i in range(len(compressed))]
        (folder / f"{testament}.bzz").write_bytes(b"".join(compressed))
        (folder / f"{testament}.bzs").write_bytes(b"".join(
            struct.pack("<III", o, len(c), len(b)) for o, c, b in zip(offsets, compressed, blocks)))
        (folder / f"{testament}.bzv").write_bytes(b"".join(struct.pack("<IIH", *entry) for entry in index))


@pytest.fixture
def tiny_module(tmp_path):
    write_ztext(tmp_path, TINY, TINY_TEXT, old_testament_books=2)
    return tmp_path


def test_reader_returns_every_verse_in_order_with_markup_stripped(tiny_module):
    verses = read_ztext(tiny_module, TINY, old_testament_books=2)
    assert verses == {
        ("Gen", 1, 1): "In the beginning God.",
        ("Gen", 1, 2): "",
        ("Gen", 2, 1): "Thus the heavens.",
        ("Ruth", 1, 1): "Now it came to pass & so on.",
        ("Matt", 1, 1): "The book of the generation.",
        ("Matt", 1, 2): "A Psalm. Abraham begat Isaac.",
    }
    assert list(verses) == list(TINY_TEXT)


@pytest.mark.parametrize("fragment, expected", [
    ("a<note placement='foot'>x <reference>1.2</reference> y</note>b", "ab"),
    ("<title><foreign>א ALEPH.</foreign></title> Blessed", "Blessed"),
    ('<title canonical="true" type="psalm">To the chief</title>Hear', "To the chief Hear"),
    ("<w>earth</w>.  \n <divineName>Lord</divineName>", "earth. Lord"),
    ("by my name \\nd JEHOVAH, the \\+nd LORD\\+nd*", "by my name JEHOVAH, the LORD"),
    ("¶ For &lt;God&gt;", "For <God>"),
    ('<w>llamado</w><transChange type="added">á ser</transChange><w>apóstol</w>', "llamado á ser apóstol"),
    ('<w>shall be give</w>n. <transChange type="added">was</transChange>, ok', "shall be given. was, ok"),
])
def test_markup_rule(fragment, expected):
    assert strip_osis(fragment) == expected


def test_the_kjv_versification_has_the_known_sizes():
    assert len(BOOKS) == 66 and BOOKS[0] == "Gen" and BOOKS[38] == "Mal" and BOOKS[-1] == "Rev"
    assert sum(len(chapters) for _, chapters in KJV_VERSIFICATION) == 1189
    assert sum(sum(chapters) for _, chapters in KJV_VERSIFICATION) == 31102


def test_a_truncated_verse_index_is_named(tiny_module):
    path = tiny_module / "ot.bzv"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(SwordFormatError, match=r"ot\.bzv has 10 entries, the versification expects 11"):
        read_ztext(tiny_module, TINY, old_testament_books=2)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(SwordFormatError, match=r"not a whole number of 10-byte entries"):
        read_ztext(tiny_module, TINY, old_testament_books=2)


def test_a_corrupt_block_is_named(tiny_module):
    path = tiny_module / "nt.bzz"
    data = bytearray(path.read_bytes())
    data[-8:] = b"\xff" * 8
    path.write_bytes(bytes(data))
    with pytest.raises(SwordFormatError, match=r"nt\.bzz: block 1 is not a valid zlib stream"):
        read_ztext(tiny_module, TINY, old_testament_books=2)
    path.write_bytes(bytes(data[:5]))
    with pytest.raises(SwordFormatError, match=r"nt\.bzz: block 0 ends at byte \d+, past the file's 5 bytes"):
        read_ztext(tiny_module, TINY, old_testament_books=2)


def test_a_verse_pointing_outside_its_block_is_named(tiny_module):
    path = tiny_module / "nt.bzv"
    data = bytearray(path.read_bytes())
    data[-10:] = struct.pack("<IIH", 1, 10_000, 5)
    path.write_bytes(bytes(data))
    with pytest.raises(SwordFormatError, match=r"Matt 1:2 points at bytes 10000\.\.10005 of block 1"):
        read_ztext(tiny_module, TINY, old_testament_books=2)


def test_a_missing_file_is_named(tiny_module):
    (tiny_module / "ot.bzs").unlink()
    with pytest.raises(SwordFormatError, match=r"cannot read ot\.bzs"):
        read_ztext(tiny_module, TINY, old_testament_books=2)


def test_an_unknown_bible_is_refused():
    with pytest.raises(UnknownBibleError, match="unknown Bible 'vulgate'; known ones are kjv, rv1909"):
        load_bible("vulgate")


def test_missing_apt_get_gives_one_line_with_the_offline_route(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_LM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get, no dpkg-deb
    with pytest.raises(CorpusUnavailableError) as caught:
        fetch_module("kjv")
    message = str(caught.value)
    assert "cannot run 'apt-get'" in message and "downloads" in message and "\n" not in message


def test_a_corrupt_deb_put_by_hand_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_LM_CACHE", str(tmp_path))
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / SOURCES["kjv"].deb_name).write_bytes(b"!<arch>\nnot a package")
    with pytest.raises(CorpusError, match="corrupt|cannot run"):
        fetch_module("kjv")
    assert not (tmp_path / "sword" / "engKJV2006eb").exists()


@pytest.fixture(scope="module")
def real_bibles():
    try:
        return load_bible("kjv"), load_bible("rv1909")
    except (CorpusUnavailableError, ChecksumMismatchError) as reason:  # no apt, or another distribution's release
        pytest.skip(f"the SWORD modules cannot be fetched here: {reason}")


def test_the_real_modules_read_as_expected(real_bibles):
    kjv, rv = real_bibles
    assert len(kjv) == len(rv) == 31102 and list(kjv) == list(rv)
    assert kjv[("Gen", 1, 1)] == "In the beginning God created the heaven and the earth."
    assert rv[("John", 3, 16)].startswith("Porque de tal manera amó Dios al mundo")
    assert sum(not text for text in kjv.values()) == 0
    assert sum(not text for text in rv.values()) == 18  # verses RV 1909 numbers elsewhere
    assert not any("<" in text or "\\" in text or "¶" in text for text in [*kjv.values(), *rv.values()])
