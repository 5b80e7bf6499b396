"""What the trainer checks against its inputs: the text, memory, a changed text file, divergence."""

import dataclasses
import errno
import json
import os

import numpy as np
import pytest

from tinygrad_lm.train import (
    CheckpointError,
    ConfigError,
    NonFiniteLossError,
    Trainer,
    preset,
)
from tinygrad_lm.train.checkpoint import load_checkpoint
from tinygrad_lm.train.config import check_memory
from tinygrad_lm.train.rundir import LOCK, RunDirError
from tinygrad_lm.train.trainer import BEST, CHECKPOINT, LOG


@pytest.fixture
def corpus(tmp_path, write_corpus):
    return write_corpus(tmp_path / "text.txt")  # one per test: some tests change the text


def _config(corpus, **changes):
    base = dataclasses.replace(preset("tiny"), text_path=str(corpus), n_embd=16, block_size=16, batch_size=4,
                               max_iters=10, eval_interval=5, eval_iters=1, warmup_iters=2, lr_decay_iters=20)
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize("length", [1, 2, 120])
def test_a_text_shorter_than_the_windows_names_the_needed_length(tmp_path, length):
    path = tmp_path / "short.txt"
    path.write_text("abcdefghij" * 12)
    path.write_text(path.read_text()[:length])
    with pytest.raises(ConfigError) as info:
        Trainer(_config(path), tmp_path / "run", progress=False)
    message = str(info.value)
    assert f"{length} tokens" in message and "block_size=16" in message and "161 tokens" in message
    assert "\n" not in message
    assert not (tmp_path / "run").exists()


def test_a_block_size_the_validation_split_cannot_fill_names_the_largest_that_fits(tmp_path, corpus):
    n_tokens = len(corpus.read_text())
    largest = n_tokens - int(n_tokens * 0.9) - 1
    with pytest.raises(ConfigError, match=f"block_size=5000 .* at most block_size={largest}"):
        Trainer(_config(corpus, block_size=5000), tmp_path / "run", progress=False)
    Trainer(_config(corpus, block_size=largest, max_iters=1, batch_size=1), tmp_path / "run", progress=False)


def test_a_run_that_cannot_fit_in_memory_is_refused_before_allocating(tmp_path, corpus):
    with pytest.raises(ConfigError, match=r"batch_size=1000000000, .* would need at least .* GiB"):
        Trainer(_config(corpus, batch_size=10**9), tmp_path / "run", progress=False)
    with pytest.raises(ConfigError, match="this machine has 0.0 GiB"):
        check_memory(_config(corpus), vocab_size=50, limit=1000)
    check_memory(_config(corpus, device="cuda"), vocab_size=50, limit=1000)  # GPU runs: CuPy's business


def test_resuming_after_the_text_changed_is_refused(tmp_path, corpus):
    Trainer(_config(corpus), tmp_path / "run", progress=False).run()
    with open(corpus, "a") as f:
        f.write("the king is dead\n")
    with pytest.raises(CheckpointError, match=r"text\.txt changed since this run started .*--overwrite"):
        Trainer(_config(corpus, max_iters=20), tmp_path / "run", progress=False)


def test_an_unwritable_run_directory_is_one_line(tmp_path, corpus, monkeypatch):
    """A read-only directory (simulated: the tests may run as root, who may write anywhere)."""
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if str(path).startswith(str(tmp_path / "run")) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    (tmp_path / "run").mkdir()
    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(RunDirError, match=r"run: cannot write here \(Permission denied\)"):
        Trainer(_config(corpus), tmp_path / "run", progress=False)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy overflows on the way to NaN
def test_a_diverging_run_stops_at_its_first_non_finite_loss_keeping_the_last_good_checkpoint(tmp_path, corpus):
    out = tmp_path / "run"
    with pytest.raises(NonFiniteLossError) as info:
        Trainer(_config(corpus, lr=1e300, min_lr=0.0), out, progress=False).run()
    message = str(info.value)
    assert "\n" not in message and "step 2" in message and "lr" in message and "step 0" in message
    arrays, meta = load_checkpoint(out / CHECKPOINT)
    assert meta["step"] == 0 and all(np.isfinite(a).all() for a in arrays.values())
    assert load_checkpoint(out / BEST)[1]["step"] == 0
    records = [json.loads(line) for line in (out / LOG).read_text().splitlines()]
    assert all(np.isfinite(r.get("loss", 0.0)) for r in records)
    assert not (out / LOCK).exists()
