"""The ``tinygrad-lm`` command: the train -> sample -> eval path, and one-line errors."""

import numpy as np
import pytest

from tinygrad_lm import cli
from tinygrad_lm.data import corpora


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny model trained through the CLI on a small text file."""
    root = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(1)
    text = "".join(rng.choice(["to be ", "or not ", "that is ", "the question\n"], size=2000))
    (root / "text.txt").write_text(text)
    out = root / "run"
    code = cli.main(["train", "--preset", "tiny", "--text", str(root / "text.txt"), "--out", str(out),
                     "--no-progress", "--kernels", "numpy", "max_iters=30", "eval_interval=15", "n_embd=16", "block_size=16"])
    assert code == 0
    return out


def _one_line_error(capsys, argv):
    code = cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "\n" not in err and "Traceback" not in err
    return err


def test_train_reports_losses_and_sample_and_eval_work(run_dir, capsys):
    assert (run_dir / "best.safetensors").exists()
    assert cli.main(["sample", "--checkpoint", str(run_dir), "--prompt", "to be", "--max-new-tokens", "20",
                     "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("to be") and len(first.rstrip("\n")) >= len("to be") + 10
    cli.main(["sample", "--checkpoint", str(run_dir), "--prompt", "to be", "--max-new-tokens", "20", "--seed", "3"])
    assert capsys.readouterr().out == first  # seeded
    assert cli.main(["eval", "--checkpoint", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "train: loss" in out and "val: loss" in out and "perplexity" in out


def test_greedy_sampling_needs_no_seed(run_dir, capsys):
    assert cli.main(["sample", "--checkpoint", str(run_dir), "--prompt", "or", "--temperature", "0",
                     "--max-new-tokens", "5"]) == 0


def test_prompt_longer_than_the_context_is_cropped_with_a_notice(run_dir, capsys):
    assert cli.main(["sample", "--checkpoint", str(run_dir), "--prompt", "to be " * 10, "--max-new-tokens", "3"]) == 0
    assert "the model sees only the last 16" in capsys.readouterr().err


def test_prompt_with_unknown_characters_names_them(run_dir, capsys):
    err = _one_line_error(capsys, ["sample", "--checkpoint", str(run_dir), "--prompt", "to bé"])
    assert "U+00E9" in err


def test_tampered_checkpoint_is_refused(run_dir, capsys, tmp_path):
    broken = tmp_path / "broken.safetensors"
    raw = (run_dir / "best.safetensors").read_bytes()
    broken.write_bytes(raw[:-1] + bytes([raw[-1] ^ 0xFF]))
    assert "checksum" in _one_line_error(capsys, ["sample", "--checkpoint", str(broken), "--prompt", "to"])


@pytest.mark.parametrize("argv, expected", [
    (["train", "--preset", "huge"], "unknown preset 'huge'"),
    (["train", "--preset", "tiny", "colour=red"], "unknown key"),
    (["train", "--preset", "tiny", "max_iters=many"], "expected int"),
    (["train", "--corpus", "stdlib", "--text", "x.txt"], "either --corpus or --text"),
    (["train", "--text", "/no/such/file.txt", "--no-progress"], "/no/such/file.txt"),
    (["sample", "--checkpoint", "/no/such/run"], "train first"),
    (["demo", "--batch", "0"], "must be between"),
    (["frobnicate"], "invalid choice"),
    (["train", "--kernels", "fortran"], "invalid choice: 'fortran'"),
])
def test_bad_input_is_one_line_and_exit_code_2(capsys, argv, expected):
    assert expected in _one_line_error(capsys, argv)


def test_offline_shakespeare_names_the_alternatives(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TINYGRAD_LM_CACHE", str(tmp_path))

    def offline(dest_dir):
        raise corpora.CorpusUnavailableError("could not download the Shakespeare corpus (no network); "
                                             "use --corpus stdlib or --text PATH")

    monkeypatch.setattr(corpora, "download_shakespeare_archive", offline)
    err = _one_line_error(capsys, ["train", "--preset", "shakespeare-char", "--out", str(tmp_path / "r")])
    assert "--corpus stdlib" in err and "--text PATH" in err


def test_demo_passes_its_gradcheck(capsys):
    assert cli.main(["demo"]) == 0
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["word2vec", "glove", "distill"])
def test_key_value_settings_reach_every_command_that_takes_them_on_both_sides_of_an_option(command, monkeypatch):
    """``CMD a=1 --opt X b=2``: argparse keeps one run of positionals, the rest must still arrive."""
    from tinygrad_lm import cli

    seen = {}
    argv = {"word2vec": ["word2vec", "--text", "t.txt", "epochs=1", "--out", "v.txt", "window=2"],
            "glove": ["glove", "--text", "t.txt", "epochs=1", "--out", "v.txt", "window=2"],
            "distill": ["distill", "--teacher", "run", "epochs=1", "--student-layers", "1", "window=2"]}[command]
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    subparser = parser._subparsers._group_actions[0].choices[command]
    subparser.set_defaults(run=lambda args: seen.setdefault("overrides", args.overrides) and 0)
    assert cli.main(argv) == 0
    assert seen["overrides"] == ["epochs=1", "window=2"]
