"""BERT: config checks, shapes, the padding mask, pooling, the heads, gradients, training."""

import dataclasses

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.engine.errors import ShapeError
from tinygrad_lm.models import (
    IGNORE_INDEX,
    BertConfig,
    BertForPreTraining,
    BertForSequenceClassification,
    BertModel,
    cls_pool,
    mean_pool,
)
from tinygrad_lm.nn import functional_call
from tinygrad_lm.optim import AdamW
from tinygrad_lm.testing.gradcheck import check_close, gradcheck

TINY = {"vocab_size": 13, "hidden": 8, "n_layers": 2, "n_heads": 2, "intermediate": 16, "max_position": 12,
        "dropout": 0.0, "attention_dropout": 0.0}


def tiny_config(**changes):
    return BertConfig(**{**TINY, **changes})


def ids(batch, time, vocab=13, seed=0):
    return np.random.default_rng(seed).integers(1, vocab, (batch, time))  # 0 is kept for [PAD]


# --- the config -------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, message", [
    ({"hidden": 10, "n_heads": 4}, r"hidden \(10\) must be divisible by n_heads \(4\)"),
    ({"vocab_size": 0}, "vocab_size must be a positive int, got 0"),
    ({"intermediate": 2.0}, "intermediate must be a positive int, got 2.0"),
    ({"attention_dropout": 1.0}, r"attention_dropout must be in \[0, 1\), got 1.0"),
    ({"layer_norm_eps": 0.0}, "layer_norm_eps must be a positive number, got 0.0"),
    ({"activation": "swish"}, r"activation must be one of \['gelu', 'gelu_tanh', 'relu'\], got 'swish'"),
    ({"position_embedding": "relative_key"}, r"position_embedding must be one of \['learned', 'sinusoidal'\]"),
    ({"seed": -2}, "seed must be an int >= 0, got -2"),
])
def test_config_validation_names_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**changes)


def test_config_defaults_are_bert_base_and_round_trip_through_a_dict():
    base = BertConfig()
    assert (base.hidden, base.n_layers, base.n_heads, base.intermediate, base.layer_norm_eps) == (768, 12, 12, 3072,
                                                                                                  1e-12)
    config = tiny_config(pooler=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.hidden = 4
    assert BertConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match=r"unknown fields \['n_layer'\]"):
        BertConfig.from_dict({**config.to_dict(), "n_layer": 2})
    with pytest.raises(TypeError, match="pooler must be True or False, got 1"):
        tiny_config(pooler=1)


# --- structure --------------------------------------------------------------------------------
def test_parameter_names_count_and_post_ln_blocks():
    model = BertModel(tiny_config())
    names = [name for name, _ in model.named_parameters()]
    assert names[:5] == ["embeddings.word.weight", "embeddings.position.weight", "embeddings.token_type.weight",
                         "embeddings.ln.weight", "embeddings.ln.bias"]
    assert names[-2:] == ["pooler.weight", "pooler.bias"] and "blocks.1.attn.qkv.weight" in names
    assert all(not block.norm_first for block in model.blocks)
    assert all(block.ln1.eps == 1e-12 for block in model.blocks) and model.embeddings.ln.eps == 1e-12
    H, inner, V, P, L = 8, 16, 13, 12, 2
    per_block = (3 * H * H + 3 * H) + (H * H + H) + 2 * H + (inner * H + inner) + (H * inner + H) + 2 * H
    assert model.num_parameters() == (V + P + 2) * H + 2 * H + L * per_block + H * H + H
    assert "parameters=" in repr(model)


def test_initialisation_is_normal_with_initializer_range_and_seeded():
    model = BertModel(BertConfig(vocab_size=400, hidden=64, n_layers=2, n_heads=4, intermediate=128,
                                 max_position=64))
    for name, p in model.named_parameters():
        if p.ndim == 2:
            assert abs(p.data.std() / 0.02 - 1) < 0.06, name
        elif name.endswith("ln.weight") or ".ln1.weight" in name or ".ln2.weight" in name:
            assert np.all(p.data == 1), name
        else:
            assert np.all(p.data == 0), name
    again = BertModel(model.config).state_dict()
    assert all(np.array_equal(value, again[name]) for name, value in model.state_dict().items())


def test_attention_dropout_and_hidden_dropout_are_separate_rates():
    model = BertModel(tiny_config(dropout=0.3, attention_dropout=0.1))
    block = model.blocks[0]
    assert block.attn.dropout == 0.1 and block.attn.resid_drop.p == 0.3 and block.mlp.drop.p == 0.3
    assert model.embeddings.drop.p == 0.3


# --- forward ----------------------------------------------------------------------------------
def test_forward_shapes_and_the_post_ln_encoder_written_out():
    model = BertModel(tiny_config(), dtype="float64")
    x, types = ids(2, 5), np.array([[0, 0, 0, 1, 1], [0, 0, 1, 1, 1]])
    hidden = model(x, types)
    assert hidden.shape == (2, 5, 8) and hidden.dtype == np.float64
    e = model.embeddings
    h = e.ln(e.word(x) + e.position(np.arange(5)) + e.token_type(types))
    for block in model.blocks:  # x = LN1(x + attn(x)); x = LN2(x + mlp(x))
        h = block.ln1(h + block.attn(h))
        h = block.ln2(h + block.mlp(h))
    check_close(hidden, h.data, rtol=1e-12, atol=1e-12)
    assert model.pooled(hidden).shape == (2, 8)
    check_close(model.pooled(hidden), np.tanh(hidden.data[:, 0] @ model.pooler.weight.data.T + model.pooler.bias.data))


def test_padding_does_not_change_the_outputs_at_real_positions():
    model = BertModel(tiny_config())
    real = ids(2, 5)
    alone = model(real, attention_mask=np.ones((2, 5), dtype=np.int64))
    padded = np.concatenate([real, np.zeros((2, 4), dtype=real.dtype)], axis=1)  # 4 [PAD] (id 0) after each row
    mask = np.concatenate([np.ones((2, 5)), np.zeros((2, 4))], axis=1).astype(np.int64)
    out = model(padded, attention_mask=mask)
    check_close(out.data[:, :5], alone.data, rtol=1e-5, atol=1e-6)
    # whatever the pad positions hold, real positions do not see them
    out_other = model(np.where(mask == 1, padded, 7), attention_mask=mask.astype(bool))
    check_close(out_other.data[:, :5], alone.data, rtol=1e-5, atol=1e-6)
    # and without the mask they would
    assert not np.allclose(model(padded).data[:, :5], alone.data, atol=1e-4)


def test_rows_of_different_lengths_in_one_batch_match_each_row_alone():
    model = BertModel(tiny_config())
    a, b = ids(1, 6, seed=1), ids(1, 3, seed=2)
    batch = np.zeros((2, 6), dtype=np.int64)
    batch[0], batch[1, :3] = a[0], b[0]
    mask = (np.arange(6) < np.array([[6], [3]])).astype(np.int64)  # (2, 6)
    out = model(batch, attention_mask=mask)
    check_close(out.data[0], model(a).data[0], rtol=1e-5, atol=1e-6)
    check_close(out.data[1, :3], model(b).data[0], rtol=1e-5, atol=1e-6)
    vectors = mean_pool(out, mask)
    check_close(vectors.data[1], model(b).data[0].mean(axis=0), rtol=1e-5, atol=1e-6)


def test_every_query_sees_later_tokens_too():
    model = BertModel(tiny_config())
    x = ids(1, 6)
    changed = x.copy()
    changed[0, -1] = (changed[0, -1] % 12) + 1
    assert not np.allclose(model(x).data[0, 0], model(changed).data[0, 0])  # position 0 reads position 5


def test_input_errors_are_named():
    model = BertModel(tiny_config())
    with pytest.raises(ShapeError, match="sequence length T=13 exceeds max_position=12"):
        model(ids(1, 13))
    with pytest.raises(ShapeError, match="input_ids must be integers of shape"):
        model(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ShapeError, match=r"attention_mask must have input_ids' shape \(2, 3\), got \(2, 4\)"):
        model(ids(2, 3), attention_mask=np.ones((2, 4), dtype=np.int64))
    with pytest.raises(ShapeError, match=r"token_type_ids must have input_ids' shape"):
        model(ids(2, 3), token_type_ids=np.zeros((1, 3), dtype=np.int64))
    with pytest.raises(IndexError, match="id 13 is outside the vocabulary"):
        model(np.full((1, 2), 13))
    with pytest.raises(ValueError, match="built with pooler=False"):
        BertModel(tiny_config(pooler=False)).pooled(tg.zeros((1, 2, 8)))


def test_attention_weights_are_the_ones_the_model_uses():
    model = BertModel(tiny_config(), dtype="float64").eval()
    x, mask = ids(2, 5), np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    weights = model.attention_weights(x, attention_mask=mask)
    assert len(weights) == 2 and weights[0].shape == (2, 2, 5, 5)
    check_close(weights[1].sum(axis=-1), np.ones((2, 2, 5)))
    assert np.all(weights[0][1, :, :, 3:] == 0)  # no query looks at a padded key
    # layer 0's output is proj(merge(weights @ v)), v from the same qkv projection
    attn = model.blocks[0].attn
    h = model.embeddings(x, np.zeros_like(x)).data
    v = attn.qkv(h).data[..., 16:].reshape(2, 5, 2, 4).transpose(0, 2, 1, 3)  # (B, T, H) -> (B, heads, T, D)
    merged = (weights[0] @ v).transpose(0, 2, 1, 3).reshape(2, 5, 8)  # (B, heads, T, D) -> (B, T, H)
    check_close(attn(h, mask=(mask != 0)[:, None, None, :]), merged @ attn.proj.weight.data.T + attn.proj.bias.data,
                rtol=1e-12, atol=1e-12)


def test_sinusoidal_positions_option():
    model = BertModel(tiny_config(position_embedding="sinusoidal"))
    assert "embeddings.position.weight" not in dict(model.named_parameters())
    assert model(ids(2, 4)).shape == (2, 4, 8)


# --- pooling ----------------------------------------------------------------------------------
def test_mean_pool_and_cls_pool_by_hand():
    hidden = tg.tensor(np.arange(24, dtype=np.float64).reshape(2, 3, 4))
    mask = np.array([[1, 1, 0], [1, 0, 0]])
    check_close(mean_pool(hidden, mask), [hidden.data[0, :2].mean(axis=0), hidden.data[1, 0]])
    check_close(mean_pool(hidden, np.zeros((2, 3), dtype=np.int64)), np.zeros((2, 4)))  # no real token: zeros
    check_close(cls_pool(hidden), hidden.data[:, 0])
    with pytest.raises(ShapeError, match=r"mean_pool: attention_mask of shape \(2, 2\) must match"):
        mean_pool(hidden, np.ones((2, 2), dtype=np.int64))


# --- heads ------------------------------------------------------------------------------------
def test_pretraining_head_shapes_tied_decoder_and_losses():
    model = BertForPreTraining(tiny_config())
    names = [name for name, _ in model.named_parameters()]
    assert not any(name.startswith("mlm") and "decoder" in name for name in names)
    assert [n for n in names if n.startswith(("mlm", "nsp"))] == [
        "mlm.dense.weight", "mlm.dense.bias", "mlm.ln.weight", "mlm.ln.bias", "mlm.bias", "nsp.weight", "nsp.bias"]
    x = ids(2, 6)
    labels = np.full((2, 6), IGNORE_INDEX)
    labels[0, 2], labels[1, 4] = 5, 9
    out = model(x, mlm_labels=labels, nsp_labels=np.array([0, 1]))
    assert out.mlm_logits.shape == (2, 6, 13) and out.nsp_logits.shape == (2, 2)
    # the MLM loss counts the two labelled positions only; the total is the sum of both losses
    logits = out.mlm_logits.data.astype(np.float64)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    assert out.mlm_loss.item() == pytest.approx(-(log_p[0, 2, 5] + log_p[1, 4, 9]) / 2, rel=1e-5)
    assert out.loss.item() == pytest.approx(out.mlm_loss.item() + out.nsp_loss.item(), rel=1e-6)
    # the decoder is the word-embedding matrix: z E^T + b
    hidden = model.bert(x)
    z = model.mlm.ln(tg.nn.transformer.ACTIVATIONS["gelu"](model.mlm.dense(hidden))).data
    check_close(out.mlm_logits, z @ model.bert.embeddings.word.weight.data.T + model.mlm.bias.data, rtol=1e-5)
    assert model(x).loss is None and model(x, nsp_labels=[1, 0]).mlm_loss is None


def test_tied_word_embeddings_get_the_decoder_gradient():
    model = BertForPreTraining(tiny_config())
    x = ids(2, 4)
    x[x == 12] = 11  # token 12 never appears in the input, so only the decoder reaches its row
    labels = np.full((2, 4), IGNORE_INDEX)
    labels[0, 1] = 12
    model(x, mlm_labels=labels).loss.backward()
    assert np.any(model.bert.embeddings.word.weight.grad[12] != 0)


def test_pretraining_loss_gradcheck_in_float64():
    config = tiny_config(vocab_size=7, hidden=4, n_layers=1, intermediate=8, max_position=6)
    model = BertForPreTraining(config, dtype="float64")
    x = np.array([[2, 3, 4, 5], [6, 1, 2, 0]])
    mask = np.array([[1, 1, 1, 1], [1, 1, 1, 0]])
    types = np.array([[0, 0, 1, 1], [0, 1, 1, 0]])
    labels = np.array([[IGNORE_INDEX, 4, IGNORE_INDEX, 1], [3, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]])
    names = [name for name, _ in model.named_parameters()]

    def loss_of(*weights):
        return functional_call(model, dict(zip(names, weights)), x, types, mask, labels, np.array([1, 0])).loss

    assert gradcheck(loss_of, *model.parameters(), dense_max_elements=40, name="BertForPreTraining")


def test_pretraining_needs_a_pooler():
    with pytest.raises(ValueError, match="build it with BertConfig\\(pooler=True\\)"):
        BertForPreTraining(tiny_config(pooler=False))


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_sequence_classification_learns_a_tiny_task(pooling):
    model = BertForSequenceClassification(tiny_config(), n_classes=2, pooling=pooling)
    assert [n for n, _ in model.named_parameters()][-2:] == ["classifier.weight", "classifier.bias"]
    x = ids(8, 5, seed=3)
    x[:4, 2], x[4:, 2] = 1, 2  # the class is written at position 2
    mask = np.ones((8, 5), dtype=np.int64)
    mask[::2, 4] = 0
    labels = np.array([0] * 4 + [1] * 4)
    optimizer = AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    losses = []
    for _ in range(25):
        logits, loss = model(x, attention_mask=mask, labels=labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert logits.shape == (8, 2)
    assert losses[-1] < 0.2 * losses[0], losses


def test_sequence_classification_arguments_are_checked():
    with pytest.raises(ValueError, match="n_classes must be an int >= 2, got 1"):
        BertForSequenceClassification(tiny_config(), n_classes=1)
    with pytest.raises(ValueError, match="pooling must be 'cls' or 'mean', got 'max'"):
        BertForSequenceClassification(tiny_config(), n_classes=2, pooling="max")
    with pytest.raises(ValueError, match="choose pooling='mean'"):
        BertForSequenceClassification(tiny_config(pooler=False), n_classes=2)


def test_masked_lm_loss_falls_on_a_tiny_batch():
    model = BertForPreTraining(tiny_config(vocab_size=10, hidden=16, intermediate=32))
    rng = np.random.default_rng(0)
    x = np.tile(np.arange(1, 9), (4, 1))  # (4, 8): the sequence 1..8; position t holds t + 1
    labels = np.full((4, 8), IGNORE_INDEX)
    for row in range(4):
        masked = rng.choice(8, 2, replace=False)
        labels[row, masked] = x[row, masked]
    inputs = np.where(labels != IGNORE_INDEX, 9, x)  # 9 plays [MASK]
    optimizer = AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    losses = []
    for _ in range(40):
        out = model(inputs, mlm_labels=labels, nsp_labels=np.array([0, 1, 0, 1]))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.mlm_loss.item())
    assert losses[-1] < 0.1 * losses[0], losses
