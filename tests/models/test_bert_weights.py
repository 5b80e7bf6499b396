"""Hugging Face BERT checkpoints: the name map, strictness, config.json, and pickle refusal.

The checkpoints here are written by the tests: a tiny model of ours is renamed to Hugging
Face's names by ``hf_state`` (the map written out by hand, independently of bert_weights.py)
and saved with ``safetensors``. An optional test builds the checkpoint with Hugging Face's
``transformers`` itself and compares outputs (skipped when torch or transformers is missing).
"""

import importlib.util
import json
import pickle

import numpy as np
import pytest
from safetensors.numpy import save_file

from tinygrad_lm.models import (
    BertConfig,
    BertForPreTraining,
    BertForSequenceClassification,
    BertModel,
)
from tinygrad_lm.models.bert_weights import (
    PretrainedWeightsError,
    config_from_hf,
    load_hf_bert,
)
from tinygrad_lm.testing.gradcheck import check_close

TINY = BertConfig(vocab_size=20, hidden=8, n_layers=2, n_heads=2, intermediate=12, max_position=10,
                  type_vocab_size=2, layer_norm_eps=1e-12, dropout=0.1, attention_dropout=0.1)
HF_CONFIG = {"model_type": "bert", "vocab_size": 20, "hidden_size": 8, "num_hidden_layers": 2,
             "num_attention_heads": 2, "intermediate_size": 12, "max_position_embeddings": 10,
             "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
             "attention_probs_dropout_prob": 0.1, "position_embedding_type": "absolute", "initializer_range": 0.02}


def hf_state(model, prefix=""):
    """Our BertModel's weights under Hugging Face's BertModel names, q/k/v split back apart."""
    s, H = model.state_dict(), model.config.hidden
    out = {f"{prefix}embeddings.position_ids": np.arange(model.config.max_position)[None]}
    for ours, theirs in (("word", "word_embeddings"), ("position", "position_embeddings"),
                         ("token_type", "token_type_embeddings")):
        out[f"{prefix}embeddings.{theirs}.weight"] = s[f"embeddings.{ours}.weight"]
    for kind in ("weight", "bias"):
        out[f"{prefix}embeddings.LayerNorm.{kind}"] = s[f"embeddings.ln.{kind}"]
        out[f"{prefix}pooler.dense.{kind}"] = s[f"pooler.{kind}"]
        for i in range(model.config.n_layers):
            hf, mine = f"{prefix}encoder.layer.{i}.", f"blocks.{i}."
            q, k, v = s[mine + f"attn.qkv.{kind}"][:H], s[mine + f"attn.qkv.{kind}"][H:2 * H], s[mine + f"attn.qkv.{kind}"][2 * H:]
            out.update({hf + f"attention.self.query.{kind}": q, hf + f"attention.self.key.{kind}": k,
                        hf + f"attention.self.value.{kind}": v,
                        hf + f"attention.output.dense.{kind}": s[mine + f"attn.proj.{kind}"],
                        hf + f"attention.output.LayerNorm.{kind}": s[mine + f"ln1.{kind}"],
                        hf + f"intermediate.dense.{kind}": s[mine + f"mlp.fc.{kind}"],
                        hf + f"output.dense.{kind}": s[mine + f"mlp.proj.{kind}"],
                        hf + f"output.LayerNorm.{kind}": s[mine + f"ln2.{kind}"]})
    return out


def save(directory, state, config=None):
    directory.mkdir(parents=True, exist_ok=True)
    save_file({name: np.ascontiguousarray(value) for name, value in state.items()},
              str(directory / "model.safetensors"))
    (directory / "config.json").write_text(json.dumps(HF_CONFIG if config is None else config))
    return directory


def trained_looking(model, seed=1):
    """Every parameter set to random values (biases and LayerNorms included), so no mix-up hides."""
    rng = np.random.default_rng(seed)
    model.load_state_dict({n: rng.standard_normal(p.shape).astype(p.dtype) * 0.3 for n, p in model.named_parameters()})
    return model.eval()


X = np.array([[1, 5, 7, 2, 0], [1, 9, 2, 0, 0]])
MASK = (X != 0).astype(np.int64)


def test_bare_bertmodel_round_trip(tmp_path):
    ours = trained_looking(BertModel(TINY))
    loaded = load_hf_bert(save(tmp_path, hf_state(ours)))
    assert type(loaded) is BertModel and loaded.config == TINY and not loaded.training
    for name, value in ours.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], value, err_msg=name)
    check_close(loaded(X, attention_mask=MASK), ours(X, attention_mask=MASK).data)


def test_pretraining_checkpoint_with_bert_prefix_and_tied_duplicates(tmp_path):
    ours = trained_looking(BertForPreTraining(TINY))
    s = ours.state_dict()
    state = hf_state(ours.bert, prefix="bert.")
    for kind in ("weight", "bias"):
        state[f"cls.predictions.transform.dense.{kind}"] = s[f"mlm.dense.{kind}"]
        state[f"cls.predictions.transform.LayerNorm.{kind}"] = s[f"mlm.ln.{kind}"]
        state[f"cls.seq_relationship.{kind}"] = s[f"nsp.{kind}"]
    state["cls.predictions.bias"] = state["cls.predictions.decoder.bias"] = s["mlm.bias"]
    state["cls.predictions.decoder.weight"] = s["bert.embeddings.word.weight"]
    loaded = load_hf_bert(save(tmp_path, state))
    assert type(loaded) is BertForPreTraining
    a, b = loaded(X, attention_mask=MASK), ours(X, attention_mask=MASK)
    check_close(a.mlm_logits, b.mlm_logits.data)
    check_close(a.nsp_logits, b.nsp_logits.data)
    state["cls.predictions.decoder.weight"] = state["cls.predictions.decoder.weight"] + 1
    with pytest.raises(PretrainedWeightsError, match="decoder.weight differs from bert.embeddings.word_embeddings"):
        load_hf_bert(save(tmp_path, state))
    state["cls.predictions.decoder.weight"] = s["bert.embeddings.word.weight"]
    state["cls.predictions.decoder.bias"] = s["mlm.bias"] + 1
    with pytest.raises(PretrainedWeightsError, match="cls.predictions.bias and cls.predictions.decoder.bias differ"):
        load_hf_bert(save(tmp_path, state))


def test_classification_checkpoint(tmp_path):
    ours = trained_looking(BertForSequenceClassification(TINY, n_classes=3))
    state = {**hf_state(ours.bert, prefix="bert."), "classifier.weight": ours.classifier.weight.data,
             "classifier.bias": ours.classifier.bias.data}
    loaded = load_hf_bert(save(tmp_path, state))
    assert type(loaded) is BertForSequenceClassification and loaded.n_classes == 3
    check_close(loaded(X, attention_mask=MASK)[0], ours(X, attention_mask=MASK)[0].data)


def test_old_gamma_beta_names_and_a_missing_pooler(tmp_path):
    ours = trained_looking(BertModel(TINY))
    state = {name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): value
             for name, value in hf_state(ours).items() if not name.startswith("pooler.")}
    loaded = load_hf_bert(save(tmp_path, state))
    assert not loaded.config.pooler and "pooler" not in vars(loaded)
    check_close(loaded(X, attention_mask=MASK), ours(X, attention_mask=MASK).data)


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("encoder.layer.1.attention.self.key.bias"),
     r"missing tensor encoder.layer.1.attention.self.key.bias \(for our blocks.1.attn.qkv.bias\)"),
    (lambda s: s.update({"encoder.layer.2.output.dense.weight": np.zeros((8, 12), np.float32)}),
     "unexpected tensor encoder.layer.2.output.dense.weight"),
    (lambda s: s.update({"encoder.layer.0.intermediate.dense.weight": np.zeros((12, 7), np.float32)}),
     r"tensor encoder.layer.0.intermediate.dense.weight of shape \(12, 7\) does not fit our blocks.0.mlp.fc.weight: "
     r"expected \(12, 8\)"),
    (lambda s: s.update({"encoder.layer.0.attention.self.value.weight": np.zeros((4, 8), np.float32)}),
     r"query.weight \+ .*key.weight \+ .*value.weight of shape \(8, 8\) \+ \(8, 8\) \+ \(4, 8\) does not fit our "
     r"blocks.0.attn.qkv.weight: expected \(24, 8\)"),
    (lambda s: s.update({"pooler.dense.bias": np.zeros(8, np.int32)}), "pooler.dense.bias has dtype int32"),
    (lambda s: s.update({"embeddings.position_ids": np.arange(1, 11)[None]}), "position_ids must hold 0, 1, 2"),
])
def test_strict_mapping_names_the_first_mismatch(tmp_path, change, message):
    state = hf_state(BertModel(TINY))
    change(state)
    with pytest.raises(PretrainedWeightsError, match=message):
        load_hf_bert(save(tmp_path, state))


def test_float16_weights_are_cast_to_float32(tmp_path):
    ours = BertModel(TINY)
    loaded = load_hf_bert(save(tmp_path, {k: v.astype(np.float16) if v.dtype.kind == "f" else v
                                          for k, v in hf_state(ours).items()}))
    assert loaded.embeddings.word.weight.dtype == np.float32
    check_close(loaded.embeddings.word.weight, ours.embeddings.word.weight.data.astype(np.float16), rtol=0, atol=0)


@pytest.mark.parametrize("change, message", [
    ({"hidden_act": "silu"}, r"hidden_act 'silu' is not supported; supported: gelu, gelu_new"),
    ({"position_embedding_type": "relative_key"}, "position_embedding_type 'relative_key' is not supported"),
    ({"model_type": "roberta"}, "model_type is 'roberta'; only 'bert' checkpoints load here"),
    ({"hidden_size": None}, "missing field"),
    ({"num_attention_heads": 3}, r"hidden \(8\) must be divisible by n_heads \(3\)"),
])
def test_config_json_refusals_name_the_field(change, message):
    fields = {k: v for k, v in {**HF_CONFIG, **change}.items() if v is not None}
    with pytest.raises(PretrainedWeightsError, match=message):
        config_from_hf(fields)


def test_config_json_maps_fields_and_activations():
    config = config_from_hf({**HF_CONFIG, "hidden_act": "gelu_new"}, pooler=False)
    assert config == BertConfig(**{**TINY.to_dict(), "activation": "gelu_tanh", "pooler": False})


def test_a_pickle_checkpoint_is_refused_without_being_opened(tmp_path):
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):  # unpickling this would create the marker file
            return (open, (str(marker), "w"))

    (tmp_path / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))
    (tmp_path / "config.json").write_text(json.dumps(HF_CONFIG))
    with pytest.raises(PretrainedWeightsError, match="pickles, and loading one runs any code it names"):
        load_hf_bert(tmp_path)
    assert not marker.exists()


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(PretrainedWeightsError, match="no model.safetensors"):
        load_hf_bert(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{notjson")
    with pytest.raises(PretrainedWeightsError, match="no config.json"):
        load_hf_bert(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(HF_CONFIG))
    with pytest.raises(PretrainedWeightsError, match="not a readable safetensors file"):
        load_hf_bert(tmp_path)
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(PretrainedWeightsError, match="config.json: not readable JSON"):
        load_hf_bert(tmp_path)


def test_a_head_alone_is_refused(tmp_path):
    state = {**hf_state(BertModel(TINY), prefix="bert."), "cls.seq_relationship.weight": np.zeros((2, 8), np.float32),
             "cls.seq_relationship.bias": np.zeros(2, np.float32)}
    with pytest.raises(PretrainedWeightsError, match=r"holds only the cls.seq_relationship \(next sentence\) head"):
        load_hf_bert(save(tmp_path, state))


needs_transformers = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None,
    reason="optional oracle: needs torch and transformers (pip install torch==2.13.0 transformers)")


@pytest.mark.slow  # importing torch and transformers alone takes seconds
@needs_transformers
def test_transformers_bert_for_pretraining_agrees(tmp_path):
    import torch
    import transformers

    torch.manual_seed(0)
    reference = transformers.BertForPreTraining(transformers.BertConfig(**HF_CONFIG)).eval()
    with torch.no_grad():  # random biases and LayerNorms too, so a swapped name cannot hide
        for parameter in reference.parameters():
            parameter.normal_(0.0, 0.3)
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = load_hf_bert(tmp_path)
    assert type(ours) is BertForPreTraining
    with torch.no_grad():
        expected = reference(torch.tensor(X), attention_mask=torch.tensor(MASK))
    got = ours(X, attention_mask=MASK)
    real = MASK.astype(bool)
    check_close(got.mlm_logits.data[real], expected.prediction_logits.numpy()[real], rtol=1e-4, atol=1e-5)
    check_close(got.nsp_logits, expected.seq_relationship_logits.numpy(), rtol=1e-4, atol=1e-5)
