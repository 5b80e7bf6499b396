"""What the committed tiny GPT bundle can tell apart: a port with the other GELU fails it.

The exact GELU and GPT-2's tanh approximation differ by at most 4.7e-4 (at |x| = 2.7) and by
far less near 0, so a bundle whose MLP pre-activations are small cannot see which one a port
uses. The generator draws the MLP's input projection so that the pre-activations have unit
variance; these tests run the library itself in float32 as a port of the committed bundle,
once with each GELU, and require the wrong one to fail exactly at the first MLP activation.
"""

from pathlib import Path

import numpy as np
import pytest

from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.porting import gpt_golden, read_bundle
from tinygrad_lm.porting.check import compare

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "gpt-tiny"


def float32_port(manifest, golden, activation):
    """The forward activations (name -> float32 array) of a float32 GPT with the bundle's
    parameters whose MLPs use ``activation`` ("gelu" exact or "gelu_tanh")."""
    config = manifest["config"]
    fields = {k: config[k] for k in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "bias")}
    model = GPT(GPTConfig(**fields), dtype="float32")
    for name, param in model.named_parameters():
        param.data[...] = golden[f"param/{name}"]
    for block in model.blocks:
        block.mlp.activation = activation
    model.eval()
    acts, _ = gpt_golden.activations(model, golden["input/ids"])
    return {name: values.astype(np.float32) for name, values, _ in acts}


def first_failure(manifest, golden, ours):
    """The first activation of the bundle (in computation order) that ``ours`` does not pass."""
    for entry in manifest["tensors"]:
        if entry["name"] in ours:
            row = compare({**entry, "array": golden[entry["name"]]}, ours[entry["name"]])
            if row["status"] != "pass":
                return entry["name"], row
    return None, None


@pytest.mark.parametrize("activation, expected", [("gelu", None), ("gelu_tanh", "act/block0/mlp_hidden")])
def test_tiny_bundle_tells_the_two_gelus_apart(activation, expected):
    manifest, golden = read_bundle(GOLDEN)
    assert manifest["config"]["gelu"] == "exact (erf)"
    name, row = first_failure(manifest, golden, float32_port(manifest, golden, activation))
    assert name == expected, row
    if expected:  # not a near miss: the tanh port is off by several tolerances
        assert row["max_abs_error"] > 5 * row["atol"], row


def test_mlp_pre_activations_reach_the_curved_part_of_gelu():
    """Unit-variance pre-activations: the largest is past 2 in every block (the gap peaks at 2.7)."""
    manifest, golden = read_bundle(GOLDEN)
    for i in range(manifest["config"]["n_layer"]):
        pre = golden[f"act/block{i}/ln2"] @ golden[f"param/blocks.{i}.mlp.fc.weight"].T \
            + golden[f"param/blocks.{i}.mlp.fc.bias"]  # (B, T, C) @ (C, 4C) -> (B, T, 4C)
        assert 0.7 < pre.std() < 1.5 and np.abs(pre).max() > 2.0, (i, pre.std(), np.abs(pre).max())
