"""Golden bundles: a directory of safetensors files plus ``manifest.json``, readable from any language.

    bundle/
      manifest.json        {"format": "tinygrad_lm.golden/1", "library_version", "what", "config_name",
                            "config", "seed", "dtype", "tensors": [{"name", "file", "shape", "dtype",
                            "description", "atol", "rtol"}, ...]}
      tensors.safetensors  every tensor of the manifest under exactly its name

safetensors is an 8-byte little-endian header length, a JSON header (name -> dtype, shape,
byte offsets) and the raw row-major little-endian bytes: a C, Rust, Go or JavaScript reader is
a page long. Only three dtypes are used: F64, F32 and I64 (booleans are stored as I64 0/1 and
their description says so; float16 results as the float32 values they convert to exactly).

``tensors`` is in the order the computation produces them: inputs and parameters, then the
forward activations, the loss, the gradients, the optimizer results. A port compares what it
computes against each golden tensor with ``|candidate - golden| <= atol + rtol * |golden|``
(``check.py``); the tolerances are those a float32 port should meet in a float32 bundle, and a
float64 port in a float64 bundle.

Numerics of a float32 bundle: the parameters and inputs are float32 numbers; everything else
is computed in float64 from them and rounded once to float32, so the golden values are the
float32 numbers closest to the exact result (a port's own float32 rounding is what the
tolerance pays for). ``float32_tolerance`` and ``float64_tolerance`` give the rule.

Left out: sharding, compression, lazy loading (bundles are small, at most a few hundred MB).
"""

import json
from pathlib import Path

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError

from .. import __version__

FORMAT = "tinygrad_lm.golden/1"
MANIFEST = "manifest.json"
TENSOR_FILE = "tensors.safetensors"
WHATS = ("gpt", "bert", "ops", "tokenizers", "optim", "seq2seq")
STORED_DTYPES = ("float64", "float32", "int64")
MANIFEST_KEYS = ("format", "library_version", "what", "config_name", "config", "seed", "dtype", "tensors")
ENTRY_KEYS = ("name", "file", "shape", "dtype", "description", "atol", "rtol")

# Rules for the tolerance a port must meet, per bundle dtype: rtol, and atol as a fraction of the
# tensor's largest |value| (a sum's rounding error scales with its terms, not with its result).
FLOAT32_RTOL, FLOAT32_ATOL_SCALE = 1e-4, 1e-5
FLOAT64_RTOL, FLOAT64_ATOL_SCALE = 1e-10, 1e-12


class PortingError(ValueError):
    """A bundle or candidate that cannot be used: missing directory, bad manifest, unreadable file."""


def float32_tolerance(values):
    """(atol, rtol) for a float32 port: rtol 1e-4, atol 1e-5 * max|values| (at least 1e-30)."""
    scale = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return max(FLOAT32_ATOL_SCALE * scale, 1e-30), FLOAT32_RTOL


def float64_tolerance(values):
    """(atol, rtol) for a float64 port: rtol 1e-10, atol 1e-12 * max|values| (at least 1e-300)."""
    scale = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return max(FLOAT64_ATOL_SCALE * scale, 1e-300), FLOAT64_RTOL


def default_tolerance(values, dtype):
    """The float rule of ``dtype`` for floating ``values``; integers must match exactly (0, 0)."""
    if np.asarray(values).dtype.kind in "biu":
        return 0.0, 0.0
    return float32_tolerance(values) if np.dtype(dtype) == np.float32 else float64_tolerance(values)


class BundleWriter:
    """Collects tensors in computation order, then writes the manifest and the safetensors file.

    ``dtype`` ("float32" or "float64") is the bundle's float dtype: every float tensor is stored
    in it (rounded once). Integer and boolean tensors are stored as int64.
    """

    def __init__(self, what, config_name, config, seed, dtype):
        if what not in WHATS:
            raise PortingError(f"golden: unknown what {what!r}; choose one of {', '.join(WHATS)}")
        if dtype not in ("float32", "float64"):
            raise PortingError(f"golden: bundle dtype must be 'float32' or 'float64', got {dtype!r}")
        self.what, self.config_name, self.config, self.seed, self.dtype = what, config_name, config, seed, dtype
        self.entries, self.arrays = [], {}

    def add(self, name, values, description, atol=None, rtol=None):
        """Store ``values`` under ``name``; tolerances default to ``default_tolerance``."""
        if name in self.arrays:
            raise PortingError(f"golden: tensor {name!r} added twice")
        array = np.asarray(values)
        if array.dtype.kind in "biu":
            stored = array.astype(np.int64)
        elif array.dtype.kind == "f":
            stored = array.astype(self.dtype)
        else:
            raise PortingError(f"golden: tensor {name!r} has dtype {array.dtype}; only numbers can be stored")
        default_atol, default_rtol = self.tolerance(array)
        self.arrays[name] = np.array(stored, order="C")  # ascontiguousarray would make 0-d 1-d
        self.entries.append({
            "name": name, "file": TENSOR_FILE, "shape": list(stored.shape), "dtype": str(stored.dtype),
            "description": description, "atol": default_atol if atol is None else float(atol),
            "rtol": default_rtol if rtol is None else float(rtol),
        })

    def tolerance(self, values):
        """(atol, rtol) that ``add`` gives ``values`` by default in this bundle."""
        return default_tolerance(values, self.dtype)

    def manifest(self):
        return {"format": FORMAT, "library_version": __version__, "what": self.what,
                "config_name": self.config_name, "config": self.config, "seed": self.seed, "dtype": self.dtype,
                "tensors": self.entries}

    def write(self, out_dir):
        """Write ``manifest.json`` and ``tensors.safetensors`` into ``out_dir`` (created); returns the manifest."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        others = sorted(p.name for p in out.glob("*.safetensors") if p.name != TENSOR_FILE)
        if others:  # every *.safetensors of a directory is read as part of the bundle
            raise PortingError(f"golden: {out} already holds {', '.join(others)}; write the bundle to a directory "
                               f"without other .safetensors files")
        safetensors.numpy.save_file(self.arrays, str(out / TENSOR_FILE))
        manifest = self.manifest()
        (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        return manifest


def read_manifest(directory):
    """The manifest of the bundle in ``directory``, checked field by field (PortingError if unusable)."""
    path = Path(directory) / MANIFEST
    if not Path(directory).is_dir():
        raise PortingError(f"golden bundle {directory}: no such directory")
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise PortingError(f"golden bundle {directory}: no {MANIFEST}; make one with tinygrad-lm golden") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PortingError(f"{path}: not JSON ({error})") from None
    missing = [key for key in MANIFEST_KEYS if not isinstance(manifest, dict) or key not in manifest]
    if missing:
        raise PortingError(f"{path}: missing fields {missing}")
    if manifest["format"] != FORMAT:
        raise PortingError(f"{path}: format {manifest['format']!r}, this checker reads {FORMAT!r}")
    for i, entry in enumerate(manifest["tensors"]):
        absent = [key for key in ENTRY_KEYS if not isinstance(entry, dict) or key not in entry]
        if absent:
            raise PortingError(f"{path}: tensors[{i}] lacks {absent}")
        if entry["dtype"] not in STORED_DTYPES:
            raise PortingError(f"{path}: tensor {entry['name']!r} has dtype {entry['dtype']!r}, "
                               f"expected one of {STORED_DTYPES}")
    return manifest


def read_tensors(directory):
    """Every tensor of every ``*.safetensors`` file in ``directory``, as {name: array}."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PortingError(f"{directory}: no such directory")
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        raise PortingError(f"{directory}: no .safetensors file in it")
    tensors = {}
    for file in files:
        try:
            loaded = safetensors.numpy.load_file(str(file))
        except (SafetensorError, OSError, ValueError) as error:
            raise PortingError(f"{file}: not a readable safetensors file ({error})") from None
        for name, array in loaded.items():
            if name in tensors:
                raise PortingError(f"{directory}: tensor {name!r} is in two files")
            tensors[name] = array
    return tensors


def read_bundle(directory):
    """(manifest, {name: array}) of a golden bundle; every manifest tensor must be in the files."""
    manifest = read_manifest(directory)
    tensors = read_tensors(directory)
    absent = [entry["name"] for entry in manifest["tensors"] if entry["name"] not in tensors]
    if absent:
        raise PortingError(f"golden bundle {directory}: the manifest lists tensors its files lack: {absent[:5]}")
    for entry in manifest["tensors"]:
        stored = tensors[entry["name"]]
        if list(stored.shape) != list(entry["shape"]) or str(stored.dtype) != entry["dtype"]:
            raise PortingError(f"golden bundle {directory}: tensor {entry['name']!r} is {stored.dtype} "
                               f"{list(stored.shape)} in its file but {entry['dtype']} {entry['shape']} in the manifest")
    return manifest, tensors
