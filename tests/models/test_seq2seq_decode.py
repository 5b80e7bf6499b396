"""Greedy decoding and beam search: beam 1 is greedy, a wide beam finds the brute-force optimum
under the same score, the cache changes nothing, the length penalty lengthens the answer,
a batch decodes like its rows alone, and the search stops as soon as the answer is certain."""

import itertools

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_lm import functional as F
from tinygrad_lm.models import (
    Seq2Seq,
    Seq2SeqConfig,
    beam_hypotheses,
    beam_search,
    greedy_decode,
)
from tinygrad_lm.models.seq2seq_decode import _extend, length_penalty_factor

PAD, BOS, EOS = 0, 1, 2


def small_model(seed=0, vocab=6, max_positions=6, sharpness=1.0, dtype="float64"):
    """A random model; ``sharpness`` scales the tied embedding so the output distributions are peakier."""
    model = Seq2Seq(Seq2SeqConfig(vocab_size=vocab, n_encoder_layers=1, n_decoder_layers=2, n_head=2, n_embd=8,
                                  d_ff=16, max_positions=max_positions, dropout=0.0, seed=seed), dtype=dtype)
    model.embed.weight.data[...] *= sharpness
    return model


def sources(seed, batch=2, vocab=6):
    rng = np.random.default_rng(seed)
    src = rng.integers(3, vocab, (batch, 4))
    src[1:, 3:] = PAD  # the later rows are shorter
    return src


def brute_force(model, src_row, max_len, alpha):
    """(best score, its tokens) over every hypothesis: eos-ended within max_len tokens or cut at max_len.

    Every candidate is scored by a full forward pass (no cache), with the decoder's scoring
    rule: log_softmax over all classes, pad and bos never chosen, GNMT's length penalty."""
    symbols = [t for t in range(model.config.vocab_size) if t not in (PAD, BOS, EOS)]
    candidates = [(*body, EOS) for n in range(max_len) for body in itertools.product(symbols, repeat=n)]
    candidates += list(itertools.product(symbols, repeat=max_len))
    length = np.array([len(tokens) for tokens in candidates])  # (N,)
    targets = np.array([(*tokens, *[PAD] * (max_len - len(tokens))) for tokens in candidates])  # (N, max_len)
    tgt_in = np.concatenate([np.full((len(targets), 1), BOS), targets[:, :-1]], axis=1)  # (N, max_len)
    src = np.repeat(np.asarray(src_row)[None, :], len(targets), axis=0)  # (N, S)
    log_p = F.log_softmax(model(src, tgt_in), axis=-1).data  # (N, max_len, V); causal: padding after is unseen
    picked = np.take_along_axis(log_p, targets[:, :, None], axis=-1)[:, :, 0]  # (N, max_len)
    log_prob = np.where(np.arange(max_len) < length[:, None], picked, 0.0).sum(axis=1)  # (N,)
    scores = log_prob / length_penalty_factor(length, alpha)
    best = int(np.argmax(scores))
    return scores[best], [t for t in candidates[best] if t != EOS]


@given(seed=st.integers(0, 10_000), sharpness=st.sampled_from([0.3, 1.0, 3.0]))
def test_beam_width_one_without_length_penalty_is_greedy_decoding(seed, sharpness):
    model = small_model(seed % 5, sharpness=sharpness)
    src = sources(seed)
    assert beam_search(model, src, beam=1, length_penalty=0.0, max_len=6) == greedy_decode(model, src, max_len=6)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.5])
@given(seed=st.integers(0, 10_000))
def test_a_wide_beam_finds_the_brute_force_optimum(alpha, seed):
    model = small_model(seed % 7, sharpness=2.0)
    src = sources(seed, batch=2)
    max_len, width = 3, 3 * 3 * 4  # 3 symbols + eos: 36 candidates at the last step, all kept
    found = beam_hypotheses(model, src, beam=width, length_penalty=alpha, max_len=max_len)
    for row, hypotheses in zip(src, found):
        score, tokens = brute_force(model, row[row != PAD], max_len, alpha)
        runner_up = hypotheses[1].score if len(hypotheses) > 1 else -np.inf
        assume(hypotheses[0].score - runner_up > 1e-9)  # a near-tie could go either way by rounding
        assert list(hypotheses[0].tokens) == tokens
        assert abs(hypotheses[0].score - score) < 1e-12


def test_hypotheses_are_sorted_and_scored_with_the_gnmt_penalty():
    model = small_model(3, sharpness=2.0)
    found = beam_hypotheses(model, sources(3), beam=3, length_penalty=0.6, max_len=5)
    for hypotheses in found:
        scores = [h.score for h in hypotheses]
        assert scores == sorted(scores, reverse=True)
        for h in hypotheses:
            length = len(h.tokens) + h.ended  # the eos counts
            assert h.score == pytest.approx(h.log_prob / ((5 + length) / 6) ** 0.6, rel=1e-12)
            assert h.ended or len(h.tokens) == 5
            assert not {PAD, BOS, EOS} & set(h.tokens)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cached_and_recomputed_decoding_agree(dtype):
    model = small_model(1, vocab=9, max_positions=8, sharpness=2.0, dtype=dtype)
    src = sources(1, batch=3, vocab=9)
    assert greedy_decode(model, src, use_cache=True) == greedy_decode(model, src, use_cache=False)
    cached = beam_hypotheses(model, src, beam=3, max_len=7)
    recomputed = beam_hypotheses(model, src, beam=3, max_len=7, use_cache=False)
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    for a, b in zip(cached, recomputed):
        assert [h.tokens for h in a] == [h.tokens for h in b]
        np.testing.assert_allclose([h.score for h in a], [h.score for h in b], rtol=0, atol=tolerance)


def test_a_batch_decodes_like_each_source_alone():
    model = small_model(2, vocab=9, max_positions=8, sharpness=2.0)
    src = sources(2, batch=3, vocab=9)
    together = beam_search(model, src, beam=3, max_len=7)
    alone = [beam_search(model, row[row != PAD][None, :], beam=3, max_len=7)[0] for row in src]
    assert together == alone
    assert greedy_decode(model, src, max_len=7) == [greedy_decode(model, row[row != PAD][None, :], max_len=7)[0]
                                                    for row in src]


def exact_lengths(seed, sharpness, alphas):
    """For each alpha, the lengths of the exact best answers (a beam wide enough to keep everything)."""
    model, src = small_model(seed, sharpness=sharpness), sources(seed)
    return [[len(tokens) for tokens in beam_search(model, src, beam=36, length_penalty=alpha, max_len=3)]
            for alpha in alphas]


@given(seed=st.integers(0, 10_000), sharpness=st.sampled_from([1.0, 2.0, 3.0]))
def test_a_larger_length_penalty_never_shortens_the_exact_answer(seed, sharpness):
    # The best length under score = S / lp(n) is non-decreasing in alpha:
    # log(-score) = log(-S) - alpha log lp(n), and log lp(n) grows with n.
    lengths = exact_lengths(seed % 12, sharpness, (0.0, 0.5, 1.0, 2.0, 4.0))
    assert all(a <= b for row in zip(*lengths) for a, b in itertools.pairwise(row))


def test_without_a_length_penalty_the_empty_answer_can_win_and_a_penalty_lengthens_it():
    lengths = exact_lengths(9, 1.0, (0.0, 4.0))
    assert lengths[0] == [0, 0] and min(lengths[1]) > 0  # alpha = 0 prefers [eos] at once


def test_search_stops_once_no_live_beam_can_win(monkeypatch):
    model = small_model(0, vocab=6, max_positions=30)
    last = model.decoder[-1].ln2
    last.weight.data[...], last.bias.data[...] = 0.0, 1.0  # the decoder's output is all ones ...
    model.embed.weight.data[EOS] = 1.0  # ... so eos's logit is 8, the others' about N(0, 1)
    calls = []
    original = model.decode
    monkeypatch.setattr(model, "decode", lambda *a, **k: calls.append(1) or original(*a, **k))
    found = beam_hypotheses(model, sources(0), beam=2, length_penalty=0.6, max_len=30)
    # step 1: [eos] finishes with score ~ -0.003; a live prefix holds ~ -8 and can reach at best
    # -8 / lp(30) ~ -2.8, so the search is over after one decoder call instead of 30
    assert len(calls) == 1
    assert [hypotheses[0].tokens for hypotheses in found] == [(), ()]


def test_decoding_arguments_are_checked_and_modes_restored():
    model = small_model()
    src = sources(0)
    with pytest.raises(ValueError, match=r"beam must be a positive int, got 0"):
        beam_search(model, src, beam=0)
    with pytest.raises(ValueError, match=r"length_penalty \(alpha\) must be a finite number >= 0, got -0.5"):
        beam_search(model, src, length_penalty=-0.5)
    with pytest.raises(ValueError, match=r"max_len must be an int in \[1, max_positions=6\]"):
        greedy_decode(model, src, max_len=7)
    model.train()
    greedy_decode(model, src, max_len=2)
    assert all(module.training for _, module in model.named_modules())


def tied_candidates(k, v, seed):
    """Extension scores with many exact ties; in half the cases every slot's eos scores best,
    so the live prefixes come from the last places of the best 2K, where ties are hardest."""
    rng = np.random.default_rng(seed)
    candidates = rng.choice([-2.0, -3.0], size=(k, v))
    if seed % 2:
        candidates[:, EOS] = -1.0
    return candidates.reshape(k * v)  # (K, V) -> (K*V,)


@given(k=st.integers(1, 3), v=st.integers(4, 30), seed=st.integers(0, 10_000))
def test_ties_between_extensions_go_to_the_lower_beam_slot_then_token_id(k, v, seed):
    candidates = tied_candidates(k, v, seed)
    prefixes = np.ones((k, 1), dtype=np.int64)  # every slot holds [bos]
    live = _extend(candidates, prefixes, k, EOS, 1, 0.0, [])
    order = np.lexsort((np.arange(k * v), -candidates))  # every extension: by score, then flat index
    expected = [(int(i) // v, int(i) % v) for i in order if int(i) % v != EOS][:k]
    assert [(slot, token) for slot, token, _ in live] == expected
