"""Chapter 13: the encoder-decoder Transformer, cross-attention, and searching for the best output.

Builds the model of "Attention Is All You Need" from the blocks of chapters 5, 7 and 10: an
encoder reads the source, a decoder writes the target one token at a time and reads the
source through cross-attention. Trains it live on The Annotated Transformer's copy task (with
the paper's warm-up schedule and label smoothing), draws its cross-attention
(tutorials/figures/13_cross_attention.png), then decodes: greedy, beam search, what the length
penalty does, and a proof that a wide beam finds the same answer as trying every sequence.
Run with ``python tutorials/13_encoder_decoder_and_beam_search.py`` from the repository root
(under a minute). It runs the same with ``TINYGRAD_LM_TUTORIAL_SMALL=1``: the copy task needs
its 300 steps to make the chapter's point, and they take seconds. If a translation run
exists (``tinygrad-lm train --preset translate-en-es``, default ``runs/translate-en-es``, or
``TINYGRAD_LM_TRANSLATION_RUN``), one cell also compares greedy and beam on real verses.
Left out: training the translation model itself (minutes; see README), coverage penalties.
"""

# %% [markdown]
# # Chapter 13 — Encoder, decoder, and beam search
#
# GPT (chapter 7) continues a text; BERT (chapter 10) reads one. Translation needs both: read
# a whole sentence in one language, then write a sentence in another whose length and word
# order differ. The original Transformer (Vaswani et al. 2017) does it with two stacks:
#
# - the **encoder** is BERT's stack: self-attention in both directions over the source tokens
#   (padding masked out), giving one vector per source token, the *memory* (B, S, C);
# - the **decoder** is GPT's stack with one more sub-layer per block: causal self-attention
#   over the target written so far, then **cross-attention**, whose queries come from the
#   target and whose keys and values come from the memory, then the MLP.
#
# Everything else is from earlier chapters: sinusoidal positions (chapter 10), post-LN
# residuals (the paper's; pre-LN is an option), a tied embedding shared by source, target and
# output layer (one BPE vocabulary for both languages), and cross-entropy with label smoothing.

# %%
import functools
import itertools
import os
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # run as a script: draw into files, no display needed
import matplotlib.pyplot as plt  # after the backend is chosen

import tinygrad_lm.functional as F
from tinygrad_lm.models import (
    Seq2Seq,
    Seq2SeqConfig,
    beam_hypotheses,
    beam_search,
    greedy_decode,
)
from tinygrad_lm.models.seq2seq_decode import length_penalty_factor
from tinygrad_lm.optim import Adam, LRScheduler
from tinygrad_lm.optim.schedules import inverse_sqrt_warmup
from tinygrad_lm.train.rundir import BEST, CHECKPOINT
from tinygrad_lm.train.seq2seq_task import load_translator, translate

FIGURES = Path(os.environ.get("TINYGRAD_LM_FIGURES_DIR", "tutorials/figures"))  # run from the repository root
FIGURES.mkdir(parents=True, exist_ok=True)
PAD, BOS, EOS = 0, 1, 2  # Seq2SeqConfig's defaults

# %% [markdown]
# ## 1. The shape of the model
#
# The paper's base model: 6 + 6 layers of width 512, 8 heads, an MLP of 2048, a shared
# vocabulary of about 37,000 BPE tokens. Counting its weights by hand: the embedding is V C;
# each attention has four C x C matrices and their biases; each MLP two C x 4C matrices; each
# LayerNorm 2C. An encoder block has one attention, a decoder block two.

# %%
V, C, F_, N = 37000, 512, 2048, 6
attention_weights = 4 * C * C + 4 * C
mlp_weights = 2 * C * F_ + F_ + C
encoder_block = attention_weights + mlp_weights + 2 * (2 * C)
decoder_block = 2 * attention_weights + mlp_weights + 3 * (2 * C)
by_hand = V * C + N * encoder_block + N * decoder_block
tiny_config = Seq2SeqConfig(vocab_size=50, n_encoder_layers=2, n_decoder_layers=3, n_head=2, n_embd=16, d_ff=24,
                            max_positions=12)
tiny_by_hand = (50 * 16 + 2 * (4 * 16 * 16 + 4 * 16 + 2 * 16 * 24 + 24 + 16 + 4 * 16)
                + 3 * (2 * (4 * 16 * 16 + 4 * 16) + 2 * 16 * 24 + 24 + 16 + 6 * 16))
print(f"base model: {by_hand / 1e6:.1f}M weights by hand (the paper's Table 3 says 65M; its exact vocabulary "
      f"size is not given)")
print(f"a tiny one: {tiny_by_hand} by hand, {Seq2Seq(tiny_config).num_parameters()} in the library")

# %% [markdown]
# ## 2. Cross-attention
#
# Self-attention computes queries, keys and values from one sequence. Cross-attention takes
# its queries from the decoder's stream y (B, T, C) and its keys and values from the memory
# m (B, S, C):
#
# $$\mathrm{CrossAttn}(y, m) = \mathrm{softmax}\!\left(\frac{(y W_q)(m W_k)^\top}{\sqrt{D}} + \text{mask}\right)(m W_v)$$
#
# per head, so the score table is (B, H, T, S): one row per target position, one column per
# source position. It is not causal (the whole source is known); the mask only hides the
# source's padding, exactly as in the encoder. Two consequences:
#
# - every target position can read any source token, so word order may change freely;
# - the keys and values m W_k, m W_v depend on the source only. While decoding, the target
#   grows by one token per step, but the memory never changes: the library projects it once
#   per source into a cross-attention cache (`Seq2SeqCache.cross`) and reuses it at every step,
#   while the self-attention cache grows by one position per step (chapter 8).
#
# Count the projections of the memory while greedy-decoding 8 tokens with and without the cache:

# %%
counting = Seq2Seq(tiny_config)
calls = {"kv": 0}
for block in counting.decoder:
    original = block.cross_attn.kv.forward

    def counted(x, original=original):
        calls["kv"] += 1
        return original(x)

    block.cross_attn.kv.forward = counted
source = np.array([[5, 6, 7, 8, 9], [10, 11, 12, PAD, PAD]])
with_cache = greedy_decode(counting, source, max_len=8)
kv_with_cache, calls["kv"] = calls["kv"], 0
without_cache = greedy_decode(counting, source, max_len=8, use_cache=False)
print(f"memory projections: {kv_with_cache} with the cache (once per decoder layer), {calls['kv']} without "
      f"(once per layer per step); same tokens: {with_cache == without_cache}")

# %% [markdown]
# ## 3. The copy task, trained live
#
# The Annotated Transformer's first example: the source is random symbols, the target the same
# symbols. Nothing to learn but *where to look*: to write target token t the decoder must find
# source token t, which only cross-attention can give it. Our vocabulary: pad 0, bos 1, eos 2,
# and 7 symbols 3..9; sequences of 6 symbols; target input = bos + symbols, target output =
# symbols + eos (teacher forcing, as for GPT).
#
# Training uses the paper's recipe at toy size: Adam with betas (0.9, 0.98) and eps 1e-9, the
# inverse-square-root warm-up
#
# $$\mathrm{lr}(s) = \text{factor} \cdot d^{-0.5} \cdot \min(s^{-0.5},\ s \cdot \text{warmup}^{-1.5})$$
#
# (rising linearly for `warmup` steps, then decaying as $1/\sqrt{s}$), and label smoothing 0.1:
# the target distribution puts 0.9 + 0.1/V on the right token and 0.1/V on each other, so the
# loss cannot reach 0 and the model is discouraged from ever being certain. The paper reports that it hurts perplexity and helps BLEU.

# %%
SYMBOLS, LENGTH, BATCH, STEPS, WARMUP, FACTOR = 10, 6, 32, 300, 40, 0.2
rng = np.random.default_rng(0)


def copy_batch(n):
    """(src, tgt_in, tgt_out) for n random symbol sequences."""
    src = rng.integers(3, SYMBOLS, (n, LENGTH))
    return (src, np.concatenate([np.full((n, 1), BOS), src], axis=1),  # (n, L + 1): bos, symbols
            np.concatenate([src, np.full((n, 1), EOS)], axis=1))  # (n, L + 1): symbols, eos


copy_config = Seq2SeqConfig(vocab_size=SYMBOLS, n_encoder_layers=1, n_decoder_layers=1, n_head=2, n_embd=32,
                            d_ff=64, max_positions=LENGTH + 1, dropout=0.0)
model = Seq2Seq(copy_config)
optimizer = Adam(model.parameters(), lr=FACTOR, betas=(0.9, 0.98), eps=1e-9)
scheduler = LRScheduler(optimizer, functools.partial(inverse_sqrt_warmup, d_model=32, warmup_steps=WARMUP))
test_src = copy_batch(200)[0]  # drawn once, never trained on
losses, snapshot, started = [], None, time.perf_counter()
for step in range(STEPS):
    loss = model.loss(*copy_batch(BATCH), label_smoothing=0.1)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    losses.append(float(loss.data))
    if step == 170:  # half-trained weights, for section 5
        snapshot = {name: array.copy() for name, array in model.state_dict().items()}
    if step % 50 == 0 or step == STEPS - 1:
        print(f"step {step:3d}  loss {losses[-1]:.3f}  lr {scheduler.lrs()[0]:.4f}")
train_seconds = time.perf_counter() - started
copy_accuracy = np.mean([out == list(row) for out, row in zip(greedy_decode(model, test_src), test_src)])
print(f"{STEPS} steps in {train_seconds:.1f} s (load {os.getloadavg()[0]:.1f}); greedy copies {copy_accuracy:.1%} "
      f"of 200 unseen sequences exactly")

# %% [markdown]
# The loss sits near 2 (log 7 = 1.95 is the loss of guessing uniformly among the 7 symbols)
# until the decoder discovers where to look, then falls quickly to the smoothing floor. That
# floor is the entropy of the smoothed target q (0.9 + 0.1/V on the right token, 0.1/V on each
# of the V - 1 others): the cross-entropy $-\sum_c q_c \log p_c$ is smallest when p = q.

# %%
q_right, q_other = 0.9 + 0.1 / SYMBOLS, 0.1 / SYMBOLS
floor = -(q_right * np.log(q_right) + (SYMBOLS - 1) * q_other * np.log(q_other))
print(f"label-smoothing floor for V = {SYMBOLS}: {floor:.4f}; the last training loss: {losses[-1]:.4f}")

# %% [markdown]
# ## 4. What the decoder reads
#
# `Seq2Seq.cross_attention_weights` recomputes the (B, H, T, S) tables with the identity matrix
# as the values (chapter 4's trick). For a copying model we expect each target position t to
# read source position t: to *predict* symbol t+1 the decoder, fed bos + symbols 1..t, must look
# one place ahead of the symbol it was just given.

# %%
example = test_src[:1]
tgt_in = np.concatenate([[[BOS]], example], axis=1)  # (1, L + 1)
model.eval()
weights = model.cross_attention_weights(example, tgt_in)[0][0]  # layer 0, first example: (H, T, S)
fig, axes = plt.subplots(1, weights.shape[0], figsize=(4.2 * weights.shape[0], 3.8))
for head, ax in enumerate(axes):
    ax.imshow(weights[head], cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(LENGTH), [str(s) for s in example[0]])
    ax.set_yticks(range(LENGTH + 1), ["bos", *[str(s) for s in example[0]]])
    ax.set_xlabel("source token (key)")
    ax.set_ylabel("decoder input (query)")
    ax.set_title(f"cross-attention, head {head}")
fig.suptitle("Copy task: which source token each target position reads")
fig.tight_layout()
fig.savefig(FIGURES / "13_cross_attention.png", dpi=120)
plt.close(fig)
all_weights = model.cross_attention_weights(test_src, np.concatenate([np.full((200, 1), BOS), test_src], 1))[0]
reads = all_weights.max(axis=1)[:, :LENGTH].argmax(axis=-1)  # (200, L): the source position most attended by any head
diagonal = np.mean(reads == np.arange(LENGTH))
print(f"target position t reads source position t (in its most confident head) in {diagonal:.1%} of cases")

# %% [markdown]
# The picture (`tutorials/figures/13_cross_attention.png`): a diagonal, in at least one head.
# The model has learned an alignment without ever being told one. In translation the same
# tables show which source words each target word was written from, including the swaps of
# adjective and noun between English and Spanish.
#
# ## 5. Greedy or beam?
#
# The model gives p(y_t | y_<t, x). We want the most probable whole output,
# $\arg\max_y \sum_t \log p(y_t \mid y_{<t}, x)$, but the number of sequences grows as
# $V^T$. **Greedy** decoding takes the best token at each step: fast, but a good first token
# may lead nowhere. **Beam search** keeps the K best prefixes; at each step it scores all K V
# one-token extensions, keeps the K best, and sets aside those that end with eos as finished.
# K = 1 is greedy; K = V^T is exhaustive. Stop when no live prefix can still beat the best
# finished one: log-probabilities only fall as a prefix grows.
#
# On the fully trained copier both methods are perfect. On the half-trained snapshot
# (step 170, when greedy copies about a third of the sequences) they differ:

# %%
model.load_state_dict(snapshot)


def sequence_log_prob(model, src, outputs):
    """Sum of log p over each output's tokens and its eos (none if cut at max_positions), one forward each."""
    totals = []
    for row, out in zip(src, outputs):
        target = [*out, EOS] if len(out) < model.config.max_positions else list(out)
        log_p = F.log_softmax(model(row[None, :], np.array([[BOS, *target[:-1]]])), axis=-1).data[0]
        totals.append(float(log_p[np.arange(len(target)), target].sum()))
    return np.array(totals)


half_src = test_src[:60]
greedy_out = greedy_decode(model, half_src)
beam_out = beam_search(model, half_src, beam=4, length_penalty=0.0)
greedy_lp, beam_lp = sequence_log_prob(model, half_src, greedy_out), sequence_log_prob(model, half_src, beam_out)
greedy_acc = np.mean([o == list(r) for o, r in zip(greedy_out, half_src)])
beam_acc = np.mean([o == list(r) for o, r in zip(beam_out, half_src)])
print(f"half-trained: greedy {greedy_acc:.0%} exact, mean log p {greedy_lp.mean():.3f}; "
      f"beam 4 {beam_acc:.0%} exact, mean log p {beam_lp.mean():.3f}; beam found a likelier output for "
      f"{np.sum(beam_lp > greedy_lp + 1e-9)} of {len(half_src)} sources")

# %% [markdown]
# Beam search is a better *search*: it finds outputs the model itself rates higher. Whether
# they are better *answers* depends on the model; here, where the model's best guess is
# usually the copy, they are.
#
# ## 6. Proof: a wide beam finds the true optimum
#
# On a vocabulary of 3 symbols + eos and at most 3 output tokens there are
# 1 + 3 + 9 sequences ending in eos and 27 cut at the limit: 40 in all. Score each by a full
# forward pass, and compare with beam search whose beam (36) is wider than any step's
# candidates, so it prunes nothing and must find the same winner, under the same score.

# %%
small = Seq2Seq(Seq2SeqConfig(vocab_size=6, n_encoder_layers=1, n_decoder_layers=2, n_head=2, n_embd=8, d_ff=16,
                              max_positions=6, dropout=0.0, seed=5), dtype="float64")
small.embed.weight.data[...] *= 2.0  # sharper distributions than a fresh model's
small_src = np.array([[3, 4, 5, 3]])


def brute_force(model, src, max_len, alpha):
    """The best (score, tokens) over every sequence of at most max_len tokens (eos-ended, or cut)."""
    symbols = [t for t in range(model.config.vocab_size) if t not in (PAD, BOS, EOS)]
    candidates = [(*body, EOS) for n in range(max_len) for body in itertools.product(symbols, repeat=n)]
    candidates += list(itertools.product(symbols, repeat=max_len))
    best = (-np.inf, None)
    for tokens in candidates:
        log_p = F.log_softmax(model(src, np.array([[BOS, *tokens[:-1]]])), axis=-1).data[0]
        score = log_p[np.arange(len(tokens)), list(tokens)].sum() / length_penalty_factor(len(tokens), alpha)
        best = max(best, (score, [t for t in tokens if t != EOS]))
    return best, len(candidates)


exact = {}
for alpha in (0.0, 0.6, 1.5):
    (score, tokens), n_candidates = brute_force(small, small_src, 3, alpha)
    found = beam_hypotheses(small, small_src, beam=36, length_penalty=alpha, max_len=3)[0][0]
    exact[alpha] = (list(found.tokens) == tokens, abs(found.score - score))
    print(f"alpha {alpha}: brute force over {n_candidates} sequences -> {tokens} ({score:.4f}); "
          f"beam 36 -> {list(found.tokens)} ({found.score:.4f})")

# %% [markdown]
# ## 7. The length penalty
#
# Every token multiplies in a probability below 1, so raw log-probability prefers short
# outputs, in the extreme the empty one (eos at once). GNMT (Wu et al. 2016) divides by a
# length penalty:
#
# $$\text{score}(y) = \frac{\log p(y \mid x)}{\mathrm{lp}(|y|)}, \qquad \mathrm{lp}(n) = \left(\frac{5 + n}{6}\right)^{\alpha}$$
#
# with |y| counting the eos. alpha = 0 is no penalty; larger alpha divides long sums by more,
# so longer outputs win more often; 0.6 is the usual choice for translation. With exact search
# the best length can only grow with alpha (the penalty's log grows with n), which the table
# shows on the small random model for a few sources:

# %%
alphas = (0.0, 0.6, 1.0, 2.0, 4.0)
many_src = np.random.default_rng(5).integers(3, 6, (8, 4))
lengths = np.array([[len(t) for t in beam_search(small, many_src, beam=36, length_penalty=a, max_len=3)]
                    for a in alphas])  # (alphas, sources)
for alpha, row in zip(alphas, lengths):
    print(f"alpha {alpha:3.1f}: output lengths {row.tolist()}  mean {row.mean():.2f}")

# %% [markdown]
# ## 8. Optional: greedy vs beam on real verses
#
# With a trained translation run (README: `tinygrad-lm train --preset translate-en-es`, about
# half an hour on two cores), the same comparison on held-out verses. Skipped when no run exists.

# %%
run_dir = Path(os.environ.get("TINYGRAD_LM_TRANSLATION_RUN", "runs/translate-en-es"))
if run_dir.is_dir() and any((run_dir / name).exists() for name in (BEST, CHECKPOINT)):

    translator, tokenizer, _ = load_translator(run_dir)
    verses = ["In the beginning God created the heaven and the earth.",
              "And God said, Let there be light: and there was light.",
              "Jesus wept."]
    for beam in (1, 4):
        outputs, _ = translate(translator, tokenizer, verses, beam=beam)
        print(f"beam {beam}:", *outputs, sep="\n  ")
else:
    print(f"no translation run in {run_dir}: skipping the real verses")

# %% [markdown]
# ## Check

# %%
assert Seq2Seq(tiny_config).num_parameters() == tiny_by_hand
assert kv_with_cache == tiny_config.n_decoder_layers and calls["kv"] == 8 * tiny_config.n_decoder_layers
assert with_cache == without_cache
assert losses[0] > 1.5 and 0 < losses[-1] - floor < 0.1, (losses[0], losses[-1], floor)
assert copy_accuracy >= 0.98, copy_accuracy
assert diagonal > 0.9, diagonal
assert beam_lp.mean() >= greedy_lp.mean(), (beam_lp.mean(), greedy_lp.mean())
assert all(same and gap < 1e-9 for same, gap in exact.values()), exact
assert np.all(np.diff(lengths, axis=0) >= 0) and lengths[-1].mean() > lengths[0].mean(), lengths
print(f"checked: copy accuracy {copy_accuracy:.1%}, diagonal cross-attention {diagonal:.1%}, beam = brute force "
      f"for alpha in {sorted(exact)}, lengths grow with alpha ({lengths[0].mean():.2f} -> {lengths[-1].mean():.2f})")

# %% [markdown]
# ## Exercises
#
# In `tutorials/exercises/ch13.py`, checked by `pytest tutorials/exercises -k ch13` against
# the library (reference solutions in `tutorials/solutions/ch13.py`):
#
# 1. `cross_attention_table`: section 2's (B, H, T, S) table in NumPy from queries and keys,
#    padding exactly 0; it must equal `Seq2Seq.cross_attention_weights` on a small model;
# 2. `beam_search_one`: section 5's beam search for one source in plain Python over any
#    next-token function, with the GNMT score; its best hypothesis must be the library's for
#    beams 1, 2, 4 and three length penalties;
# 3. `label_smoothing_floor`: section 3's floor, the entropy of the smoothed target; it must be
#    `F.cross_entropy` at p = q and below it everywhere else.
