"""GPT-2's two fixed steps before any merge: split text into words, spell each word's bytes.

1. *Pre-tokenisation.* GPT-2 (Radford et al. 2019, OpenAI's ``encoder.py``) cuts text with::

       's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+

   an English contraction; or an optional space and a run of letters; or of numbers; or of
   anything else that is not whitespace; or a run of whitespace that leaves its last space to
   the next word (so " world" keeps its space), else the whitespace itself. ``\\p{L}`` and
   ``\\p{N}`` come from the third-party ``regex`` module, which this package does not depend
   on. The stdlib ``re`` has no ``\\p{...}``, and its shortcuts are not the same sets
   (``\\w`` misses combining marks and adds "_"; ``\\s`` adds U+001C..U+001F, which are not
   Unicode whitespace), so the classes are spelled out here as code-point ranges:
   *letters* are Unicode categories L* (Lu Ll Lt Lm Lo), *numbers* are N* (Nd Nl No), and
   *whitespace* is Unicode's White_Space property (the 25 characters of `WHITESPACE`, as in
   ``\\s`` of ``regex`` and of Hugging Face's Oniguruma). The ranges are read from
   `unicodedata` the first time a pattern is needed (about 0.5 s, once per process).
   Categories are those of Python's Unicode version (14.0 on Python 3.11); a tool with other
   tables can disagree only on code points that changed category between versions
   (tests/data/test_bpe_pretokenize.py measures this against Hugging Face's pre-tokenizer).
2. *Bytes as characters.* Each word is UTF-8 encoded and every byte is written as one
   printable character, GPT-2's ``bytes_to_unicode`` table: the 188 bytes that print as
   themselves in Latin-1 ("!".."~", "¡".."¬", "®".."ÿ") keep their character, and the other
   68 (controls, space, DEL, NBSP, soft hyphen) become U+0100, U+0101, ... in byte order, so a
   space is "Ġ" and a newline "Ċ". Merges and vocabularies are written in these characters.

Left out: the merges themselves (bpe.py) and special tokens, which are cut out of the text
before this step.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from tinygrad_lm.data.wordpiece import WHITESPACE

CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> character table (see the module docstring), byte order 0..255."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {char: byte for byte, char in BYTE_TO_CHAR.items()}
# str.translate tables: a Latin-1 view of UTF-8 bytes -> GPT-2's characters, and back.
_SPELL = {byte: char for byte, char in BYTE_TO_CHAR.items()}
_UNSPELL = {ord(char): byte for char, byte in CHAR_TO_BYTE.items()}


def spell_bytes(data: bytes) -> str:
    """UTF-8 bytes -> GPT-2's characters, one per byte: b" hi\\n" -> "ĠhiĊ"."""
    return data.decode("latin-1").translate(_SPELL)


def unspell(chars: str) -> bytes:
    """Inverse of `spell_bytes`: "ĠhiĊ" -> b" hi\\n" (every character must be from the table)."""
    return chars.translate(_UNSPELL).encode("latin-1")


def _ranges(major: list[str], wanted: str) -> str:
    """The code points whose category starts with `wanted`, as a regex class body of ranges."""
    parts, start = [], None
    for code, letter in enumerate([*major, ""]):  # the sentinel closes a range at U+10FFFF
        if letter == wanted and start is None:
            start = code
        elif letter != wanted and start is not None:
            last = code - 1
            parts.append(_escape(start) if start == last else f"{_escape(start)}-{_escape(last)}")
            start = None
    return "".join(parts)


def _escape(code: int) -> str:
    return f"\\U{code:08x}"


@cache
def gpt2_pattern() -> re.Pattern[str]:
    """GPT-2's pre-tokenisation regex, written for the stdlib ``re`` (see the module docstring)."""
    major = [unicodedata.category(chr(code))[0] for code in range(0x110000)]  # "L", "N", "Z", ...
    letters, numbers = _ranges(major, "L"), _ranges(major, "N")
    space = "".join(_escape(ord(c)) for c in sorted(WHITESPACE))
    contractions = "|".join(CONTRACTIONS)
    return re.compile(f"{contractions}| ?[{letters}]+| ?[{numbers}]+| ?[^{space}{letters}{numbers}]+"
                      f"|[{space}]+(?![^{space}])|[{space}]+")  # fmt: skip


def pretokenize(text: str) -> list[str]:
    """GPT-2's words of `text`, which join back to `text`: "Hello  world!" -> ["Hello", " ", " world", "!"]."""
    return gpt2_pattern().findall(text)
