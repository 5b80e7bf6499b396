"""Training: run configuration and presets, checkpoints, evaluation, the trainer loop.

    config.py      RunConfig, the named presets, key=value overrides
    checkpoint.py  atomic, pickle-free safetensors checkpoints with a checksum
    evaluate.py    estimated and exact loss, perplexity
    trainer.py     Trainer: the loop, logging, checkpoint/resume, early stopping; load_model
    plot.py        the loss curve PNG
"""

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import PRESETS, ConfigError, RunConfig, apply_overrides, preset
from .evaluate import estimate_loss, perplexity, split_loss
from .trainer import Trainer, load_model

__all__ = [
    "PRESETS", "CheckpointError", "ConfigError", "RunConfig", "Trainer", "apply_overrides", "estimate_loss",
    "load_checkpoint", "load_model", "perplexity", "preset", "save_checkpoint", "split_loss",
]
