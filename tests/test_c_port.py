"""The worked C port (tutorials/porting/gpt.c): built with the system C compiler, checked by check-port.

The port reads a golden bundle and writes every forward activation and the loss; these tests
build it with warnings as errors, run it on the committed tiny GPT bundle and require
``tinygrad-lm check-port --only input/,act/,loss`` to pass, and build it again with the
teaching switch ``-DBREAK_LAYERNORM_EPS`` (eps outside the square root) to show that the
checker fails and names the first LayerNorm as the first bad tensor. A bundle written here,
unlike the tiny one (more blocks and heads, T < block_size, float64 parameters split over two
files, with and without biases), checks the port against ``GPT.forward`` directly.
Skipped, with the reason, where no C compiler (cc, gcc or clang) is on the PATH.
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

from tinygrad_lm.cli import main as cli_main
from tinygrad_lm.models import GPT, GPTConfig

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "tutorials" / "porting" / name for name in ("gpt.c", "safetensors.c")]
GOLDEN = ROOT / "tests" / "golden" / "gpt-tiny"
COMPILER = next((shutil.which(name) for name in ("cc", "gcc", "clang") if shutil.which(name)), None)
FLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror"]
ONLY = "input/,act/,loss"

pytestmark = pytest.mark.skipif(COMPILER is None, reason="no C compiler (cc, gcc or clang) on the PATH to build "
                                "the worked C port in tutorials/porting")


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """build(*defines) -> the path of the port compiled with those -D switches (each built once)."""
    built = {}

    def compile_port(*defines):
        if defines not in built:
            exe = tmp_path_factory.mktemp("c_port") / "gpt"
            cmd = [COMPILER, *FLAGS, *(f"-D{name}" for name in defines), "-o", str(exe), *map(str, SOURCES), "-lm"]
            done = subprocess.run(cmd, check=False, capture_output=True, text=True)
            assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stderr}"
            built[defines] = exe
        return built[defines]

    return compile_port


def run_port(exe, bundle, out):
    """Run the port on ``bundle`` writing into ``out`` (created); returns the finished process."""
    out.mkdir(exist_ok=True)
    return subprocess.run([str(exe), str(bundle), str(out)], check=False, capture_output=True, text=True,
                          timeout=60)


def check_port(candidate, capsys):
    """(exit code, rows by name, report) of ``tinygrad-lm check-port --json`` on the tiny bundle."""
    capsys.readouterr()
    code = cli_main(["check-port", "--golden", str(GOLDEN), "--candidate", str(candidate), "--only", ONLY, "--json"])
    report = json.loads(capsys.readouterr().out)
    return code, {row["name"]: row for row in report["rows"]}, report


def test_c_port_passes_the_checker_on_the_tiny_gpt_bundle(build, tmp_path, capsys):
    done = run_port(build(), GOLDEN, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    code, rows, report = check_port(tmp_path / "out", capsys)
    assert code == 0, report
    manifest = json.loads((GOLDEN / "manifest.json").read_text())
    wanted = [e["name"] for e in manifest["tensors"] if e["name"].startswith(("input/", "act/", "loss"))]
    assert list(rows) == wanted  # every activation of the bundle was compared, in order
    assert all(row["status"] == "pass" for row in rows.values())


def test_c_port_summing_in_float_still_passes(build, tmp_path, capsys):
    """A naive float32 port (every sum in float) meets the bundle's float32 tolerances."""
    done = run_port(build("ACCUMULATE_IN_FLOAT"), GOLDEN, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    code, _, report = check_port(tmp_path / "out", capsys)
    assert code == 0, report


def test_layernorm_eps_outside_the_root_fails_at_the_first_layernorm(build, tmp_path, capsys):
    done = run_port(build("BREAK_LAYERNORM_EPS"), GOLDEN, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    code, rows, report = check_port(tmp_path / "out", capsys)
    assert code == 1
    assert report["first_failure"] == "act/block0/ln1"
    assert rows["act/embed"]["status"] == "pass"  # everything before the bug still agrees
    assert rows["act/block0/ln1"]["status"] == "fail"


def test_layernorm_bug_is_named_in_the_text_report(build, tmp_path, capsys):
    run_port(build("BREAK_LAYERNORM_EPS"), GOLDEN, tmp_path / "out")
    capsys.readouterr()
    code = cli_main(["check-port", "--golden", str(GOLDEN), "--candidate", str(tmp_path / "out"), "--only", ONLY])
    text = capsys.readouterr().out
    assert code == 1
    assert "first mismatch: act/block0/ln1" in text


def write_bundle(directory, model, ids, targets, bias):
    """A minimal bundle the port can read: float64 parameters (with metadata) and the batch in two files."""
    directory.mkdir()
    params = {f"param/{name}": p.data.astype(np.float64) for name, p in model.named_parameters()}
    safetensors.numpy.save_file(params, str(directory / "params.safetensors"), metadata={"made_by": "test_c_port"})
    safetensors.numpy.save_file({"input/ids": ids, "input/targets": targets}, str(directory / "batch.safetensors"))
    entries = [{"name": name, "file": "params.safetensors"} for name in params]
    entries += [{"name": name, "file": "batch.safetensors"} for name in ("input/ids", "input/targets")]
    config = {**model.config.to_dict(), "adamw": {"lr": 1e-3, "betas": [0.9, 0.95]}, "bias": bias}
    (directory / "manifest.json").write_text(json.dumps({"format": "tinygrad_lm.golden/1", "config": config,
                                                         "tensors": entries}, indent=1))


@pytest.mark.parametrize("bias", [True, False])
def test_c_port_matches_gpt_forward_on_another_shape(build, tmp_path, bias):
    config = GPTConfig(vocab_size=11, block_size=12, n_layer=3, n_head=4, n_embd=16, bias=bias, seed=3)
    model = GPT(config, dtype="float64")
    rng = np.random.default_rng(5)
    for _, p in model.named_parameters():  # non-trivial LayerNorms and biases
        p.data[...] = p.data + 0.1 * rng.standard_normal(p.shape)
    ids = rng.integers(0, 11, size=(3, 7))  # T = 7 < block_size
    targets = rng.integers(0, 11, size=(3, 7))
    write_bundle(tmp_path / "bundle", model, ids, targets, bias)
    done = run_port(build(), tmp_path / "bundle", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    got = safetensors.numpy.load_file(str(tmp_path / "out" / "candidate.safetensors"))
    logits, loss = model(ids, targets)
    np.testing.assert_allclose(got["act/logits"], logits.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got["loss"], loss.numpy(), rtol=1e-5)
    assert got["act/block2/att_probs"].shape == (3, 4, 7, 7)
    assert got["loss"].shape == () and got["act/logits"].dtype == np.float32
    np.testing.assert_array_equal(got["input/ids"], ids)


def test_c_port_names_a_missing_tensor(build, tmp_path):
    model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=4))
    ids = np.zeros((1, 4), dtype=np.int64)
    write_bundle(tmp_path / "bundle", model, ids, ids, True)
    path = tmp_path / "bundle" / "params.safetensors"
    params = safetensors.numpy.load_file(str(path))
    del params["param/blocks.0.mlp.fc.weight"]
    safetensors.numpy.save_file(params, str(path))
    done = run_port(build(), tmp_path / "bundle", tmp_path / "out")
    assert done.returncode == 1
    assert done.stderr.strip() == "gpt: the bundle has no tensor param/blocks.0.mlp.fc.weight"
