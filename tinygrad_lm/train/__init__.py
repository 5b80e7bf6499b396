"""Training: run configuration and presets, checkpoints, evaluation, the trainer loop.

    config.py      RunConfig, the named presets, key=value overrides
    checkpoint.py  atomic, pickle-free safetensors checkpoints with a checksum
    evaluate.py    estimated and exact loss, perplexity
    trainer.py     Trainer: the loop, logging, checkpoint/resume, early stopping, non-finite stop
    state.py       what a checkpoint's metadata must hold, checked; load_model
    rundir.py      the run directory: lock, leftovers, --overwrite, a log that is never torn
    plot.py        the loss curve PNG
"""

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import PRESETS, ConfigError, RunConfig, apply_overrides, preset
from .evaluate import estimate_loss, perplexity, split_loss
from .rundir import RunDirError
from .state import load_model
from .trainer import NonFiniteLossError, Trainer

__all__ = [
    "PRESETS", "CheckpointError", "ConfigError", "NonFiniteLossError", "RunConfig", "RunDirError", "Trainer", "apply_overrides", "estimate_loss",
    "load_checkpoint", "load_model", "perplexity", "preset", "save_checkpoint", "split_loss",
]
