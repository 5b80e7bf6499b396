"""The Bible in SWORD zText format: fetched from Debian, checked, cached, read verse by verse.

Two modules, both public domain, both in the KJV versification (so verse i of one is verse i of
the other): ``kjv`` (King James Version 1769, Debian package ``sword-text-kjv``, module
``engKJV2006eb``) and ``rv1909`` (Reina-Valera 1909, package ``sword-text-sparv``, module
``spaRV1909eb``). Use::

    verses = load_bible("kjv")          # {("Gen", 1, 1): "In the beginning God created ...", ...}
    BOOKS                               # the 66 OSIS book names in canonical order

**Fetching.** ``apt-get download PACKAGE`` into a temporary folder (it needs no root and
installs nothing; a ``.deb`` put by hand in ``<cache>/downloads/`` is used instead, the offline
route), then ``dpkg-deb -x`` into a temporary folder. The ``.deb``'s sha256 is checked against
Debian 12's build (`SOURCES`); a rebuild with other bytes (Ubuntu repacks the same module) is
accepted only if every extracted module file has the sha256 recorded here, so the text read
is always the same. The module files are then copied to ``<cache>/sword/MODULE/`` with a
``manifest.json``; later calls check them against `SOURCES` and read the cache. Needs
``apt-get`` and ``dpkg-deb`` (Debian, Ubuntu); elsewhere, put the two ``.deb`` files in
``<cache>/downloads/`` and install ``dpkg`` (Homebrew has it).

**zText, from the format.** Each testament (``ot``, ``nt``) has three files:

* ``.bzs``, the block index: 12-byte entries ``<uint32 offset, uint32 size, uint32
  uncompressed size>`` (little-endian) locating zlib streams in ``.bzz``;
* ``.bzv``, the verse index: 10-byte entries ``<uint32 block, uint32 offset, uint16 size>``,
  the verse's bytes inside the decompressed block; size 0 means no text;
* ``.bzz``, the zlib-compressed blocks (one per book here: ``BlockType=BOOK``).

The verse index walks the versification: entry 0 the module heading, 1 the testament heading,
then per book one book-heading entry and per chapter one chapter-heading entry followed by
its verses. For KJV that is 2 + 39 + 929 + 23,145 = 24,115 entries for the Old Testament and
2 + 27 + 260 + 7,957 = 8,246 for the New. Headings are skipped; verses are returned.

**Markup to plain text** (the modules are OSIS XML fragments), applied in order: the content
of ``<note>`` (footnotes, cross references) is dropped; the content of a ``<title>`` that is
not ``canonical="true"`` (editorial headings such as Psalm 119's "ALEPH.") is dropped, a
canonical one (a Psalm's superscription) is kept as text; every other tag is removed and its
content kept (Strong's ``<w>``, the translators' ``<transChange>`` additions, ``<divineName>``,
...), except that a ``<transChange>`` tag with letters on both sides becomes a space (RV 1909
writes "llamado<transChange>á ser</transChange>apóstol" 588 times; a ``<w>`` tag inside a word,
as in the KJV's "give</w>n", joins); XML entities are unescaped; USFM markers that the
KJV's converter left in the text (``\\nd``, ``\\+nd*``, 27 of them) and the KJV's paragraph
sign "¶" are dropped; whitespace runs become one space, stripped at both ends.

Left out: other SWORD drivers (rawText, zCom), other versifications (pass your own to
`read_ztext`), compression other than zlib, ciphered modules, pairing verses across
languages (parallel_verses.py).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tinygrad_lm.data.corpora import (
    ChecksumMismatchError,
    CorpusError,
    CorpusUnavailableError,
    cache_dir,
    sha256_bytes,
    write_atomically,
)

# Chapters of each book, as verse counts, in SWORD's KJV versification (sword/canon.h);
# the first 39 books are the Old Testament. A line starting with spaces continues a book.
_KJV_TABLE = """
Gen 31 25 24 26 32 22 24 22 29 32 32 20 18 24 21 16 27 33 38 18 34 24 20 67 34 35 46 22 35 43 55
   32 20 31 29 43 36 30 23 23 57 38 34 34 28 34 31 22 33 26
Exod 22 25 22 31 23 30 25 32 35 29 10 51 22 31 27 36 16 27 25 26 36 31 33 18 40 37 21 43 46 38
   18 35 23 35 35 38 29 31 43 38
Lev 17 16 17 35 19 30 38 36 24 20 47 8 59 57 33 34 16 30 37 27 24 33 44 23 55 46 34
Num 54 34 51 49 31 27 89 26 23 36 35 16 33 45 41 50 13 32 22 29 35 41 30 25 18 65 23 31 40 16 54
   42 56 29 34 13
Deut 46 37 29 49 33 25 26 20 29 22 32 32 18 29 23 22 20 22 21 20 23 30 25 22 19 19 26 68 29 20
   30 52 29 12
Josh 18 24 17 24 15 27 26 35 27 43 23 24 33 15 63 10 18 28 51 9 45 34 16 33
Judg 36 23 31 24 31 40 25 35 57 18 40 15 25 20 20 31 13 31 30 48 25
Ruth 22 23 18 22
1Sam 28 36 21 22 12 21 17 22 27 27 15 25 23 52 35 23 58 30 24 42 15 23 29 22 44 25 12 25 11 31
   13
2Sam 27 32 39 12 25 23 29 18 13 19 27 31 39 33 37 23 29 33 43 26 22 51 39 25
1Kgs 53 46 28 34 18 38 51 66 28 29 43 33 34 31 34 34 24 46 21 43 29 53
2Kgs 18 25 27 44 27 33 20 29 37 36 21 21 25 29 38 20 41 37 37 21 26 20 37 20 30
1Chr 54 55 24 43 26 81 40 40 44 14 47 40 14 17 29 43 27 17 19 8 30 19 32 31 31 32 34 21 30
2Chr 17 18 17 22 14 42 22 18 31 19 23 16 22 15 19 14 19 34 11 37 20 12 21 27 28 23 9 27 36 27 21
   33 25 33 27 23
Ezra 11 70 13 24 17 22 28 36 15 44
Neh 11 20 32 23 19 19 73 18 38 39 36 47 31
Esth 22 23 15 17 14 14 10 17 32 3
Job 22 13 26 21 27 30 21 22 35 22 20 25 28 22 35 22 16 21 29 29 34 30 17 25 6 14 23 28 25 31 40
   22 33 37 16 33 24 41 30 24 34 17
Ps 6 12 8 8 12 10 17 9 20 18 7 8 6 7 5 11 15 50 14 9 13 31 6 10 22 12 14 9 11 12 24 11 22 22 28
   12 40 22 13 17 13 11 5 26 17 11 9 14 20 23 19 9 6 7 23 13 11 11 17 12 8 12 11 10 13 20 7 35
   36 5 24 20 28 23 10 12 20 72 13 19 16 8 18 12 13 17 7 18 52 17 16 15 5 23 11 13 12 9 9 5 8 28
   22 35 45 48 43 13 31 7 10 10 9 8 18 19 2 29 176 7 8 9 4 8 5 6 5 6 8 8 3 18 3 3 21 26 9 8 24
   13 10 7 12 15 21 10 20 14 9 6
Prov 33 22 35 27 23 35 27 36 18 32 31 28 25 35 33 33 28 24 29 30 31 29 35 34 28 28 27 28 27 33
   31
Eccl 18 26 22 16 20 12 29 17 18 20 10 14
Song 17 17 11 16 16 13 13 14
Isa 31 22 26 6 30 13 25 22 21 34 16 6 22 32 9 14 14 7 25 6 17 25 18 23 12 21 13 29 24 33 9 20 24
   17 10 22 38 22 8 31 29 25 28 28 25 13 15 22 26 11 23 15 12 17 13 12 21 14 21 22 11 12 19 12
   25 24
Jer 19 37 25 31 31 30 34 22 26 25 23 17 27 22 21 21 27 23 15 18 14 30 40 10 38 24 22 17 32 24 40
   44 26 22 19 32 21 28 18 16 18 22 13 30 5 28 7 47 39 46 64 34
Lam 22 22 66 22 22
Ezek 28 10 27 17 17 14 27 18 11 22 25 28 23 23 8 63 24 32 14 49 32 31 49 27 17 21 36 26 21 26 18
   32 33 31 15 38 28 23 29 49 26 20 27 31 25 24 23 35
Dan 21 49 30 37 31 28 28 27 27 21 45 13
Hos 11 23 5 19 15 11 16 14 17 15 12 14 16 9
Joel 20 32 21
Amos 15 16 15 13 27 14 17 14 15
Obad 21
Jonah 17 10 10 11
Mic 16 13 12 13 15 16 20
Nah 15 13 19
Hab 17 20 19
Zeph 18 15 20
Hag 15 23
Zech 21 13 10 14 11 15 14 23 17 12 17 14 9 21
Mal 14 17 18 6
Matt 25 23 17 25 48 34 29 34 38 42 30 50 58 36 39 28 27 35 30 34 46 46 39 51 46 75 66 20
Mark 45 28 35 41 43 56 37 38 50 52 33 44 37 72 47 20
Luke 80 52 38 44 39 49 50 56 62 42 54 59 35 35 32 31 37 43 48 47 38 71 56 53
John 51 25 36 54 47 71 53 59 41 42 57 50 38 31 27 33 26 40 42 31 25
Acts 26 47 26 37 42 15 60 40 43 48 30 25 52 28 41 40 34 28 41 38 40 30 35 27 27 32 44 31
Rom 32 29 31 25 21 23 25 39 33 21 36 21 14 23 33 27
1Cor 31 16 23 21 13 20 40 13 27 33 34 31 13 40 58 24
2Cor 24 17 18 18 21 18 16 24 15 18 33 21 14
Gal 24 21 29 31 26 18
Eph 23 22 21 32 33 24
Phil 30 30 21 23
Col 29 23 25 18
1Thess 10 20 13 18 28
2Thess 12 17 18
1Tim 20 15 16 16 25 21
2Tim 18 26 17 22
Titus 16 15 15
Phlm 25
Heb 14 18 19 16 14 20 28 13 28 39 40 29 25
Jas 27 26 18 17 20
1Pet 25 25 22 19 14
2Pet 21 22 18
1John 10 29 24 21 21
2John 13
3John 14
Jude 25
Rev 20 29 22 11 14 17 17 13 21 11 19 17 18 20 8 21 18 24 21 15 27 21
"""
OLD_TESTAMENT_BOOKS = 39
TESTAMENTS = ("ot", "nt")
MANIFEST_FILE = "manifest.json"
APT_TIMEOUT_SECONDS = 300


def _parse_table(table: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    books: list[tuple[str, list[int]]] = []
    for line in table.strip().splitlines():
        words = line.split()
        if line.startswith(" "):
            books[-1][1].extend(int(w) for w in words)
        else:
            books.append((words[0], [int(w) for w in words[1:]]))
    return tuple((name, tuple(chapters)) for name, chapters in books)


KJV_VERSIFICATION = _parse_table(_KJV_TABLE)  # ((book, (verses of chapter 1, ...)), ...) x 66
BOOKS = tuple(name for name, _ in KJV_VERSIFICATION)


class SwordFormatError(CorpusError):
    """A zText module's files are missing, truncated or inconsistent with the versification."""


@dataclass(frozen=True)
class SwordSource:
    """A SWORD module carried by a Debian package: what to download and what must come out of it.

    `package` is the apt name, `deb_sha256` the sha256 of Debian 12's ``.deb`` (file name
    `deb_name`), `module` the folder under ``usr/share/sword/modules/texts/ztext/``, and
    `files` the sha256 of each module file (``ot.bzs`` ... ``nt.bzz``), checked after extraction.
    """

    package: str
    deb_name: str
    deb_sha256: str
    module: str
    files: dict[str, str]


SOURCES: dict[str, SwordSource] = {
    "kjv": SwordSource("sword-text-kjv", "sword-text-kjv_14.3-1_all.deb",
                       "9f463f28ce665f6f528fc723179722bced880a4c5485f7a41bf742838315de57", "engKJV2006eb", {
        "ot.bzs": "0d518856e8c6ceae0ca58bef944ba9a2809b5d4489cf81900853ad4af227510b",
        "ot.bzv": "b4fae54cb0b979b7f3f78fe6eaa94bad1f1d408eccb4a40410402b794b5c2f0f",
        "ot.bzz": "69f7e4e9b42ecef2e212ea957a388fccbeed1e3e333a38cf52e1b4064c6ce373",
        "nt.bzs": "e7f9bc653743217cdcdf95890a708f997a03af056161d84bb540efef79e4e638",
        "nt.bzv": "9d1daab8fb6ef43b53642cdd3276c1fa95ecfde08901bbb349be6378d1e1b972",
        "nt.bzz": "135b6e70af49372f3a82c5d9cc3c00278f38dbb2c12af74ea8d4b54c18d0cd56"}),
    "rv1909": SwordSource("sword-text-sparv", "sword-text-sparv_2.60-1_all.deb",
                          "5c87f9b2bc97457e8a872f5bae7ea7ce59cb3de1dcee73e4d4740451863694cf", "spaRV1909eb", {
        "ot.bzs": "0e39106ae15a29cef56feac683f8482be380536a1c456e006867f9fa94c0338e",
        "ot.bzv": "0f23b1ebff5ecdd352a64feda5bb047cba27ce3624fa7b00717f763835d96e20",
        "ot.bzz": "daae868e179e6cc884ad2c9429a9dfaf9745d61caa6dbb9da2a8b24ec3c01337",
        "nt.bzs": "b88dda1e9ab50d158262ab141af7823269acb19c581621683298be5b6e154d58",
        "nt.bzv": "a9583ba1b4c66dfdd8bfb6a0b1833bdaa02f9e2cc3465c5a802cf19cbc2f2533",
        "nt.bzz": "7baf6b1e798b193315fed89d0e84e8e1a033d035316f66c78d456f5fb8c87e20"}),
}  # fmt: skip


class UnknownBibleError(CorpusError, ValueError):
    """`load_bible` got a name that is not in `SOURCES`."""


_NOTE = re.compile(r"<note\b[^>]*>.*?</note>", re.S)
_TITLE = re.compile(r"<title\b([^>]*)>(.*?)</title>", re.S)
_TAG = re.compile(r"<[^>]*>")
_TRANS_CHANGE = re.compile(r"</?transChange\b[^>]*>")
_GLUED = re.compile(r"(?<=\w)\0+(?=\w)")
_USFM = re.compile(r"\\\+?[a-z]+\*?")  # a USFM marker the KJV's converter left behind: \nd, \+nd*
_SPACES = re.compile(r"\s+")


def strip_osis(fragment: str) -> str:
    """Plain text of one verse's OSIS markup, by the rule in the module docstring.

    >>> strip_osis('<w lemma="strong:H0430">God</w> <transChange type="added">was</transChange> '
    ...            'good<note placement="foot">or, fair</note>.')
    'God was good.'
    """
    text = _NOTE.sub("", fragment)
    text = _TITLE.sub(lambda m: f" {m.group(2)} " if 'canonical="true"' in m.group(1) else " ", text)
    text = _TAG.sub("", _TRANS_CHANGE.sub("\0", text))  # "\0" marks where a <transChange> tag was
    text = _GLUED.sub(" ", text).replace("\0", "")
    text = _USFM.sub("", html.unescape(text)).replace("\N{PILCROW SIGN}", "")
    return _SPACES.sub(" ", text).strip()


def _records(folder: Path, file_name: str, layout: str) -> list[tuple[int, ...]]:
    """The fixed-size little-endian records of an index file, e.g. ``<III`` for ``.bzs``."""
    path = folder / file_name
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SwordFormatError(f"zText module {folder}: cannot read {file_name} ({error.strerror or error})") from None
    size = struct.calcsize(layout)
    if len(data) % size:
        raise SwordFormatError(f"zText index {path} is {len(data)} bytes, not a whole number of "
                               f"{size}-byte entries: truncated or not a zText file")
    return list(struct.iter_unpack(layout, data))


def _blocks(folder: Path, testament: str) -> list[bytes]:
    """Every block of ``TESTAMENT.bzz``, decompressed and checked against ``.bzs``."""
    path = folder / f"{testament}.bzz"
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SwordFormatError(f"zText module {folder}: cannot read {path.name} ({error.strerror or error})") from None
    blocks = []
    for number, (offset, size, expected) in enumerate(_records(folder, f"{testament}.bzs", "<III")):
        if offset + size > len(data):
            raise SwordFormatError(f"{path}: block {number} ends at byte {offset + size}, past the file's "
                                   f"{len(data)} bytes: truncated")
        try:
            block = zlib.decompress(data[offset:offset + size])
        except zlib.error as error:
            raise SwordFormatError(f"{path}: block {number} is not a valid zlib stream ({error}): corrupt") from None
        if len(block) != expected:
            raise SwordFormatError(f"{path}: block {number} decompresses to {len(block)} bytes, the block "
                                   f"index says {expected}: corrupt")
        blocks.append(block)
    return blocks


def _read_testament(folder: Path, testament: str, books) -> dict[tuple[str, int, int], str]:
    """The verses of one testament's ``books`` (``((name, verse counts), ...)``), markup stripped."""
    index = _records(folder, f"{testament}.bzv", "<IIH")  # (block, offset, size) per entry
    expected = 2 + sum(1 + len(chapters) + sum(chapters) for _, chapters in books)
    if len(index) != expected:
        raise SwordFormatError(f"{folder / (testament + '.bzv')} has {len(index)} entries, the versification "
                               f"expects {expected}: truncated, or not a KJV-versified module")
    blocks = _blocks(folder, testament)
    verses, entry = {}, 2  # entries 0 and 1: the module and testament headings
    for book, chapters in books:
        entry += 1  # the book heading
        for chapter, count in enumerate(chapters, start=1):
            entry += 1  # the chapter heading (verse 0)
            for verse in range(1, count + 1):
                block, offset, size = index[entry]
                entry += 1
                if size and (block >= len(blocks) or offset + size > len(blocks[block])):
                    raise SwordFormatError(f"{folder}: {book} {chapter}:{verse} points at bytes {offset}..{offset + size} "
                                           f"of block {block}, which does not exist: corrupt index")
                try:
                    text = blocks[block][offset:offset + size].decode("utf-8") if size else ""
                except UnicodeDecodeError as error:
                    raise SwordFormatError(f"{folder}: {book} {chapter}:{verse} is not UTF-8 ({error.reason})") from None
                verses[(book, chapter, verse)] = strip_osis(text)
    return verses


def read_ztext(folder, versification=KJV_VERSIFICATION, old_testament_books: int = OLD_TESTAMENT_BOOKS):
    """Every verse of the zText module in `folder`: ``{(book, chapter, verse): plain text}``.

    Keys follow `versification` (``((book, (verses per chapter, ...)), ...)``; its first
    `old_testament_books` books are read from ``ot.*``, the rest from ``nt.*``; a testament with
    no books needs no files). A verse with no text maps to "". Raises `SwordFormatError`
    naming the file for a missing, truncated or corrupt file.
    """
    folder = Path(folder)
    halves = (versification[:old_testament_books], versification[old_testament_books:])
    verses = {}
    for testament, books in zip(TESTAMENTS, halves):
        if books:
            verses.update(_read_testament(folder, testament, books))
    return verses


def _source(name: str) -> SwordSource:
    if name not in SOURCES:
        raise UnknownBibleError(f"unknown Bible {name!r}; known ones are {', '.join(SOURCES)}")
    return SOURCES[name]


def module_dir(name: str) -> Path:
    """Where module `name`'s files are cached: ``<cache>/sword/MODULE`` (there or not yet)."""
    return cache_dir() / "sword" / _source(name).module


def _is_complete(folder: Path, source: SwordSource) -> bool:
    try:
        return all(sha256_bytes((folder / f).read_bytes()) == digest for f, digest in source.files.items())
    except OSError:
        return False


def _run(command: list[str], cwd: Path, what: str) -> subprocess.CompletedProcess:
    """Run a packaging tool; raise `CorpusUnavailableError` (one line) if it is missing."""
    try:
        return subprocess.run(command, cwd=cwd, check=False, capture_output=True, text=True,
                              timeout=APT_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CorpusUnavailableError(
            f"cannot run '{command[0]}' to {what} ({type(error).__name__}: {error}); it comes with Debian and "
            f"Ubuntu; elsewhere put the .deb files in {cache_dir() / 'downloads'}/ and install dpkg"
        ) from None


def _by_hand(source: SwordSource) -> str:
    """Where to put Debian 12's .deb by hand, and where to get it."""
    url = f"http://deb.debian.org/debian/pool/main/s/{source.package}/{source.deb_name}"
    return f"put {url} in {cache_dir() / 'downloads'}/"


def _download_deb(source: SwordSource, dest: Path) -> Path:
    """The package's .deb: one put by hand in ``<cache>/downloads/``, else ``apt-get download``."""
    by_hand = sorted((cache_dir() / "downloads").glob(f"{source.package}_*.deb"))
    if by_hand:
        return by_hand[-1]
    result = _run(["apt-get", "download", source.package], dest, f"download {source.package}")
    debs = sorted(dest.glob(f"{source.package}_*.deb"))
    if result.returncode or not debs:
        lines = [line.strip() for line in result.stderr.splitlines() if line.startswith("E:")] or ["no .deb written"]
        raise CorpusUnavailableError(
            f"'apt-get download {source.package}' failed: {lines[-1]}; run 'sudo apt-get update' and retry, or "
            f"{_by_hand(source)}"
        )
    return debs[-1]


def fetch_module(name: str) -> Path:
    """The cached folder of module `name` (``kjv`` or ``rv1909``), fetched and checked on first use."""
    source, folder = _source(name), module_dir(name)
    if _is_complete(folder, source):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{source.module}.", dir=folder.parent) as tmp:
        tmp = Path(tmp)
        deb = _download_deb(source, tmp)
        deb_sha256 = sha256_bytes(deb.read_bytes())
        result = _run(["dpkg-deb", "-x", str(deb), str(tmp / "root")], tmp, f"unpack {deb.name}")
        if result.returncode:
            raise CorpusError(f"'dpkg-deb -x {deb}' failed: {result.stderr.strip().splitlines()[-1:]}; the .deb is "
                              "corrupt, delete it and fetch it again")
        extracted = tmp / "root" / "usr" / "share" / "sword" / "modules" / "texts" / "ztext" / source.module
        if not _is_complete(extracted, source):
            raise ChecksumMismatchError(
                f"{deb.name} (sha256 {deb_sha256}; Debian 12's is {source.deb_sha256}) does not hold the module "
                f"files {source.module} this code was written against: corrupt or another release; it was not used; "
                f"{_by_hand(source)}"
            )
        manifest = {"package": source.package, "deb": deb.name, "deb_sha256": deb_sha256,
                    "debian_12_build": deb_sha256 == source.deb_sha256, "files": source.files}
        write_atomically(extracted / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
        shutil.rmtree(folder, ignore_errors=True)
        extracted.rename(folder)
    return folder


@lru_cache(maxsize=len(SOURCES))
def _load(name: str) -> tuple[tuple[tuple[str, int, int], str], ...]:
    return tuple(read_ztext(fetch_module(name)).items())


def load_bible(name: str = "kjv") -> dict[tuple[str, int, int], str]:
    """Every verse of Bible `name` as ``{(book, chapter, verse): text}`` in canonical order.

    `name` is ``kjv`` (English) or ``rv1909`` (Spanish); books use OSIS names (`BOOKS`).
    All 31,102 KJV-versification verses are keys; a verse a module lacks maps to "". The
    parsed text is kept for the life of the process; each call returns a fresh dict.
    """
    return dict(_load(name))
