"""Checkpoints that survive crashes, cannot run code when loaded, and refuse any damage.

A checkpoint is ONE safetensors file: named NumPy arrays (model weights, optimizer moments)
plus a string-to-string metadata header holding four entries:

    format  "tinygrad_lm.checkpoint/2"
    role    what the file is for: "checkpoint" (resumable state) or "best" (weights to sample)
    meta    one JSON document (config, tokenizer, step, RNG states, optimizer settings)
    sha256  SHA-256 of format, role and meta, then of every array (name, dtype, shape, bytes)
            in name order

safetensors stores raw little-endian buffers and a JSON header, so loading never executes
code (unlike pickle).

Integrity: everything that is loaded is covered by the checksum, so a flipped bit anywhere
(an array, the step in the metadata, a tensor's shape) is refused with a ``CheckpointError``
naming the file, as are a truncated file, a header that is not JSON, metadata of the wrong
shape, and a file of the wrong role (``load_checkpoint(path, role="checkpoint")`` refuses a
copied ``best.safetensors``). Format 1 files (whose metadata was not checksummed) are
refused with a message saying how to go on. The checksum detects accidents, not forgery:
anyone can recompute it, so whoever loads a file still validates what it says.

Writing is atomic: the bytes go to ``<name>.tmp`` in the same directory, are flushed and
fsync'ed, and only then renamed over the old file (``os.replace`` is atomic on POSIX and
Windows); the directory is then fsync'ed (best effort) so the rename itself survives a power cut. A crash or
a failed write (a full disk) leaves the previous checkpoint intact, and a failed write removes
its temporary file before the error propagates.

Devices: arrays given to ``save_checkpoint`` may live on the GPU; each is copied to the host
explicitly (safetensors writes host buffers), so a checkpoint is the same file whichever
device made it. ``load_checkpoint(path, device=...)`` checks the file on the host, then copies
the arrays to ``device`` ("cpu" by default).

Left out: sharding across files, memory-mapped lazy loading, signatures against forgery.
"""

import contextlib
import hashlib
import json
import os
import struct

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError

from ..engine import check_device, to_device

FORMAT = "tinygrad_lm.checkpoint/2"
OLD_FORMATS = ("tinygrad_lm.checkpoint/1",)
ROLES = ("checkpoint", "best")
HEADER_KEYS = ("format", "role", "meta", "sha256")


class CheckpointError(ValueError):
    """A checkpoint file that is missing, truncated, tampered with, or from another setup."""


def _digest(role, meta_json, arrays):
    """SHA-256 (hex) of everything a load returns: format, role, metadata and arrays."""
    sha = hashlib.sha256(f"{FORMAT}\n{role}\n{len(meta_json)}\n{meta_json}\n".encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        sha.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        sha.update(array.tobytes())
    return sha.hexdigest()


def _fsync_directory(directory):
    """Make a rename in ``directory`` durable; best effort (skipped where a directory cannot be synced)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save_checkpoint(path, arrays, meta, role="checkpoint"):
    """Atomically write ``arrays`` (name -> array, either device) and ``meta`` (a JSON-able dict) to ``path``.

    ``role`` ("checkpoint" or "best") is recorded so a file copied over another is caught on load.
    An OSError (a full disk, a read-only directory) propagates after the temporary file is removed."""
    if not isinstance(meta, dict):
        raise TypeError(f"save_checkpoint: meta must be a dict, got {type(meta).__name__}")
    if role not in ROLES:
        raise ValueError(f"save_checkpoint: role must be one of {ROLES}, got {role!r}")
    arrays = {name: np.ascontiguousarray(to_device(a, "cpu")) for name, a in arrays.items()}  # GPU -> host
    meta_json = json.dumps(meta, allow_nan=True)
    header = {"format": FORMAT, "role": role, "meta": meta_json, "sha256": _digest(role, meta_json, arrays)}
    payload = safetensors.numpy.save(arrays, metadata=header)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_directory(os.path.dirname(os.path.abspath(path)))
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def _read_header(path, raw):
    """The ``__metadata__`` of a safetensors file: 8 bytes of little-endian length, then JSON."""
    if len(raw) < 8:
        raise CheckpointError(f"{path}: not a checkpoint, or truncated ({len(raw)} bytes)")
    (length,) = struct.unpack("<Q", raw[:8])
    if length > len(raw) - 8:
        raise CheckpointError(f"{path}: not a checkpoint, or truncated (header says {length} bytes, "
                              f"file has {len(raw) - 8})")
    try:
        header = json.loads(raw[8 : 8 + length].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise CheckpointError(f"{path}: header is not valid JSON; the file is damaged") from None
    if not isinstance(header, dict) or "__metadata__" not in header:
        raise CheckpointError(f"{path}: header lacks __metadata__; not a tinygrad_lm checkpoint, or damaged")
    metadata = header["__metadata__"]
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{path}: __metadata__ must map names to strings; the file is damaged")
    return metadata


def _check_metadata(path, metadata, role):
    """Refuse an old or foreign format, missing entries and a role other than ``role``."""
    found = metadata.get("format")
    if found in OLD_FORMATS:
        raise CheckpointError(f"{path}: written in the older format {found}, whose metadata is not checksummed; "
                              f"this version reads {FORMAT} only: retrain with tinygrad-lm train --overwrite "
                              f"(or into a new --out), or load it with the tinygrad_lm version that wrote it")
    if found != FORMAT:
        raise CheckpointError(f"{path}: not a {FORMAT} file (format {found!r}); damaged or not a checkpoint")
    missing = [key for key in HEADER_KEYS if key not in metadata]
    if missing:
        raise CheckpointError(f"{path}: metadata lacks {', '.join(map(repr, missing))}; the file is damaged")
    if metadata["role"] not in ROLES:
        raise CheckpointError(f"{path}: unknown role {metadata['role']!r}; the file is damaged")
    if role is not None and metadata["role"] != role:
        raise CheckpointError(f"{path}: holds {metadata['role']!r} data but {role!r} was expected; "
                              f"was one checkpoint file copied over another?")


def load_checkpoint(path, device="cpu", role=None):
    """Read a checkpoint written by ``save_checkpoint``; returns ``(arrays on device, meta)``.

    With ``role``, a file saved with another role is refused. Every damaged or foreign file
    raises ``CheckpointError`` naming ``path``."""
    check_device(device, "load_checkpoint")
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no checkpoint file here; train first or pass the right --checkpoint")
    with open(path, "rb") as f:
        raw = f.read()
    metadata = _read_header(path, raw)
    _check_metadata(path, metadata, role)
    try:
        arrays = safetensors.numpy.load(raw)
    except (SafetensorError, ValueError, TypeError, KeyError, OverflowError) as error:
        raise CheckpointError(f"{path}: the file is truncated or damaged ({error})") from None
    if _digest(metadata["role"], metadata["meta"], arrays) != metadata["sha256"]:
        raise CheckpointError(f"{path}: checksum mismatch; the file was modified or damaged after it was written")
    try:
        meta = json.loads(metadata["meta"])
    except ValueError:
        raise CheckpointError(f"{path}: meta is not valid JSON; the file is damaged") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: meta is a {type(meta).__name__}, not an object; the file is damaged")
    arrays = {name: to_device(array, device) for name, array in arrays.items()}  # host -> device if asked
    return arrays, meta
