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
- ``bert-tiny``: a BERT pre-trained with masked-LM + next-sentence prediction on the
  standard library's docstrings, one module per document (``model="bert"``; no download,
  but the text depends on the Python version; ``--corpus shakespeare`` takes the plays): 2
  post-LN layers, width 128, 2 heads, MLP 512, pairs packed to 64 tokens (also its number of
  positions), a 4,096-token WordPiece vocabulary learned from the training modules, no
  dropout (a short run), batch 32, AdamW lr 1e-3 (betas 0.9, 0.999) with 100 warm-up steps
  and linear decay to 0 over 4,000 steps, weight decay 0.01, evaluated every 500 steps on
  1,024 pairs from the held-out modules (every tenth).

- ``finetune``: fine-tunes a pretrained encoder (``pretrained``, MiniLM by default) with a
  classification head (``model="classifier"``, ``classifier_task.py``) on a labelled dataset:
  mean pooling, dropout 0.1, batch 32, texts cut to 64 tokens, AdamW lr 5e-5 (betas 0.9,
  0.999, weight decay 0.01 except biases and LayerNorm weights), linear warm-up and decay to 0,
  clipping at 1.0, early stopping after 2 evaluations without a better validation accuracy.
  Its run length (max_iters, lr_decay_iters, warmup_iters, eval_interval) is set by
  ``tinygrad-lm finetune`` from the size of the training split (3 epochs, 10% warm-up, two
  evaluations per epoch).
- ``translate-en-es``: an encoder-decoder Transformer (``model="seq2seq"``,
  ``seq2seq_task.py``) translating KJV English verses into Reina-Valera 1909 Spanish, split by
  book: 3 encoder and 3 decoder layers, width 192, 4 heads, MLP 768, pre-LN (``norm_first``:
  stable with a short warm-up; the paper's post-LN is ``norm_first=false``), one shared
  4,000-token byte-level BPE vocabulary (``tokenizer="bpe"``) with tied embeddings, up to 128
  tokens a side, dropout 0.1, label smoothing 0.1, batches of 48 pairs of similar length,
  AdamW lr 1e-3 (betas 0.9, 0.98, no weight decay) with 160 warm-up steps and cosine decay to
  1e-4 over 2,400 steps (about 4 epochs), clipping at 1.0, evaluated every 200 steps
  (validation loss and greedy BLEU on 100 validation verses; the best weights follow BLEU).
  Sized for a 30-minute budget on two cores (measured: 26 min 14 s, README).

Model kinds: ``model="gpt"`` (the default) trains ``models.GPT`` on a character or byte
stream; ``model="classifier"`` fine-tunes ``models.BertForSequenceClassification`` on
``dataset`` (or the labelled file ``text_path``), from the encoder ``pretrained``, with
``freeze_layers`` (the embeddings and the lowest k blocks frozen; 0 = none), ``layer_lr_decay``
(in (0, 1]; block i of L trains at lr * decay^(L - i), the embeddings at lr * decay^(L + 1),
the head at lr; 1 = off) and ``pooling`` ("mean" or "cls"); the encoder's shape comes from
the pretrained files, so n_layer, n_head, n_embd and vocab_size are unused, block_size cuts the
texts; ``model="seq2seq"`` trains ``models.Seq2Seq`` on sentence pairs (``dataset``
"kjv-rv1909", or ``text_path``: source<TAB>target lines) with ``tokenizer="bpe"``: n_layer
encoder and n_layer decoder blocks, n_head, n_embd, intermediate (the MLP width), block_size
(the positions of each side), vocab_size (BPE tokens to learn), dropout, and its own
label_smoothing, norm_first (pre-LN instead of the paper's post-LN) and bleu_sentences
(validation pairs translated greedily at each evaluation; 0 = no BLEU); ``model="bert"`` trains ``models.BertForPreTraining`` on sentence pairs
(``data.bert_pretraining``) with ``tokenizer="wordpiece"``. The BERT run reuses n_layer,
n_head, n_embd (its hidden width), block_size (its max_length and max_position) and dropout,
and adds vocab_size (WordPiece tokens to learn), intermediate (the MLP width), mask_prob,
whole_word_mask and val_pairs (the held-out pairs of every evaluation); a GPT run ignores
those five. lr_schedule: "cosine" (warm-up, cosine decay to min_lr), "linear" (warm-up,
straight line to min_lr, BERT's) or "inverse_sqrt" (the Transformer paper's: a straight line up to
lr at warmup_iters, then lr * sqrt(warmup_iters / step); min_lr and lr_decay_iters unused).

Validation: every field is checked when a RunConfig is made (from a preset, overrides, or a
checkpoint's JSON), and a bad value raises a one-line ConfigError naming the field, the value
and the allowed range. Types: a float field takes an int; an int field refuses a bool.
Ranges: sizes, max_iters, eval_interval, eval_iters, lr_decay_iters >= 1; n_embd divisible by
n_head; warmup_iters in [0, lr_decay_iters]; early_stopping_patience >= 0; seed in
[0, 2**32 - 1]; lr, weight_decay, grad_clip finite and >= 0 (grad_clip 0 = no clipping); min_lr
finite in [0, lr]; beta1, beta2, dropout in [0, 1); corpus, tokenizer, dtype, device, model and
lr_schedule from their lists; model "bert" if and only if tokenizer "wordpiece"; vocab_size,
intermediate, val_pairs >= 1; mask_prob in (0, 1); label_smoothing in [0, 1); bleu_sentences
>= 0; model "seq2seq" if and only if tokenizer "bpe"; a BERT's block_size >= 5
([CLS] A [SEP] B [SEP]); a linear schedule needs warmup_iters < lr_decay_iters; exact_val only
for a GPT (``trainer.py`` says what it does). No upper bound is put on lr: a run that diverges
is stopped by the trainer at its first non-finite loss. What needs the text (block_size against
the length of the splits) is checked by the trainer, and so is memory (``check_memory``: a CPU
run whose ``estimated_memory_bytes`` exceeds the machine's RAM is refused before anything is
allocated).

``device`` ("cpu" or "cuda") is where the model trains; whether "cuda" is usable is checked
when the Trainer starts, not here (a config is only data). A run may resume on another device.
"""

import dataclasses
import math
import os
from dataclasses import dataclass

from ..data import CORPORA
from ..engine import DEVICES

MAX_SEED = 2**32 - 1
VAL_FRACTION = 0.1  # the last tenth of the text is the validation split
_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


class ConfigError(ValueError):
    """An unknown preset or key, a value of the wrong type, or settings that do not fit."""


def _typed(name, value, kind):
    """``value`` as the field's type: a float field takes an int (made float); bool is no int."""
    kind = {"int": int, "float": float, "bool": bool, "str": str}.get(kind, kind)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"config: {name} must be {_TYPE_WORDS[kind]}, got {type(value).__name__} {value!r}")


def _require(ok, name, allowed, value):
    """Raise ConfigError "NAME must be ALLOWED, got VALUE" unless ``ok``."""
    if not ok:
        raise ConfigError(f"config: {name} must be {allowed}, got {value!r}")


@dataclass(frozen=True)
class RunConfig:
    # data
    corpus: str = "shakespeare"
    text_path: str = ""
    tokenizer: str = "char"
    model: str = "gpt"  # "gpt" or "bert"
    # model
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    dropout: float = 0.0
    bias: bool = True
    # BERT only (model="bert")
    vocab_size: int = 4096
    intermediate: int = 512
    mask_prob: float = 0.15
    whole_word_mask: bool = False
    val_pairs: int = 1024
    # classifier only (model="classifier")
    pretrained: str = "all-MiniLM-L6-v2"
    dataset: str = "pang-lee"
    freeze_layers: int = 0
    layer_lr_decay: float = 1.0
    pooling: str = "mean"
    # translation only (model="seq2seq")
    label_smoothing: float = 0.1
    norm_first: bool = False
    bleu_sentences: int = 200
    # optimisation
    batch_size: int = 12
    max_iters: int = 2000
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    lr_decay_iters: int = 2000
    lr_schedule: str = "cosine"  # "cosine", "linear" or "inverse_sqrt"
    beta1: float = 0.9
    beta2: float = 0.99
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    # evaluation, logging, stopping
    eval_interval: int = 250
    eval_iters: int = 20
    early_stopping_patience: int = 0  # evaluations without improvement before stopping; 0 = never
    exact_val: bool = False  # GPT only: best weights and early stopping follow the exact validation loss
    seed: int = 1337
    dtype: str = "float32"
    device: str = "cpu"  # "cpu" or "cuda" (CuPy on an NVIDIA GPU)

    def __post_init__(self):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, _typed(field.name, getattr(self, field.name), field.type))
        for name in ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "max_iters", "eval_interval",
                     "eval_iters", "lr_decay_iters", "vocab_size", "intermediate", "val_pairs"):
            _require(getattr(self, name) >= 1, name, "an integer >= 1", getattr(self, name))
        if self.n_embd % self.n_head:
            raise ConfigError(f"config: n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        _require(0 <= self.warmup_iters <= self.lr_decay_iters, "warmup_iters",
                 f"an integer in [0, lr_decay_iters] (lr_decay_iters is {self.lr_decay_iters})", self.warmup_iters)
        _require(self.early_stopping_patience >= 0, "early_stopping_patience",
                 "an integer >= 0 (0 = never stop early)", self.early_stopping_patience)
        _require(0 <= self.seed <= MAX_SEED, "seed", f"an integer in [0, {MAX_SEED}]", self.seed)
        for name, allowed in (("lr", ""), ("weight_decay", ""), ("grad_clip", " (0 turns clipping off)")):
            value = getattr(self, name)
            _require(math.isfinite(value) and value >= 0, name, f"a finite number >= 0{allowed}", value)
        _require(math.isfinite(self.min_lr) and 0 <= self.min_lr <= self.lr, "min_lr",
                 f"a finite number in [0, lr] (lr is {self.lr})", self.min_lr)
        for name in ("beta1", "beta2", "dropout"):
            _require(0.0 <= getattr(self, name) < 1.0, name, "in [0, 1)", getattr(self, name))
        for name, choices in (("corpus", tuple(CORPORA)), ("tokenizer", ("char", "byte", "wordpiece", "bpe")),
                              ("dtype", ("float32", "float64")), ("device", DEVICES),
                              ("model", ("gpt", "bert", "classifier", "seq2seq")),
                              ("pooling", ("mean", "cls")),
                              ("lr_schedule", ("cosine", "linear", "inverse_sqrt"))):
            if getattr(self, name) not in choices:
                words = " or ".join(map(repr, choices))
                raise ConfigError(f"config: {name} must be {words}, got {getattr(self, name)!r}")
        self._check_model_fields()

    def _check_model_fields(self):
        bert = self.model in ("bert", "classifier")
        wanted = {"bert": ("wordpiece",), "classifier": ("wordpiece",), "seq2seq": ("bpe",)}.get(self.model,
                                                                                              ("char", "byte"))
        if self.tokenizer not in wanted:
            words = " or ".join(map(repr, wanted))
            raise ConfigError(f"config: tokenizer must be {words} for model={self.model!r}, got {self.tokenizer!r}")
        _require(0.0 <= self.label_smoothing < 1.0, "label_smoothing", "in [0, 1), e.g. 0.1", self.label_smoothing)
        _require(self.bleu_sentences >= 0, "bleu_sentences", "an integer >= 0 (0 = no BLEU while training)",
                 self.bleu_sentences)
        _require(self.freeze_layers >= 0, "freeze_layers", "an integer >= 0 (0 = train every layer)",
                 self.freeze_layers)
        _require(0.0 < self.layer_lr_decay <= 1.0, "layer_lr_decay", "in (0, 1] (1 = no decay)", self.layer_lr_decay)
        _require(0.0 < self.mask_prob < 1.0, "mask_prob", "in (0, 1), e.g. 0.15", self.mask_prob)
        _require(not bert or self.block_size >= 5, "block_size",
                 "an integer >= 5 for a BERT ([CLS] A [SEP] B [SEP])", self.block_size)
        _require(self.lr_schedule != "inverse_sqrt" or self.warmup_iters >= 1, "warmup_iters",
                 "at least 1 for lr_schedule='inverse_sqrt' (its peak is at warmup_iters)", self.warmup_iters)
        if self.exact_val and self.model != "gpt":
            raise ConfigError(f"config: exact_val: only a GPT run has one validation token stream to evaluate "
                              f"exactly, not model={self.model!r}; leave exact_val off")
        _require(self.lr_schedule != "linear" or self.warmup_iters < self.lr_decay_iters, "warmup_iters",
                 f"below lr_decay_iters ({self.lr_decay_iters}) for lr_schedule='linear'", self.warmup_iters)

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
    "bert-tiny": RunConfig(
        corpus="stdlib", tokenizer="wordpiece", model="bert", n_layer=2, n_head=2, n_embd=128,
        intermediate=512, block_size=64, vocab_size=4096, dropout=0.0, batch_size=32, max_iters=4000,
        lr=1e-3, min_lr=0.0, warmup_iters=100, lr_decay_iters=4000, lr_schedule="linear", beta2=0.999,
        weight_decay=0.01, eval_interval=500, eval_iters=4, val_pairs=1024,
    ),
    "finetune": RunConfig(
        model="classifier", tokenizer="wordpiece", block_size=64, dropout=0.1, batch_size=32, max_iters=300,
        lr=5e-5, min_lr=0.0, warmup_iters=30, lr_decay_iters=300, lr_schedule="linear", beta2=0.999,
        weight_decay=0.01, eval_interval=50, eval_iters=4, early_stopping_patience=2,
    ),
    "translate-en-es": RunConfig(
        model="seq2seq", tokenizer="bpe", dataset="kjv-rv1909", n_layer=3, n_head=4, n_embd=192, intermediate=768,
        vocab_size=4000, block_size=128, dropout=0.1, norm_first=True, batch_size=48, max_iters=2400, lr=1e-3,
        min_lr=1e-4, warmup_iters=160, lr_decay_iters=2400, beta2=0.98, weight_decay=0.0, grad_clip=1.0,
        eval_interval=200, eval_iters=4, label_smoothing=0.1, bleu_sentences=100,
    ),
}


def preset(name):
    """The RunConfig called ``name``; an unknown name lists the known ones."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]


def check_text_length(config, n_tokens):
    """Refuse a text whose train or validation split (the last VAL_FRACTION) cannot hold one window.

    A window is block_size + 1 tokens (inputs and targets shifted by one); the split is made
    as ``data.train_val_split`` makes it. The message gives the least text for this
    block_size and the largest block_size for this text."""

    def smaller_split(n):
        n_train = int(n * (1.0 - VAL_FRACTION))
        return min(n_train, n - n_train)

    block = config.block_size
    if smaller_split(n_tokens) > block:
        return
    needed = max(1, int((block - 1) / VAL_FRACTION))
    while smaller_split(needed) <= block:
        needed += 1
    largest = smaller_split(n_tokens) - 1
    hint = f", or at most block_size={largest}" if largest >= 1 else ""
    raise ConfigError(f"config: block_size={block} needs {block + 1} tokens in each of the train and validation "
                      f"splits (the last {VAL_FRACTION:.0%} validates), so at least {needed:,} tokens, but the text "
                      f"has {n_tokens:,} tokens; use a longer text{hint}")


def estimated_memory_bytes(config, vocab_size):
    """A rough lower bound of a training step's peak memory (bytes) for a vocabulary of ``vocab_size``.

    P = V*C + T*C + L*(12*C^2 + 13*C) + 2*C parameters, each held four times (weights,
    gradients, AdamW's two moments), plus the activations kept for backward: per layer about
    16*C values and 2*H*T attention weights per token, and 3*V per token for the logits,
    their softmax and its gradient. All (B*T tokens) at the run's dtype."""
    B, T, C, L, H, V = (config.batch_size, config.block_size, config.n_embd, config.n_layer, config.n_head,
                        vocab_size)
    parameters = V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C
    activations = L * B * T * (16 * C + 2 * H * T) + 3 * B * T * V
    itemsize = 8 if config.dtype == "float64" else 4
    return itemsize * (4 * parameters + activations)


def physical_memory_bytes():
    """This machine's RAM in bytes, or None where the OS does not say (then nothing is checked)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(config, vocab_size, limit=None):
    """Refuse a CPU run whose ``estimated_memory_bytes`` exceeds ``limit`` (default: the machine's RAM).

    GPU runs are not checked here: CuPy reports its own out-of-memory error."""
    limit = physical_memory_bytes() if limit is None else limit
    need = estimated_memory_bytes(config, vocab_size)
    if config.device == "cpu" and limit is not None and need > limit:
        raise ConfigError(f"config: batch_size={config.batch_size}, block_size={config.block_size}, "
                          f"n_embd={config.n_embd}, n_layer={config.n_layer} would need at least "
                          f"{need / 2**30:,.1f} GiB to train but this machine has {limit / 2**30:,.1f} GiB; "
                          f"lower them")


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
