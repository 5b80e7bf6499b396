"""The ``tinygrad-lm`` contract under abuse: every bad input or damaged file is one line and exit code 2."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_lm import cli
from tinygrad_lm.train.checkpoint import load_checkpoint, save_checkpoint
from tinygrad_lm.train.rundir import LOCK, RunLock
from tinygrad_lm.train.trainer import BEST, CHECKPOINT, LOG

TRAIN = ["--preset", "tiny", "--no-progress", "--kernels", "numpy", "max_iters=4", "eval_interval=2",
         "eval_iters=1", "n_embd=16", "block_size=16", "batch_size=4"]


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("cli_reliability") / "text.txt"
    path.write_text("".join(rng.choice(["to be ", "or not ", "that is ", "the question\n"], size=1000)))
    return str(path)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, text_file):
    """A 4-step run; tests copy it before damaging it."""
    out = tmp_path_factory.mktemp("finished") / "run"
    assert cli.main(["train", "--text", text_file, "--out", str(out), *TRAIN]) == 0
    return out


@pytest.fixture
def run_copy(finished_run, tmp_path):
    return shutil.copytree(finished_run, tmp_path / "run")


def _one_line_error(capsys, argv, expected=""):
    code = cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("tinygrad-lm: error: ") and expected in err, err
    return err


def _commands(run, text_file):
    """The three commands that load a run's files: resume (checkpoint), sample and eval (best, else checkpoint)."""
    return {"train": ["train", "--text", text_file, "--out", str(run), *TRAIN, "max_iters=6"],
            "sample": ["sample", "--checkpoint", str(run), "--prompt", "to", "--max-new-tokens", "2"],
            "eval": ["eval", "--checkpoint", str(run)]}


def _flip_step(path):
    """Turn the run's "step": 4 (the first; the optimizer's follow) into "step": 5, one bit, in the metadata."""
    raw = path.read_bytes()
    assert raw.index(b'\\"step\\": 4') < raw.find(b'\\"optimizer\\"') or b'\\"optimizer\\"' not in raw
    path.write_bytes(raw.replace(b'\\"step\\": 4', b'\\"step\\": 5', 1))


@pytest.mark.parametrize("command", ["train", "sample", "eval"])
def test_a_checkpoint_with_an_edited_step_is_one_checkpoint_error_line(run_copy, text_file, capsys, command):
    _flip_step(run_copy / CHECKPOINT)
    _flip_step(run_copy / BEST)
    _one_line_error(capsys, _commands(run_copy, text_file)[command], "CheckpointError: ")


@pytest.mark.parametrize("command", ["train", "sample", "eval"])
def test_best_copied_over_the_checkpoint_is_one_checkpoint_error_line(run_copy, text_file, capsys, command):
    shutil.copyfile(run_copy / BEST, run_copy / CHECKPOINT)
    argv = _commands(run_copy, text_file)[command]
    if command != "train":
        argv[2] = str(run_copy / CHECKPOINT)  # sample and eval given the file itself
    _one_line_error(capsys, argv, "holds 'best' data but 'checkpoint' was expected")


def test_random_header_bit_flips_are_refused_by_every_command(run_copy, text_file, capsys):
    """Seeded flips in checkpoint.safetensors and best.safetensors: each a CheckpointError line."""
    rng = np.random.default_rng(3)
    pristine = {name: (run_copy / name).read_bytes() for name in (CHECKPOINT, BEST)}
    for argv in _commands(run_copy, text_file).values():
        for _ in range(5):
            for name, raw in pristine.items():
                header_end = 8 + int.from_bytes(raw[:8], "little")
                flipped = bytearray(raw)
                bit = int(rng.integers(header_end * 8))
                flipped[bit // 8] ^= 1 << (bit % 8)
                (run_copy / name).write_bytes(bytes(flipped))
            _one_line_error(capsys, argv, "CheckpointError: ")


def _rewrite_header(path, change):
    """Apply ``change`` to the parsed JSON header of a safetensors file, keeping its data bytes."""
    raw = path.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + length])
    change(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + length :])


def _reseal(path, change):
    """Change the metadata and save again with a valid checksum: only the content checks can catch it."""
    arrays, meta = load_checkpoint(path)
    change(meta)
    save_checkpoint(path, arrays, meta, role=path.name.split(".")[0])


def _old_format(header):
    header["__metadata__"] = {"format": "tinygrad_lm.checkpoint/1", "sha256": "0" * 64,
                              "meta": header["__metadata__"]["meta"]}


DAMAGE = {
    "missing meta": (lambda p: _rewrite_header(p, lambda h: h["__metadata__"].pop("meta")), "lacks 'meta'"),
    "meta not JSON": (lambda p: _rewrite_header(p, lambda h: h["__metadata__"].update(meta="{")), "checksum"),
    "metadata a list": (lambda p: _rewrite_header(p, lambda h: h.update(__metadata__=[1])), "__metadata__"),
    "old format": (lambda p: _rewrite_header(p, _old_format), "older format tinygrad_lm.checkpoint/1"),
    "duplicated vocabulary entry": (lambda p: _reseal(p, lambda m: m["tokenizer"]["vocabulary"].append(" ")),
                                    "more than once"),
    "step not a number": (lambda p: _reseal(p, lambda m: m.update(step="4")), "'step' must be an integer"),
}


@pytest.mark.parametrize("command", ["train", "sample", "eval"])
@pytest.mark.parametrize("damage", DAMAGE)
def test_malformed_files_are_one_checkpoint_error_line_from_every_command(run_copy, text_file, capsys, command,
                                                                         damage):
    spoil, expected = DAMAGE[damage]
    spoil(run_copy / CHECKPOINT)
    spoil(run_copy / BEST)
    err = _one_line_error(capsys, _commands(run_copy, text_file)[command], "CheckpointError: ")
    assert expected in err


def test_a_finished_run_is_not_trained_again(run_copy, text_file, capsys):
    before = (run_copy / LOG).read_bytes(), (run_copy / CHECKPOINT).read_bytes()
    assert cli.main(["train", "--text", text_file, "--out", str(run_copy), *TRAIN]) == 0
    captured = capsys.readouterr()
    assert "already complete" in captured.err and "nothing to do" in captured.out
    assert ((run_copy / LOG).read_bytes(), (run_copy / CHECKPOINT).read_bytes()) == before


def test_artifacts_without_a_checkpoint_need_overwrite_which_starts_over(run_copy, text_file, capsys):
    (run_copy / CHECKPOINT).unlink()
    argv = ["train", "--text", text_file, "--out", str(run_copy), *TRAIN]
    _one_line_error(capsys, argv, "RunDirError: ")
    assert cli.main([*argv, "--overwrite"]) == 0
    assert load_checkpoint(run_copy / CHECKPOINT)[1]["step"] == 4
    assert cli.main(["train", "--help"]) == 0
    assert "--overwrite" in capsys.readouterr().out


def test_a_locked_run_directory_is_one_line_naming_the_pid(run_copy, text_file, capsys):
    with RunLock(run_copy):
        _one_line_error(capsys, _commands(run_copy, text_file)["train"], f"in use by process {os.getpid()}")
    assert not (run_copy / LOCK).exists()


def test_overrides_may_come_anywhere_among_the_options(tmp_path, text_file, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "max_iters=2", "--out", str(out), "eval_interval=1", "--text", text_file,
                     "--no-progress", "n_embd=16", "--kernels", "numpy", "block_size=16", "eval_iters=1"]) == 0
    meta = load_checkpoint(out / CHECKPOINT)[1]
    assert (meta["step"], meta["run_config"]["eval_interval"], meta["run_config"]["n_embd"]) == (2, 1, 16)
    _one_line_error(capsys, ["train", "--out", str(out), "--bogus", "max_iters=2"], "unrecognized arguments: --bogus")
    _one_line_error(capsys, ["sample", "--checkpoint", str(out), "max_iters=2"], "unrecognized arguments")


@pytest.mark.parametrize("length", [1, 2, 120])
def test_a_text_shorter_than_a_window_is_one_line(tmp_path, capsys, length):
    path = tmp_path / "short.txt"
    path.write_text(("abcdefghij" * 12)[:length])
    _one_line_error(capsys, ["train", "--text", str(path), "--out", str(tmp_path / "run"), *TRAIN],
                    f"the text has {length} tokens")


@pytest.mark.parametrize("override, expected", [
    ("lr=nan", "lr must be a finite number >= 0"),
    ("grad_clip=-inf", "grad_clip must be a finite number >= 0"),
    ("early_stopping_patience=-1", "early_stopping_patience must be an integer >= 0"),
    ("batch_size=1000000000", "would need at least"),
    ("block_size=5000", "at most block_size="),
    ("seed=-1", "seed must be an integer in [0, 4294967295]"),
])
def test_bad_config_values_are_one_line(tmp_path, text_file, capsys, override, expected):
    _one_line_error(capsys, ["train", "--text", text_file, "--out", str(tmp_path / "run"), *TRAIN, override],
                    expected)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy overflows on the way to NaN
def test_a_diverging_run_is_one_line_and_keeps_the_last_good_checkpoint(tmp_path, text_file, capsys):
    out = tmp_path / "run"
    _one_line_error(capsys, ["train", "--text", text_file, "--out", str(out), *TRAIN, "lr=1e300"],
                    "NonFiniteLossError: the training loss of step 2 is nan")
    arrays, meta = load_checkpoint(out / CHECKPOINT)
    assert meta["step"] == 0 and all(np.isfinite(a).all() for a in arrays.values())


def test_resuming_after_the_text_changed_is_one_line(tmp_path, text_file, capsys):
    text = tmp_path / "text.txt"
    shutil.copyfile(text_file, text)
    argv = ["train", "--text", str(text), "--out", str(tmp_path / "run"), *TRAIN]
    assert cli.main([*argv, "max_iters=2"]) == 0
    with open(text, "a") as f:
        f.write("or not\n")
    _one_line_error(capsys, argv, "changed since this run started")


def test_out_pointing_at_a_file_is_one_line(tmp_path, text_file, capsys):
    (tmp_path / "file").write_text("x")
    _one_line_error(capsys, ["train", "--text", text_file, "--out", str(tmp_path / "file"), *TRAIN],
                    "is a file, not a directory")


@pytest.mark.parametrize("value", ["nan", "-1", "1e-320", "inf", "-0.5"])
def test_unusable_temperatures_are_one_line(finished_run, capsys, value):
    _one_line_error(capsys, ["sample", "--checkpoint", str(finished_run), "--temperature", value],
                    "--temperature: must be 0 (greedy) or a finite number >= 1e-06")


@pytest.mark.parametrize("option, value", [("--top-p", "nan"), ("--top-p", "0"), ("--top-k", "0"),
                                           ("--top-k", "nan")])
def test_unusable_top_k_and_top_p_are_one_line(finished_run, capsys, option, value):
    _one_line_error(capsys, ["sample", "--checkpoint", str(finished_run), option, value])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_a_fifo_as_text_is_refused_without_hanging(tmp_path):
    """From outside: the real exit code and stderr, with a time limit so a hang fails instead of blocking."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = subprocess.run([sys.executable, "-m", "tinygrad_lm.cli", "train", "--text", str(fifo), "--out",
                             str(tmp_path / "run"), "--preset", "tiny"], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "is a FIFO, not a regular file" in result.stderr
    assert not (tmp_path / "run").exists()
