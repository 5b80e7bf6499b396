"""Hugging Face BERT checkpoints (``config.json`` + ``model.safetensors``) into our BERT, strictly.

    load_hf_bert(directory)            -> BertModel, BertForPreTraining or BertForSequenceClassification
    config_from_hf(fields, pooler)     config.json's dict -> BertConfig
    read_safetensors(path)             name -> NumPy array, through the ``safetensors`` package
    load_hf_state(model, state)        copy a Hugging Face state dict into ``model``

Which model: the tensors decide. Names with ``cls.predictions.*`` and ``cls.seq_relationship.*``
are a BertForPreTraining checkpoint, ``classifier.*`` a BertForSequenceClassification one, and
neither a bare BertModel (sentence-transformers' MiniLM). The encoder's names may carry a
``bert.`` prefix (checkpoints with heads) or not (a bare BertModel).

The name map, per encoder layer i (Hugging Face -> ours):

    embeddings.word_embeddings / position_embeddings / token_type_embeddings
                                        -> embeddings.word / position / token_type
    embeddings.LayerNorm                -> embeddings.ln
    encoder.layer.i.attention.self.query, .key, .value
                                        -> blocks.i.attn.qkv: the three (H, H) weights stacked
                                           on the output axis into (3H, H), biases into (3H,),
                                           query first, the order F.self_attention splits them in
    encoder.layer.i.attention.output.dense / .LayerNorm   -> blocks.i.attn.proj / blocks.i.ln1
    encoder.layer.i.intermediate.dense                    -> blocks.i.mlp.fc
    encoder.layer.i.output.dense / .LayerNorm             -> blocks.i.mlp.proj / blocks.i.ln2
    pooler.dense                        -> pooler
    cls.predictions.transform.dense / .LayerNorm          -> mlm.dense / mlm.ln
    cls.predictions.bias (= cls.predictions.decoder.bias) -> mlm.bias
    cls.predictions.decoder.weight      (tied: must equal the word embeddings; stored once here)
    cls.seq_relationship                -> nsp
    classifier                          -> classifier

Linear weights are stored [out, in] in both, so no transpose. Old TensorFlow-converted names
``LayerNorm.gamma`` / ``.beta`` read as ``.weight`` / ``.bias``. Buffers that are not
parameters (``embeddings.position_ids`` = 0..P-1, ``embeddings.token_type_ids`` = zeros) are
checked to hold what they must and then set aside.

Strict: every tensor of the file is used, every parameter is filled, every shape is checked;
the first problem is raised as a ``PretrainedWeightsError`` naming the tensor, the parameter
and both shapes. Floating tensors are cast to the model's dtype.

Never pickle: ``pytorch_model.bin`` is a Python pickle, and unpickling runs whatever code the
file names, so a directory holding only that is refused with the command that converts it.

Left out: sharded checkpoints (``model.safetensors.index.json``), TensorFlow and Flax files,
relative position types, other encoder families (RoBERTa, DistilBERT, ALBERT).
"""

import json
from pathlib import Path

import numpy as np

from .bert import BertConfig, BertModel
from .bert_heads import BertForPreTraining, BertForSequenceClassification

ACTIVATIONS_FROM_HF = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "relu": "relu"}
POSITIONS_FROM_HF = {"absolute": "learned"}
CONFIG_FIELDS = {  # BertConfig field <- config.json key
    "vocab_size": "vocab_size", "hidden": "hidden_size", "n_layers": "num_hidden_layers",
    "n_heads": "num_attention_heads", "intermediate": "intermediate_size",
    "max_position": "max_position_embeddings", "type_vocab_size": "type_vocab_size",
    "layer_norm_eps": "layer_norm_eps", "dropout": "hidden_dropout_prob",
    "attention_dropout": "attention_probs_dropout_prob", "initializer_range": "initializer_range",
}
OPTIONAL_KEYS = {"layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
                 "initializer_range": 0.02, "type_vocab_size": 2}
BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")


class PretrainedWeightsError(ValueError):
    """A Hugging Face checkpoint that does not fit: a file, a config field, or a tensor."""


def config_from_hf(fields, pooler=True, where="config.json"):
    """BertConfig from a Hugging Face BERT config.json dict; ``pooler`` says whether to build one.

    ``hidden_act`` "gelu" is the exact erf GELU ("gelu_new" and "gelu_pytorch_tanh" the tanh
    one); ``position_embedding_type`` must be "absolute". Anything else is refused by name.
    """
    model_type = fields.get("model_type", "bert")
    if model_type != "bert":
        raise PretrainedWeightsError(f"{where}: model_type is {model_type!r}; only 'bert' checkpoints load here")
    values = {key: fields.get(key, OPTIONAL_KEYS.get(key)) for key in CONFIG_FIELDS.values()}
    missing = [key for key, value in values.items() if value is None]
    if missing:
        raise PretrainedWeightsError(f"{where}: missing field(s) {', '.join(missing)}")
    activation = fields.get("hidden_act", "gelu")
    if activation not in ACTIVATIONS_FROM_HF:
        raise PretrainedWeightsError(f"{where}: hidden_act {activation!r} is not supported; "
                                     f"supported: {', '.join(ACTIVATIONS_FROM_HF)}")
    positions = fields.get("position_embedding_type", "absolute")
    if positions not in POSITIONS_FROM_HF:
        raise PretrainedWeightsError(f"{where}: position_embedding_type {positions!r} is not supported; "
                                     f"only 'absolute' (learned) positions load here")
    try:
        return BertConfig(**{name: values[key] for name, key in CONFIG_FIELDS.items()},
                          activation=ACTIVATIONS_FROM_HF[activation],
                          position_embedding=POSITIONS_FROM_HF[positions], pooler=pooler)
    except (TypeError, ValueError) as error:
        raise PretrainedWeightsError(f"{where}: {error}") from None


def read_safetensors(path):
    """{name: NumPy array} from a .safetensors file (a JSON header and raw bytes; no code runs)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, TypeError) as error:
        raise PretrainedWeightsError(f"{path}: not a readable safetensors file ({error})") from None


def _encoder_sources(config, prefix):
    """{our name (inside BertModel): [Hugging Face names]}; several names are stacked on axis 0."""
    embeddings = {"embeddings.word.weight": "word_embeddings.weight",
                  "embeddings.token_type.weight": "token_type_embeddings.weight",
                  "embeddings.ln.weight": "LayerNorm.weight", "embeddings.ln.bias": "LayerNorm.bias"}
    if config.position_embedding == "learned":
        embeddings["embeddings.position.weight"] = "position_embeddings.weight"
    sources = {ours: [f"{prefix}embeddings.{theirs}"] for ours, theirs in embeddings.items()}
    for i in range(config.n_layers):
        hf, ours = f"{prefix}encoder.layer.{i}.", f"blocks.{i}."
        for kind in ("weight", "bias"):
            sources[ours + f"attn.qkv.{kind}"] = [hf + f"attention.self.{part}.{kind}"
                                                 for part in ("query", "key", "value")]
            for mine, theirs in (("attn.proj", "attention.output.dense"), ("ln1", "attention.output.LayerNorm"),
                                 ("mlp.fc", "intermediate.dense"), ("mlp.proj", "output.dense"),
                                 ("ln2", "output.LayerNorm")):
                sources[ours + f"{mine}.{kind}"] = [hf + f"{theirs}.{kind}"]
    if config.pooler:
        sources.update({f"pooler.{kind}": [f"{prefix}pooler.dense.{kind}"] for kind in ("weight", "bias")})
    return sources


def _sources(model):
    """{our parameter name: [Hugging Face names]} for the whole ``model``."""
    if isinstance(model, BertModel):
        return _encoder_sources(model.config, "")
    sources = {f"bert.{ours}": theirs for ours, theirs in _encoder_sources(model.config, "bert.").items()}
    if isinstance(model, BertForPreTraining):
        for kind in ("weight", "bias"):
            sources[f"mlm.dense.{kind}"] = [f"cls.predictions.transform.dense.{kind}"]
            sources[f"mlm.ln.{kind}"] = [f"cls.predictions.transform.LayerNorm.{kind}"]
            sources[f"nsp.{kind}"] = [f"cls.seq_relationship.{kind}"]
        sources["mlm.bias"] = ["cls.predictions.bias"]
    elif isinstance(model, BertForSequenceClassification):
        sources.update({f"classifier.{kind}": [f"classifier.{kind}"] for kind in ("weight", "bias")})
    else:
        raise TypeError(f"load_hf_state: expected a BertModel, BertForPreTraining or BertForSequenceClassification, "
                        f"got {type(model).__name__}")
    return sources


def _renamed(state):
    """Old TensorFlow-converted LayerNorm names (.gamma, .beta) as .weight and .bias."""
    renamed = {}
    for name, value in state.items():
        if ".LayerNorm." in name and name.endswith((".gamma", ".beta")):
            name = name.rsplit(".", 1)[0] + (".weight" if name.endswith(".gamma") else ".bias")
        renamed[name] = value
    return renamed


def _set_aside(state, model):
    """Remove (after checking) what holds no parameter: buffers, the tied decoder, the doubled bias."""
    prefix = "" if isinstance(model, BertModel) else "bert."
    positions = state.pop(prefix + BUFFERS[0], None)
    if positions is not None and not np.array_equal(np.ravel(positions), np.arange(np.size(positions))):
        raise PretrainedWeightsError(f"{prefix}{BUFFERS[0]} must hold 0, 1, 2, ..., got other positions")
    types = state.pop(prefix + BUFFERS[1], None)
    if types is not None and np.any(types):
        raise PretrainedWeightsError(f"{prefix}{BUFFERS[1]} must be all zeros")
    if isinstance(model, BertForPreTraining):
        decoder_bias = state.pop("cls.predictions.decoder.bias", None)
        if decoder_bias is not None:
            bias = state.setdefault("cls.predictions.bias", decoder_bias)
            if bias.shape != decoder_bias.shape or not np.array_equal(bias, decoder_bias):
                raise PretrainedWeightsError("cls.predictions.bias and cls.predictions.decoder.bias differ; "
                                             "BERT ties them, so they must be equal")
        decoder = state.pop("cls.predictions.decoder.weight", None)
        words = state.get("bert.embeddings.word_embeddings.weight")
        if decoder is not None and words is not None and (decoder.shape != words.shape
                                                          or not np.array_equal(decoder, words)):
            raise PretrainedWeightsError("cls.predictions.decoder.weight differs from "
                                         "bert.embeddings.word_embeddings.weight; our decoder is tied to the "
                                         "word embeddings, so an untied checkpoint cannot load")


def load_hf_state(model, state, where="the checkpoint"):
    """Copy a Hugging Face BERT state dict (name -> array) into ``model``; returns ``model``.

    Raises ``PretrainedWeightsError`` at the first tensor that is missing, unexpected, of the
    wrong shape or not floating; nothing is written unless everything fits.
    """
    sources = _sources(model)
    state = _renamed(dict(state))
    _set_aside(state, model)
    parameters = dict(model.named_parameters())
    used, values = set(), {}
    for ours, theirs in sources.items():
        missing = [name for name in theirs if name not in state]
        if missing:
            raise PretrainedWeightsError(f"{where}: missing tensor {missing[0]} (for our {ours}); "
                                         f"is this a BERT checkpoint of this config's size?")
        parts = [np.asarray(state[name]) for name in theirs]
        for name, part in zip(theirs, parts):
            if part.dtype.kind != "f":
                raise PretrainedWeightsError(f"{where}: tensor {name} has dtype {part.dtype}; expected floating")
        expected = parameters[ours].shape
        value = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)  # 3 x (H, ...) -> (3H, ...)
        if value.shape != expected:
            shapes = " + ".join(str(p.shape) for p in parts)
            raise PretrainedWeightsError(f"{where}: tensor {' + '.join(theirs)} of shape {shapes} does not fit our "
                                         f"{ours}: expected {expected}")
        used.update(theirs)
        values[ours] = value.astype(parameters[ours].dtype)
    unexpected = sorted(set(state) - used)
    if unexpected:
        more = f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""
        raise PretrainedWeightsError(f"{where}: unexpected tensor {unexpected[0]}{more}; this loader maps "
                                     f"BertModel, BertForPreTraining and BertForSequenceClassification names")
    return model.load_state_dict(values, strict=True)


def _model_for(config_fields, state, where):
    """An untrained model of the kind the tensor names describe, its config from config.json."""
    names = set(_renamed(state))
    prefix = "bert." if any(name.startswith("bert.") for name in names) else ""
    pooler = f"{prefix}pooler.dense.weight" in names
    config = config_from_hf(config_fields, pooler=pooler, where=where)
    has_mlm = any(name.startswith("cls.predictions.") for name in names)
    has_nsp = any(name.startswith("cls.seq_relationship.") for name in names)
    if has_mlm and has_nsp:
        return BertForPreTraining(config)
    if has_mlm or has_nsp:
        kind = "cls.predictions (masked LM)" if has_mlm else "cls.seq_relationship (next sentence)"
        raise PretrainedWeightsError(f"{where}: holds only the {kind} head; heads load as BertForPreTraining "
                                     f"(both heads) or not at all")
    if "classifier.weight" in names:
        return BertForSequenceClassification(config, int(np.shape(state["classifier.weight"])[0]))
    return BertModel(config)


def load_hf_bert(directory):
    """The model stored in a Hugging Face directory holding config.json and model.safetensors.

    Returns a BertModel, BertForPreTraining or BertForSequenceClassification (see the module
    docstring), in eval mode, float32.
    """
    directory = Path(directory)
    weights, config_path = directory / "model.safetensors", directory / "config.json"
    if not weights.is_file():
        if (directory / "pytorch_model.bin").is_file():
            raise PretrainedWeightsError(
                f"{directory}: holds pytorch_model.bin but no model.safetensors; .bin files are Python pickles, "
                f"and loading one runs any code it names, so they are refused. Convert it once where you trust "
                f"it: python -c \"import torch, safetensors.torch as s; sd = torch.load('pytorch_model.bin', "
                f"weights_only=True); s.save_file({{k: v.clone() for k, v in sd.items()}}, 'model.safetensors')\"")
        if (directory / "model.safetensors.index.json").is_file():
            raise PretrainedWeightsError(f"{directory}: sharded safetensors checkpoints are not supported")
        raise PretrainedWeightsError(f"{directory}: no model.safetensors")
    try:
        fields = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PretrainedWeightsError(f"{directory}: no config.json") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PretrainedWeightsError(f"{config_path}: not readable JSON ({error})") from None
    if not isinstance(fields, dict):
        raise PretrainedWeightsError(f"{config_path}: expected a JSON object, got {type(fields).__name__}")
    state = read_safetensors(weights)
    model = _model_for(fields, state, str(config_path))
    return load_hf_state(model, state, where=str(weights)).eval()
