"""The bundle format and the port checker: round trip, a correct port passes, broken ports fail.

A broken candidate (one activation perturbed, a tensor missing, a wrong shape, a wrong dtype)
must make ``tinygrad-lm check-port`` exit 1 naming the first bad tensor in computation order;
the golden copied as a candidate exits 0; unusable input exits 2 with one line.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

from tinygrad_lm.cli import main
from tinygrad_lm.porting import BundleWriter, PortingError, check_port, read_bundle
from tinygrad_lm.porting.bundle import MANIFEST, TENSOR_FILE

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
GPT = GOLDEN / "gpt-tiny"


def test_round_trip_keeps_names_shapes_dtypes_and_values(tmp_path):
    bundle = BundleWriter("ops", "demo", {"k": 1}, 7, "float32")
    bundle.add("a/0-d", np.float64(1.5), "a scalar")
    bundle.add("a/b.c", np.arange(6.0).reshape(2, 3), "floats rounded to float32")
    bundle.add("ids", np.array([[1, 2]], dtype=np.int32), "ints stored as int64")
    bundle.add("mask", np.array([True, False]), "booleans stored as int64")
    bundle.write(tmp_path)
    manifest, tensors = read_bundle(tmp_path)
    assert [e["name"] for e in manifest["tensors"]] == ["a/0-d", "a/b.c", "ids", "mask"]
    assert tensors["a/0-d"].shape == () and tensors["a/0-d"].dtype == np.float32
    assert [e["shape"] for e in manifest["tensors"]] == [[], [2, 3], [1, 2], [2]]
    np.testing.assert_array_equal(tensors["a/b.c"], np.arange(6.0, dtype=np.float32).reshape(2, 3))
    assert tensors["ids"].dtype == np.int64 and tensors["mask"].tolist() == [1, 0]
    assert manifest["tensors"][2]["atol"] == 0.0 and manifest["seed"] == 7


def test_writing_a_bundle_beside_other_safetensors_files_is_refused(tmp_path):
    (tmp_path / "port.safetensors").write_bytes(b"")
    with pytest.raises(PortingError, match="port.safetensors"):
        BundleWriter("optim", "x", {}, 0, "float64").write(tmp_path)


def test_a_manifest_that_disagrees_with_its_file_is_refused(tmp_path):
    shutil.copytree(GPT, tmp_path / "g")
    manifest = json.loads((tmp_path / "g" / MANIFEST).read_text())
    manifest["tensors"][0]["shape"] = [3]
    (tmp_path / "g" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(PortingError, match="input/ids"):
        read_bundle(tmp_path / "g")


def _candidate(tmp_path, change=None):
    """The golden GPT bundle's tensors as a candidate directory, after ``change(tensors)``."""
    tensors = safetensors.numpy.load_file(str(GPT / TENSOR_FILE))
    if change:
        change(tensors)
    out = tmp_path / "candidate"
    out.mkdir()
    safetensors.numpy.save_file(tensors, str(out / "port.safetensors"))
    return out


def _run(capsys, *argv):
    code = main(["check-port", "--golden", str(GPT), *argv])
    return code, capsys.readouterr()


def test_the_golden_itself_passes(tmp_path, capsys):
    code, out = _run(capsys, "--candidate", str(_candidate(tmp_path)))
    assert code == 0, out.out
    assert "PASSED" in out.out


def _perturb(name, scale=1e-2):
    def change(tensors):
        tensors[name] = tensors[name] + np.float32(scale) * np.abs(tensors[name]).max()
    return change


@pytest.mark.parametrize("broken, first", [
    (_perturb("act/block1/att_probs"), "act/block1/att_probs"),
    (lambda t: t.pop("act/block0/mlp_hidden"), "act/block0/mlp_hidden"),
    (lambda t: t.update({"act/ln_f": t["act/ln_f"][:, :-1]}), "act/ln_f"),
    (lambda t: t.update({"act/block0/q": t["act/block0/q"].astype(np.float64)}), "act/block0/q"),
    (lambda t: t.update({"input/ids": t["input/ids"] + 1}), "input/ids"),
], ids=["perturbed", "missing", "shape", "dtype", "ids"])
def test_a_broken_port_fails_naming_the_first_bad_tensor(tmp_path, capsys, broken, first):
    def change(tensors):
        broken(tensors)
        _perturb("act/logits")(tensors)  # a later error too: the first one must be blamed
    code, out = _run(capsys, "--candidate", str(_candidate(tmp_path, change)))
    assert code == 1
    assert f"first mismatch: {first}" in out.out


def test_a_perturbation_within_tolerance_passes_and_nan_fails(tmp_path, capsys):
    code, _ = _run(capsys, "--candidate", str(_candidate(tmp_path, _perturb("act/embed", 1e-7))))
    assert code == 0

    def nan(tensors):
        tensors["loss"] = np.array(np.nan, dtype=np.float32)
    (tmp_path / "nan").mkdir()
    report = check_port(GPT, _candidate(tmp_path / "nan", nan))
    assert report["first_failure"] == "loss" and not report["passed"]


def test_json_report_only_prefixes_and_extra_tensors(tmp_path, capsys):
    def forward_only(tensors):
        for name in [n for n in tensors if n.startswith(("param/", "grad/", "step3/"))]:
            del tensors[name]
        tensors["debug/scratch"] = np.zeros(2, dtype=np.float32)
    candidate = str(_candidate(tmp_path, forward_only))
    code, out = _run(capsys, "--candidate", candidate, "--json")
    report = json.loads(out.out)
    assert code == 1 and report["first_failure"] == "param/wte.weight" and report["passed"] is False
    code, out = _run(capsys, "--candidate", candidate, "--only", "input/,act/,loss", "--json")
    report = json.loads(out.out)
    assert code == 0 and report["passed"] is True and report["first_failure"] is None
    assert report["extra"] == ["debug/scratch"]
    assert [row["name"] for row in report["rows"]][:3] == ["input/ids", "input/targets", "act/embed"]
    assert report["rows"][-1]["name"] == "loss"
    assert set(report["rows"][0]) >= {"name", "shape", "dtype", "status", "max_abs_error", "max_rel_error",
                                      "atol", "rtol"}


def test_unusable_input_exits_2_with_one_line(tmp_path, capsys):
    code, out = _run(capsys, "--candidate", str(tmp_path / "nothing"))
    assert code == 2 and len(out.err.strip().splitlines()) == 1 and "no such directory" in out.err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / MANIFEST).write_text("{not json")
    code = main(["check-port", "--golden", str(tmp_path / "bad"), "--candidate", str(GPT)])
    assert code == 2 and "not JSON" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    code, out = _run(capsys, "--candidate", str(tmp_path / "empty"))
    assert code == 2 and "no .safetensors" in out.err


def test_the_command_line_does_not_need_hypothesis(tmp_path):
    """Hypothesis is a test extra: importing the CLI (and the porting kit) must not load it; only
    ``golden --what ops`` needs it, and says so in one line when it is missing."""
    script = ("import sys\n"
              "import tinygrad_lm.cli\n"
              "print('hypothesis' in sys.modules)\n"
              "sys.modules['hypothesis'] = None  # as if not installed\n"
              "sys.exit(tinygrad_lm.cli.main(['golden', '--what', 'ops', '--out', sys.argv[1]]))\n")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "ops")], capture_output=True, text=True)
    assert result.stdout.strip() == "False"
    assert result.returncode == 2 and "needs Hypothesis" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
