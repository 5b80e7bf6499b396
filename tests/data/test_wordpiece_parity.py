"""WordPieceTokenizer against Hugging Face's `tokenizers` on all-MiniLM-L6-v2's vocabulary.

The oracle is ``tokenizers.Tokenizer.from_file(<MiniLM>/tokenizer.json)`` with padding and
truncation turned off (that file pads to 128). Samples, all fixed (no randomness between runs):

* Shakespeare: the eight tragedies line by line (`load_shakespeare`);
* Python docstrings: every module, class and function docstring of the stdlib files
  (`corpora.stdlib_docstrings`);
* Unicode-heavy strings (`unicode_samples`): accents, Greek, Cyrillic, Arabic, Hebrew,
  Devanagari, Thai, Hangul, kana, CJK (extensions and compatibility ideographs), fullwidth
  forms, emoji with skin tones, joiners and flags, combining marks, control characters, NUL,
  U+FFFD, private use, whitespace runs, words of 99-102 characters, literal special tokens.

The default suite compares a fixed part of each (a few thousand strings, seconds); the whole
corpora and every Unicode code point are compared under ``-m slow``. Where the two disagree by
design it is on characters whose Unicode category changed after Unicode 3.2 (HF's Rust
character tables are frozen at Unicode 8.0, ours are Python's `unicodedata`): the exhaustive
test proves that every disagreement is such a character (`category_is_stable`).

Tests that need `tokenizers` skip, saying so, when it is not installed; tests that need the
MiniLM files skip when the wheel cannot be downloaded. A sibling needing neither checks the
committed golden file ``wordpiece_minilm_golden.json`` ((text, ids) pairs made once by the
oracle, with the part of the vocabulary those texts can reach). It was written by::

    .venv/bin/python tests/data/test_wordpiece_parity.py --write-golden
"""

import json
import random
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lm.data.corpora import (
    CorpusUnavailableError,
    load_shakespeare,
    stdlib_docstrings,
)
from tinygrad_lm.data.pretrained_files import (
    fetch_pretrained,
)
from tinygrad_lm.data.wordpiece import (
    CONTINUATION_PREFIX,
    WordPieceTokenizer,
    basic_tokenize,
)

GOLDEN = Path(__file__).with_name("wordpiece_minilm_golden.json")

FRAGMENTS = [
    "café", "naïve", "Ærøskøbing", "Straße", "İstanbul", "ıi", "Œuvre", "ǅemal", "ﬁnance", "Å", "Ω",
    "ΟΔΟΣ", "Σίσυφος", "Москва", "ёлка", "مرحبا بالعالم", "שָׁלוֹם", "नमस्ते", "क्षत्रिय", "ภาษาไทย",
    "한국어", "가나다", "ひらがな", "カタカナ", "日本語", "中文字符", "繁體", "\U00020000\U0002a6df",
    "\U0002b740x\U0002b820y\U0002b920z", "\uf900\ufa6a", "ＡＢＣ１２３", "ｶﾀｶﾅ", "😀", "👍🏽", "👨\u200d👩\u200d👧",
    "🏳️\u200d🌈", "🇫🇷🇯🇵", "1️⃣", "🥹", "e\u0301", "a\u0308\u0323", "Z\u0351\u0352\u0357a\u035b",
    "\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\u200b", "\ufeff", "\u00ad", "\ufffd", "\ue000",
    "\u0378", "\t", "\n\n", "\r\n", "\u3000", "\xa0", "\u2003\u2009", "\u2028", "\x0b\x0c", "\x1c",
    "«quote»", "„Anführung“", "¿Qué?", "¡Hola!", "、。・", "—–-", "…", "§¶†‡", "€£¥₹", "±×÷√∞",
    "$+<=>^`|~", "(a)[b]{c}", "#hashtag", "@user", "https://example.com/a?b=c&d=e", "3.14159",
    "1,000,000", "[MASK]", "[CLS] x [SEP]", "[unused1]", "[mask]", "##ing", "don't", "e-mail",
    "x" * 99, "y" * 100, "z" * 101, "é" * 100, "ab" * 51,
]  # fmt: skip
SEPARATORS = ["", " ", "  ", "\t", "\n", "-", ",", ". ", "\u3000", " \u200d "]


def category_is_stable(char):
    """True if `char` has the same tokenizer class in Unicode 3.2 and in Python's tables.

    Hugging Face's tables (Unicode 8.0) lie between the two, so they agree with ours on
    these. A class-relevant category is punctuation, nonspacing mark, control, format,
    private use or separator; a character that was unassigned in 3.2 is stable when its
    category today is none of those (both sides treat it as an ordinary letter)."""
    old, new = unicodedata.ucd_3_2_0.category(char), unicodedata.category(char)
    relevant = new[0] in "PZ" or new in ("Mn", "Cc", "Cf", "Co")
    return old == new or (old == "Cn" and not relevant)


def unicode_samples(count, seed=0):
    """`count` fixed strings: 1-6 fragments and random stable code points, random separators."""
    rng = random.Random(seed)
    texts = []
    while len(texts) < count:
        parts = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.75:
                parts.append(rng.choice(FRAGMENTS))
            else:
                chars = (chr(rng.choice([rng.randrange(0x20, 0x3000), rng.randrange(0x3000, 0x10000),
                                         rng.randrange(0x10000, 0x30000)])) for _ in range(rng.randint(1, 4)))
                parts.append("".join(c for c in chars if not 0xD800 <= ord(c) <= 0xDFFF and category_is_stable(c)))
            parts.append(rng.choice(SEPARATORS))
        texts.append("".join(parts))
    return texts


def shakespeare_lines(every=1):
    try:
        return load_shakespeare().split("\n")[::every]
    except CorpusUnavailableError as error:
        pytest.skip(f"Shakespeare corpus unavailable: {error}")


@pytest.fixture(scope="session")
def ours(minilm_dir):
    return WordPieceTokenizer.from_vocab_file(minilm_dir / "vocab.txt")


@pytest.fixture(scope="session")
def hf(minilm_dir):
    tokenizers = pytest.importorskip("tokenizers", reason="Hugging Face's tokenizers (the oracle) "
                                     "is not installed; pip install tokenizers, or the test extra")
    oracle = tokenizers.Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    oracle.no_padding()
    oracle.no_truncation()
    return oracle


def mismatches(ours, hf, texts):
    """(texts compared, tokens compared, [(text, ours, HF) for each text that differs])."""
    expected = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    bad = [(t, ours.encode(t).tolist(), e) for t, e in zip(texts, expected) if ours.encode(t).tolist() != e]
    return len(texts), sum(map(len, expected)), bad


def test_known_value_needs_only_the_download(ours):
    ids, types = ours.encode_pair("A man is eating food.")
    assert ids.tolist() == [101, 1037, 2158, 2003, 5983, 2833, 1012, 102]
    assert types.tolist() == [0] * 8 and ids.dtype == np.int64
    assert (ours.pad_id, ours.unk_id, ours.cls_id, ours.sep_id, ours.mask_id) == (0, 100, 101, 102, 103)


@pytest.mark.parametrize("sample", ["shakespeare", "docstrings", "unicode"])
def test_ids_match_hugging_face_on_a_fixed_sample(ours, hf, sample):
    texts = {"shakespeare": lambda: shakespeare_lines(every=20), "docstrings": lambda: stdlib_docstrings(every=4),
             "unicode": lambda: unicode_samples(2000)}[sample]()  # fmt: skip
    count, tokens, bad = mismatches(ours, hf, texts)
    assert count >= 1000 and tokens > 10_000
    assert not bad, f"{len(bad)} of {count} texts differ; first: {bad[0]}"


def test_pairs_truncation_and_padding_match_hugging_face(ours, hf):
    texts = unicode_samples(300, seed=1) + shakespeare_lines(every=150)
    pairs = list(zip(texts[::2], texts[1::2]))
    for max_length in (5, 6, 7, 12, 33):
        hf.enable_truncation(max_length, strategy="longest_first")
        try:
            for a, b in pairs:
                expected = hf.encode(a, b)
                ids, types = ours.encode_pair(a, b, max_length=max_length)
                assert (ids.tolist(), types.tolist()) == (expected.ids, expected.type_ids), (a, b, max_length)
                assert ours.encode_pair(a, max_length=max_length)[0].tolist() == hf.encode(a).ids
        finally:
            hf.no_truncation()
    hf.enable_padding(pad_id=0, pad_token="[PAD]")
    try:
        expected = hf.encode_batch(list(pairs[:16]))
    finally:
        hf.no_padding()
    batch = ours.encode_batch([a for a, _ in pairs[:16]], pairs=[b for _, b in pairs[:16]])
    assert batch["input_ids"].tolist() == [e.ids for e in expected]
    assert batch["token_type_ids"].tolist() == [e.type_ids for e in expected]
    assert batch["attention_mask"].tolist() == [e.attention_mask for e in expected]


def test_decode_matches_hugging_face_without_its_cleanup(ours, hf):
    from tokenizers import decoders

    hf.decoder = decoders.WordPiece(prefix=CONTINUATION_PREFIX, cleanup=False)
    for text in unicode_samples(300, seed=2) + ["##ing starts with a continuation"]:
        ids = hf.encode(text).ids
        for skip in (True, False):
            assert ours.decode(ids, skip_special_tokens=skip) == hf.decode(ids, skip_special_tokens=skip)
    assert ours.decode([2158, 2003]) == "man is"


@pytest.mark.slow
def test_ids_match_hugging_face_on_the_whole_sample(ours, hf):
    """Every Shakespeare line, every stdlib docstring, 20,000 Unicode strings: zero mismatches."""
    report = {}
    for name, texts in [("shakespeare", shakespeare_lines()), ("docstrings", stdlib_docstrings()),
                        ("unicode", unicode_samples(20_000, seed=3))]:  # fmt: skip
        count, tokens, bad = mismatches(ours, hf, texts)
        report[name] = (count, tokens, len(bad))
        assert not bad, f"{name}: {len(bad)} of {count} texts differ; first: {bad[0]}"
    print("texts, tokens, mismatches:", report)


@pytest.mark.slow
def test_every_code_point_matches_except_where_unicode_changed(ours, hf):
    """Each code point c (surrogates excepted) in "a{c}b x{c}": differences only where
    `category_is_stable` is False (measured: 503 code points on Python 3.11, Unicode 14)."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts = [f"a{c}b x{c}" for c in chars]
    expected = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    differ = [c for c, t, e in zip(chars, texts, expected) if ours.encode(t).tolist() != e]
    unexplained = [f"U+{ord(c):04X}" for c in differ if category_is_stable(c)]
    assert not unexplained, f"{len(unexplained)} differences on stable characters: {unexplained[:20]}"
    print(f"{len(chars)} code points, {len(differ)} differ, all newer than Unicode 3.2 or recategorised")


def golden_tokenizer(golden):
    """A tokenizer with MiniLM's ids for the golden tokens; every other id is a filler
    ("[filler N]") that no word can match, since words never hold "[" or a space."""
    vocabulary = [f"[filler {i}]" for i in range(golden["vocab_size"])]
    for token_id, token in golden["tokens"].items():
        vocabulary[int(token_id)] = token
    return WordPieceTokenizer(vocabulary)


def test_golden_file_needs_nothing():
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    tokenizer = golden_tokenizer(golden)
    assert len(golden["cases"]) >= 100
    for text, ids in golden["cases"]:
        assert tokenizer.encode(text).tolist() == ids, text
    for a, b, max_length, ids, types in golden["pairs"]:
        got = tokenizer.encode_pair(a, b, max_length=max_length)
        assert (got[0].tolist(), got[1].tolist()) == (ids, types), (a, b, max_length)


def test_golden_tokens_are_minilm_tokens(ours):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert all(ours.vocabulary[int(i)] == token for i, token in golden["tokens"].items())
    assert golden["vocab_size"] == ours.vocab_size


def write_golden():
    """Run the oracle on a fixed sample; keep the vocabulary tokens greedy matching can query."""
    from tokenizers import Tokenizer, __version__

    folder = fetch_pretrained("all-MiniLM-L6-v2")
    oracle = Tokenizer.from_file(str(folder / "tokenizer.json"))
    oracle.no_padding()
    oracle.no_truncation()
    vocabulary = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    texts = ["A man is eating food.", *FRAGMENTS] + unicode_samples(60, seed=4) + shakespeare_lines(every=1000)[:30] \
        + [d[:300] for d in stdlib_docstrings(every=40)[:30]]  # fmt: skip
    pairs = [(texts[i], texts[i + 1], max_length) for i, max_length in zip(range(1, 40, 2), [6, 9, 16, 40] * 5)]
    reachable = set()  # every string greedy longest-match can look up for these words
    for text in texts:
        for word in basic_tokenize(text):
            reachable |= {word[:end] for end in range(1, len(word) + 1)}
            reachable |= {CONTINUATION_PREFIX + word[s:e] for s in range(1, len(word)) for e in range(s + 1, len(word) + 1)}
    ids = {i: t for i, t in enumerate(vocabulary) if t in reachable or t.startswith("[") and t[1:-1].isupper()}
    cases = [[t, oracle.encode(t, add_special_tokens=False).ids] for t in texts]
    pair_rows = []
    for a, b, max_length in pairs:
        oracle.enable_truncation(max_length, strategy="longest_first")
        encoding = oracle.encode(a, b)
        pair_rows.append([a, b, max_length, encoding.ids, encoding.type_ids])
    golden = {"made_by": f"tests/data/test_wordpiece_parity.py --write-golden, tokenizers {__version__}, "
                         "all-MiniLM-L6-v2 tokenizer.json", "vocab_size": len(vocabulary),
              "tokens": {str(i): t for i, t in sorted(ids.items())}, "cases": cases, "pairs": pair_rows}  # fmt: skip
    GOLDEN.write_text(json.dumps(golden, ensure_ascii=True, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}: {len(cases)} texts, {len(pair_rows)} pairs, {len(ids)} tokens")


if __name__ == "__main__" and sys.argv[1:] == ["--write-golden"]:
    write_golden()
