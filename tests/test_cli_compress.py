"""``tinygrad-lm quantize / prune / distill``: train -> compress -> sample and eval, and one-line errors."""

import json

import numpy as np
import pytest

from tinygrad_lm import cli


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny 2-layer GPT trained through the CLI (width 64: full int8 groups of 64; 4 heads to prune)."""
    root = tmp_path_factory.mktemp("cli_compress")
    text = "".join(np.random.default_rng(1).choice(["to be ", "or not ", "that is ", "the question\n"], size=2000))
    (root / "text.txt").write_text(text)
    out = root / "run"
    assert cli.main(["train", "--preset", "tiny", "--text", str(root / "text.txt"), "--out", str(out), "--no-progress",
                     "--kernels", "numpy", "max_iters=30", "eval_interval=30", "n_embd=64", "n_head=4", "block_size=16"]) == 0
    return out


def _one_line_error(capsys, argv):
    code = cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err
    return err


def _eval(capsys, directory):
    assert cli.main(["eval", "--checkpoint", str(directory), "--json"]) == 0
    return json.loads(capsys.readouterr().out)["val"]["loss"]


@pytest.mark.parametrize("scheme", ["int8-channel", "int8-group64", "float16"])
def test_quantize_then_sample_and_eval_work(run_dir, tmp_path, capsys, scheme):
    before = _eval(capsys, run_dir)
    assert cli.main(["quantize", "--checkpoint", str(run_dir), "--out", str(tmp_path / "q"), "--scheme", scheme]) == 0
    assert "smaller" in capsys.readouterr().out
    assert cli.main(["sample", "--checkpoint", str(tmp_path / "q"), "--prompt", "to be", "--max-new-tokens", "10"]) == 0
    assert capsys.readouterr().out.startswith("to be")
    assert abs(_eval(capsys, tmp_path / "q") - before) < 0.02


def test_quantized_run_cannot_be_quantized_again_or_resumed(run_dir, tmp_path, capsys):
    assert cli.main(["quantize", "--checkpoint", str(run_dir), "--out", str(tmp_path / "q")]) == 0
    capsys.readouterr()
    assert "already quantized" in _one_line_error(capsys, ["quantize", "--checkpoint", str(tmp_path / "q"),
                                                           "--out", str(tmp_path / "q2")])
    err = _one_line_error(capsys, ["train", "--preset", "tiny", "--out", str(tmp_path / "q"), "--no-progress"])
    assert "RunDirError" in err  # best weights but no resumable checkpoint: the trainer refuses the directory


def test_prune_writes_a_sparse_run_that_eval_reads(run_dir, tmp_path, capsys):
    assert cli.main(["prune", "--checkpoint", str(run_dir), "--out", str(tmp_path / "p"), "--sparsity", "0.5",
                     "--steps", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sparsity"] == pytest.approx(0.5, abs=1e-3)
    assert np.isfinite(_eval(capsys, tmp_path / "p"))


def test_neuron_pruning_shrinks_the_saved_model(run_dir, tmp_path, capsys):
    assert cli.main(["prune", "--checkpoint", str(run_dir), "--out", str(tmp_path / "n"), "--neurons", "64",
                     "--steps", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["parameters_after"] < report["parameters_before"]
    assert cli.main(["sample", "--checkpoint", str(tmp_path / "n"), "--prompt", "or", "--max-new-tokens", "5"]) == 0


@pytest.mark.parametrize("heads, structure", [("2", [2, 2]), ("1:1", [4, 1]), ("0:3,1:1", [3, 1])])
def test_head_pruning_shrinks_the_run_and_sample_and_eval_read_it(run_dir, tmp_path, capsys, heads, structure):
    assert cli.main(["prune", "--checkpoint", str(run_dir), "--out", str(tmp_path / "h"), "--heads", heads,
                     "--steps", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["structure"]["n_heads"] == structure and report["parameters_after"] < report["parameters_before"]
    assert len(report["head_importance"]) == 2 and len(report["head_importance"][0]) == 4  # (layers, heads)
    assert np.isfinite(_eval(capsys, tmp_path / "h"))
    assert cli.main(["sample", "--checkpoint", str(tmp_path / "h"), "--prompt", "to be", "--max-new-tokens", "8"]) == 0
    assert capsys.readouterr().out.startswith("to be")


def test_distill_trains_a_shallower_student(run_dir, tmp_path, capsys):
    assert cli.main(["distill", "--teacher", str(run_dir), "--student-layers", "1", "--out", str(tmp_path / "s"),
                     "--json", "steps=3", "temperature=3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["student_layers"] == 1 and report["student_parameters"] < report["teacher_parameters"]
    assert np.isfinite(_eval(capsys, tmp_path / "s"))


@pytest.mark.parametrize("argv, expected", [
    (["--sparsity", "0"], "strictly between 0 and 1"),
    (["--sparsity", "1"], "strictly between 0 and 1"),
    (["--neurons", "0"], "keep must be an int from 1"),
    (["--heads", "0"], "keep 1 to 3 heads"),
    (["--heads", "4"], "keeping all 4 heads of layer 0 prunes nothing"),
    (["--heads", "2:1"], "no layer 2 (the model has layers 0 to 1)"),
    (["--heads", "1:0"], "keep 1 to 3 heads"),
    (["--heads", "two"], "expected K or LAYER:K,LAYER:K"),
])
def test_bad_pruning_is_one_line(run_dir, tmp_path, capsys, argv, expected):
    assert expected in _one_line_error(capsys, ["prune", "--checkpoint", str(run_dir), "--out", str(tmp_path / "x"),
                                                "--steps", "0", *argv])


@pytest.mark.parametrize("argv, expected", [
    (["--student-layers", "3"], "a student larger than its teacher"),
    (["colour=red"], "unknown distill setting 'colour'"),
    (["steps=many"], "expected an integer"),
])
def test_bad_distillation_is_one_line(run_dir, tmp_path, capsys, argv, expected):
    assert expected in _one_line_error(capsys, ["distill", "--teacher", str(run_dir), "--out", str(tmp_path / "x"),
                                                *argv])
