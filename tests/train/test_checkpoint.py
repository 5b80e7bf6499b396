"""Checkpoints: round trip, atomic replacement, and refusal of damaged files."""

import os

import numpy as np
import pytest

from tinygrad_lm.train.checkpoint import (
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)


def _arrays():
    rng = np.random.default_rng(0)
    return {"model.w": rng.standard_normal((3, 4)).astype(np.float32), "step_ids": np.arange(5)}


def test_round_trip_keeps_values_dtypes_and_meta(tmp_path):
    path = tmp_path / "ck.safetensors"
    meta = {"step": 7, "config": {"lr": 1e-3}, "rng": {"state": 2**100 + 3}}
    save_checkpoint(path, _arrays(), meta)
    arrays, loaded = load_checkpoint(path)
    assert loaded == meta
    for name, array in _arrays().items():
        assert arrays[name].dtype == array.dtype
        np.testing.assert_array_equal(arrays[name], array)


def test_a_pickle_is_refused_not_executed(tmp_path):
    import pickle

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"model.w": np.zeros(3)}))
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load_checkpoint(path)


@pytest.mark.parametrize("damage", ["truncate_end", "truncate_header", "flip_data_bit", "empty"])
def test_damaged_files_are_refused_with_a_reason(tmp_path, damage):
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, _arrays(), {"step": 1})
    raw = path.read_bytes()
    damaged = {
        "truncate_end": raw[:-7],
        "truncate_header": raw[:20],
        "flip_data_bit": raw[:-1] + bytes([raw[-1] ^ 1]),
        "empty": b"",
    }[damage]
    path.write_bytes(damaged)
    with pytest.raises(CheckpointError, match=r"ck\.safetensors: .*(truncated|damaged|checksum)"):
        load_checkpoint(path)


def test_failed_write_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, _arrays(), {"step": 1})
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"model.w": np.zeros(2)}, {"step": 2})
    assert path.read_bytes() == before
    assert load_checkpoint(path)[1] == {"step": 1}


def test_missing_file_names_the_fix(tmp_path):
    with pytest.raises(CheckpointError, match="train first"):
        load_checkpoint(tmp_path / "nope.safetensors")
