"""What a run's checkpoint says, checked: the metadata schema, the text fingerprint, load_model.

``save_checkpoint``'s checksum proves a file is what was written; this module checks that
what was written makes sense before anything is built from it, so a file from another
version (or one sealed again after an edit) is a one-line ``CheckpointError``, never a
KeyError or TypeError from deep inside a restore. The metadata of both files of a run:

    run_config     RunConfig fields          model_config   GPTConfig (or BertConfig) fields
    tokenizer      Tokenizer.to_dict() (a BERT's whole WordPiece vocabulary)
    step           int >= 0 (steps taken)
    best_val_loss  number (inf before any)   stale_evals    int >= 0 (evaluations without improvement)
    text           {"sha256": hex, "chars": int} of the training text
    last_eval      the latest evaluation record (as logged)
    label_names    a classifier's labels, in the order of its logits (model="classifier" only)
    quantization   optional: {"scheme": "int8-channel" | "int8-group64" | "float16"} for weights
                   quantized after training (``tinygrad-lm quantize``); the file then holds
                   ``NAME.qweight`` (+ ``NAME.scale``) instead of each Linear / Embedding weight
    structure      optional (GPT): {"n_heads": [per block], "mlp_hidden": [per block]} of a model
                   whose heads or MLP neurons were pruned (``compress.prune``)

``checkpoint.safetensors`` (role "checkpoint") also holds "optimizer", "sampler" and
"model_rng" (restored by the Trainer, whose errors are turned into CheckpointError there);
``best.safetensors`` (role "best") holds "val_loss" (for a classifier: the monitored
1 - validation accuracy).

A quantized file (written by ``compress.files.quantize_run``) has the role "best" only: it
is for ``sample``, ``eval`` and ``classify``, and ``load_model`` rebuilds it with
``compress.QuantizedLinear`` layers. Training cannot resume from it: a directory holding only
a best file is refused by the trainer (no checkpoint.safetensors), and ``compress.require_float``
refuses a quantized model wherever float32 weights are needed (prune, distill).

Left out: migrating older checkpoints (their format is refused by checkpoint.py).
"""

import hashlib
import numbers
from pathlib import Path

from ..data import tokenizer_from_dict
from ..engine import check_device
from ..models import (
    GPT,
    BertConfig,
    BertForPreTraining,
    BertForSequenceClassification,
    GPTConfig,
    Seq2Seq,
    Seq2SeqConfig,
)
from .checkpoint import CheckpointError, load_checkpoint
from .config import RunConfig
from .rundir import BEST, CHECKPOINT

ROLE_OF_NAME = {CHECKPOINT: "checkpoint", BEST: "best"}
MODELS = {"gpt": (GPTConfig, GPT), "bert": (BertConfig, BertForPreTraining),  # RunConfig.model -> classes
          "classifier": (BertConfig, BertForSequenceClassification), "seq2seq": (Seq2SeqConfig, Seq2Seq)}


def text_fingerprint(text):
    """{"sha256": hex digest of the UTF-8 text, "chars": its length}: what a resume compares."""
    return {"sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), "chars": len(text)}


def _count(meta, key):
    value = meta[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key!r} must be an integer >= 0, got {value!r}")
    return value


def read_meta(path, meta):
    """(RunConfig, model config, tokenizer) from a checkpoint's metadata, after checking every field above.

    Raises CheckpointError naming ``path`` and the first problem."""
    try:
        run = RunConfig.from_dict(meta["run_config"])
        config = MODELS[run.model][0].from_dict(meta["model_config"])
        tokenizer = tokenizer_from_dict(meta["tokenizer"])
        _count(meta, "step")
        _count(meta, "stale_evals")
        if not isinstance(meta["best_val_loss"], numbers.Real) or isinstance(meta["best_val_loss"], bool):
            raise TypeError(f"'best_val_loss' must be a number, got {meta['best_val_loss']!r}")
        text = meta["text"]
        if not isinstance(text, dict) or not isinstance(text.get("sha256"), str) or not isinstance(
                text.get("chars"), int):
            raise TypeError(f"'text' must be {{'sha256': str, 'chars': int}}, got {text!r:.80}")
        if not isinstance(meta["last_eval"], dict):
            raise TypeError(f"'last_eval' must be an evaluation record, got {meta['last_eval']!r:.80}")
        quantization = meta.get("quantization")
        if quantization is not None and not (isinstance(quantization, dict) and isinstance(quantization.get("scheme"),
                                                                                              str)):
            raise TypeError(f"'quantization' must be {{'scheme': str}}, got {quantization!r:.80}")
        names = meta["label_names"] if run.model == "classifier" else ["", ""]
        if not (isinstance(names, list) and len(names) >= 2 and all(isinstance(n, str) for n in names)):
            raise TypeError(f"'label_names' must be a list of two or more str, got {names!r:.80}")
    except (KeyError, TypeError, ValueError) as error:
        problem = f"lacks {error}" if isinstance(error, KeyError) else str(error)
        raise CheckpointError(f"{path}: metadata is damaged or from another version ({problem})") from None
    if tokenizer.vocab_size != config.vocab_size:
        raise CheckpointError(f"{path}: tokenizer has {tokenizer.vocab_size} tokens but the model expects "
                              f"{config.vocab_size}; the file mixes two runs")
    return run, config, tokenizer


def load_model(path, device="cpu"):
    """Rebuild the model (a GPT, a BertForPreTraining or a BertForSequenceClassification) and its tokenizer from a checkpoint file;
    returns (model on device, tokenizer, meta).

    A file named checkpoint.safetensors or best.safetensors must hold that role's data."""
    check_device(device, "load_model")
    arrays, meta = load_checkpoint(path, role=ROLE_OF_NAME.get(Path(path).name))
    run, config, tokenizer = read_meta(path, meta)
    if run.model == "classifier":
        model = BertForSequenceClassification(config, len(meta["label_names"]), run.pooling, dtype=run.dtype)
    else:
        model = MODELS[run.model][1](config, dtype=run.dtype)
    weights = {name[len("model."):]: a for name, a in arrays.items() if name.startswith("model.")}
    try:
        if "structure" in meta:  # compress sits in this tier and imports train: imported here, when needed
            from ..compress.prune import shrink_to

            shrink_to(model, meta["structure"])
        if "quantization" in meta:
            from ..compress.quantize import load_quantized_state, quantize_model

            load_quantized_state(quantize_model(model, meta["quantization"]["scheme"]), weights)
        else:
            model.load_state_dict(weights)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: weights do not fit the stored config: {error}") from None
    return model.to(device), tokenizer, meta
