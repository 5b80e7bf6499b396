"""Checks of chapter 11's exercises (the `answers` fixture: see conftest.py).

The answers are ports, so they are checked as ports are: against golden bundles written here
by the library (`tinygrad_lm.porting`, the code behind `tinygrad-lm golden`), through the
checker (`check_port`, behind `tinygrad-lm check-port`), whose report is shown on failure.
"""

import json

import numpy as np
import pytest
import safetensors.numpy

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm.porting import check_port, format_report, make_bundle
from tinygrad_lm.testing import check_close

rng = np.random.default_rng(11)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """{what: (directory, manifest, tensors)} of the tiny GPT bundle and the optim bundle."""
    out = {}
    for what, config in (("gpt", "tiny"), ("optim", "quadratic")):
        folder = tmp_path_factory.mktemp(f"golden_{what}")
        manifest = make_bundle(what, config).write(folder)
        out[what] = folder, manifest, safetensors.numpy.load_file(str(folder / "tensors.safetensors"))
    return out


def _passes(golden_dir, candidate, folder, only):
    """Write ``candidate`` as a port's output and assert the checker passes it on ``only``."""
    folder.mkdir()
    safetensors.numpy.save_file({name: np.array(a, order="C") for name, a in candidate.items()},  # 0-d stays 0-d
                                str(folder / "port.safetensors"))
    report = check_port(golden_dir, folder, only=only)
    assert report["passed"], "\n" + format_report(report)


def test_causal_attention_probs_passes_the_gpt_bundle(answers, bundles, tmp_path):
    golden_dir, manifest, tensors = bundles["gpt"]
    n_layer = manifest["config"]["n_layer"]
    candidate = {f"act/block{i}/att_probs": answers.causal_attention_probs(tensors[f"act/block{i}/q"],
                                                                           tensors[f"act/block{i}/k"])
                 for i in range(n_layer)}
    _passes(golden_dir, candidate, tmp_path / "port", [f"act/block{i}/att_probs" for i in range(n_layer)])


@pytest.mark.parametrize("tq, tk", [(1, 5), (3, 7), (4, 4)])
def test_causal_attention_probs_aligns_the_mask_bottom_right(answers, tq, tk):
    q, k, v = rng.standard_normal((2, 3, tq, 8)), rng.standard_normal((2, 3, tk, 8)), np.eye(tk)
    probs = answers.causal_attention_probs(q, k)
    assert probs.shape == (2, 3, tq, tk) and probs.dtype == np.float64
    # attention over v = identity returns the probabilities themselves
    library = F.scaled_dot_product_attention(tg.tensor(q), tg.tensor(k), tg.tensor(v), causal=True).numpy()
    check_close(probs, library, name="probabilities (Tq < Tk sees every earlier key)")


def test_causal_attention_probs_subtracts_the_row_maximum(answers):
    q = np.full((1, 1, 3, 4), 100.0, dtype=np.float32)
    k = np.full((1, 1, 3, 4), 100.0, dtype=np.float32)  # scores of 2e4: exp overflows without the max
    probs = answers.causal_attention_probs(q, k)
    assert probs.dtype == np.float32
    check_close(probs[0, 0], np.array([[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]], dtype=np.float32))


def test_gpt_forward_passes_check_port_on_the_tiny_bundle(answers, bundles, tmp_path):
    golden_dir, manifest, tensors = bundles["gpt"]
    inputs = {name: array for name, array in tensors.items() if name.startswith(("input/", "param/"))}
    candidate = answers.gpt_forward(inputs, n_head=manifest["config"]["n_head"])
    _passes(golden_dir, candidate, tmp_path / "port", ["input/", "act/", "loss"])


def test_adamw_trajectory_passes_check_port_on_the_optim_bundle(answers, bundles, tmp_path):
    golden_dir, manifest, tensors = bundles["optim"]
    settings = manifest["config"]["optimizers"]["adamw"]
    candidate = answers.adamw_trajectory(tensors["quadratic/A"], tensors["quadratic/c"], tensors["quadratic/x0"],
                                         steps=manifest["config"]["steps"], lr=settings["lr"],
                                         betas=tuple(settings["betas"]), eps=settings["eps"],
                                         weight_decay=settings["weight_decay"])
    _passes(golden_dir, candidate, tmp_path / "port", ["adamw/"])


def test_adamw_trajectory_decays_the_weights_it_does_not_move(answers):
    out = answers.adamw_trajectory(np.diag([0.0, 1.0]), np.zeros(2), np.array([3.0, 2.0]), steps=2, lr=0.1,
                                   betas=(0.9, 0.999), eps=1e-8, weight_decay=0.5)
    # A has no curvature along x[0]: its gradient is 0, so only the decoupled decay moves it
    assert json.dumps(out["adamw/step1/grad"].tolist()) == json.dumps([0.0, 2.0])
    check_close(out["adamw/step2/param"][0], 3.0 * 0.95**2)
