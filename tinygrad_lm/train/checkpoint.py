"""Checkpoints that survive crashes and cannot run code when loaded.

A checkpoint is ONE safetensors file: named NumPy arrays (model weights, optimizer moments)
plus a string-to-string metadata header, into which we put one JSON document (config,
tokenizer, step, RNG states, optimizer settings). safetensors stores raw little-endian
buffers and a JSON header, so loading it never executes code (unlike pickle).

Writing is atomic: the bytes go to ``<name>.tmp`` in the same directory, are flushed and
fsync'ed, and only then renamed over the old file (``os.replace`` is atomic on POSIX and
Windows). A crash mid-write leaves the previous checkpoint intact.

A SHA-256 of every array (in name order) is stored in the header and checked on load, so a
truncated or tampered file is refused with a message saying which, rather than loading
silently wrong weights.

Devices: arrays given to ``save_checkpoint`` may live on the GPU; each is copied to the host
explicitly (safetensors writes host buffers), so a checkpoint is the same file whichever
device made it. ``load_checkpoint(path, device=...)`` checks the file on the host, then copies
the arrays to ``device`` ("cpu" by default).

Left out: sharding across files, memory-mapped lazy loading.
"""

import hashlib
import json
import os
import struct

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError

from ..engine import check_device, to_device

FORMAT = "tinygrad_lm.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file that is missing, truncated, tampered with, or from another setup."""


def _digest(arrays):
    sha = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        sha.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        sha.update(array.tobytes())
    return sha.hexdigest()


def save_checkpoint(path, arrays, meta):
    """Atomically write ``arrays`` (name -> array, either device) and ``meta`` (a JSON-able dict) to ``path``."""
    arrays = {name: np.ascontiguousarray(to_device(a, "cpu")) for name, a in arrays.items()}  # GPU -> host
    header = {"format": FORMAT, "sha256": _digest(arrays), "meta": json.dumps(meta)}
    payload = safetensors.numpy.save(arrays, metadata=header)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_header(path, raw):
    """The safetensors header: 8 bytes of little-endian length, then that much JSON."""
    if len(raw) < 8:
        raise CheckpointError(f"{path}: not a checkpoint, or truncated ({len(raw)} bytes)")
    (length,) = struct.unpack("<Q", raw[:8])
    if length > len(raw) - 8:
        raise CheckpointError(f"{path}: not a checkpoint, or truncated (header says {length} bytes, "
                              f"file has {len(raw) - 8})")
    try:
        return json.loads(raw[8 : 8 + length]).get("__metadata__") or {}
    except (ValueError, UnicodeDecodeError):
        raise CheckpointError(f"{path}: header is not valid JSON; the file is damaged") from None


def load_checkpoint(path, device="cpu"):
    """Read a checkpoint written by ``save_checkpoint``; returns ``(arrays on device, meta)``."""
    check_device(device, "load_checkpoint")
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no checkpoint file here; train first or pass the right --checkpoint")
    with open(path, "rb") as f:
        raw = f.read()
    header = _read_header(path, raw)
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a {FORMAT} file (format {header.get('format')!r})")
    try:
        arrays = safetensors.numpy.load(raw)
    except SafetensorError as error:
        raise CheckpointError(f"{path}: the file is truncated or damaged ({error})") from None
    if _digest(arrays) != header.get("sha256"):
        raise CheckpointError(f"{path}: checksum mismatch; the file was modified or damaged after it was written")
    arrays = {name: to_device(array, device) for name, array in arrays.items()}  # host -> device if asked
    return arrays, json.loads(header["meta"])
