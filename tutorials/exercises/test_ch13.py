"""Checks of chapter 13's exercises (the `answers` fixture: see conftest.py)."""

import numpy as np
import pytest

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm.models import Seq2Seq, Seq2SeqConfig, beam_hypotheses
from tinygrad_lm.models.seq2seq_decode import _extend, length_penalty_factor
from tinygrad_lm.nn import MultiHeadAttention
from tinygrad_lm.testing import check_close

rng = np.random.default_rng(13)
PAD, BOS, EOS = 0, 1, 2  # Seq2SeqConfig's defaults


def small_model(seed=5):
    """The chapter's small float64 model: sharp distributions, so beams differ from greedy."""
    model = Seq2Seq(Seq2SeqConfig(vocab_size=7, n_encoder_layers=1, n_decoder_layers=2, n_head=2, n_embd=8,
                                  d_ff=16, max_positions=6, dropout=0.0, seed=seed), dtype="float64")
    model.embed.weight.data[...] *= 2.0
    return model


# --- 1. The length penalty and the best finished hypothesis -----------------------------------
def test_best_hypothesis_by_hand(answers):
    short, long = ((5,), -1.0, True), ((5, 6, 7), -1.6, True)
    assert answers.best_hypothesis([short, long], 0.0) == ((5,), -1.0)
    tokens, score = answers.best_hypothesis([short, long], 2.0)  # lp(2) = 1.36, lp(4) = 2.25
    assert tokens == (5, 6, 7) and abs(score - (-1.6 / 2.25)) < 1e-12
    cut = ((5, 6, 7), -1.6, False)  # cut at the limit: 3 tokens, no eos, lp(3) = 1.78
    tokens, score = answers.best_hypothesis([cut, short], 2.0)
    assert tokens == (5,) and abs(score - (-1.0 / (7 / 6) ** 2)) < 1e-12
    assert answers.best_hypothesis([((3,), -2.0, True), ((4,), -2.0, True)], 0.6)[0] == (3,)  # a tie: the first


@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
def test_best_hypothesis_picks_what_beam_search_ranks_first(answers, alpha):
    model = small_model()
    sources = np.random.default_rng(1).integers(3, 7, (4, 4))
    for found in beam_hypotheses(model, sources, beam=4, length_penalty=alpha, max_len=4):
        assert len(found) >= 2
        shuffled = [(h.tokens, h.log_prob, h.ended) for h in found[::-1]]  # worst first
        tokens, score = answers.best_hypothesis(shuffled, alpha)
        assert tokens == found[0].tokens and abs(score - found[0].score) < 1e-12, (tokens, score, found[0])


# --- 2. Cross-attention with a padding mask ---------------------------------------------------
def cross_layer(C=12, H=3):
    return MultiHeadAttention(C, H, cross=True, rng=rng, dtype="float64")


def test_cross_attention_matches_the_library_layer(answers):
    layer = cross_layer()
    y, memory = rng.standard_normal((2, 4, 12)), rng.standard_normal((2, 5, 12))
    src_mask = np.array([[True] * 5, [True, True, True, False, False]])
    expected = layer(tg.tensor(y), context=tg.tensor(memory), mask=src_mask[:, None, None, :])  # (B, 1, 1, S)
    mine = answers.cross_attention(y, memory, src_mask, layer)
    assert isinstance(mine, np.ndarray) and mine.shape == (2, 4, 12)
    check_close(mine, expected.numpy(), name="cross-attention")


def test_cross_attention_ignores_appended_padding(answers):
    layer = cross_layer()
    y, memory = rng.standard_normal((2, 3, 12)), rng.standard_normal((2, 4, 12))
    src_mask = np.array([[True] * 4, [True, True, False, False]])
    before = answers.cross_attention(y, memory, src_mask, layer)
    junk = 100.0 * rng.standard_normal((2, 3, 12))  # large: any weight on them would show
    padded_mask = np.concatenate([src_mask, np.zeros((2, 3), dtype=bool)], axis=1)  # (2, 7)
    after = answers.cross_attention(y, np.concatenate([memory, junk], axis=1), padded_mask, layer)
    check_close(after, before, name="after padding")


def test_cross_attention_reads_a_decoder_blocks_memory(answers):
    model = small_model()
    src = np.array([[3, 4, 5, 6], [4, 5, PAD, PAD]])
    memory, mask = model.encode(src), model.source_mask(src)  # (B, S, C), (B, S)
    y = rng.standard_normal((2, 3, 8))
    layer = model.decoder[0].cross_attn
    expected = layer(tg.tensor(y), context=memory, mask=mask[:, None, None, :])
    check_close(answers.cross_attention(y, memory.numpy(), mask, layer), expected.numpy(), name="decoder block 0")


# --- 3. One step of beam search ---------------------------------------------------------------
def library_step(scores, log_p, eos_id):
    """The library's walk over the candidates (`_extend`), as (live, finished) pairs."""
    K = log_p.shape[0]
    prefixes = np.array([[BOS, 100 + k] for k in range(K)])  # each finished hypothesis names its parent
    finished = []
    live = _extend((scores[:, None] + log_p).ravel(), prefixes, K, eos_id, 2, 0.0, finished)
    return ([(int(k), int(t), float(s)) for k, t, s in live],
            [(h.tokens[0] - 100, h.log_prob) for h in finished])


def test_beam_step_by_hand(answers):
    scores = np.array([-1.0, -2.0])
    log_p = np.log(np.array([[0.1, 0.6, 0.3], [0.2, 0.2, 0.6]]))  # V = 3, eos = 1
    live, finished = answers.beam_step(scores, log_p, eos_id=1)
    totals = scores[:, None] + log_p
    assert [(k, t) for k, t, _ in live] == [(0, 2), (1, 2)]  # (0, 1) is eos: it finishes first
    assert [k for k, _ in finished] == [0] and abs(finished[0][1] - totals[0, 1]) < 1e-12
    assert all(abs(s - totals[k, t]) < 1e-12 for k, t, s in live)


def test_beam_step_matches_the_library_step(answers):
    for trial in range(200):
        K, V = rng.integers(1, 5), rng.integers(3, 9)
        log_p = np.log(rng.dirichlet(np.full(V, 0.3), size=K))  # (K, V)
        if trial % 2:
            log_p = np.round(log_p)  # integer values: many ties, broken by flat index
        log_p[:, 0] = -np.inf  # a forbidden token
        scores = -rng.exponential(size=K)
        if trial % 3 == 0:
            scores[1:] = -np.inf  # the first step: one live prefix
        live, finished = answers.beam_step(scores, log_p, eos_id=2)
        assert (live, finished) == library_step(scores, log_p, 2), (scores, log_p)


def test_beam_step_drives_a_beam_search_equal_to_the_library(answers):
    """A whole beam search (no cache, one source) built on your step: the same finished hypotheses."""
    model, K, alpha, max_len = small_model(seed=8), 3, 0.6, 5
    for src in np.random.default_rng(2).integers(3, 7, (3, 1, 4)):
        prefixes, scores, finished = [[BOS]] * K, np.array([0.0] + [-np.inf] * (K - 1)), []
        for step in range(1, max_len + 1):
            log_p = np.stack([F.log_softmax(model(src, np.array([prefix])), axis=-1).numpy()[0, -1]
                              for prefix in prefixes])  # (K, V)
            log_p[:, [PAD, BOS]] = -np.inf
            live, ended = answers.beam_step(scores, log_p, EOS)
            finished += [(tuple(prefixes[k][1:]), s / length_penalty_factor(step, alpha)) for k, s in ended]
            if step == max_len:  # cut at the limit: the live prefixes finish as they are
                finished += [(tuple(prefixes[k][1:] + [t]), s / length_penalty_factor(step, alpha))
                             for k, t, s in live]
                break
            reachable = max((s for _, _, s in live), default=-np.inf) / length_penalty_factor(max_len, alpha)
            if not live or max((score for _, score in finished), default=-np.inf) >= reachable:
                break  # no live prefix can still beat the best finished one
            prefixes = [prefixes[k] + [t] for k, t, _ in live] + [[BOS]] * (K - len(live))
            scores = np.array([s for _, _, s in live] + [-np.inf] * (K - len(live)))
        library = beam_hypotheses(model, src, beam=K, length_penalty=alpha, max_len=max_len)[0]
        mine = sorted(finished, key=lambda found: -found[1])
        assert [tokens for tokens, _ in mine] == [h.tokens for h in library]
        assert np.allclose([score for _, score in mine], [h.score for h in library], rtol=0, atol=1e-9)
