"""Byte-level BPE without an oracle: the merge loop, decoding, the files, the trainer's rules.

GPT-2's own vocabulary is used where a known encoding is checked (fetched once and cached;
those tests skip when it cannot be downloaded). Agreement with Hugging Face's tokenizer on a
large sample is tests/data/test_bpe_parity.py; the pre-tokeniser is test_bpe_pretokenize.py.
"""

import json
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lm.data import (
    BPETokenizer,
    TokenizerError,
    tokenizer_from_dict,
    train_bpe,
)
from tinygrad_lm.data.bpe import merge_word, merge_word_by_rescan
from tinygrad_lm.data.bpe_files import load_gpt2_tokenizer
from tinygrad_lm.data.bpe_trainer import merge_units, word_pairs
from tinygrad_lm.data.pretrained_files import PretrainedUnavailableError

CORPUS = ("The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away quickly!\n"
          "    indented = code(x, y)  # a comment\n\taaaa bbb aaaa 1234 12,345 don't won't I'll\n") * 20


@pytest.fixture(scope="module")
def gpt2():
    try:
        return load_gpt2_tokenizer()
    except PretrainedUnavailableError as error:
        pytest.skip(f"GPT-2's vocabulary cannot be downloaded here: {error}")


@pytest.fixture(scope="module")
def small():
    return _SMALL


def test_known_gpt2_encodings(gpt2):
    assert gpt2.vocab_size == 50257 and len(gpt2.merges) == 50000 and gpt2.eot_id == 50256
    assert gpt2.encode("Hello world").tolist() == [15496, 995]
    assert gpt2.encode("The quick brown fox jumps over the lazy dog.").tolist() == [
        464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13]  # fmt: skip
    assert gpt2.tokenize("Hello world") == ["Hello", "Ġworld"]


def test_endoftext_is_special_only_when_allowed(gpt2):
    text = "a<|endoftext|>b"
    assert gpt2.encode(text).tolist() == [64, 27, 91, 437, 1659, 5239, 91, 29, 65]  # ordinary text
    assert gpt2.encode(text, allowed_special="all").tolist() == [64, 50256, 65]
    assert gpt2.encode(text, allowed_special={"<|endoftext|>"}).tolist() == [64, 50256, 65]
    with pytest.raises(TokenizerError, match="not a special token"):
        gpt2.encode(text, allowed_special={"<|pad|>"})
    assert gpt2.decode([64, 50256, 65]) == text


def test_heap_merge_loop_equals_the_rescanning_loop(gpt2, small):
    rng = random.Random(0)
    for tok in (gpt2, small):
        ranks = tok.merge_ranks
        alphabet = sorted({c for pair in list(ranks)[:300] for part in pair for c in part})
        words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(300)]
        words += ["a" * n for n in range(1, 40)] + ["Ġ" * n for n in range(1, 40)] + ["ĠĠĊĊĠĠĠ", "=" * 77]
        for word in words:
            assert merge_word(list(word), ranks) == merge_word_by_rescan(list(word), ranks), word


def test_a_long_word_equals_the_reference_loop(gpt2):
    """1,500 random letters in one word (thousands of merges, each in one place): the heap loop
    gives the reference's tokens; bpe_speed.py times both as words grow."""
    rng = random.Random(1)
    word = "".join(rng.choice("etaoinshrdlucmfwyp") for _ in range(1500))
    assert merge_word(list(word), gpt2.merge_ranks) == merge_word_by_rescan(list(word), gpt2.merge_ranks)
    assert gpt2.decode(gpt2.encode(word)) == word


def test_decode_joins_bytes_before_decoding(gpt2):
    ids = gpt2.encode("🙂 日本").tolist()
    assert gpt2.decode(ids) == "🙂 日本"
    assert b"".join(gpt2.decode_bytes([i]) for i in ids) == "🙂 日本".encode()  # tokens split characters
    cut = ids[:1]  # the emoji's first bytes alone: not UTF-8 until joined with the rest
    assert gpt2.decode_bytes(cut) == "🙂".encode()[: len(gpt2.decode_bytes(cut))]
    assert gpt2.decode(cut).endswith("\ufffd")
    with pytest.raises(TokenizerError, match="not valid UTF-8"):
        gpt2.decode(cut, errors="strict")
    with pytest.raises(ValueError, match="out of range"):
        gpt2.decode([50257])


_SMALL = train_bpe([CORPUS], vocab_size=320)


@given(st.text(max_size=60))  # any text without lone surrogates (Hypothesis leaves those out)
def test_round_trip_of_any_text(text):
    assert _SMALL.decode(_SMALL.encode(text)) == text


def test_lone_surrogate_is_a_clear_error(small):
    with pytest.raises(TokenizerError, match="lone surrogate"):
        small.encode("ab\ud800")


def test_save_load_and_dict_round_trip(tmp_path, small):
    small.save(tmp_path)
    assert (tmp_path / "vocab.bpe").read_text(encoding="utf-8").startswith("#version: 0.2\n")
    loaded = BPETokenizer.from_files(tmp_path / "encoder.json", tmp_path / "vocab.bpe")
    assert loaded == small and loaded.special_tokens == {"<|endoftext|>": 319}
    assert tokenizer_from_dict(small.to_dict()) == small
    assert loaded.encode(CORPUS).tolist() == small.encode(CORPUS).tolist()


def _write(tmp_path, encoder, merges_text):
    (tmp_path / "encoder.json").write_text(json.dumps(encoder), encoding="utf-8")
    (tmp_path / "vocab.bpe").write_text(merges_text, encoding="utf-8")
    return tmp_path / "encoder.json", tmp_path / "vocab.bpe"


def test_file_errors_are_one_line(tmp_path, small):
    encoder = {t: i for i, t in enumerate(small.vocabulary)}
    merges = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in small.merges)
    cases = [
        ({t: i for t, i in encoder.items() if t != small.vocabulary[300]}, merges, "ids must be 0"),
        ({**{t: i for t, i in encoder.items() if i < 300}, "<|endoftext|>": 300}, merges[: merges.index("\n") + 1]
         + "".join(f"{a} {b}\n" for a, b in small.merges[:44]) + "zz qq\n", "does not match its merges"),
        (encoder, merges + "lonely\n", "is not a merge"),
        ({**encoder, "stray": len(encoder)}, merges, "neither a byte"),  # leftover, not declared special
    ]  # fmt: skip
    for enc, mer, message in cases:
        paths = _write(tmp_path, enc, mer)
        with pytest.raises(TokenizerError, match=message) as caught:
            BPETokenizer.from_files(*paths, special_tokens=["<|endoftext|>"])
        assert "\n" not in str(caught.value)
    paths = _write(tmp_path, encoder, merges)
    with pytest.raises(TokenizerError, match=r"no special token '<\|pad\|>'"):
        BPETokenizer.from_files(*paths, special_tokens=["<|endoftext|>", "<|pad|>"])
    with pytest.raises(TokenizerError, match="'a' is also a byte or a merge result"):
        BPETokenizer.from_files(*paths, special_tokens=["<|endoftext|>", "a"])
    with pytest.raises(TokenizerError, match="cannot read merges file"):
        BPETokenizer.from_files(paths[0], tmp_path / "missing.bpe")
    (tmp_path / "encoder.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(TokenizerError, match="cannot read vocabulary file"):
        BPETokenizer.from_files(*paths)


@given(st.lists(st.sampled_from([1, 2, 3]), max_size=12), st.sampled_from([(1, 1), (1, 2), (2, 1), (3, 3)]))
def test_pair_count_is_the_number_of_merges_made(units, pair):
    """Counting agrees with merging: 'aaaa' counts (a, a) twice and merges it twice, 'aaa' once."""
    merged = merge_units(units, pair, 9)
    assert word_pairs(units).count(pair) == len(units) - len(merged)


def test_overlapping_runs_count_like_merges():
    assert word_pairs([1, 1, 1, 1]) == [(1, 1), (1, 1)] and word_pairs([1, 1, 1]) == [(1, 1)]
    assert word_pairs([1, 1, 1, 1], overlapping=True).count((1, 1)) == 3
    # "aaa" x3 -> (a, a) 3 merges, 6 with overlaps; "bc" x4 -> 4. Merge-consistent counting picks b c.
    texts = ["aaa " * 3 + "bc " * 4]
    assert train_bpe(texts, 258, special_tokens=(), min_frequency=1).merges[0] == ("b", "c")
    assert train_bpe(texts, 258, special_tokens=(), min_frequency=1, overlapping_pairs=True).merges[0] == ("a", "a")


def test_ties_go_to_the_smallest_pair_of_ids():
    tok = train_bpe(["xy ab xy ab"], 259, special_tokens=(), min_frequency=1)
    assert tok.merges[:2] == (("a", "b"), ("x", "y"))  # both seen twice; "a" < "x"; then Ġ pairs


def test_trainer_keeps_special_tokens_out_and_last():
    tok = train_bpe(["hello<|endoftext|>hello<|endoftext|>"] * 5, 300, special_tokens=("<|endoftext|>", "<|pad|>"))
    assert not any("|" in a + b for a, b in tok.merges)
    assert tok.special_tokens == {"<|endoftext|>": tok.vocab_size - 2, "<|pad|>": tok.vocab_size - 1}
    assert tok.vocabulary[:3] == ("!", '"', "#") and len(tok.vocabulary) == 256 + len(tok.merges) + 2


def test_trainer_stops_at_vocab_size_and_roundtrips(small):
    assert small.vocab_size == 320 and len(small.merges) == 320 - 257
    text = CORPUS + " ünïcödé 日本語 🙂‍👩"
    assert small.decode(small.encode(text)) == text
    assert len(small.encode(CORPUS)) < len(CORPUS.encode()) / 2


@pytest.mark.parametrize("kwargs, message", [
    ({"vocab_size": 256}, "vocab_size must be an int >= 257"),
    ({"vocab_size": 300, "special_tokens": ("<s>", "<s>")}, "distinct"),
    ({"vocab_size": 300, "min_frequency": 0}, "min_frequency"),
])  # fmt: skip
def test_trainer_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_bpe([CORPUS], **kwargs)


def test_trainer_refuses_empty_text_and_clashing_special():
    with pytest.raises(ValueError, match="empty"):
        train_bpe(["<|endoftext|>"], 300)
    with pytest.raises(ValueError, match="also a learned token"):  # "Ġhi" is how " hi" is spelled
        train_bpe(["hi hi hi hi"], 300, special_tokens=("Ġhi",))
    with pytest.raises(ValueError, match="also a learned token"):  # a byte's own character
        train_bpe(["hi hi hi hi"], 300, special_tokens=("a",))


def test_encode_returns_int64(small):
    ids = small.encode("hello")
    assert ids.dtype == np.int64 and ids.ndim == 1
