"""The Seq2Seq golden bundle (tests/golden/seq2seq-tiny): the library's own float32 run passes it
whole (activations, loss, gradients, 3 AdamW steps), it is what the generator makes today, and
the generator refuses activations that drift from ``Seq2Seq.forward``.

Regenerate with ``tinygrad-lm golden --what seq2seq --config tiny --out tests/golden/seq2seq-tiny``.
"""

from pathlib import Path

import numpy as np
import pytest

from tinygrad_lm.models import Seq2Seq, Seq2SeqConfig
from tinygrad_lm.optim import AdamW
from tinygrad_lm.porting import read_bundle, seq2seq_golden
from tinygrad_lm.porting.check import compare

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "seq2seq-tiny"
STORED_PARTS = ("input/", "param/")


def test_library_float32_run_passes_the_whole_seq2seq_bundle():
    manifest, golden = read_bundle(GOLDEN)
    config = Seq2SeqConfig.from_dict({k: v for k, v in manifest["config"].items()
                                      if k in Seq2SeqConfig.__dataclass_fields__})
    model = Seq2Seq(config, dtype="float32")
    for name, param in model.named_parameters():
        param.data[...] = golden[f"param/{name}"]
    model.eval()
    src, tgt_in, tgt_out = golden["input/src"], golden["input/tgt_in"], golden["input/tgt_out"]
    acts, _ = seq2seq_golden.activations(model, src, tgt_in)
    ours = {name: values for name, values, _ in acts}

    def loss_of():
        return model.loss(src, tgt_in, tgt_out, label_smoothing=manifest["config"]["label_smoothing"])

    loss = loss_of()
    loss.backward()
    ours["loss"] = loss.numpy()
    ours |= {f"grad/{name}": param.grad.copy() for name, param in model.named_parameters()}
    adamw = manifest["config"]["adamw"]
    optimizer = AdamW(model.parameters(), lr=adamw["lr"], betas=tuple(adamw["betas"]), eps=adamw["eps"],
                      weight_decay=adamw["weight_decay"])
    for step in range(adamw["steps"]):
        if step:
            model.zero_grad()
            loss_of().backward()
        optimizer.step()
    ours["step3/loss"] = loss_of().numpy()
    ours |= {f"step3/param/{name}": param.data for name, param in model.named_parameters()}
    entries = {e["name"]: e for e in manifest["tensors"]}
    assert set(ours) | {e for e in entries if e.startswith(STORED_PARTS)} == set(entries)
    for name, values in ours.items():
        row = compare({**entries[name], "array": golden[name]}, np.asarray(values, dtype=np.float32))
        assert row["status"] == "pass", (row["max_abs_error"], row)


def test_committed_seq2seq_bundle_is_what_the_generator_makes(tmp_path):
    old_manifest, old = read_bundle(GOLDEN)
    seq2seq_golden.make_seq2seq_bundle("tiny").write(tmp_path)
    new_manifest, new = read_bundle(tmp_path)
    assert {k: new_manifest[k] for k in ("what", "config", "seed", "dtype")} == \
           {k: old_manifest[k] for k in ("what", "config", "seed", "dtype")}
    assert [e["name"] for e in new_manifest["tensors"]] == [e["name"] for e in old_manifest["tensors"]]
    for entry in old_manifest["tensors"]:
        a, b = new[entry["name"]], old[entry["name"]]
        if b.dtype.kind in "iu":
            assert np.array_equal(a, b), entry["name"]
        else:  # float32 storage: within 2 ulps (BLAS may sum in another order), plus a floor of
            # 1e-12 of the tensor's largest entry: the keys' biases have a true gradient of exactly 0,
            # stored as float64 rounding noise (~1e-18) that changes with the summation order
            floor = 1e-12 * np.abs(b).max()
            assert np.all(np.abs(a.astype(np.float64) - b) <= 2 * np.spacing(np.abs(b)) + floor), entry["name"]


def test_seq2seq_generator_refuses_activations_that_disagree_with_the_model(monkeypatch):
    real = seq2seq_golden.activations

    def drifted(model, src, tgt_in):
        acts, logits = real(model, src, tgt_in)
        return acts, logits + 1e-9

    monkeypatch.setattr(seq2seq_golden, "activations", drifted)
    with pytest.raises(AssertionError, match="recomputed logits differ from Seq2Seq.forward"):
        seq2seq_golden.make_seq2seq_bundle("tiny")
