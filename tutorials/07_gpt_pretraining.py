"""Chapter 7: pre-training a GPT: from a text file to a model that writes in its style.

Run with ``python tutorials/07_gpt_pretraining.py``; ``TINYGRAD_LM_TUTORIAL_SMALL=1`` trains
fewer steps. The real run is ``tinygrad-lm train --preset shakespeare-char`` (see README).
"""

# %% [markdown]
# # Pre-training a GPT
#
# A language model assigns a probability to the next token given the ones before it. A GPT
# does this with the pieces of the last two chapters: token and position embeddings, a stack
# of pre-LN Transformer blocks with causal self-attention, a final LayerNorm, and a linear
# "head" that turns each position's vector into one logit per vocabulary entry. Pre-training
# is nothing more than minimising the cross-entropy of the next token over a corpus.
#
# This chapter builds each piece of the pipeline by hand once (tokenizer, split, batches, one
# optimisation step) and then hands the loop to `tinygrad_lm.train.Trainer`, which adds
# evaluation, logging, checkpoints and exact resume.

# %%
import dataclasses
import math
import os
import tempfile

import numpy as np

from tinygrad_lm.data import BatchSampler, CharTokenizer, train_val_split
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.optim import (
    AdamW,
    clip_grad_norm_,
    param_groups_for_weight_decay,
    warmup_cosine,
)
from tinygrad_lm.train import Trainer, preset

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"

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
print(f"{model.num_parameters():,} parameters; initial loss {loss.item():.3f}, ln(V) = {math.log(config.vocab_size):.3f}")
assert abs(loss.item() - math.log(config.vocab_size)) < 0.3

# %% [markdown]
# ## One optimisation step, written out
#
# AdamW with decoupled weight decay on the matrices only (biases and LayerNorm gains have
# fewer than two dimensions and are left alone), a learning rate that warms up linearly and
# then follows a cosine, and the global gradient norm clipped to 1.

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
    first = loss.item() if first is None else first
print(f"loss {first:.3f} -> {loss.item():.3f} after 30 hand-written steps (last grad norm {norm:.2f})")

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
steps = 60 if SMALL else 200
run = dataclasses.replace(preset("tiny"), text_path=corpus_path, max_iters=steps, eval_interval=steps // 2,
                          lr_decay_iters=steps, eval_iters=4)
summary = Trainer(run, os.path.join(workdir, "run"), progress=False).run()
final = summary["final_eval"]
print(f"after {summary['steps']} steps: train {final['train_loss']:.3f}, validation {final['val_loss']:.3f}")

# %% [markdown]
# ## The check
#
# Validation text was never trained on, so a falling validation loss means the model learned
# the grammar rather than the training set: it must end far below the ln(V) of a model that
# knows nothing.

# %%
assert final["val_loss"] < math.log(tokenizer.vocab_size) - 1.0, final
print("checked: the validation loss fell far below ln(V)")
