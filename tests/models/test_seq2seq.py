"""Seq2Seq: config, structure, the post-LN encoder-decoder written out, padding, causality,
the cache, the loss, a float64 gradcheck of the whole model, input errors, the copy task."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lm as tg
from tinygrad_lm import functional as F
from tinygrad_lm.engine.errors import DTypeError, ShapeError
from tinygrad_lm.models import Seq2Seq, Seq2SeqConfig, greedy_decode
from tinygrad_lm.nn import Module, functional_call, sinusoidal_positions
from tinygrad_lm.optim import Adam
from tinygrad_lm.testing.gradcheck import check_close, gradcheck

TINY = {"vocab_size": 11, "n_encoder_layers": 2, "n_decoder_layers": 2, "n_head": 2, "n_embd": 8, "d_ff": 16,
        "max_positions": 10, "dropout": 0.0}
PAD, BOS, EOS = 0, 1, 2


def tiny(dtype="float64", **changes):
    return Seq2Seq(Seq2SeqConfig(**{**TINY, **changes}), dtype=dtype)


def ids(batch, length, seed=0, vocab=11):
    """Random ids that are not pad, bos or eos."""
    return np.random.default_rng(seed).integers(3, vocab, (batch, length))


# --- the config -------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, error, message", [
    ({"n_embd": 10, "n_head": 4}, ValueError, r"n_embd \(10\) must be divisible by n_head \(4\)"),
    ({"d_ff": 0}, ValueError, "d_ff must be a positive int, got 0"),
    ({"max_positions": 2.0}, ValueError, "max_positions must be a positive int, got 2.0"),
    ({"dropout": 1.0}, ValueError, r"dropout must be in \[0, 1\), got 1.0"),
    ({"eos_id": 11}, ValueError, r"eos_id must be an int in \[0, vocab_size=11\), got 11"),
    ({"bos_id": 0}, ValueError, "pad_id, bos_id and eos_id must differ, got 0, 0, 2"),
    ({"norm_first": 1}, TypeError, "norm_first must be True or False, got 1"),
    ({"activation": "tanh"}, ValueError, "activation must be one of"),
    ({"seed": -1}, ValueError, "seed must be an int >= 0, got -1"),
])
def test_config_validation_names_the_field(changes, error, message):
    with pytest.raises(error, match=message):
        Seq2SeqConfig(**{**TINY, **changes})


def test_config_defaults_are_the_base_model_and_round_trip_through_a_dict():
    base = Seq2SeqConfig()
    assert (base.n_encoder_layers, base.n_decoder_layers, base.n_head, base.n_embd, base.d_ff) == (6, 6, 8, 512, 2048)
    assert (base.dropout, base.norm_first, base.tie_embeddings, base.activation) == (0.1, False, True, "relu")
    config = Seq2SeqConfig(**TINY, norm_first=True)
    assert Seq2SeqConfig.from_dict(config.to_dict()) == config
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.n_head = 4
    with pytest.raises(ValueError, match=r"unknown fields \['n_layer'\]"):
        Seq2SeqConfig.from_dict({**config.to_dict(), "n_layer": 2})


# --- structure --------------------------------------------------------------------------------
def test_parameter_names_tied_and_untied():
    names = [name for name, _ in tiny().named_parameters()]
    assert names[0] == "embed.weight" and sum("embed" in n for n in names) == 1  # one shared matrix, no head
    assert "decoder.1.cross_attn.kv.weight" in names and "encoder.1.cross_attn.kv.weight" not in names
    assert not any(n.startswith(("ln_enc", "ln_dec", "head")) for n in names)  # post-LN: no final norms
    names = [name for name, _ in tiny(tie_embeddings=False, norm_first=True).named_parameters()]
    assert {"src_embed.weight", "tgt_embed.weight", "head.weight", "ln_enc.weight", "ln_dec.weight"} <= set(names)


def test_embeddings_are_initialised_with_std_one_over_sqrt_c_and_seeded():
    model = tiny(dtype="float32", vocab_size=4000, n_embd=16)
    assert abs(model.embed.weight.data.std() - 16 ** -0.5) < 0.005
    same, other = tiny(seed=0), tiny(seed=1)
    np.testing.assert_array_equal(same.embed.weight.data, tiny().embed.weight.data)
    assert not np.array_equal(same.embed.weight.data, other.embed.weight.data)


def test_the_post_ln_encoder_decoder_written_out():
    model = tiny(n_encoder_layers=1, n_decoder_layers=1)
    src, tgt = np.array([[3, 4, 5, PAD]]), np.array([[BOS, 6, 7]])
    W = model.embed.weight
    pe = sinusoidal_positions(10, 8, dtype="float64")
    key_mask = np.array([True, True, True, False])[None, None, None, :]  # (1, 1, 1, S)
    enc = model.encoder[0]
    h = tg.tensor(W.data[src] * np.sqrt(8) + pe[:4])  # embed * sqrt(C) + PE
    h = enc.ln1(h + enc.attn(h, mask=key_mask))
    memory = enc.ln2(h + enc.mlp(h))
    check_close(model.encode(src), memory.data, rtol=1e-12, atol=1e-12)
    dec = model.decoder[0]
    y = tg.tensor(W.data[tgt] * np.sqrt(8) + pe[:3])
    y = dec.ln1(y + dec.attn(y, causal=True))
    y = dec.ln_cross(y + dec.cross_attn(y, context=memory, mask=key_mask))
    y = dec.ln2(y + dec.mlp(y))
    check_close(model(src, tgt), y.data @ W.data.T, rtol=1e-12, atol=1e-12)  # the head is embed.weight


# --- padding, causality, the cache --------------------------------------------------------------
@given(lengths=st.lists(st.integers(1, 5), min_size=1, max_size=3), extra=st.integers(1, 4),
       seed=st.integers(0, 50), norm_first=st.booleans())
def test_padding_does_not_change_the_outputs_of_real_positions(lengths, extra, seed, norm_first):
    model = tiny(norm_first=norm_first, seed=seed % 3)
    width = max(lengths)
    rng = np.random.default_rng(seed)
    src = np.full((len(lengths), width), PAD)
    for row, n in enumerate(lengths):
        src[row, :n] = rng.integers(3, 11, n)
    tgt = np.concatenate([np.full((len(lengths), 1), BOS), rng.integers(3, 11, (len(lengths), 3))], axis=1)
    padded_src = np.concatenate([src, np.full((len(lengths), extra), PAD)], axis=1)  # more padding after
    padded_tgt = np.concatenate([tgt, np.full((len(lengths), extra), PAD)], axis=1)
    memory, more_memory = model.encode(src).data, model.encode(padded_src).data
    logits, more_logits = model(src, tgt).data, model(padded_src, padded_tgt).data
    for row, n in enumerate(lengths):
        check_close(more_memory[row, :n], memory[row, :n], rtol=1e-12, atol=1e-12)
        check_close(model.encode(src[row:row + 1, :n]).data[0], memory[row, :n], rtol=1e-12, atol=1e-12)
    check_close(more_logits[:, :4], logits, rtol=1e-12, atol=1e-12)


def test_logits_at_t_do_not_depend_on_later_target_tokens_but_on_every_source_token():
    model = tiny()
    src, tgt = ids(2, 5), np.concatenate([np.full((2, 1), BOS), ids(2, 5, seed=1)], axis=1)
    changed = tgt.copy()
    changed[:, 4:] = 3 + (changed[:, 4:] - 2) % 8
    before, after = model(src, tgt).data, model(src, changed).data
    np.testing.assert_array_equal(before[:, :4], after[:, :4])
    assert not np.allclose(before[:, 4:], after[:, 4:])
    other_src = src.copy()
    other_src[:, -1] = 3 + (other_src[:, -1] - 2) % 8
    assert not np.allclose(model(other_src, tgt).data[:, 0], before[:, 0])  # the first step reads the last source token


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("dtype, rtol, atol", [("float64", 1e-12, 1e-12), ("float32", 1e-5, 1e-6)])
def test_cached_decoding_equals_recomputation_at_every_step(dtype, rtol, atol, norm_first):
    model = tiny(dtype=dtype, norm_first=norm_first)
    src = np.array([[3, 4, 5, 6, 7], [8, 9, 10, PAD, PAD]])
    tgt = np.concatenate([np.full((2, 1), BOS), ids(2, 6, seed=2)], axis=1)  # (2, 7)
    full = model(src, tgt).data  # (B, T, V)
    memory, mask, cache = model.encode(src), model.source_mask(src), model.new_cache()
    steps = [model.decode(tgt[:, :2], memory, mask, cache=cache).data]  # two positions, then one at a time
    steps += [model.decode(tgt[:, t:t + 1], memory, mask, cache=cache).data for t in range(2, 7)]
    check_close(np.concatenate(steps, axis=1), full, rtol=rtol, atol=atol)
    assert len(cache) == 7 and all(len(layer) == 5 for layer in cache.cross.layers)  # cross K/V: S positions, once


# --- the loss ---------------------------------------------------------------------------------
def test_loss_is_label_smoothed_cross_entropy_over_real_target_tokens():
    model = tiny()
    src, out = ids(2, 4), np.array([[5, 6, EOS, PAD], [7, EOS, PAD, PAD]])
    tgt_in = np.array([[BOS, 5, 6, PAD], [BOS, 7, PAD, PAD]])
    logits = model(src, tgt_in)
    real = out != PAD
    expected = F.cross_entropy(logits.data[real], out[real], label_smoothing=0.1)
    check_close(model.loss(src, tgt_in, out), expected.data, rtol=1e-12, atol=1e-14)
    check_close(model.loss(src, tgt_in, out, label_smoothing=0.0),
                F.cross_entropy(logits.data[real], out[real]).data, rtol=1e-12, atol=1e-14)


class LossOf(Module):
    """``model.loss`` as a module's forward, so ``functional_call`` can swap the weights."""

    def __init__(self, model):
        self.model = model

    def forward(self, *args):
        return self.model.loss(*args)


@pytest.mark.parametrize("norm_first, tie", [(False, True), (True, False)])
def test_whole_model_loss_gradcheck_in_float64(norm_first, tie):
    model = tiny(vocab_size=7, n_encoder_layers=1, n_decoder_layers=1, n_embd=4, d_ff=6, max_positions=5,
                 norm_first=norm_first, tie_embeddings=tie, activation="gelu")  # gelu: no relu kink to straddle
    src = np.array([[3, 4, 5], [6, 3, PAD]])
    tgt_in, tgt_out = np.array([[BOS, 5, 4], [BOS, 6, PAD]]), np.array([[5, 4, EOS], [6, EOS, PAD]])
    wrapper = LossOf(model)
    names = [name for name, _ in wrapper.named_parameters()]

    def loss_of(*weights):
        return functional_call(wrapper, dict(zip(names, weights)), src, tgt_in, tgt_out)

    assert gradcheck(loss_of, *model.parameters(), dense_max_elements=40, name="Seq2Seq.loss")


# --- bad input ----------------------------------------------------------------------------------
def test_input_errors_are_one_line_and_name_the_problem():
    model = tiny()
    memory, mask = model.encode(ids(1, 3)), model.source_mask(ids(1, 3))
    cases = [
        (lambda: model.encode(ids(1, 11)), ShapeError, r"src has length 11 > max_positions=10; truncate"),
        (lambda: model(ids(1, 3), ids(1, 11)), ShapeError, r"tgt_in has length 11 > max_positions=10"),
        (lambda: model.encode(np.array([[3, 11]])), ShapeError, r"src holds ids in \[3, 11\], outside the vocabulary \[0, 11\)"),
        (lambda: model.encode(np.array([[3, -1]])), ShapeError, r"outside the vocabulary"),
        (lambda: model.encode(np.zeros((1, 3), dtype=np.float32)), DTypeError, "src must hold integer token ids, got dtype float32"),
        (lambda: model.encode(np.array([3, 4])), ShapeError, r"src must have shape \(batch, length\), got shape \(2,\)"),
        (lambda: model.loss(ids(1, 3), ids(1, 3), ids(1, 4)), ShapeError, r"tgt_out \(1, 4\) must have tgt_in's shape \(1, 3\)"),
        (lambda: model.decode(ids(2, 3), memory, mask), ShapeError, r"memory \(B, S, C\) = \(1, 3, 8\) and src_mask"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message) as caught:
            call()
        assert "\n" not in str(caught.value)
    cache = model.new_cache()
    model.decode(ids(1, 8), memory, mask, cache=cache)
    with pytest.raises(ShapeError, match="3 target positions after 8 cached ones exceed max_positions=10"):
        model.decode(ids(1, 3), memory, mask, cache=cache)
    with pytest.raises(TypeError, match="expected a Seq2SeqConfig, got dict"):
        Seq2Seq(TINY)


# --- the copy task (The Annotated Transformer, section "A First Example") ----------------------
def copy_batch(rng, batch, length, vocab):
    """Random symbols (never pad/bos/eos) as the source; the target is the same sequence."""
    src = rng.integers(3, vocab, (batch, length))
    tgt_in = np.concatenate([np.full((batch, 1), BOS), src], axis=1)  # (B, L + 1): bos, then the symbols
    tgt_out = np.concatenate([src, np.full((batch, 1), EOS)], axis=1)  # (B, L + 1): the symbols, then eos
    return src, tgt_in, tgt_out


def train_copy_model(steps=200, length=6, vocab=10, seed=0):
    """A 1+1-layer post-LN model trained on fresh random batches with Adam; returns (model, losses)."""
    model = Seq2Seq(Seq2SeqConfig(vocab_size=vocab, n_encoder_layers=1, n_decoder_layers=1, n_head=2, n_embd=32,
                                  d_ff=64, max_positions=length + 1, dropout=0.0, seed=seed))
    optimizer, rng, losses = Adam(model.parameters(), lr=3e-3), np.random.default_rng(seed), []
    for _ in range(steps):
        loss = model.loss(*copy_batch(rng, 32, length, vocab), label_smoothing=0.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.data))
    return model, losses


def test_a_tiny_model_learns_the_copy_task_to_full_greedy_accuracy():
    model, losses = train_copy_model()
    assert losses[0] > 1.5 and max(losses[-10:]) < 0.2
    src = copy_batch(np.random.default_rng(99), 100, 6, 10)[0]  # unseen sequences
    assert greedy_decode(model, src, max_len=7) == src.tolist()


@pytest.mark.parametrize("norm_first", [False, True])
def test_cross_attention_weights_are_the_ones_the_model_uses(norm_first):
    model = tiny(norm_first=norm_first)
    src = np.array([[3, 4, 5, 6], [7, 8, PAD, PAD]])
    tgt = np.concatenate([np.full((2, 1), BOS), ids(2, 3, seed=4)], axis=1)  # (2, 4)
    weights = model.cross_attention_weights(src, tgt)
    assert len(weights) == 2 and weights[0].shape == (2, 2, 4, 4)
    for probs in weights:
        check_close(probs.sum(axis=-1), np.ones((2, 2, 4)), rtol=1e-12, atol=1e-12)
        assert np.all(probs[1, :, :, 2:] == 0)  # pad keys get nothing
    # the first layer's table times its values, merged and projected, is its cross-attention output
    block, memory = model.decoder[0], model.encode(src)
    y = tg.tensor(model.embed.weight.data[tgt] * np.sqrt(8) + sinusoidal_positions(10, 8, dtype="float64")[:4])
    queries = (block.ln_cross(y + block.attn(block.ln1(y), causal=True)) if norm_first
               else block.ln1(y + block.attn(y, causal=True)))
    v = block.cross_attn.kv(memory).data[..., 8:].reshape(2, 4, 2, 4).transpose(0, 2, 1, 3)  # (B, H, S, D)
    merged = (weights[0] @ v).transpose(0, 2, 1, 3).reshape(2, 4, 8)  # (B, H, T, D) -> (B, T, C)
    expected = block.cross_attn(queries, context=memory, mask=(src != PAD)[:, None, None, :])
    check_close(block.cross_attn.proj(tg.tensor(merged)), expected.data, rtol=1e-12, atol=1e-12)
