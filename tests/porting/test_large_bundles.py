"""Bundles made on demand (not committed): bert-tiny, shakespeare-char, MiniLM — their structure.

bert-tiny is small enough to make in a test (about 2 s): its names follow the computation,
attention never looks at padding, the losses are the model's, and the library's own float32
forward passes it. shakespeare-char (the preset's 4 layers, width 128) and MiniLM (a download, 22M
parameters) are marked slow and checked for structure.
"""

import numpy as np
import pytest

from tinygrad_lm.data import PretrainedUnavailableError, fetch_pretrained
from tinygrad_lm.models import BertConfig, BertForPreTraining
from tinygrad_lm.porting import bert_golden, make_bundle, read_bundle
from tinygrad_lm.porting.check import compare
from tinygrad_lm.train.config import preset

SECTIONS = ("input/", "param/", "act/", "loss", "grad/", "step3/")


def _section_order(names):
    """The index in SECTIONS of each name's section; mlm_loss/nsp_loss count as losses."""
    return [next(i for i, s in enumerate(SECTIONS) if n.startswith(s) or (s == "loss" and n.endswith("loss")
                                                                            and "/" not in n)) for n in names]


def _structure(manifest, tensors, n_layers, layer):
    names = [e["name"] for e in manifest["tensors"]]
    order = _section_order(names)
    assert order == sorted(order), "tensors must be in computation order: inputs, params, acts, losses, grads, step3"
    for i in range(n_layers):
        assert f"act/{layer}{i}/att_probs" in names and f"act/{layer}{i}/out" in names
    params = [n[len("param/"):] for n in names if n.startswith("param/")]
    assert [n[len("grad/"):] for n in names if n.startswith("grad/")] == params
    assert [n[len("step3/param/"):] for n in names if n.startswith("step3/param/")] == params
    for i in range(n_layers):
        probs = tensors[f"act/{layer}{i}/att_probs"].astype(np.float64)
        np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def bert_tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("bert-tiny")
    make_bundle("bert", "bert-tiny").write(out)
    return read_bundle(out)


def test_bert_tiny_structure_and_padding(bert_tiny):
    manifest, tensors = bert_tiny
    _structure(manifest, tensors, manifest["config"]["n_layers"], "layer")
    pad = tensors["input/attention_mask"] == 0  # (B, T)
    assert pad.any(), "the batch must be padded"
    for i in range(manifest["config"]["n_layers"]):
        probs = tensors[f"act/layer{i}/att_probs"]  # (B, nh, T, T): no probability on a [PAD] key
        assert np.all(probs[np.broadcast_to(pad[:, None, None, :], probs.shape)] == 0)
    assert tensors["loss"] == pytest.approx(tensors["mlm_loss"] + tensors["nsp_loss"], rel=1e-6)
    assert (tensors["input/mlm_labels"] != -100).sum(axis=1).min() >= 1


def test_library_float32_forward_passes_bert_tiny(bert_tiny):
    manifest, golden = bert_tiny
    fields = {k: v for k, v in manifest["config"].items() if k in BertConfig.__dataclass_fields__}
    model = BertForPreTraining(BertConfig(**fields), dtype="float32")
    for name, param in model.named_parameters():
        param.data[...] = golden[f"param/{name}"]
    model.eval()
    batch = {k: golden[f"input/{k}"] for k in ("input_ids", "token_type_ids", "attention_mask", "mlm_labels",
                                                 "nsp_labels")}
    ours = {name: values for name, values, _ in bert_golden.activations(model, batch)}
    result = model(*batch.values())
    ours |= {"mlm_loss": result.mlm_loss.numpy(), "nsp_loss": result.nsp_loss.numpy(), "loss": result.loss.numpy()}
    entries = {e["name"]: e for e in manifest["tensors"]}
    for name, values in ours.items():
        row = compare({**entries[name], "array": golden[name]}, np.asarray(values, dtype=np.float32))
        assert row["status"] == "pass", row


@pytest.mark.slow
def test_shakespeare_char_bundle_structure(tmp_path):
    make_bundle("gpt", "shakespeare-char").write(tmp_path)
    manifest, tensors = read_bundle(tmp_path)
    run = preset("shakespeare-char")
    assert (manifest["config"]["n_layer"], manifest["config"]["n_embd"]) == (run.n_layer, run.n_embd)
    assert tensors["act/logits"].shape == (2, 64, 65)
    _structure(manifest, tensors, run.n_layer, "block")


@pytest.mark.slow
def test_minilm_bundle_structure(tmp_path):
    try:
        fetch_pretrained("all-MiniLM-L6-v2")
    except PretrainedUnavailableError as reason:
        pytest.skip(f"all-MiniLM-L6-v2 could not be downloaded: {reason}")
    make_bundle("bert", "all-MiniLM-L6-v2").write(tmp_path)
    manifest, tensors = read_bundle(tmp_path)
    assert manifest["config"]["n_layers"] == 6 and manifest["config"]["vocab_size"] == 30522
    _structure(manifest, tensors, 6, "layer")


def test_minilm_wordpiece_cases_hold_known_ids(tmp_path):
    try:
        fetch_pretrained("all-MiniLM-L6-v2")
    except PretrainedUnavailableError as reason:
        pytest.skip(f"all-MiniLM-L6-v2 could not be downloaded: {reason}")
    make_bundle("tokenizers", "wordpiece-minilm").write(tmp_path)
    manifest, tensors = read_bundle(tmp_path)
    cases = {case["text"]: case for case in manifest["config"]["cases"]}
    food = cases["A man is eating food."]
    assert tensors[food["tensor"]].tolist() == [1037, 2158, 2003, 5983, 2833, 1012]  # HF's ids, no [CLS]/[SEP]
    assert food["decoded"] == "a man is eating food ."
