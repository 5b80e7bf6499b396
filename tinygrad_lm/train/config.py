"""Run configuration: what to train, how, and the named presets.

A ``RunConfig`` is a frozen dataclass holding every knob of a training run, the model's shape
included, so one object (stored as JSON in each checkpoint) says exactly how a run was made.
Presets are named RunConfigs; ``key=value`` overrides from the command line are parsed
against the field types, and an unknown key or a value of the wrong type is refused with a
message naming the key, the expected type and the valid keys.

Presets:
- ``shakespeare-char``: nanoGPT's CPU configuration for character-level Shakespeare
  (4 layers, 4 heads, 128-wide, context 64, batch 12, dropout 0, AdamW lr 1e-3 with 100
  warm-up steps and cosine decay to 1e-4 over 2000 iterations, betas (0.9, 0.99),
  weight decay 0.1, gradient clipping at 1.0, 20 evaluation batches every 250 steps).
- ``tiny``: a 2-layer, 32-wide model on the standard-library corpus (no download) that
  trains for 50 steps in seconds: for tests and a first try.

``device`` ("cpu" or "cuda") is where the model trains; whether "cuda" is usable is checked
when the Trainer starts, not here (a config is only data). A run may resume on another device.
"""

import dataclasses
from dataclasses import dataclass

from ..engine import DEVICES


class ConfigError(ValueError):
    """An unknown preset or key, a value of the wrong type, or settings that do not fit."""


@dataclass(frozen=True)
class RunConfig:
    # data
    corpus: str = "shakespeare"
    text_path: str = ""
    tokenizer: str = "char"
    # model
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    dropout: float = 0.0
    bias: bool = True
    # optimisation
    batch_size: int = 12
    max_iters: int = 2000
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    lr_decay_iters: int = 2000
    beta1: float = 0.9
    beta2: float = 0.99
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    # evaluation, logging, stopping
    eval_interval: int = 250
    eval_iters: int = 20
    early_stopping_patience: int = 0  # evaluations without improvement before stopping; 0 = never
    seed: int = 1337
    dtype: str = "float32"
    device: str = "cpu"  # "cpu" or "cuda" (CuPy on an NVIDIA GPU)

    def __post_init__(self):
        positive = ["n_layer", "n_head", "n_embd", "block_size", "batch_size", "max_iters",
                    "eval_interval", "eval_iters", "lr_decay_iters"]
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"config: {name} must be positive, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise ConfigError(f"config: n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"config: dropout must be in [0, 1), got {self.dropout}")
        if self.tokenizer not in ("char", "byte"):
            raise ConfigError(f"config: tokenizer must be 'char' or 'byte', got {self.tokenizer!r}")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"config: dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if self.device not in DEVICES:
            raise ConfigError(f"config: device must be 'cpu' or 'cuda', got {self.device!r}")

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"config: unknown keys {unknown}; valid keys: {', '.join(sorted(known))}")
        return cls(**values)


PRESETS = {
    "shakespeare-char": RunConfig(),
    "tiny": RunConfig(
        corpus="stdlib", n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=8,
        max_iters=50, lr=3e-3, min_lr=3e-4, warmup_iters=5, lr_decay_iters=50,
        eval_interval=25, eval_iters=4,
    ),
}


def preset(name):
    """The RunConfig called ``name``; an unknown name lists the known ones."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]


def _parse_value(key, text, kind):
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"override {key}={text}: expected a boolean (true/false)")
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"override {key}={text}: expected {kind.__name__}, got {text!r}") from None


def apply_overrides(config, overrides):
    """Return ``config`` with ``["key=value", ...]`` applied, each parsed as its field's type."""
    fields = {f.name: f for f in dataclasses.fields(config)}
    changes = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"override {item!r}: expected key=value, e.g. max_iters=500")
        if key not in fields:
            raise ConfigError(f"override {key!r}: unknown key; valid keys: {', '.join(sorted(fields))}")
        kind = type(getattr(config, key))
        changes[key] = _parse_value(key, text, kind)
    return dataclasses.replace(config, **changes)
