"""Checkpoints: round trip, atomic replacement, and refusal of damaged files."""

import errno
import json
import os
import stat

import numpy as np
import pytest
import safetensors.numpy

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


# --- integrity: the checksum covers everything that is loaded --------------------------------

def _header(raw):
    """(length, header dict) of a safetensors file's bytes."""
    length = int.from_bytes(raw[:8], "little")
    return length, json.loads(raw[8 : 8 + length])


def _rewrite_header(path, change):
    """Apply ``change(header dict)`` to the file's JSON header, keeping the data bytes (and no checksum fix)."""
    raw = path.read_bytes()
    length, header = _header(raw)
    change(header)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # safetensors pads the header to 8 bytes
    path.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + length :])


def test_an_edited_step_in_the_metadata_is_refused(tmp_path):
    """Flipping one bit turns "step": 50 into 10; the run must not resume at step 10 with step-50 weights."""
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, _arrays(), {"step": 50, "lr": 1e-3})
    raw = path.read_bytes()
    assert raw.count(b'\\"step\\": 50') == 1
    edited = raw.replace(b'\\"step\\": 50', b'\\"step\\": 10')
    assert sum((a ^ b).bit_count() for a, b in zip(raw, edited)) == 1  # one bit
    path.write_bytes(edited)
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_checkpoint(path)


def test_random_header_bit_flips_are_all_refused(tmp_path):
    """50 seeded single-bit flips anywhere in the length or JSON header: each one a CheckpointError."""
    path = tmp_path / "ck.safetensors"
    meta = {"step": 50, "run_config": {"lr": 1e-3, "text_path": "/x.txt"}, "tokenizer": {"vocabulary": list("ab")}}
    save_checkpoint(path, _arrays(), meta)
    raw = path.read_bytes()
    header_end = 8 + _header(raw)[0]
    rng = np.random.default_rng(17)
    for bit in rng.choice(header_end * 8, size=50, replace=False):
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError):
            load_checkpoint(path)
            pytest.fail(f"bit {bit} (byte {bit // 8}) flipped and the file still loaded")


@pytest.mark.parametrize("change, message", [
    (lambda h: h["__metadata__"].pop("meta"), "lacks 'meta'"),
    (lambda h: h["__metadata__"].update(meta="{not json"), "checksum mismatch|not JSON"),
    (lambda h: h.update(__metadata__=["a", "list"]), "__metadata__"),
    (lambda h: h.update(__metadata__="text"), "__metadata__"),
    (lambda h: h.pop("__metadata__"), "lacks"),
    (lambda h: h["__metadata__"].update(sha256=7), "__metadata__"),
])
def test_malformed_metadata_is_refused_with_one_message(tmp_path, change, message):
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, _arrays(), {"step": 1})
    _rewrite_header(path, change)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_a_file_of_another_role_is_refused_where_a_role_is_expected(tmp_path):
    """best.safetensors copied over checkpoint.safetensors must not pass for resumable state."""
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, _arrays(), {"step": 1}, role="best")
    assert load_checkpoint(path)[1] == {"step": 1}  # no role asked: any role loads
    assert load_checkpoint(path, role="best")[1] == {"step": 1}
    with pytest.raises(CheckpointError, match="holds 'best' data but 'checkpoint' was expected"):
        load_checkpoint(path, role="checkpoint")


def test_a_checkpoint_of_the_old_format_is_refused_naming_the_way_on(tmp_path):
    """Format 1 did not checksum its metadata; such a file is refused, not trusted."""
    path = tmp_path / "ck.safetensors"
    arrays = _arrays()
    header = {"format": "tinygrad_lm.checkpoint/1", "sha256": "0" * 64, "meta": json.dumps({"step": 1})}
    path.write_bytes(safetensors.numpy.save(arrays, metadata=header))
    with pytest.raises(CheckpointError, match=r"older format tinygrad_lm\.checkpoint/1.*--overwrite"):
        load_checkpoint(path)


def test_metadata_that_is_not_an_object_is_refused(tmp_path):
    path = tmp_path / "ck.safetensors"
    with pytest.raises(TypeError, match="meta must be a dict"):
        save_checkpoint(path, _arrays(), [1, 2])


def test_a_failed_write_removes_its_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, _arrays(), {"step": 1})
    real_fsync = os.fsync

    def full(fd):
        real_fsync(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(path, {"model.w": np.zeros(2)}, {"step": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.safetensors"]
    monkeypatch.undo()
    assert load_checkpoint(path)[1] == {"step": 1}


def test_the_rename_is_made_durable_by_syncing_the_directory(tmp_path, monkeypatch):
    synced, real_fsync = [], os.fsync

    def record(fd):
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", record)
    save_checkpoint(tmp_path / "ck.safetensors", _arrays(), {"step": 1})
    assert synced == ["file", "dir"]  # the bytes, then the directory entry that names them
