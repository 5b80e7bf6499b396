"""BERT pre-training data: documents and sentences, NSP pairs, MLM masking (seeded statistics)."""

import numpy as np
import pytest

from tinygrad_lm.data import CorpusError, WordPieceTokenizer
from tinygrad_lm.data.bert_pretraining import (
    IGNORE_INDEX,
    IS_NEXT,
    NOT_NEXT,
    PretrainingData,
    docstring_documents,
    encode_documents,
    format_documents,
    shakespeare_documents,
    split_documents,
    split_sentences,
    text_documents,
    truncate_pair,
)

WORDS = [f"w{i}" for i in range(40)]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", *WORDS, "un", "##able", "##ly", "##ness"]


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer(VOCAB)


def _documents(n_docs=6, n_sentences=30, seed=0):
    """Documents of sentences; sentence k of document d starts with the marker word w{d} so a test can
    tell which document a segment came from; words of several pieces ("unablely", "unableness") too."""
    rng = np.random.default_rng(seed)
    docs = []
    for d in range(n_docs):
        doc = []
        for _ in range(n_sentences):
            words = [WORDS[d]] + [str(rng.choice([*WORDS[10:], "unablely", "unableness"])) for _ in range(rng.integers(3, 9))]
            doc.append(" ".join(words) + " .")
        docs.append(doc)
    return docs


@pytest.fixture(scope="module")
def data(tokenizer):
    return PretrainingData(encode_documents(_documents(), tokenizer), tokenizer, max_length=48)


def test_split_sentences_cuts_after_end_punctuation_followed_by_space():
    text = 'Speak,  speak.\nWhat? "No!" he said (twice.) Then\tmore'
    assert split_sentences(text) == ["Speak, speak.", "What?", '"No!"', "he said (twice.)", "Then more"]
    assert split_sentences("  \n ") == []
    assert split_sentences("e.g. x") == ["e.g.", "x"]  # the documented rule, no abbreviation list


def test_shakespeare_documents_are_plays_without_speaker_lines():
    play = "THE TRAGEDY OF {0}\n\nby William Shakespeare\n\nACT I.\n\nFIRST CITIZEN.\nHear me speak. We know{0}.\n\nALL.\nSpeak!\n"
    text = "\n\n".join(play.format(name) for name in ("A", "B", "C"))
    docs = shakespeare_documents(text)
    assert docs == [["Hear me speak.", f"We know{name}.", "Speak!"] for name in "ABC"]
    with pytest.raises(CorpusError, match="by William Shakespeare"):
        shakespeare_documents("no plays here\n")


def test_docstring_documents_are_modules_in_source_order(tmp_path):
    (tmp_path / "a.py").write_text('"""Module a. Second sentence.\n\nNew paragraph"""\n'
                                   'def f():\n    """F does it."""\nclass C:\n    """C is."""\n')
    (tmp_path / "b.py").write_text("def broken(:\n")  # does not parse: skipped
    (tmp_path / "c.py").write_text("x = 1\n")  # no docstring: skipped
    assert docstring_documents(tmp_path) == [["Module a.", "Second sentence.", "New paragraph", "F does it.", "C is."]]


def test_bert_text_format_round_trips():
    docs = [["One.", "Two."], ["Three."], ["Four.", "Five.", "Six."]]
    assert text_documents(format_documents(docs)) == docs
    assert text_documents("a\nb\n  \n\n\nc\n") == [["a", "b"], ["c"]]


def test_split_documents_holds_out_a_tenth_spread_evenly_and_refuses_too_few():
    docs = [[str(i)] for i in range(30)]
    train, held = split_documents(docs)
    assert held == [docs[5], docs[15], docs[25]] and train == [d for d in docs if d not in held]
    assert split_documents(docs[:8])[1] == [docs[2], docs[6]]  # at least two
    with pytest.raises(CorpusError, match="needs at least 4"):
        split_documents(docs[:3])


def test_masking_statistics_15_percent_then_80_10_10(data, tokenizer):
    rng = np.random.default_rng(1)
    chosen = masked = random = kept = candidates = 0
    for _ in range(3000):
        ids, _, _, _ = data.make_pair(rng)
        out, labels = data.mask_tokens(ids, rng)
        picked = labels != IGNORE_INDEX
        assert np.array_equal(labels[picked], ids[picked])  # labels are the original tokens
        assert np.array_equal(out[~picked], ids[~picked])  # nothing else changes
        candidates += np.sum(~data.special[ids])
        chosen += picked.sum()
        masked += np.sum(out[picked] == tokenizer.mask_id)
        random += np.sum((out[picked] != ids[picked]) & (out[picked] != tokenizer.mask_id))
        kept += np.sum(out[picked] == ids[picked])
        assert not data.special[out[picked & (out != tokenizer.mask_id)]].any()  # random tokens are ordinary
    assert chosen / candidates == pytest.approx(0.15, abs=0.005)
    # a random token may draw the original one (1 / 41 of the time), which then counts as kept
    assert masked / chosen == pytest.approx(0.8, abs=0.01)
    assert random / chosen == pytest.approx(0.1 * 40 / 41, abs=0.01)
    assert kept / chosen == pytest.approx(0.1 + 0.1 / 41, abs=0.01)


def test_special_tokens_are_never_masked(data, tokenizer):
    rng = np.random.default_rng(2)
    batch = data.next_batch(64, rng)
    labelled = batch["mlm_labels"] != IGNORE_INDEX
    original = np.where(labelled, batch["mlm_labels"], batch["input_ids"])  # (B, T) before masking
    assert not data.special[original[labelled]].any()
    assert np.all(batch["mlm_labels"][batch["attention_mask"] == 0] == IGNORE_INDEX)
    assert np.all(batch["input_ids"][batch["attention_mask"] == 0] == tokenizer.pad_id)
    assert np.all(batch["input_ids"][:, 0] == tokenizer.cls_id)  # [CLS] stays in place
    sep_counts = np.sum(batch["input_ids"] == tokenizer.sep_id, axis=1)
    assert np.all(sep_counts == 2)  # both [SEP]s survive (a random replacement never draws one)
    assert labelled.sum(axis=1).min() >= 1  # every pair has a target


def test_whole_word_masking_masks_whole_words(tokenizer):
    data = PretrainingData(encode_documents(_documents(), tokenizer), tokenizer, max_length=48, whole_word_mask=True)
    rng = np.random.default_rng(3)
    partial_words = chosen = candidates = 0
    for _ in range(1000):
        ids, _, _, _ = data.make_pair(rng)
        _, labels = data.mask_tokens(ids, rng)
        picked = labels != IGNORE_INDEX
        continuation = data.continuation[ids]
        # a continuation piece is picked exactly when the piece before it is
        partial_words += np.sum(continuation[1:] & (picked[1:] != picked[:-1]))
        chosen += picked.sum()
        candidates += np.sum(~data.special[ids])
    assert partial_words == 0
    assert chosen / candidates == pytest.approx(0.15, abs=0.02)  # whole words undershoot n a little


def test_nsp_is_balanced_and_a_false_b_comes_from_another_document(tokenizer):
    docs = encode_documents(_documents(), tokenizer)
    data = PretrainingData(docs, tokenizer, max_length=48)
    rng = np.random.default_rng(4)
    labels = []
    for _ in range(4000):
        ids, types, label, source = data.make_pair(rng)
        a, b = ids[types == 0][1:-1], ids[types == 1][:-1]
        document_of = {int(tokenizer.encode(f"w{d}")[0]): d for d in range(len(docs))}
        a_doc, b_doc = document_of[int(a[0])], document_of.get(int(b[0]))
        if label == IS_NEXT:
            assert source == a_doc
        else:
            assert label == NOT_NEXT and source != a_doc
        if b_doc is not None:  # B starts at a sentence start (its marker word) unless it was cut to nothing
            assert b_doc == source
        labels.append(label)
    assert np.mean(labels) == pytest.approx(0.5, abs=0.025)


def test_pairs_are_truncated_longest_first_and_keep_cls_sep_and_types(tokenizer):
    long_docs = [[" ".join(["w1"] * 40) + " .", " ".join(["w2"] * 50) + " ."] * 3 for _ in range(3)]
    data = PretrainingData(encode_documents(long_docs, tokenizer), tokenizer, max_length=16)
    rng = np.random.default_rng(5)
    for _ in range(50):
        ids, types, _, _ = data.make_pair(rng)
        assert len(ids) == 16 and ids[0] == tokenizer.cls_id and ids[-1] == tokenizer.sep_id
        first_sep = int(np.flatnonzero(ids == tokenizer.sep_id)[0])
        assert np.all(types[: first_sep + 1] == 0) and np.all(types[first_sep + 1 :] == 1)
        assert abs(first_sep - 1 - (len(ids) - first_sep - 2)) <= 1  # both long: the budget is shared
    assert truncate_pair([1] * 10, [2] * 3, 8) == ([1] * 5, [2] * 3)  # only the longer one shrinks
    assert truncate_pair([1] * 6, [2] * 6, 7) == ([1] * 4, [2] * 3)  # a tie takes from B first
    assert truncate_pair([1, 2], [3], 5) == ([1, 2], [3])


def test_batches_are_deterministic_given_a_seed(data):
    first = data.next_batch(8, np.random.default_rng(7))
    again = data.next_batch(8, np.random.default_rng(7))
    other = data.next_batch(8, np.random.default_rng(8))
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not np.array_equal(first["input_ids"], other["input_ids"])
    assert first["input_ids"].shape == (8, 48) and first["nsp_labels"].shape == (8,)
    held = data.heldout_set(20, 8, seed=[1, 2])
    assert [len(b["nsp_labels"]) for b in held] == [8, 8, 4]
    assert all(np.array_equal(x["input_ids"], y["input_ids"]) for x, y in zip(held, data.heldout_set(20, 8, [1, 2])))
