"""The committed bundles under tests/golden are exactly what the generators make today.

Each small bundle is regenerated and compared with the committed one: the manifest (names,
order, shapes, dtypes, descriptions, config) must be equal, integer tensors equal, float64
tensors within 1e-12 (absolute, plus 1e-12 relative: BLAS may sum in another order on another
machine), float32 tensors within 2 ulps of the committed value (the float64 result rounds to a
neighbouring float32 when it sits near a rounding boundary). Tolerance fields may differ by
1e-6 relative (they are computed from the values). A code change that changes numbers fails
here: regenerate with ``tinygrad-lm golden --what W --config C --out tests/golden/W-C`` and
let the review see the diff.

Also: the library's own float32 GPT forward passes the tiny bundle with its tolerances (so the
tolerances are neither too tight for a float32 port nor loose enough to hide a real bug, which
tests/porting/test_checker.py shows), and the GPT generator refuses to write activations whose
logits disagree with ``GPT.forward``.
"""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lm import tensor
from tinygrad_lm.cli import main
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.optim import AdamW, param_groups_for_weight_decay
from tinygrad_lm.porting import gpt_golden, make_bundle, read_bundle
from tinygrad_lm.porting.check import compare
from tinygrad_lm.porting.ops_golden import from_json
from tinygrad_lm.testing import all_specs

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
OPS32 = read_bundle(GOLDEN / "ops-float32")
COMMITTED = [("gpt", "tiny"), ("ops", "float64"), ("ops", "float32"), ("tokenizers", "char-byte"),
             ("tokenizers", "wordpiece"), ("optim", "quadratic")]


def _close_enough(new, old):
    if old.dtype.kind in "iu":
        return np.array_equal(new, old)
    if old.dtype == np.float64:
        return np.all(np.abs(new - old) <= 1e-12 + 1e-12 * np.abs(old))
    return np.all(np.abs(new.astype(np.float64) - old) <= 2 * np.spacing(np.abs(old)).astype(np.float64) + 1e-30)


@pytest.mark.parametrize("what, config", COMMITTED, ids=[f"{w}-{c}" for w, c in COMMITTED])
def test_committed_bundle_is_what_the_generator_makes(tmp_path, what, config):
    old_manifest, old = read_bundle(GOLDEN / f"{what}-{config}")
    make_bundle(what, config).write(tmp_path)
    new_manifest, new = read_bundle(tmp_path)
    for key in ("format", "what", "config_name", "config", "seed", "dtype"):
        assert new_manifest[key] == old_manifest[key], f"{what}-{config}: manifest field {key} changed"
    assert [e["name"] for e in new_manifest["tensors"]] == [e["name"] for e in old_manifest["tensors"]]
    for a, b in zip(new_manifest["tensors"], old_manifest["tensors"]):
        assert (a["shape"], a["dtype"], a["description"]) == (b["shape"], b["dtype"], b["description"]), a["name"]
        assert math.isclose(a["atol"], b["atol"], rel_tol=1e-6) and a["rtol"] == b["rtol"], a["name"]
        assert _close_enough(new[a["name"]], old[a["name"]]), f"{what}-{config}: tensor {a['name']} changed"


def test_library_float32_run_passes_the_whole_gpt_bundle():
    """Forward, gradients and 3 AdamW steps in float32, as a port would run them, all pass."""
    manifest, golden = read_bundle(GOLDEN / "gpt-tiny")
    config = manifest["config"]
    fields = {k: config[k] for k in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "bias")}
    model = GPT(GPTConfig(**fields), dtype="float32")
    for name, param in model.named_parameters():
        param.data[...] = golden[f"param/{name}"]
    model.eval()
    ids, targets = golden["input/ids"], golden["input/targets"]
    acts, _ = gpt_golden.activations(model, ids)
    ours = {name: values for name, values, _ in acts}
    _, loss = model(ids, targets)
    loss.backward()
    ours["loss"] = loss.numpy()
    ours |= {f"grad/{name}": param.grad.copy() for name, param in model.named_parameters()}
    adamw = config["adamw"]
    groups = param_groups_for_weight_decay(model.named_parameters(), adamw["weight_decay"])
    optimizer = AdamW(groups, lr=adamw["lr"], betas=tuple(adamw["betas"]), eps=adamw["eps"])
    for step in range(adamw["steps"]):
        if step:
            model.zero_grad()
            model(ids, targets)[1].backward()
        optimizer.step()
    ours["step3/loss"] = model(ids, targets)[1].numpy()
    ours |= {f"step3/param/{name}": param.data for name, param in model.named_parameters()}
    entries = {e["name"]: e for e in manifest["tensors"]}
    assert set(ours) | {e for e in entries if e.startswith(("input/", "param/"))} == set(entries)
    for name, values in ours.items():
        row = compare({**entries[name], "array": golden[name]}, np.asarray(values, dtype=np.float32))
        assert row["status"] == "pass", row


def test_gpt_generator_refuses_activations_that_disagree_with_the_model(monkeypatch):
    real = gpt_golden.activations

    def drifted(model, ids):
        acts, logits = real(model, ids)
        return acts, logits + 1e-9
    monkeypatch.setattr(gpt_golden, "activations", drifted)
    with pytest.raises(AssertionError, match="recomputed logits differ from GPT.forward"):
        gpt_golden.make_gpt_bundle("tiny")


def test_ops_inputs_do_not_depend_on_what_was_imported_before():
    """Hypothesis may draw literals of loaded modules; the generator switches that off. A fresh
    process, so that numba_cpu's literals are really new when it is imported between the draws."""
    script = ("from tinygrad_lm.porting.ops_golden import draw_case\n"
              "from tinygrad_lm.testing import get\n"
              "before = draw_case(get('add'), 'float64').arrays\n"
              "import tinygrad_lm.backends.numba_cpu\n"
              "after = draw_case(get('add'), 'float64').arrays\n"
              "print(all(a.shape == b.shape and (a == b).all() for a, b in zip(before, after)))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"


def test_golden_command_writes_a_bundle_and_refuses_an_unknown_config(tmp_path, capsys):
    assert main(["golden", "--what", "optim", "--out", str(tmp_path / "optim")]) == 0
    assert "63 tensors" in capsys.readouterr().out
    assert read_bundle(tmp_path / "optim")[0]["config_name"] == "quadratic"
    assert main(["golden", "--what", "gpt", "--config", "huge", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "unknown --config 'huge'" in err and "tiny" in err


@pytest.mark.parametrize("spec", all_specs(), ids=lambda spec: spec.name)
def test_library_float32_ops_pass_the_float32_ops_bundle(spec):
    """Each op run in float32 on the bundle's inputs (kwargs read back from the manifest), as a
    float32 port would, meets the bundle's tolerances in its outputs and input gradients."""
    manifest, golden = OPS32
    entries = {e["name"]: e for e in manifest["tensors"]}
    setting = manifest["config"]["ops"][spec.name]
    kwargs = from_json(setting["kwargs"])
    arrays = [golden[f"{spec.name}/input{i}"].astype(dtype) for i, dtype in enumerate(setting["input_dtypes"])]
    grads = [i for i in range(len(arrays)) if f"{spec.name}/grad_input{i}" in entries]
    inputs = [tensor(a, requires_grad=i in grads) if a.dtype.kind == "f" else a for i, a in enumerate(arrays)]
    outputs = spec.fn(*inputs, **kwargs)
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    for k, out in enumerate(outputs):
        name = f"{spec.name}/output{k}"
        stored = golden[name]
        row = compare({**entries[name], "array": stored}, out.numpy().astype(stored.dtype))
        assert row["status"] == "pass", row
    if grads:
        for k, out in enumerate(outputs):
            out.backward(golden[f"{spec.name}/upstream{k}"], retain_graph=k < len(outputs) - 1)
        for i in grads:
            name = f"{spec.name}/grad_input{i}"
            row = compare({**entries[name], "array": golden[name]}, inputs[i].grad)
            assert row["status"] == "pass", row
