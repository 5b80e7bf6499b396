"""``tinygrad-lm translate``, ``evaluate-translation`` and ``eval`` on a tiny run trained here, and their one-line errors."""

import json

import numpy as np
import pytest

from tinygrad_lm.cli import main
from tinygrad_lm.train import save_checkpoint
from tinygrad_lm.train.config import RunConfig
from tinygrad_lm.train.seq2seq_task import (
    batch_arrays,
    encode_pairs,
    load_translation_pairs,
    load_translator,
)

NUMBERS = {"one": "uno", "two": "dos", "three": "tres", "four": "cuatro"}
TINY = ["n_layer=1", "n_head=2", "n_embd=32", "intermediate=64", "vocab_size=280", "block_size=12", "batch_size=16",
        "max_iters=30", "warmup_iters=5", "lr_decay_iters=30", "lr=5e-3", "min_lr=5e-4", "eval_interval=30",
        "eval_iters=1", "bleu_sentences=4", "dropout=0.0"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_seq2seq")
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(100):
        words = rng.choice(list(NUMBERS), size=3)
        lines.append(" ".join(words) + "\t" + " ".join(NUMBERS[w] for w in words))
    (folder / "pairs.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main(["train", "--preset", "translate-en-es", "--text", str(folder / "pairs.tsv"), "--out",
                 str(folder / "run"), "--no-progress", *TINY])
    assert code == 0
    return folder / "run"


def test_translate_prints_one_line_per_text_or_one_json_array(run_dir, capsys):
    capsys.readouterr()
    assert main(["translate", "--checkpoint", str(run_dir), "one two", "three"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["translate", "--checkpoint", str(run_dir), "--beam", "3", "--json", "one two", "four"]) == 0
    outputs = json.loads(capsys.readouterr().out)
    assert isinstance(outputs, list) and len(outputs) == 2 and all(isinstance(text, str) for text in outputs)


def test_a_long_text_is_cut_with_a_note(run_dir, capsys):
    assert main(["translate", "--checkpoint", str(run_dir), "one " * 30]) == 0
    assert "1 text(s) longer than the model's 12 positions were cut to their first 12 tokens" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["translate", "--checkpoint", "RUN", "one", "  "], "TranslationError: TEXT 2 is empty"),
    (["translate", "--checkpoint", "RUN", "--beam", "0", "one"], "--beam must be an integer >= 1"),
    (["translate", "--checkpoint", "GPT", "one"], "a gpt checkpoint, not a translation model"),
])
def test_bad_input_is_one_line_and_exit_2(run_dir, tmp_path, capsys, argv, message):
    save_checkpoint(tmp_path / "best.safetensors", {"model.w": np.zeros(2, np.float32)},
                    {"run_config": {"model": "gpt"}}, role="best")
    argv = [{"RUN": str(run_dir), "GPT": str(tmp_path)}.get(a, a) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exit_info:  # argparse's own errors exit; the library's user errors return 2
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_evaluate_translation_scores_each_beam_and_saves_the_outputs(run_dir, tmp_path, capsys):
    capsys.readouterr()
    code = main(["evaluate-translation", "--checkpoint", str(run_dir), "--beam", "1", "--beam", "2",
                 "--save", str(tmp_path), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"] == "test" and report["pairs"] == 10 and set(report["scores"]) == {"beam1", "beam2"}
    assert all(0 <= s["bleu"] <= 100 and 0 <= s["chrf"] <= 100 for s in report["scores"].values())
    assert len((tmp_path / "beam2.txt").read_text(encoding="utf-8").splitlines()) == 10


def test_eval_reports_the_exact_cross_entropy_of_each_held_out_pair(run_dir, capsys):
    """``tinygrad-lm eval`` on a translation run: the token-weighted, unsmoothed cross-entropy over the validation and
    test pairs, checked against a pair-by-pair computation from the model's logits."""
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(run_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "seq2seq" and set(report) >= {"val", "test"}
    model, tokenizer, meta = load_translator(run_dir)
    model.eval()
    splits = load_translation_pairs(RunConfig.from_dict(meta["run_config"]))
    for name, split in (("val", "validation"), ("test", "test")):
        total, tokens = 0.0, 0
        for source, target in encode_pairs(tokenizer, splits[split], model.config.max_positions):
            src, tgt_in, tgt_out = batch_arrays([source], [target], model.config)  # one pair: no padding
            logits = model(src, tgt_in).numpy()[0].astype(np.float64)  # (T, V)
            shifted = logits - logits.max(axis=1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            total -= log_probs[np.arange(len(tgt_out[0])), tgt_out[0]].sum()
            tokens += len(tgt_out[0])
        got = report[name]
        assert got["tokens"] == tokens and got["pairs"] == len(splits[split]) - got["pairs_too_long"]
        np.testing.assert_allclose(got["loss"], total / tokens, rtol=1e-5)
        np.testing.assert_allclose(got["perplexity"], np.exp(total / tokens), rtol=1e-5)
    assert main(["eval", "--checkpoint", str(run_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "evaluate-translation" in lines[0] and lines[1].startswith("val: loss ") and lines[2].startswith("test: loss ")
