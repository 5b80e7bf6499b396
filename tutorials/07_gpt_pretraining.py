"""Chapter 7: pre-training a GPT: from a text file to a model that writes sentences like it.

Builds the pipeline by hand once (tokenizer, split, batches, one AdamW step), then trains with
`tinygrad_lm.train.Trainer` on a corpus drawn from a small grammar, whose entropy gives a floor
no model can beat. It draws the loss curve (tutorials/figures/07_loss_curve.png), samples
sentences from the trained model, and compares its learned position embeddings with the
sinusoidal ones (tutorials/figures/07_position_embeddings.png). It ends by checking that the
validation loss comes close to the floor, that learned positions resemble their neighbours,
and (in the full run) that most sampled sentences are grammatical.
Run with ``python tutorials/07_gpt_pretraining.py``; ``TINYGRAD_LM_TUTORIAL_SMALL=1`` trains
fewer steps. The same loop on Shakespeare is ``tinygrad-lm train --preset shakespeare-char``
(see README); it is not run here because it downloads its corpus and takes minutes.
"""

# %% [markdown]
# # Pre-training a GPT
#
# A language model assigns a probability to the next token given the ones before it. A GPT
# does this with the pieces of chapters 4 and 5: token and position embeddings, a stack of
# pre-LN Transformer blocks with causal self-attention, a final LayerNorm, and a linear
# "head" that turns each position's vector into one logit per vocabulary entry. Pre-training
# is nothing more than minimising the cross-entropy of the next token over a corpus, with the
# loss and the optimizer of chapter 6.
#
# This chapter builds each piece of the pipeline by hand once (tokenizer, split, batches, one
# optimisation step) and then hands the loop to `tinygrad_lm.train.Trainer`, which adds
# evaluation, logging, checkpoints and exact resume.

# %%
import dataclasses
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import matplotlib
import numpy as np

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # run as a script: draw into files, no display needed
import matplotlib.pyplot as plt  # after the backend is chosen

from tinygrad_lm.data import BatchSampler, CharTokenizer, train_val_split
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.nn import sinusoidal_positions
from tinygrad_lm.optim import (
    AdamW,
    clip_grad_norm_,
    param_groups_for_weight_decay,
    warmup_cosine,
)
from tinygrad_lm.train import Trainer, preset

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
FIGURES = Path(os.environ.get("TINYGRAD_LM_FIGURES_DIR", "tutorials/figures"))  # run from the repository root
FIGURES.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## A corpus and a tokenizer
#
# The Shakespeare preset downloads about 1.2 MB of plays; to stay self-contained this chapter
# makes a small corpus with structure worth learning: sentences from a tiny grammar. The
# character tokenizer's vocabulary is the sorted set of characters it has seen.

# %%
rng = np.random.default_rng(0)
subjects, verbs, objects = ["the king", "a fool", "my lord", "the queen"], ["loves", "fears", "serves"], [
    "the crown", "his horse", "a ghost", "the sea"]
sentences = [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}.\n" for _ in range(3000)]
text = "".join(sentences)
tokenizer = CharTokenizer.from_text(text)
ids = tokenizer.encode(text)
train_ids, val_ids = train_val_split(ids, val_fraction=0.1)
print(f"{len(text):,} characters, vocabulary of {tokenizer.vocab_size}: {''.join(tokenizer.vocabulary)!r}")
print(f"train {len(train_ids):,} tokens, validation {len(val_ids):,} (the last 10%, contiguous)")

# %% [markdown]
# ## Batches: windows and their shifted targets
#
# A batch is B random windows of T tokens. The target at position t is the token at t + 1,
# so one window trains T predictions at once, each with a different amount of context;
# the causal mask stops position t from looking at the answer.

# %%
sampler = BatchSampler(train_ids, block_size=32, batch_size=8, seed=0)
x, y = sampler.next_batch()  # (B, T) each
print("input :", repr(tokenizer.decode(x[0])))
print("target:", repr(tokenizer.decode(y[0])))
assert (x[0, 1:] == y[0, :-1]).all()

# %% [markdown]
# ## The model and its loss at initialisation
#
# `GPTConfig` fixes the shape; the head shares its weight matrix with the token embedding
# (weight tying), and residual projections start smaller, scaled by 1/sqrt(2 N), so the
# residual stream does not grow with depth. At initialisation every token is about equally
# likely, so the loss should be close to ln(V) nats.

# %%
config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=32, seed=0)
model = GPT(config)
logits, loss = model(x, y)  # logits (B, T, V)
print(f"{model.num_parameters():,} parameters; initial loss {loss:.3f}, ln(V) = {math.log(config.vocab_size):.3f}")
assert abs(float(loss) - math.log(config.vocab_size)) < 0.3

# %% [markdown]
# ## One optimisation step, written out
#
# AdamW with decoupled weight decay on the matrices only (biases and LayerNorm gains have
# fewer than two dimensions and are left alone), a learning rate that warms up linearly and
# then follows a cosine, and the global gradient norm clipped to 1: each derived in chapter 6.

# %%
groups = param_groups_for_weight_decay(model.named_parameters(), weight_decay=0.1)
optimizer = AdamW(groups, lr=3e-3, betas=(0.9, 0.99))
first = None
for step in range(30):
    x, y = sampler.next_batch()
    for group in optimizer.param_groups:
        group["lr"] = warmup_cosine(step, 3e-3, warmup_steps=5, total_steps=30, min_lr=3e-4)
    _, loss = model(x, y)
    optimizer.zero_grad()
    loss.backward()
    norm = clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    first = float(loss) if first is None else first
print(f"loss {first:.3f} -> {loss:.3f} after 30 hand-written steps (last grad norm {norm:.2f})")

# %% [markdown]
# ## The Trainer
#
# The same step inside `Trainer`, which also estimates train and validation loss every
# `eval_interval` steps, appends them to `log.jsonl`, draws `loss_curve.png`, and writes an
# atomic checkpoint holding everything needed to resume bit-for-bit: weights, optimizer
# moments, the step, and the RNG states of the batch sampler and of dropout.

# %%
workdir = tempfile.mkdtemp()
corpus_path = os.path.join(workdir, "grammar.txt")
with open(corpus_path, "w") as f:
    f.write(text)
steps = 200 if SMALL else 1500
evaluations_wanted = 5 if SMALL else 15  # points on the validation curve
run = dataclasses.replace(preset("tiny"), text_path=corpus_path, max_iters=steps, eval_interval=steps // evaluations_wanted,
                          lr_decay_iters=steps, eval_iters=4)
trainer = Trainer(run, os.path.join(workdir, "run"), progress=False)
summary = trainer.run()
final = summary["final_eval"]
print(f"after {summary['steps']} steps: train {final['train_loss']:.3f}, validation {final['val_loss']:.3f}")

# %% [markdown]
# ## How low can the loss go?
#
# Our corpus has a known answer. Each sentence is three independent, uniform choices: one of 4
# subjects, 3 verbs and 4 objects, so one of $4 \cdot 3 \cdot 4 = 48$ sentences, each with
# probability $1/48$. Every other character is forced: once a sentence starts "the q", the
# rest of "queen" is certain. A sentence therefore carries exactly $\ln 48$ nats of surprise,
# however a model spreads it over the characters, and no model can have a lower expected loss.
# Per character, the floor is $\ln 48$ divided by the average length of a sentence (spaces,
# the full stop and the newline included), and that average is the sum of the average lengths
# of the three choices plus the four fixed characters:

# %%
n_sentences = len(subjects) * len(verbs) * len(objects)
mean_length = sum(np.mean([len(w) for w in words]) for words in (subjects, verbs, objects)) + len("  .\n")
floor = math.log(n_sentences) / mean_length
print(f"{n_sentences} sentences, {mean_length:.2f} characters on average: "
      f"floor = ln {n_sentences} / {mean_length:.2f} = {floor:.3f} nats per character")
print(f"ln V = {math.log(tokenizer.vocab_size):.3f} (a model that knows nothing), "
      f"validation loss {final['val_loss']:.3f}, gap to the floor {final['val_loss'] - floor:.3f}")

# %% [markdown]
# The floor assumes a reader who has seen the sentence so far. A training window of 32
# characters starts anywhere, often mid-sentence, so its first few predictions are made with
# less context and cost more; even a perfect model would sit a little above the floor.
#
# ## The loss curve
#
# `Trainer` wrote every step's batch loss and every evaluation to `log.jsonl` (and drew its own
# `loss_curve.png` beside them). We draw the same curve here, with the two lines that frame it:
# $\ln V$, where the model starts, and the floor, which it can approach but not cross.

# %%
with open(Path(summary["out_dir"]) / "log.jsonl") as f:
    evaluations = [record for record in map(json.loads, f) if record["kind"] == "eval"]
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(range(1, len(summary["train_losses"]) + 1), summary["train_losses"], lw=0.7, alpha=0.5,
        label="train (one batch)")
ax.plot([e["step"] for e in evaluations], [e["val_loss"] for e in evaluations], "o", label="validation")
ax.axhline(math.log(tokenizer.vocab_size), color="gray", ls="--", lw=1, label=f"ln V = {math.log(tokenizer.vocab_size):.2f}")
ax.axhline(floor, color="black", ls=":", lw=1, label=f"entropy floor = {floor:.3f}")
ax.set_xlabel("step")
ax.set_yscale("log")  # equal ratios look equal: the last steps towards the floor stay visible
ticks = [0.15, 0.2, 0.3, 0.5, 1, 2, 3]
ax.set_yticks(ticks, [f"{tick:g}" for tick in ticks])
ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
ax.set_ylabel("cross-entropy (nats per character, log scale)")
ax.set_title("pre-training a 2-layer GPT on sentences of a small grammar")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(FIGURES / "07_loss_curve.png", dpi=120)
plt.close(fig)

# %% [markdown]
# ## Sampling: does it write like the corpus?
#
# Generation feeds the model its own predictions: start from a newline, sample the next
# character from the predicted distribution (chapter 8 is about how), append it, repeat. If the
# model has learned the grammar, the lines it writes are sentences of the grammar.

# %%
model = trainer.model
grammar = {f"{s} {v} {o}." for s in subjects for v in verbs for o in objects}
generated = tokenizer.decode(model.generate(np.array([tokenizer.encode("\n")]), 300, temperature=1.0, rng=0)[0])
lines = generated.split("\n")[1:-1]  # complete lines only: the last one may be cut off
grammatical = [line in grammar for line in lines]
for line, ok in zip(lines, grammatical):
    print(f"{'ok ' if ok else '   '} {line}")
print(f"{sum(grammatical)} of {len(lines)} complete lines are sentences of the grammar")

# %% [markdown]
# After the short run (`TINYGRAD_LM_TUTORIAL_SMALL=1`) the lines are word-shaped but garbled:
# the model has learned which letters follow which, and little more. After the full run almost
# every line is one of the 48 sentences.
#
# ## What the model learned about positions
#
# Attention by itself treats its keys as a set: shuffle the keys together with their values and
# the output does not change. (The causal mask leaks a little order, since each position sees a
# different number of keys.) The model knows where a token is mainly through the position
# embedding `wpe`, a learned vector for each position $0..T-1$ added to the token's embedding. The original Transformer used fixed vectors instead, sines and cosines of
# geometrically spaced frequencies (Vaswani et al. 2017, section 3.5):
#
# $$PE_{p, 2i} = \sin\!\left(p / 10000^{2i/C}\right), \qquad PE_{p, 2i+1} = \cos\!\left(p / 10000^{2i/C}\right).$$
#
# Their dot product $PE_p \cdot PE_q = \sum_i \cos\big((p - q) / 10000^{2i/C}\big)$ depends only on the
# distance $p - q$ and is largest at distance 0, so nearby positions look alike. The library has
# this table as `nn.sinusoidal_positions`, and `GPTConfig(position_embedding="sinusoidal")` uses
# it instead of `wpe`; below we compute it from the formula and check it against the library's.
# The top row of the figure shows both tables (position down, channel across); the bottom row
# shows the cosine similarity of every pair of positions.

# %%
learned = model.wpe.weight.numpy()  # (T, C): one learned vector per position
positions, channels = learned.shape
frequencies = 1.0 / 10000 ** (np.arange(0, channels, 2) / channels)  # (C/2,)
angles = np.arange(positions)[:, None] * frequencies[None, :]  # (T, 1) * (1, C/2) -> (T, C/2)
sinusoidal = np.zeros((positions, channels))
sinusoidal[:, 0::2], sinusoidal[:, 1::2] = np.sin(angles), np.cos(angles)
assert np.allclose(sinusoidal, sinusoidal_positions(positions, channels, dtype="float64"))  # the library's table


def cosine_similarity(table):
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)  # (T, C), rows of length 1
    return unit @ unit.T  # (T, T)


fig, axes = plt.subplots(2, 2, figsize=(9, 8))
for column, (name, table) in enumerate([("learned (wpe)", learned), ("sinusoidal", sinusoidal)]):
    image = axes[0, column].imshow(table, cmap="RdBu_r", vmin=-np.abs(table).max(), vmax=np.abs(table).max())
    axes[0, column].set(title=f"{name}: vectors", xlabel="channel", ylabel="position")
    fig.colorbar(image, ax=axes[0, column])
    image = axes[1, column].imshow(cosine_similarity(table), cmap="RdBu_r", vmin=-1, vmax=1)
    axes[1, column].set(title=f"{name}: cosine similarity", xlabel="position", ylabel="position")
    fig.colorbar(image, ax=axes[1, column])
fig.tight_layout()
fig.savefig(FIGURES / "07_position_embeddings.png", dpi=120)
plt.close(fig)

similarity = cosine_similarity(learned)
distance = np.abs(np.arange(positions)[:, None] - np.arange(positions)[None, :])  # (T, T)
neighbours, far_apart = similarity[distance == 1].mean(), similarity[distance > 8].mean()
print(f"learned positions: mean cosine similarity {neighbours:.2f} between neighbours, "
      f"{far_apart:.2f} between positions more than 8 apart")

# %% [markdown]
# What the picture shows (`tutorials/figures/07_position_embeddings.png`, from the full run).
# The learned table started as random numbers, $N(0, 0.02)$, whose vectors are nearly
# orthogonal: similarity near 0 everywhere off the diagonal. Nothing told the model that
# position 5 is next to position 6, yet training made the table smooth: neighbouring positions
# point almost the same way, and similarity falls steadily with distance until the first and
# last positions of the window point in opposite directions. The learned table is little more
# than one ramp, "how far into the window am I", and that is all this corpus asks of it: a
# window starts anywhere in a sentence, so a position's number says nothing about the grammar,
# only how much context is available (and the short run's table is a noisier version of the
# same ramp). The sinusoidal table encodes more. Its similarity depends only on the distance
# $p - q$, so it is constant along every line parallel to the diagonal, and each distance has its
# own pattern of phases, from which a linear map can pick out "three positions back". It also
# exists for positions never seen in training; a learned table stops at `block_size`.

# %% [markdown]
# ## The check
#
# The validation text was never trained on, so a low validation loss means the model learned
# the grammar rather than the training set. It must come within 0.1 nats per character of the
# floor after the full run (within 1.0 after the short one), and can never beat it by more than
# the estimate's noise. Neighbouring learned positions must be more alike than distant ones.
# After the full run, at least 80% of the sampled lines must be sentences of the grammar.

# %%
gap = final["val_loss"] - floor
assert -0.05 < gap < (1.0 if SMALL else 0.1), (final, floor)
assert neighbours > far_apart + 0.3, (neighbours, far_apart)
if not SMALL:
    assert sum(grammatical) >= 0.8 * len(lines), lines
print(f"checked: validation loss {final['val_loss']:.3f} is {gap:.3f} nats per character above the "
      f"floor {floor:.3f}; learned positions resemble their neighbours")

# %% [markdown]
# ## Exercises
#
# Three exercises wait in `tutorials/exercises/ch07.py`. Edit that file, then check your answers
# from the repository root with `pytest tutorials/exercises -k ch07`. Reference solutions are in
# `tutorials/solutions/ch07.py`.
#
# 1. **`char_encode`**: a character tokenizer in a few lines, equal to `CharTokenizer.from_text`.
# 2. **`sample_batch`**: random training windows and their next-token targets, equal to
#    `BatchSampler`'s batches from the same seed.
# 3. **`gpt_parameter_count`**: the parameter count of any `GPTConfig` from its numbers alone
#    (with and without biases, the head tied to the embedding), checked against built models and
#    against GPT-2 small's 124,439,808.
