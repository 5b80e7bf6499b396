"""Decoding an encoder-decoder model: greedy search and beam search with a length penalty.

Both encode the sources once, then feed the decoder one token per step with a
``Seq2SeqCache``: the self-attention keys/values grow by one position per step, the
cross-attention keys/values are projected from the memory at the first step and reused
(``use_cache=False`` recomputes the whole prefix every step instead: same numbers, slower; it
is there to prove the cache right). Sources are (B, S) ids right-padded with ``pad_id``.

Scoring. The decoder's next-token log-probabilities log p(y_t | y_<t, x) are the model's
log_softmax over all V classes, then ``pad_id`` and ``bos_id`` are forbidden (their
log-probability set to -inf, no renormalisation): a hypothesis is a sequence over the other
tokens that ends with ``eos_id`` or is cut at ``max_len`` tokens. Its log-probability is
S(y) = sum_t log p(y_t | ...), and beam search ranks finished hypotheses by GNMT's
length-normalised score (Wu et al. 2016, "Google's Neural Machine Translation System",
section 7, without its coverage term):

    score(y) = S(y) / lp(|y|),   lp(n) = ((5 + n) / 6) ** alpha      alpha = length_penalty

where |y| counts the generated tokens including the final eos. alpha = 0 ranks by S alone,
which favours short outputs (every token multiplies in a probability < 1); alpha > 0 divides
longer sums by more and so lets longer hypotheses win.

Beam search (per source, K = beam): keep the K best live prefixes. Each step scores all
K * V one-token extensions by S and walks them best first until K extensions that are not
eos have been seen: those are the next live prefixes, and every eos extension met on the way
becomes a finished hypothesis. (So beam 1 with alpha = 0 is exactly greedy decoding, and a
beam wider than the number of candidates keeps every extension: it enumerates every
sequence.) At ``max_len`` the live prefixes finish as they are. A source is done when it has
no live prefix, or when its best finished score is at least the best score any live prefix
could still reach: log-probabilities are <= 0, so a live prefix with sum s can end no better
than s / lp(max_len) (for alpha >= 0); stopping then never changes the
answer. The loop ends when every source is done.

All choosing happens on the host in float64 NumPy; ties go to the lower flat index
(beam slot, then token id). Left out: sampling-based decoding (see ``generate.py``), coverage
penalties, diverse beam search, n-gram blocking.
"""

import contextlib
import dataclasses
import numbers

import numpy as np

from .. import functional as F
from ..engine import Tensor, no_grad, to_device


@dataclasses.dataclass(frozen=True)
class Hypothesis:
    """A finished decoding: ``tokens`` (generated ids, eos excluded), ``log_prob`` S(y), ``score``."""

    tokens: tuple
    log_prob: float
    score: float
    ended: bool  # True when it ended with eos, False when cut at max_len


def length_penalty_factor(length, alpha):
    """GNMT's lp(n) = ((5 + n) / 6) ** alpha for a hypothesis of ``length`` generated tokens."""
    return ((5.0 + length) / 6.0) ** alpha


@contextlib.contextmanager
def _inference(model):
    """Eval mode and no_grad for the block, then every module's previous mode back."""
    modes = [(module, module.training) for _, module in model.named_modules()]
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        for module, training in modes:
            module.training = training


def _max_len(model, max_len):
    limit = model.config.max_positions
    if max_len is None:
        return limit
    if not isinstance(max_len, numbers.Integral) or isinstance(max_len, bool) or not 1 <= max_len <= limit:
        raise ValueError(f"decode: max_len must be an int in [1, max_positions={limit}] (the decoder's positions "
                         f"hold bos + max_len - 1 tokens), got {max_len!r}")
    return int(max_len)


def _next_log_probs(model, seq, memory, mask, cache):
    """log p of the next token for each row of ``seq`` (R, t) on the host: (R, V) float64, pad/bos -inf."""
    fed = seq if cache is None else seq[:, len(cache):]  # (R, t) or only the tokens not yet cached
    logits = model.decode(to_device(fed, model.device), memory, mask, cache=cache)  # (R, t_fed, V)
    log_p = F.log_softmax(logits[:, -1, :], axis=-1).numpy().astype(np.float64)  # (R, t_fed, V) -> (R, V)
    log_p[:, [model.config.pad_id, model.config.bos_id]] = -np.inf
    return log_p


def _start(model, src, max_len):
    """(checked source ids on the model's device, memory (B, S, C), source mask (B, S), max_len)."""
    ids = src.data if isinstance(src, Tensor) else src
    ids = model.check_ids(to_device(ids if hasattr(ids, "dtype") else np.asarray(ids), model.device), "src")
    return ids, model.encode(ids), model.source_mask(ids), _max_len(model, max_len)


def greedy_decode(model, src, max_len=None, use_cache=True):
    """The most likely next token at every step, for each source row of ``src`` (B, S).

    Returns a list of B token lists (eos and everything after it removed). Stops when every
    row has produced eos, or after ``max_len`` tokens (default: max_positions).
    """
    config = model.config
    with _inference(model):
        ids, memory, mask, max_len = _start(model, src, max_len)
        B = ids.shape[0]
        seq = np.full((B, 1), config.bos_id, dtype=np.int64)  # (B, 1): every row starts with bos
        ended = np.zeros(B, dtype=bool)
        cache = model.new_cache() if use_cache else None
        for _ in range(max_len):
            choice = _next_log_probs(model, seq, memory, mask, cache).argmax(axis=-1)  # (B, V) -> (B,)
            choice = np.where(ended, config.pad_id, choice)  # finished rows only pad
            seq = np.concatenate([seq, choice[:, None]], axis=1)  # (B, t) -> (B, t + 1)
            ended |= choice == config.eos_id
            if ended.all():
                break
    return [_strip(row[1:], config) for row in seq]


def _strip(tokens, config):
    """Generated ids up to (not including) the first eos, as a list of ints."""
    tokens = [int(t) for t in tokens]
    return tokens[:tokens.index(config.eos_id)] if config.eos_id in tokens else tokens


def beam_search(model, src, beam=4, length_penalty=0.6, max_len=None, use_cache=True):
    """The best hypothesis's tokens for each source row of ``src`` (B, S): a list of B token lists.

    See the module docstring for the scoring and the search; ``beam_hypotheses`` gives every
    finished hypothesis with its scores.
    """
    hypotheses = beam_hypotheses(model, src, beam, length_penalty, max_len, use_cache)
    return [list(found[0].tokens) for found in hypotheses]


def beam_hypotheses(model, src, beam=4, length_penalty=0.6, max_len=None, use_cache=True):
    """Every finished ``Hypothesis`` of each source, best score first: a list of B lists."""
    if not isinstance(beam, numbers.Integral) or isinstance(beam, bool) or beam < 1:
        raise ValueError(f"beam_search: beam must be a positive int, got {beam!r}")
    if not isinstance(length_penalty, numbers.Real) or not 0.0 <= length_penalty < float("inf"):
        raise ValueError(f"beam_search: length_penalty (alpha) must be a finite number >= 0, got {length_penalty!r}")
    config, K = model.config, int(beam)
    with _inference(model):
        ids, memory, mask, max_len = _start(model, src, max_len)
        B = ids.shape[0]
        rows = to_device(np.repeat(np.arange(B), K), model.device)  # (B*K,): flat row b*K + k is source b's
        memory, mask = memory[rows], mask[rows]  # (B, S, C) -> (B*K, S, C); (B, S) -> (B*K, S)
        seq = np.full((B * K, 1), config.bos_id, dtype=np.int64)  # (B*K, 1)
        scores = np.full((B, K), -np.inf)
        scores[:, 0] = 0.0  # one live prefix per source at first, so no duplicates
        finished = [[] for _ in range(B)]
        done = np.zeros(B, dtype=bool)
        cache = model.new_cache() if use_cache else None
        for step in range(1, max_len + 1):
            log_p = _next_log_probs(model, seq, memory, mask, cache)  # (B*K, V)
            V = log_p.shape[1]
            candidates = (scores[:, :, None] + log_p.reshape(B, K, V)).reshape(B, K * V)  # (B, K, V) -> (B, K*V)
            parents, tokens = np.repeat(np.arange(B) * K, K), np.full(B * K, config.pad_id)  # (B*K,) each
            for b in np.flatnonzero(~done):
                live = _extend(candidates[b], seq[b * K:(b + 1) * K], K, config.eos_id, step,
                               length_penalty, finished[b])
                if step == max_len:  # cut: the live prefixes finish as they are
                    finished[b] += [_hypothesis(seq[b * K + k], token, s, step, length_penalty, False)
                                    for k, token, s in live]
                    live = []
                scores[b] = -np.inf
                for slot, (k, token, s) in enumerate(live):
                    parents[b * K + slot], tokens[b * K + slot], scores[b, slot] = b * K + k, token, s
                reachable = max((s for _, _, s in live), default=-np.inf) / length_penalty_factor(max_len, length_penalty)
                done[b] = not live or max((h.score for h in finished[b]), default=-np.inf) >= reachable
            if done.all():
                break
            seq = np.concatenate([seq[parents], tokens[:, None]], axis=1)  # (B*K, t) -> (B*K, t + 1)
            if cache is not None:  # each live prefix takes its parent's self-attention keys and values; a parent
                rows = to_device(parents, model.device)  # is in its child's source block, whose cross K/V are equal
                for layer in cache.self_attn.layers:
                    layer.select(rows)
    return [sorted(found, key=lambda h: -h.score) for found in finished]


def _extend(candidates, prefixes, K, eos_id, step, alpha, finished):
    """Walk one source's (K*V,) extension scores best first; append finished ones, return live.

    Returns up to K (parent slot, token, log_prob) triples, best first.
    """
    V = candidates.size // K
    top = min(2 * K, candidates.size)  # K eos extensions at most, so 2K hold K that are not eos
    cutoff = np.partition(candidates, candidates.size - top)[candidates.size - top]  # the top-th best score
    best = np.flatnonzero(candidates >= cutoff)  # the best `top`, and every candidate tied with the last
    best = best[np.lexsort((best, -candidates[best]))]  # by score, ties to the lower flat index
    live = []
    for flat in best:
        s = candidates[flat]
        if s == -np.inf or len(live) == K:
            break
        k, token = divmod(int(flat), V)
        if token == eos_id:
            finished.append(_hypothesis(prefixes[k], token, s, step, alpha, True))
        else:
            live.append((k, token, s))
    return live


def _hypothesis(prefix, token, log_prob, length, alpha, ended):
    """A finished ``Hypothesis`` from a prefix row ([bos, ...]) and its last token."""
    tokens = tuple(int(t) for t in prefix[1:]) + (() if ended else (int(token),))
    return Hypothesis(tokens, float(log_prob), float(log_prob) / length_penalty_factor(length, alpha), ended)
