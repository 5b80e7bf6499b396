"""The translation task: pairs files, length batches, padding, the config fields, a tiny run end to end."""

import dataclasses
import json

import numpy as np
import pytest

from tinygrad_lm.models.seq2seq import Seq2SeqConfig
from tinygrad_lm.train import (
    ConfigError,
    Trainer,
    apply_overrides,
    preset,
    save_checkpoint,
)
from tinygrad_lm.train.seq2seq_task import (
    LengthBatches,
    TranslationError,
    batch_arrays,
    load_translation_pairs,
    load_translator,
    read_pairs_file,
    translate,
)

NUMBERS = {"one": "uno", "two": "dos", "three": "tres", "four": "cuatro", "five": "cinco", "six": "seis"}


def write_pairs(path, n=300, seed=0):
    """``n`` lines 'one three two<TAB>uno tres dos': a word-for-word code a tiny model learns fast."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        words = rng.choice(list(NUMBERS), size=rng.integers(2, 6))
        lines.append(" ".join(words) + "\t" + " ".join(NUMBERS[w] for w in words))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tiny_config(pairs_path, **changes):
    """translate-en-es shrunk to seconds: 1 layer, width 32, 300 merges-worth of BPE, 60 steps."""
    overrides = ["n_layer=1", "n_head=2", "n_embd=32", "intermediate=64", "vocab_size=300", "block_size=16",
                 "batch_size=16", "max_iters=60", "warmup_iters=10", "lr_decay_iters=60", "lr=5e-3", "min_lr=5e-4",
                 "eval_interval=30", "eval_iters=2", "bleu_sentences=8", "dropout=0.0"]
    config = apply_overrides(preset("translate-en-es"), overrides)
    return dataclasses.replace(config, text_path=str(pairs_path), **changes)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seq2seq")
    config = tiny_config(write_pairs(folder / "pairs.tsv"))
    summary = Trainer(config, folder / "run", progress=False).run()
    return folder / "run", summary


def test_pairs_file_is_split_80_10_10_in_order(tmp_path):
    config = tiny_config(write_pairs(tmp_path / "pairs.tsv", n=50))
    splits = load_translation_pairs(config)
    assert {name: len(pairs) for name, pairs in splits.items()} == {"train": 40, "validation": 5, "test": 5}
    assert splits["test"][-1] == read_pairs_file(tmp_path / "pairs.tsv")[-1]


@pytest.mark.parametrize("line", ["no tab here", "a\tb\tc", "\tuno"])
def test_a_bad_pairs_line_is_named(tmp_path, line):
    (tmp_path / "pairs.tsv").write_text(f"one\tuno\n{line}\n", encoding="utf-8")
    with pytest.raises(TranslationError, match=r"pairs\.tsv, line 2: expected 'source<TAB>target'"):
        read_pairs_file(tmp_path / "pairs.tsv")


def test_length_batches_cover_each_epoch_once_group_lengths_and_resume():
    lengths = np.random.default_rng(1).integers(1, 100, size=1000)
    batches = LengthBatches(lengths, batch_size=10, seed=3)
    epoch = [batches.next_rows() for _ in range(100)]
    assert sorted(np.concatenate(epoch).tolist()) == list(range(1000))
    spread = np.mean([np.ptp(lengths[rows]) for rows in epoch])
    assert spread < 0.2 * np.mean([np.ptp(lengths[rows]) for rows in np.split(np.arange(1000), 100)])
    state = json.loads(json.dumps(batches.state_dict()))
    ahead = [batches.next_rows().tolist() for _ in range(5)]  # crosses into epoch 1
    resumed = LengthBatches(lengths, batch_size=10, seed=3)
    resumed.load_state_dict(state)
    assert [resumed.next_rows().tolist() for _ in range(5)] == ahead


def test_batch_arrays_pad_and_shift_the_target():
    config = Seq2SeqConfig(vocab_size=10, pad_id=7, bos_id=8, eos_id=9)
    src, tgt_in, tgt_out = batch_arrays([np.array([1, 2, 3]), np.array([4])], [np.array([5]), np.array([6, 6])], config)
    assert src.tolist() == [[1, 2, 3], [4, 7, 7]]
    assert tgt_in.tolist() == [[8, 5, 7], [8, 6, 6]]
    assert tgt_out.tolist() == [[5, 9, 7], [6, 6, 9]]


def test_config_checks_the_translation_fields():
    config = preset("translate-en-es")
    assert (config.model, config.tokenizer, config.label_smoothing) == ("seq2seq", "bpe", 0.1)
    with pytest.raises(ConfigError, match="tokenizer must be 'bpe' for model='seq2seq'"):
        dataclasses.replace(config, tokenizer="char")
    with pytest.raises(ConfigError, match=r"label_smoothing must be in \[0, 1\)"):
        dataclasses.replace(config, label_smoothing=1.0)
    with pytest.raises(ConfigError, match="dataset must be one of kjv-rv1909"):
        load_translation_pairs(dataclasses.replace(config, dataset="pang-lee"))


def test_a_tiny_run_learns_and_its_checkpoint_translates(tiny_run):
    run_dir, summary = tiny_run
    losses = summary["train_losses"]
    assert np.mean(losses[-10:]) < 0.6 * np.mean(losses[:5])
    final = summary["final_eval"]
    assert {"train_loss", "val_loss", "val_bleu", "monitor"} <= set(final)
    model, tokenizer, meta = load_translator(run_dir)
    assert meta["translation"]["pairs"] == {"train": 240, "validation": 30, "test": 30}
    assert tokenizer.special_tokens == {"<pad>": 297, "<s>": 298, "</s>": 299}
    greedy, cut = translate(model, tokenizer, ["one two", "three " * 40])
    assert cut == 1 and len(greedy) == 2 and all(isinstance(text, str) for text in greedy)
    assert translate(model, tokenizer, ["one two"], beam=1)[0] == greedy[:1]


def test_load_translator_refuses_another_kind_of_checkpoint(tmp_path):
    save_checkpoint(tmp_path / "best.safetensors", {"model.w": np.zeros(2, np.float32)},
                    {"run_config": {"model": "gpt"}}, role="best")
    with pytest.raises(TranslationError, match="a gpt checkpoint, not a translation model"):
        load_translator(tmp_path)


def test_a_translation_run_resumes_exactly(tmp_path):
    """Stopped at step 20 and resumed to 40, the run takes the same steps as one run straight to 40."""
    pairs = write_pairs(tmp_path / "pairs.tsv")
    config = tiny_config(pairs, max_iters=40, eval_interval=20)
    straight = Trainer(config, tmp_path / "straight", progress=False).run()
    Trainer(dataclasses.replace(config, max_iters=20), tmp_path / "halves", progress=False).run()
    resumed = Trainer(config, tmp_path / "halves", progress=False).run()
    assert resumed["train_losses"] == straight["train_losses"][20:]
