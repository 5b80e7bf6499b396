"""Training: run configuration and presets, checkpoints, the trainer loop.

    config.py      RunConfig, the named presets, key=value overrides
    checkpoint.py  atomic, pickle-free safetensors checkpoints with a checksum
"""

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import PRESETS, RunConfig, apply_overrides, preset

__all__ = ["PRESETS", "CheckpointError", "RunConfig", "apply_overrides", "load_checkpoint", "preset", "save_checkpoint"]
