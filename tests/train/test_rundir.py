"""The run directory: damaged checkpoints, leftovers, full disks, damaged logs, finished runs, locks."""

import dataclasses
import errno
import json
import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_lm.train import (
    CheckpointError,
    NonFiniteLossError,
    Trainer,
    load_model,
    preset,
)
from tinygrad_lm.train import checkpoint as checkpoint_module
from tinygrad_lm.train.checkpoint import load_checkpoint, save_checkpoint
from tinygrad_lm.train.rundir import LOCK, RunDirError, RunLock, read_log
from tinygrad_lm.train.trainer import BEST, CHECKPOINT, CURVE, LOG


def _config(corpus, **changes):
    base = dataclasses.replace(preset("tiny"), text_path=corpus, n_embd=16, block_size=16, batch_size=4,
                               max_iters=10, eval_interval=5, eval_iters=1, warmup_iters=2, lr_decay_iters=20)
    return dataclasses.replace(base, **changes)


def _train(corpus, out, **changes):
    return Trainer(_config(corpus, **changes), out, progress=False).run()


def _records(out):
    return [json.loads(line) for line in (out / LOG).read_text().splitlines()]


def _snapshot(out):
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


# --- item 1: what a resume loads is what was saved ----------------------------------------------

def test_a_checkpoint_whose_step_was_edited_is_refused(tmp_path, corpus):
    _train(corpus, tmp_path)
    path = tmp_path / CHECKPOINT
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b'\\"step\\": 10', b'\\"step\\": 11', 1))  # "10" -> "11": one bit
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        Trainer(_config(corpus, max_iters=20), tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_model(path)


def test_best_copied_over_the_checkpoint_is_refused(tmp_path, corpus):
    _train(corpus, tmp_path)
    shutil.copyfile(tmp_path / BEST, tmp_path / CHECKPOINT)
    with pytest.raises(CheckpointError, match="holds 'best' data but 'checkpoint' was expected"):
        Trainer(_config(corpus, max_iters=20), tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="holds 'best' data"):
        load_model(tmp_path / CHECKPOINT)


def test_fifty_header_bit_flips_of_a_trainer_checkpoint_are_each_refused(tmp_path, corpus):
    """Seeded single-bit flips in the length or JSON header (config, tokenizer, optimizer and RNG state)."""
    _train(corpus, tmp_path / "run", max_iters=5)
    raw = (tmp_path / "run" / CHECKPOINT).read_bytes()
    header_end = 8 + int.from_bytes(raw[:8], "little")
    path = tmp_path / CHECKPOINT  # the name asks load_model for the "checkpoint" role
    for bit in np.random.default_rng(50).choice(header_end * 8, size=50, replace=False):
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError):
            load_model(path)
            pytest.fail(f"bit {bit} (byte {bit // 8}) flipped and the file still loaded")


@pytest.mark.parametrize("damage", ["duplicate_vocabulary", "no_step", "step_is_text", "no_rng"])
def test_a_well_sealed_checkpoint_with_bad_contents_is_refused(tmp_path, corpus, damage):
    """A valid checksum only proves the file is what was written; what it says is checked too."""
    _train(corpus, tmp_path)
    arrays, meta = load_checkpoint(tmp_path / CHECKPOINT)
    if damage == "duplicate_vocabulary":
        meta["tokenizer"]["vocabulary"][1] = meta["tokenizer"]["vocabulary"][0]
    elif damage == "no_step":
        del meta["step"]
    elif damage == "step_is_text":
        meta["step"] = "10"
    else:
        del meta["model_rng"]
    save_checkpoint(tmp_path / CHECKPOINT, arrays, meta)
    with pytest.raises(CheckpointError, match="checkpoint.safetensors: "):
        Trainer(_config(corpus, max_iters=20), tmp_path, progress=False)


# --- item 2: a finished run's artifacts are never overwritten silently -------------------------

def test_artifacts_without_a_checkpoint_are_refused_and_overwrite_starts_over(tmp_path, corpus):
    _train(corpus, tmp_path)
    (tmp_path / CHECKPOINT).unlink()
    before = _snapshot(tmp_path)
    with pytest.raises(RunDirError, match=r"best\.safetensors.*no checkpoint\.safetensors.*new --out.*--overwrite"):
        Trainer(_config(corpus), tmp_path, progress=False)
    assert _snapshot(tmp_path) == before
    Trainer(_config(corpus, max_iters=5), tmp_path, progress=False, overwrite=True).run()
    assert [r["step"] for r in _records(tmp_path) if r["kind"] == "eval"] == [0, 5]  # the old log is gone


def test_overwrite_also_replaces_a_resumable_run(tmp_path, corpus):
    _train(corpus, tmp_path)
    Trainer(_config(corpus, max_iters=5, n_embd=32), tmp_path, progress=False, overwrite=True).run()
    assert load_checkpoint(tmp_path / CHECKPOINT)[1]["step"] == 5


def test_overwrite_deletes_files_only_and_a_directory_in_the_way_warns(tmp_path, corpus, capsys):
    _train(corpus, tmp_path)
    (tmp_path / LOG).unlink()
    (tmp_path / LOG).mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    Trainer(_config(corpus, max_iters=5), tmp_path, progress=False, overwrite=True).run()
    assert load_checkpoint(tmp_path / CHECKPOINT)[1]["step"] == 5
    assert (tmp_path / LOG).is_dir() and (tmp_path / "notes.txt").read_text() == "mine"
    assert capsys.readouterr().err.count("warning:") == 1


def test_out_pointing_at_a_file_is_refused(tmp_path, corpus):
    (tmp_path / "run").write_text("not a directory")
    with pytest.raises(RunDirError, match="run: is a file, not a directory"):
        Trainer(_config(corpus), tmp_path / "run", progress=False)


# --- item 3: a full disk ----------------------------------------------------------------------

def _full_disk_after(monkeypatch, calls):
    """os.fsync of a file (not a directory) in the checkpoint writer raises ENOSPC from its ``calls``-th call on."""
    real, count = os.fsync, [0]

    def fsync(fd):
        count[0] += stat.S_ISREG(os.fstat(fd).st_mode)
        if count[0] >= calls:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(checkpoint_module.os, "fsync", fsync)


def test_a_full_disk_while_checkpointing_stops_with_one_line_and_keeps_the_last_checkpoint(
        tmp_path, corpus, monkeypatch):
    _full_disk_after(monkeypatch, 3)  # step 0: checkpoint + best; step 5: checkpoint fails
    with pytest.raises(RunDirError) as info:
        _train(corpus, tmp_path)
    message = str(info.value)
    assert "\n" not in message and "No space left on device" in message and "step 0" in message
    monkeypatch.undo()
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp") or p.name == LOCK]
    assert load_checkpoint(tmp_path / CHECKPOINT)[1]["step"] == 0
    assert all(r["step"] <= 5 for r in _records(tmp_path))
    _train(corpus, tmp_path)  # the disk has room again: the same command resumes and finishes
    assert [r["step"] for r in _records(tmp_path) if r["kind"] == "eval"] == [0, 5, 10]
    assert [r["step"] for r in _records(tmp_path) if r["kind"] == "train"] == list(range(1, 11))


def test_a_log_write_that_fails_leaves_no_partial_line_and_training_goes_on(tmp_path, corpus, monkeypatch,
                                                                           capsys):
    real_write, count, log = os.write, [0], tmp_path / LOG

    def half_then_full(fd, data):  # the 4th log line: half of it is written, then the disk is full
        if log.is_file() and os.fstat(fd).st_ino == log.stat().st_ino:
            count[0] += 1
            if count[0] == 4:
                real_write(fd, data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", half_then_full)
    summary = _train(corpus, tmp_path)
    monkeypatch.undo()
    assert summary["steps"] == 10
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "log.jsonl" in err and "No space left" in err
    records = _records(tmp_path)  # every line whole: json.loads would fail on half a line
    assert [r["step"] for r in records][:3] == [0, 1, 2]


def test_a_torn_last_log_line_is_skipped_reported_and_dropped_on_resume(tmp_path, corpus, capsys):
    _train(corpus, tmp_path, max_iters=5)
    with open(tmp_path / LOG, "a") as f:
        f.write('{"kind": "train", "step": 6, "lo')  # a crash mid-line
    records, bad_lines = read_log(tmp_path / LOG)
    assert len(records) == 7 and bad_lines == [8]
    _train(corpus, tmp_path)
    assert f"warning: {tmp_path / LOG}: line 8 is not a whole JSON record; skipped" in capsys.readouterr().err
    assert [r["step"] for r in _records(tmp_path) if r["kind"] == "train"] == list(range(1, 11))


# --- item 4: a damaged log or curve warns once --------------------------------------------------

@pytest.mark.parametrize("damage", ["bad_line", "log_is_a_directory", "curve_is_a_directory"])
def test_a_damaged_log_or_curve_warns_once_and_training_goes_on(tmp_path, corpus, capsys, damage):
    _train(corpus, tmp_path, max_iters=5)
    if damage == "bad_line":
        with open(tmp_path / LOG, "a") as f:
            f.write("garbage\n")
    else:
        name = LOG if damage == "log_is_a_directory" else CURVE
        (tmp_path / name).unlink()
        (tmp_path / name).mkdir()
    capsys.readouterr()
    summary = Trainer(_config(corpus, max_iters=20), tmp_path, progress=False).run()
    assert summary["steps"] == 20 and load_checkpoint(tmp_path / CHECKPOINT)[1]["step"] == 20
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, warnings


# --- item 5: a finished run is left alone -------------------------------------------------------

def test_rerunning_a_finished_run_is_a_no_op_and_extending_it_resumes(tmp_path, corpus, capsys):
    _train(corpus, tmp_path)
    before = _snapshot(tmp_path)
    capsys.readouterr()
    summary = _train(corpus, tmp_path)
    assert summary["already_complete"] and summary["steps"] == 10 and summary["final_eval"]["step"] == 10
    assert "already complete" in capsys.readouterr().err
    assert _snapshot(tmp_path) == before  # no evaluation, no log record, no checkpoint
    assert not _train(corpus, tmp_path, max_iters=15)["already_complete"]
    assert [r["step"] for r in _records(tmp_path) if r["kind"] == "eval"] == [0, 5, 10, 15]


def test_rerunning_an_early_stopped_run_leaves_its_stopping_state_alone(tmp_path, corpus):
    settings = {"max_iters": 200, "eval_interval": 2, "lr": 0.0, "min_lr": 0.0, "early_stopping_patience": 2}
    first = _train(corpus, tmp_path / "run", **settings)
    assert first["steps"] < 200
    before = _snapshot(tmp_path / "run")
    again = _train(corpus, tmp_path / "run", **settings)
    assert again["already_complete"] and again["steps"] == first["steps"]
    assert _snapshot(tmp_path / "run") == before
    more_patience = _train(corpus, tmp_path / "run", **{**settings, "early_stopping_patience": 3})
    assert more_patience["steps"] > first["steps"]


def test_a_checkpoint_beyond_max_iters_is_refused(tmp_path, corpus):
    _train(corpus, tmp_path)
    with pytest.raises(CheckpointError, match="at step 10, beyond max_iters=5"):
        _train(corpus, tmp_path, max_iters=5)


# --- item 6: one trainer per directory ----------------------------------------------------------

def test_a_live_lock_refuses_a_second_trainer_naming_its_pid(tmp_path, corpus):
    with RunLock(tmp_path), pytest.raises(RunDirError, match=f"in use by process {os.getpid()}.*{LOCK}"):
        Trainer(_config(corpus), tmp_path, progress=False)
    _train(corpus, tmp_path)  # released: the directory is usable again
    assert not (tmp_path / LOCK).exists()


def test_a_lock_held_by_another_process_is_refused(tmp_path, corpus):
    script = ("import sys, time\nfrom tinygrad_lm.train.rundir import RunLock\n"
              "with RunLock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunDirError, match=f"in use by process {holder.pid}"):
            Trainer(_config(corpus), tmp_path, progress=False)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    _train(corpus, tmp_path)  # the holder died: its lock went with it


def test_a_stale_lock_from_a_dead_process_is_reported_and_replaced(tmp_path, corpus, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    (tmp_path / LOCK).write_text(dead.stdout)
    _train(corpus, tmp_path)
    assert f"stale lock of process {dead.stdout.strip()}" in capsys.readouterr().err
    assert not (tmp_path / LOCK).exists()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy overflows on the way to NaN
def test_the_lock_is_released_after_an_error(tmp_path, corpus):
    with pytest.raises(NonFiniteLossError):
        Trainer(_config(corpus, lr=1e300), tmp_path, progress=False).run()
    assert not (tmp_path / LOCK).exists()


def test_a_lock_file_that_cannot_be_removed_is_left_unlocked_without_an_error(tmp_path, monkeypatch):
    """A directory made read-only during the run: release must not raise (the next trainer calls it stale)."""
    lock = RunLock(tmp_path)

    def refuse(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(os, "unlink", refuse)
    lock.release()
    monkeypatch.undo()
    assert (tmp_path / LOCK).exists() and not lock.held
    with RunLock(tmp_path):  # not locked any more: taken over (as stale, naming this process)
        pass
