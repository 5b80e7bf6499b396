"""The run directory: one trainer at a time, no silent overwrites, a log that is never torn.

A run directory (``--out``) holds::

    checkpoint.safetensors   resumable state, rewritten at every evaluation
    best.safetensors         the weights with the lowest validation loss so far
    log.jsonl                one JSON record per line: {"kind": "train"|"eval", "step": ...}
    loss_curve.png           drawn from the log
    train.lock               present while a trainer works here; holds its pid

``open_run_dir(out, overwrite)`` makes a directory usable and locks it:

- ``out`` must be a directory (or not exist yet; it is created);
- the lock: ``train.lock`` is opened and ``flock``-ed (exclusive, non-blocking). A second
  trainer, in this or another process, finds it locked and is refused with the holder's pid.
  The kernel drops an flock when its process dies, so a lock file left by a killed trainer is
  not locked: it is reported as stale and taken over. After locking, the file's inode is
  compared with the path's, so a lock file removed by its releasing owner in between is not
  trusted. Released (file removed, then closed) by ``RunLock.release`` or, failing that, when
  the object is collected or the process exits. POSIX only (``fcntl.flock``); local file
  systems (flock over NFS is not reliable);
- temporary files a crashed trainer left (``*.tmp``) are removed;
- a directory that holds a run's artifacts (best weights, log, curve) but no
  ``checkpoint.safetensors`` to resume from is refused: starting at step 0 there would
  overwrite the best weights and mix two runs in one log. ``overwrite=True`` (``--overwrite``)
  deletes the four artifact files first (only those; other files stay).

The log: ``RunLog.append`` writes each record as one line with ``O_APPEND`` and, if a write
fails (a full disk), truncates the file back to its previous length, so a line is whole or
absent. A log that cannot be written (a directory in its place, a full disk) gives one
warning and the run goes on without it: the checkpoint is what matters. ``read_log`` skips
(and reports by line number) lines that are not whole JSON records. On resume,
``RunLog.keep_until(step)`` drops records past the checkpoint's step (written after the last
checkpoint by a run that then died) and damaged lines, rewriting the file atomically.

Left out: locking on Windows, waiting for a lock, cleaning files this package did not write.
"""

import contextlib
import fcntl
import json
import os
import sys
import weakref
from pathlib import Path

from tqdm import tqdm

from .checkpoint import CheckpointError

CHECKPOINT, BEST, LOG, CURVE, LOCK = ("checkpoint.safetensors", "best.safetensors", "log.jsonl", "loss_curve.png",
                                      "train.lock")
ARTIFACTS = (CHECKPOINT, BEST, LOG, CURVE)


def weights_file(directory, how_to_make):
    """The best weights of a run directory, else its latest checkpoint (or a file given directly).

    ``how_to_make`` ends the error for a directory holding neither, e.g.
    ``"train first with tinygrad-lm train"``.
    """
    path = Path(directory)
    if path.is_file():
        return path
    for name in (BEST, CHECKPOINT):
        if (path / name).exists():
            return path / name
    raise CheckpointError(f"{path}: no {BEST} or {CHECKPOINT} here; {how_to_make} --out {path}")
TEMPORARY = (f"{CHECKPOINT}.tmp", f"{BEST}.tmp", f"{LOG}.tmp", f"{CURVE}.tmp.png")


class RunDirError(ValueError):
    """A run directory that cannot be used: a file, unwritable, full, locked, or holding a finished run."""


def warn(message):
    """One ``warning: ...`` line on stderr (through tqdm, so a progress bar stays intact)."""
    tqdm.write(f"warning: {message}", file=sys.stderr)


def _inode(path):
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def _pid_in(fd):
    """The pid written in an open lock file, as text ("unknown" if empty)."""
    return os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"


def _release(path, fd):
    if _inode(path) == os.fstat(fd).st_ino:
        with contextlib.suppress(OSError):  # a directory made read-only meanwhile: the file stays, unlocked
            os.unlink(path)  # before close: a trainer waiting on this inode then sees it is gone
    os.close(fd)


class RunLock:
    """An exclusive lock on a run directory, held from construction until ``release()``."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.path = self.directory / LOCK
        fd = self._locked_fd()
        stale = _pid_in(fd)
        if stale != "unknown":
            warn(f"{self.path}: replacing the stale lock of process {stale}, which no longer holds it "
                 f"(a trainer that was killed?)")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as error:
            _release(self.path, fd)
            raise RunDirError(f"{self.directory}: cannot write here ({error.strerror}); use another --out") from None
        self._finalizer = weakref.finalize(self, _release, self.path, fd)

    def _locked_fd(self):
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise RunDirError(f"{self.directory}: cannot write here ({error.strerror}); "
                                  f"use another --out") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _pid_in(fd)
                os.close(fd)
                raise RunDirError(f"{self.directory}: in use by process {owner} (lock file {self.path}); wait for "
                                  f"it to finish or use another --out") from None
            if _inode(self.path) == os.fstat(fd).st_ino:
                return fd
            os.close(fd)  # its owner removed the file between our open and our lock: try again

    @property
    def held(self):
        """True until ``release()``."""
        return self._finalizer.alive

    def release(self):
        """Remove the lock file and unlock; calling it again does nothing."""
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def check_out_path(out_dir):
    """Refuse an ``--out`` that exists and is not a directory (before any work is done)."""
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise RunDirError(f"{out_dir}: is a file, not a directory; pass a directory (new or a run's) to --out")


def open_run_dir(out_dir, overwrite=False):
    """Create and lock ``out_dir``, remove leftovers, refuse a finished run's artifacts; returns the RunLock."""
    out = Path(out_dir)
    check_out_path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunDirError(f"{out}: cannot create the directory ({error.strerror}); use another --out") from None
    lock = RunLock(out)
    try:
        doomed = TEMPORARY + (ARTIFACTS if overwrite else ())
        for name in doomed:
            if (out / name).is_file() or (out / name).is_symlink():
                (out / name).unlink()
        leftovers = [name for name in ARTIFACTS if os.path.lexists(out / name)]
        if leftovers and CHECKPOINT not in leftovers and not overwrite:  # overwrite leaves only non-files
            raise RunDirError(f"{out}: holds {', '.join(leftovers)} of an earlier run but no {CHECKPOINT} to resume "
                              f"from; use a new --out, or pass --overwrite to delete them and start over")
    except OSError as error:
        lock.release()
        raise RunDirError(f"{out}: cannot clean up ({error.strerror}); use another --out") from None
    except BaseException:
        lock.release()
        raise
    return lock


def read_log(path):
    """The records of a log file and the numbers of its lines that are not whole JSON records.

    Raises OSError if the file cannot be read (a directory in its place)."""
    records, bad = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict) and record.get("kind") in ("train", "eval") and isinstance(
                    record.get("step"), int):
                records.append(record)
            else:
                bad.append(number)
    return records, bad


def describe_bad_lines(path, bad):
    """One line naming the damaged lines of a log: "PATH: line 8 is not a whole JSON record; skipped"."""
    lines = f"line {bad[0]} is" if len(bad) == 1 else f"{len(bad)} lines ({', '.join(map(str, bad[:5]))}...) are"
    return f"{path}: {lines} not a whole JSON record; skipped"


class RunLog:
    """``log.jsonl``: records appended whole or not at all; a failure warns once and disables it."""

    def __init__(self, path):
        self.path = Path(path)
        self.broken = False

    def _give_up(self, error):
        self.broken = True
        warn(f"{self.path}: cannot be used ({error}); training goes on without a log or a loss curve "
             f"(checkpoints are unaffected)")

    def append(self, record):
        """Append one record as one line; on failure cut the file back to where it was."""
        if self.broken:
            return
        line = (json.dumps(record) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as error:
            self._give_up(error.strerror)
            return
        size = os.fstat(fd).st_size
        try:
            written = 0
            while written < len(line):
                written += os.write(fd, line[written:])
        except OSError as error:
            with contextlib.suppress(OSError):  # if even this fails, read_log skips the torn line
                os.ftruncate(fd, size)  # drop the partial line; truncating needs no free space
            self._give_up(error.strerror)
        finally:
            os.close(fd)

    def keep_until(self, step):
        """On resume: drop records after ``step`` and damaged lines (one warning), rewriting the file atomically."""
        if not os.path.lexists(self.path):
            return
        try:
            records, bad = read_log(self.path)
        except OSError as error:
            self._give_up(error.strerror)
            return
        if bad:
            warn(describe_bad_lines(self.path, bad))
        kept = [r for r in records if r["step"] <= step]
        if bad or len(kept) < len(records):
            tmp = self.path.with_name(f"{LOG}.tmp")
            try:
                tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
                os.replace(tmp, self.path)
            except OSError as error:
                tmp.unlink(missing_ok=True)
                self._give_up(error.strerror)
