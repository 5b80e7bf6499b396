"""`train_bpe` against Hugging Face's BpeTrainer (optional oracle: the test extra's ``tokenizers``).

HF's trainer with GPT-2's byte-level pre-tokenizer, all 256 bytes as the initial alphabet and
``<|endoftext|>`` as its one special token is the same algorithm, with two differences:

* HF puts special tokens first (id 0) and GPT-2 last, so HF's id of every other token is ours
  plus one. Ties go to the smallest pair of ids in both, which this shift does not change.
* HF counts every adjacent pair ("aaaa" has three (a, a)), ours what merging finds (two).
  With ``overlapping_pairs=True`` ours counts like HF, and then the merges are identical;
  with the default they agree until the first merge where a run of equal symbols decides,
  and there HF's choice is a pair of equal symbols (its count includes the overlaps).

The corpora are lines of Shakespeare and of the stdlib sources (no download for the latter), and
random tiny corpora from Hypothesis (300 drawn by hand also all agreed).
"""

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_lm.data.bpe_trainer import count_words, train_bpe
from tinygrad_lm.data.corpora import (
    CorpusUnavailableError,
    load_shakespeare,
    load_stdlib_source,
)

tokenizers = pytest.importorskip("tokenizers", reason="Hugging Face tokenizers (test extra) is the oracle")


def hf_train(texts, vocab_size, min_frequency=2):
    """(vocabulary in id order, merges) from HF's BpeTrainer."""
    hf = tokenizers.Tokenizer(tokenizers.models.BPE())
    hf.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=["<|endoftext|>"],
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(), show_progress=False)  # fmt: skip
    hf.train_from_iterator(texts, trainer)
    model = json.loads(hf.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return sorted(model["vocab"], key=model["vocab"].get), merges


def corpus(name, chars):
    if name == "stdlib":
        return load_stdlib_source(chars).split("\n")
    try:
        return load_shakespeare()[:chars].split("\n")
    except CorpusUnavailableError as error:
        pytest.skip(f"the Shakespeare corpus cannot be downloaded here: {error}")


@pytest.mark.parametrize("name", ["shakespeare", "stdlib"])
def test_overlapping_counts_give_hf_merges_and_vocabulary(name):
    texts = corpus(name, 30_000)
    ours = train_bpe(texts, 500, overlapping_pairs=True)
    vocabulary, merges = hf_train(texts, 500)
    assert list(ours.merges) == merges
    assert vocabulary == ["<|endoftext|>", *ours.vocabulary[:-1]]  # HF: special first, then ours in order


@given(st.lists(st.text(alphabet="aab é日'\n1", max_size=40), min_size=1, max_size=6),
       st.integers(258, 300), st.sampled_from([1, 2, 3]))
def test_random_small_corpora_give_hf_merges(texts, vocab_size, min_frequency):
    """Tiny alphabets: many ties, runs, and merges whose result is already a token."""
    assume(count_words(texts))
    ours = train_bpe(texts, vocab_size, min_frequency=min_frequency, overlapping_pairs=True)
    vocabulary, merges = hf_train(texts, vocab_size, min_frequency)
    assert list(ours.merges) == merges and vocabulary == ["<|endoftext|>", *ours.vocabulary[:-1]]


def test_merge_consistent_counts_differ_only_where_a_run_decides():
    """On code, runs of spaces and quotes decide early (merge 14 on 30,000 characters of stdlib: "ĠĠĠĠ ĠĠĠĠ" for HF)."""
    texts = corpus("stdlib", 30_000)
    ours = train_bpe(texts, 500).merges
    _, merges = hf_train(texts, 500)
    first = next((i for i, (a, b) in enumerate(zip(ours, merges)) if a != b), None)
    assert first is not None, "no difference: the corpus has no run where the two counts disagree"
    assert merges[first][0] == merges[first][1], (first, ours[first], merges[first])


@pytest.mark.slow
def test_whole_shakespeare_to_8000_tokens_matches_hf():
    texts = corpus("shakespeare", None)
    assert list(train_bpe(texts, 8000, overlapping_pairs=True).merges) == hf_train(texts, 8000)[1]
