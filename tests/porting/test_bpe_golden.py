"""The byte-level BPE cases of the tokenizers bundle: committed "bpe", on-demand "bpe-gpt2".

The committed ``tests/golden/tokenizers-bpe`` must be exactly what the generator makes today
(regenerate with ``tinygrad-lm golden --what tokenizers --config bpe --out tests/golden/tokenizers-bpe``
and let the review see the diff), and a port that reads only the manifest (vocabulary, merges,
special tokens) must be able to rebuild the tokenizer and reproduce every case.
"""

from pathlib import Path

import numpy as np
import pytest

from tinygrad_lm.data.bpe import BPETokenizer
from tinygrad_lm.data.bpe_files import fetch_gpt2_files
from tinygrad_lm.data.pretrained_files import PretrainedUnavailableError
from tinygrad_lm.porting import make_bundle, read_bundle

COMMITTED = Path(__file__).resolve().parents[1] / "golden" / "tokenizers-bpe"


def test_committed_bpe_bundle_is_what_the_generator_makes(tmp_path):
    old_manifest, old = read_bundle(COMMITTED)
    make_bundle("tokenizers", "bpe").write(tmp_path)
    new_manifest, new = read_bundle(tmp_path)
    for key in ("format", "what", "config_name", "config", "seed", "dtype"):
        assert new_manifest[key] == old_manifest[key], key
    assert [e["name"] for e in new_manifest["tensors"]] == [e["name"] for e in old_manifest["tensors"]]
    assert all(np.array_equal(new[name], old[name]) for name in old)


def test_a_port_rebuilds_the_bpe_from_the_manifest_and_replays_every_case():
    manifest, tensors = read_bundle(COMMITTED)
    config = manifest["config"]
    merges = [tuple(m.split(" ")) for m in config["bpe_merges"]]
    tokenizer = BPETokenizer(config["bpe_vocabulary"], merges, list(config["special_tokens"]))
    assert tokenizer.special_tokens == config["special_tokens"]
    kinds = {"plain": 0, "special": 0, "decode": 0}
    for case in config["cases"]:
        ids = tensors[case["tensor"]]
        assert tokenizer.decode(ids) == case["decoded"]
        if case["text"] is None:
            kinds["decode"] += 1
            assert case["decoded"].endswith("\ufffd")
            continue
        allowed = case.get("allowed_special", ())
        kinds["special" if allowed else "plain"] += 1
        assert tokenizer.encode(case["text"], allowed_special=allowed).tolist() == ids.tolist(), case["text"]
    assert kinds == {"plain": 9, "special": 1, "decode": 2}


def test_gpt2_bpe_bundle_holds_known_ids(tmp_path):
    try:
        fetch_gpt2_files()
    except PretrainedUnavailableError as reason:
        pytest.skip(f"GPT-2's vocabulary could not be downloaded: {reason}")
    make_bundle("tokenizers", "bpe-gpt2").write(tmp_path)
    manifest, tensors = read_bundle(tmp_path)
    cases = {case["text"]: case for case in manifest["config"]["cases"] if case.get("allowed_special") is None}
    assert tensors[cases["Hello world"]["tensor"]].tolist() == [15496, 995]
    assert tensors[cases["a<|endoftext|>b"]["tensor"]].tolist() == [64, 27, 91, 437, 1659, 5239, 91, 29, 65]
    special = next(case for case in manifest["config"]["cases"] if case.get("allowed_special") == "all")
    assert tensors[special["tensor"]].tolist() == [64, 50256, 65]
