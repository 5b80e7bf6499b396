"""GPT-2's BPE against three oracles: Hugging Face's tokenizers, transformers' GPT2Tokenizer, OpenAI's loop.

Oracles (optional; each test skips, saying why, when its oracle is missing):

* ``tokenizers``: ``models.BPE.from_file(encoder.json, vocab.bpe)`` with the ByteLevel
  pre-tokenizer (GPT-2's regex, Oniguruma) and no added tokens, so ``<|endoftext|>`` is text:
  it checks ``encode(text)``;
* ``transformers.GPT2Tokenizer(vocab=..., merges=...)``: GPT-2 as Hugging Face ships it, which
  always matches ``<|endoftext|>``: it checks ``encode(text, allowed_special="all")`` (slow:
  the import takes seconds; the default run adds the token to the tokenizers oracle instead);
* OpenAI's ``encoder.py`` written out below (`openai_encode`: the ``regex`` module's
  ``\\p{L}``/``\\p{N}`` and the quadratic merge loop): a pure-Python check of the same thing.

Samples: `SAMPLES` (contractions, numbers, whitespace runs, code, many scripts, emoji with
joiners and modifiers, controls, literal special tokens, long runs); Shakespeare line by line;
the stdlib sources in 40-line chunks (indentation and blank-line runs kept); random text from
Hypothesis. The default run takes a fixed part of each corpus; ``-m slow`` takes all of them
and every code point of the pre-tokeniser. All disagreements of the pre-tokeniser are on code
points unassigned in Python's Unicode 14.0 (category Cn), which newer tables have assigned.

No oracle is needed by `test_golden_file` (GPT-2's files only): ``bpe_gpt2_golden.json``
holds (text, ids) made once by the ``tokenizers`` oracle with::

    .venv/bin/python tests/data/test_bpe_parity.py --write-golden
"""

import json
import sys
import unicodedata
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lm.data.bpe_files import fetch_gpt2_files, load_gpt2_tokenizer
from tinygrad_lm.data.bpe_pretokenize import pretokenize, spell_bytes
from tinygrad_lm.data.corpora import (
    CorpusUnavailableError,
    load_shakespeare,
    load_stdlib_source,
)
from tinygrad_lm.data.pretrained_files import PretrainedUnavailableError

GOLDEN = Path(__file__).with_name("bpe_gpt2_golden.json")
GPT2_REGEX = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
SAMPLES = [
    "Hello world", "I'm sure you're right, we've seen they'll say he'd done it's", "DON'T SHOUT I'M HERE",
    "'s 's' ''s rock'n'roll y’all ’tis '' '", "1 12 123 1234 12345 1,234,567.89 3.14159 1e-10 0x1F 2024-01-01",
    "½ ² ³ Ⅻ ٣٤٥ १२३ 一二三 ①②", "a  b", "a   b", "  leading", "trailing  ", "\n\n\n", " \n \n x", "\t\tx = 1",
    "a\u00a0b", "x\u3000y", "line\r\nline", "  \n  x", " ", "", "\x0b\x0c\x1c\x1d\x1e\x1f", "\u2028\u2029\x85",
    "Καλημέρα κόσμε", "Привет, мир!", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก",
    "안녕하세요 세계", "こんにちは世界 カタカナ", "你好，世界！", "გამარჯობა", "Բարեւ աշխարհ", "ሰላም ዓለም",
    "வணக்கம் உலகம்", "হ্যালো বিশ্ব", "བཀྲ་ཤིས་", "ᠮᠣᠩᠭᠣᠯ", "ᏣᎳᎩ", "∑∫√∞≠≤ ℝ ∀x∈A", "Tiếng Việt có dấu",
    "e\u0301 a\u0308 n\u0303", "Z̴̡̛a̸͎͝l̷g̶o̵", "👩‍👩‍👧‍👦 family", "👍🏽 ok", "🏳️‍🌈", "🇫🇷🇯🇵", "❤️ love",
    "🧑🏿‍💻 coder", "1️⃣ keycap", "def f(x):\n    return x**2  # comment\n\n\n", "if (a && b) { x += 1; }",
    '<div class="x">&amp;</div>', "SELECT * FROM t WHERE id=1;", "https://example.com/a?b=c&d=e#f",
    "user@example.com", "<|endoftext|>", "a<|endoftext|>b", "<|endoftext", "<|endoftext|><|endoftext|> x",
    "\x00\x01\x7f", "\ufeffBOM", "\ufffd", "\ue000 private", "\U0010ffff", "a" * 1000, " " * 100 + "x",
    "=" * 200, "ab" * 500, "\u200b\u200c\u200d zero width", "ﬁ ﬂ ligatures", "ＦＵＬＬ　ｗｉｄｔｈ",
]  # fmt: skip


@cache
def _folder():
    try:
        return fetch_gpt2_files()
    except PretrainedUnavailableError as error:
        pytest.skip(f"GPT-2's vocabulary cannot be downloaded here: {error}")


@cache
def _oracle():
    """Hugging Face's tokenizer over GPT-2's two files, with no added tokens."""
    tokenizers = pytest.importorskip("tokenizers", reason="Hugging Face tokenizers (test extra) is the oracle")
    folder = _folder()
    tokenizer = tokenizers.Tokenizer(tokenizers.models.BPE.from_file(str(folder / "encoder.json"),
                                                                     str(folder / "vocab.bpe")))  # fmt: skip
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return tokenizer


@pytest.fixture(scope="module")
def folder():
    return _folder()


@pytest.fixture(scope="module")
def ours(folder):
    return load_gpt2_tokenizer()


@pytest.fixture(scope="module")
def hf():
    return _oracle()


@pytest.fixture(scope="module")
def regex():
    return pytest.importorskip("regex", reason="the regex module (a transformers dependency) gives \\p{L}")


@cache
def _openai_tables():
    """encoder.json and vocab.bpe read as OpenAI's encoder.py reads them (not through our loader)."""
    folder = _folder()
    encoder = json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
    lines = (folder / "vocab.bpe").read_text(encoding="utf-8").split("\n")[1:-1]
    return encoder, {tuple(line.split()): rank for rank, line in enumerate(lines)}


def openai_encode(text, regex):
    """OpenAI's encoder.py: regex words, byte characters, the lowest-rank merge until none applies."""
    encoder, ranks = _openai_tables()
    ids = []
    for word in regex.findall(GPT2_REGEX, text):
        symbols = list(spell_bytes(word.encode("utf-8")))
        while len(symbols) > 1:
            best = min(zip(symbols, symbols[1:]), key=lambda p: ranks.get(p, float("inf")))
            if best not in ranks:
                break
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(best[0] + best[1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            symbols = out
        ids += [encoder[s] for s in symbols]
    return ids


def shakespeare_lines(limit=None):
    try:
        lines = load_shakespeare().split("\n")
    except CorpusUnavailableError as error:
        pytest.skip(f"the Shakespeare corpus cannot be downloaded here: {error}")
    return lines[:limit]


def stdlib_chunks(every=1):
    lines = load_stdlib_source().split("\n")
    return ["\n".join(lines[i:i + 40]) for i in range(0, len(lines), 40)][::every]


def mismatches(ours, hf, texts):
    theirs = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    return [(t, a, b) for t, a, b in zip(texts, (ours.encode_list(t) for t in texts), theirs) if a != b]


def test_samples_and_corpus_parts_match_tokenizers(ours, hf):
    texts = SAMPLES + shakespeare_lines(3000) + stdlib_chunks(every=40)
    assert mismatches(ours, hf, texts) == []


@pytest.mark.slow
def test_whole_corpora_match_tokenizers(ours, hf):
    texts = shakespeare_lines() + stdlib_chunks() + ["\n".join(shakespeare_lines())]
    assert mismatches(ours, hf, texts) == []


PIECES = [" ", "  ", "\n", "\t", "\r\n", "\u3000", "'s", "'ll", "'", "a", "Z", "é", "1", "23", "٣", "日", "🙂", "\u200d",
          "\u0301", "!", "...", "_", "<|endoftext|>", "\x00", "\ufe0f"]  # fmt: skip


@given(st.text(max_size=80) | st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_random_text_matches_tokenizers(text):
    """Any text, and texts built from the pieces where the regex's alternatives meet."""
    hf, ours = _oracle(), load_gpt2_tokenizer()
    assert ours.encode_list(text) == hf.encode(text, add_special_tokens=False).ids


def test_samples_match_tokenizers_with_endoftext_added_when_allowed(ours, folder):
    """What GPT2Tokenizer does (below, slow: transformers takes seconds to import): the special
    token added to the tokenizers oracle, which then always matches it."""
    tokenizers = pytest.importorskip("tokenizers")
    added = tokenizers.Tokenizer.from_str(_oracle().to_str())
    added.add_special_tokens(["<|endoftext|>"])
    for text in SAMPLES:
        assert ours.encode_list(text, allowed_special="all") == added.encode(text).ids, text


@pytest.mark.slow
def test_samples_match_transformers_with_special_tokens_allowed(ours, folder):
    transformers = pytest.importorskip("transformers", reason="transformers (test extra) is the oracle")
    merges = [tuple(line.split(" ")) for line in (folder / "vocab.bpe").read_text("utf-8").split("\n")[1:] if line]
    gpt2 = transformers.GPT2Tokenizer(vocab=json.loads((folder / "encoder.json").read_text("utf-8")), merges=merges)
    for text in SAMPLES:
        assert ours.encode_list(text, allowed_special="all") == gpt2.encode(text), text
        assert ours.decode(gpt2.encode(text)) == text


def test_samples_match_openai_encoder_loop(ours, regex):
    for text in SAMPLES + shakespeare_lines(300):
        assert ours.encode_list(text) == openai_encode(text, regex), text


def test_pretokenizer_matches_regex_module_and_tokenizers(regex, hf):
    for text in SAMPLES + stdlib_chunks(every=200):
        words = pretokenize(text)
        assert words == regex.findall(GPT2_REGEX, text), text
        assert [spell_bytes(w.encode()) for w in words] == [w for w, _ in hf.pre_tokenizer.pre_tokenize_str(text)]


def _probe(code):
    char = chr(code)
    return f"a{char}1{char}!{char} {char}{char}\n"  # after a letter, a number, other, a space, itself


def code_point_disagreements(regex, hf, codes):
    """The code points whose probes the pre-tokenisers split differently, per oracle."""
    bad = {"regex": [], "tokenizers": []}
    for code in codes:
        text = _probe(code)
        words = pretokenize(text)
        if words != regex.findall(GPT2_REGEX, text):
            bad["regex"].append(code)
        if [spell_bytes(w.encode()) for w in words] != [w for w, _ in hf.pre_tokenizer.pre_tokenize_str(text)]:
            bad["tokenizers"].append(code)
    return bad


def _scalar_values(step):
    return [c for c in range(0, 0x110000, step) if not 0xD800 <= c <= 0xDFFF]


def test_pretokenizer_on_sampled_code_points(regex, hf):
    """Every 199th code point; only characters unassigned in Python's Unicode may differ."""
    for oracle, codes in code_point_disagreements(regex, hf, _scalar_values(199)).items():
        assert all(unicodedata.category(chr(c)) == "Cn" for c in codes), (oracle, [hex(c) for c in codes[:5]])


@pytest.mark.slow
def test_pretokenizer_on_every_code_point(regex, hf):
    """Measured on Python 3.11 (Unicode 14.0): 26,872 differ from regex 2026.11.19, 9,392 from
    tokenizers 0.23.3, all unassigned (Cn) in Unicode 14.0."""
    for oracle, codes in code_point_disagreements(regex, hf, _scalar_values(1)).items():
        assert all(unicodedata.category(chr(c)) == "Cn" for c in codes), (oracle, [hex(c) for c in codes[:5]])


def test_golden_file(ours):
    """Needs GPT-2's files, not the oracle: the ids the oracle gave when the file was written."""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert len(golden["cases"]) == len(SAMPLES) + 2
    for case in golden["cases"]:
        assert ours.encode_list(case["text"], allowed_special=case["allowed_special"]) == case["ids"], case["text"]


def write_golden():
    """Write bpe_gpt2_golden.json from the tokenizers oracle (plain) and transformers (special allowed)."""
    import tokenizers

    plain = _oracle()
    cases = [{"text": t, "allowed_special": [], "ids": plain.encode(t, add_special_tokens=False).ids} for t in SAMPLES]
    plain.add_special_tokens(["<|endoftext|>"])
    for text in ("a<|endoftext|>b", "<|endoftext|><|endoftext|> x"):
        cases.append({"text": text, "allowed_special": "all", "ids": plain.encode(text).ids})
    made_by = (f"python tests/data/test_bpe_parity.py --write-golden (tokenizers {tokenizers.__version__}, "
               "GPT-2's encoder.json + vocab.bpe)")
    rows = ",\n".join(json.dumps(case, ensure_ascii=False) for case in cases)  # one case per line
    GOLDEN.write_text(f'{{"made_by": {json.dumps(made_by)},\n"cases": [\n{rows}\n]}}\n', encoding="utf-8")


if __name__ == "__main__" and sys.argv[1:] == ["--write-golden"]:
    write_golden()
