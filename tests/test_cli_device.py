"""``--device`` on the command line: a one-line error without CUDA, a working GPU path with it."""

import numpy as np
import pytest

from tinygrad_lm import cli
from tinygrad_lm.backends import use_kernels


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("cli_device") / "text.txt"
    path.write_text("".join(rng.choice(["to be ", "or not ", "that is ", "the question\n"], size=1000)))
    return str(path)


TRAIN = ["--preset", "tiny", "--no-progress", "--kernels", "numpy", "max_iters=4", "eval_interval=2",
         "eval_iters=1", "n_embd=16", "block_size=16"]


@pytest.mark.parametrize("how", [["--device", "cuda"], ["device=cuda"]], ids=["flag", "override"])
def test_train_on_cuda_without_it_is_one_line_and_exit_code_2(no_cuda, capsys, tmp_path, text_file, how):
    code = cli.main(["train", "--text", text_file, "--out", str(tmp_path / "run"), *TRAIN, *how])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err
    assert "--device: device 'cuda' is unavailable: CuPy is not installed" in err
    assert "pip install 'tinygrad_lm[gpu]'" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["sample", "eval"])
def test_sample_and_eval_on_cuda_without_it_fail_the_same_way(no_cuda, capsys, tmp_path, command):
    code = cli.main([command, "--checkpoint", str(tmp_path), "--device", "cuda"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "CuPy is not installed" in err


def test_an_unknown_device_is_refused_by_the_parser(capsys, tmp_path):
    assert cli.main(["sample", "--checkpoint", str(tmp_path), "--device", "tpu"]) == 2
    assert "invalid choice: 'tpu'" in capsys.readouterr().err


def test_train_sample_and_eval_run_on_the_gpu(fake_cuda, capsys, tmp_path, text_file):
    out = tmp_path / "run"
    assert cli.main(["train", "--text", text_file, "--out", str(out), "--device", "cuda", *TRAIN]) == 0
    assert "on cuda" in capsys.readouterr().out
    prompt = ["--prompt", "to be", "--max-new-tokens", "8", "--seed", "2"]
    assert cli.main(["sample", "--checkpoint", str(out), "--device", "cuda", *prompt]) == 0
    on_gpu = capsys.readouterr().out
    with use_kernels("numpy"):  # the kernels the fake GPU runs
        assert cli.main(["sample", "--checkpoint", str(out), *prompt]) == 0
    assert capsys.readouterr().out == on_gpu  # the checkpoint samples alike on both devices
    assert cli.main(["eval", "--checkpoint", str(out), "--device", "cuda"]) == 0
    assert "val: loss" in capsys.readouterr().out
