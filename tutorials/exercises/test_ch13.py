"""Checks of chapter 13's exercises (the `answers` fixture: see conftest.py)."""

import numpy as np
import pytest

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm.models import Seq2Seq, Seq2SeqConfig, beam_hypotheses

PAD, BOS, EOS = 0, 1, 2


def small_model(seed, vocab=7):
    model = Seq2Seq(Seq2SeqConfig(vocab_size=vocab, n_encoder_layers=1, n_decoder_layers=2, n_head=2, n_embd=8,
                                  d_ff=16, max_positions=6, dropout=0.0, seed=seed), dtype="float64")
    model.embed.weight.data[...] *= 2.0  # peakier distributions
    return model.eval()


def test_cross_attention_table_matches_the_model(answers):
    model = small_model(0)
    src, tgt = np.array([[3, 4, 5, 6], [5, 6, PAD, PAD]]), np.array([[BOS, 3, 4], [BOS, 6, 5]])
    memory, block = model.encode(src), model.decoder[0]
    y = model.embed(tgt) * np.sqrt(8) + model.positions(np.arange(3))  # (B, T, C): the decoder's input
    queries = block.ln1(y + block.attn(y, causal=True))  # post-LN: the cross-attention's input
    q = block.cross_attn.q(queries).numpy().reshape(2, 3, 2, 4).transpose(0, 2, 1, 3)  # (B, T, C) -> (B, H, T, D)
    k = block.cross_attn.kv(memory).numpy()[..., :8].reshape(2, 4, 2, 4).transpose(0, 2, 1, 3)  # (B, H, S, D)
    table = answers.cross_attention_table(q, k, src != PAD)
    assert table.shape == (2, 2, 3, 4)
    np.testing.assert_allclose(table, model.cross_attention_weights(src, tgt)[0], rtol=1e-12, atol=1e-14)


def test_cross_attention_table_gives_padding_exactly_zero(answers):
    rng = np.random.default_rng(1)
    q, k = rng.standard_normal((1, 1, 2, 4)) * 30, rng.standard_normal((1, 1, 3, 4)) * 30  # large scores
    table = answers.cross_attention_table(q, k, np.array([[True, False, True]]))
    assert np.all(table[..., 1] == 0) and np.all(np.isfinite(table))
    np.testing.assert_allclose(table.sum(axis=-1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("beam", [1, 2, 4])
@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.5])
def test_beam_search_one_matches_the_library(answers, beam, alpha):
    for seed in range(4):
        model = small_model(seed)
        src = np.array([[3 + seed % 3, 4, 5, 6]])

        def next_log_probs(prefix, model=model, src=src):
            log_p = F.log_softmax(model(src, np.array([[BOS, *prefix]])), axis=-1).numpy()[0, -1]  # (V,)
            log_p[[PAD, BOS]] = -np.inf
            return log_p

        tokens, score = answers.beam_search_one(next_log_probs, beam, EOS, 4, alpha)
        best = beam_hypotheses(model, src, beam=beam, length_penalty=alpha, max_len=4)[0][0]
        assert tuple(tokens) == best.tokens, (seed, tokens, best)
        assert score == pytest.approx(best.score, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("vocab, smoothing", [(10, 0.1), (2, 0.3), (37000, 0.1), (5, 1.0)])
def test_label_smoothing_floor_is_the_lowest_loss(answers, vocab, smoothing):
    floor = answers.label_smoothing_floor(vocab, smoothing)
    q = np.full(vocab, smoothing / vocab)
    q[0] += 1.0 - smoothing
    at_q = F.cross_entropy(tg.tensor(np.log(q)[None, :]), np.array([0]), label_smoothing=smoothing)
    assert floor == pytest.approx(float(at_q.item()), rel=1e-12, abs=1e-12)  # reached at p = q
    rng = np.random.default_rng(vocab)
    for _ in range(5):  # and nothing else goes lower
        logits = np.log(q)[None, :] + rng.standard_normal((1, vocab)) * 0.1
        assert F.cross_entropy(tg.tensor(logits), np.array([0]), label_smoothing=smoothing).item() >= floor - 1e-12


def test_label_smoothing_floor_without_smoothing_is_zero(answers):
    assert answers.label_smoothing_floor(6, 0.0) == 0.0  # a one-hot target: -log p can reach 0
