"""Chapter 4 of the tinygrad_lm book: scaled dot-product attention, the heart of a Transformer.

Teaches attention as a soft dictionary lookup, why scores are scaled by 1/sqrt(D) (shown
numerically), softmax and its max-subtraction trick, causal and padding masks (why a mask
must be -inf, never a finite -1e4, why replacing a score is safe where adding to it is not,
and why PyTorch's is_causal=True differs from ours when Tq != Tk), what a fully masked row
gives, a heatmap of attention over a real sentence (tutorials/figures/04_attention_heatmap.png),
multi-head attention as a few reshapes, and the fused attention op next to its composed
derivation, all with `tinygrad_lm.functional`. It ends by checking fused against composed, causality, and the
gradient with `tinygrad_lm.testing.gradcheck`.
Run it from the repository root with `python tutorials/04_attention.py`, or open it as a
notebook with jupytext. TINYGRAD_LM_TUTORIAL_SMALL=1 uses fewer samples in the variance demo.
Left for later chapters: the attention layer with learned projections and dropout (chapter
5), and the KV cache for generation (chapter 8).
"""

# %%
import inspect
import math
import os
import sys
from pathlib import Path

import matplotlib
import numpy as np

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # run as a script: draw into files, no display needed
import matplotlib.pyplot as plt  # after the backend is chosen

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm.backends import KERNEL_NAMES, active_backend, get_kernel
from tinygrad_lm.testing import check_close, gradcheck

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
FIGURES = Path(os.environ.get("TINYGRAD_LM_FIGURES_DIR", "tutorials/figures"))  # run from the repository root
FIGURES.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)

# %% [markdown]
# # Chapter 4 — Attention
#
# A language model reads a sequence of tokens and, at every position, must decide which
# earlier tokens matter for predicting the next one. In "The cat that the dog chased *was*",
# the verb agrees with *cat*, five tokens back, not with *dog*, right next to it. *Attention*
# is the operation that lets every position gather information from any other position, with
# weights it computes from the data itself. It is the one new idea of the Transformer
# (Vaswani et al. 2017, "Attention Is All You Need"); everything else in the model is the
# matrix multiplications and nonlinearities of chapter 3.

# %% [markdown]
# ## 1. A soft dictionary lookup
#
# A Python dictionary maps keys to values: a query either equals a key and returns its value,
# or fails. Attention makes every step continuous, and therefore differentiable:
#
# 1. compare the query $q$ with every key $k_j$ by a dot product, the *score* $s_j = q \cdot k_j$;
# 2. turn the scores into weights that are positive and sum to 1 with a softmax,
#    $p_j = e^{s_j} / \sum_i e^{s_i}$;
# 3. return the weighted average of the values, $\sum_j p_j v_j$.
#
# A query that points strongly towards one key gets (almost) exactly that key's value: the
# soft lookup becomes a hard one. Below, three keys are three directions, each value says
# which key it belongs to, and the query points at key 1 with growing strength.

# %%
keys = tg.tensor(np.eye(3, 4), dtype="float32")  # (3 keys, D=4): key j is the unit vector e_j
values = tg.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # (3 keys, 3)
for strength in [0.0, 1.0, 3.0, 10.0]:
    query = tg.tensor([[0.0, strength, 0.0, 0.0]])  # (1 query, D=4), pointing at key 1
    weights = F.softmax(query @ keys.T, axis=-1)  # (1, 4) @ (4, 3) -> (1, 3)
    print(f"strength {strength:4}: weights {weights.numpy().round(3)[0]}  output {(weights @ values).numpy().round(3)[0]}")

# %% [markdown]
# With strength 0 the query matches nothing in particular and gets the plain average; with
# strength 10 it retrieves value 1 almost exactly. In a Transformer the queries, keys and
# values are all computed from the tokens (by learned matrices, chapter 5), so the model
# learns *what to look for* and *what to offer*. For a whole sequence, the scores of every
# query against every key form one matrix product: $S = Q K^\top$, of shape $(T_q, T_k)$.

# %% [markdown]
# ## 2. Why divide by $\sqrt{D}$
#
# Scaled dot-product attention is
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{D}}\right) V,$$
#
# with $D$ the length of a query or key vector. Why the $\sqrt D$? If the entries of $q$ and $k$
# are independent with mean 0 and variance 1, then $q \cdot k = \sum_{d=1}^{D} q_d k_d$ is a sum
# of $D$ independent terms of variance 1, so it has variance $D$ and standard deviation
# $\sqrt D$. With $D = 1024$, typical scores are around $\pm 32$: the softmax of such numbers puts
# almost all weight on the largest one, and a saturated softmax has tiny gradients (its
# Jacobian is $\mathrm{diag}(p) - p p^\top$, which vanishes as $p$ becomes one-hot). Dividing by
# $\sqrt D$ brings the scores back to variance 1 for every $D$, so the model starts training
# with soft, informative attention whatever its width.
#
# Measured over many random queries against 16 keys each: the spread of the scores, the
# average largest weight, and the average size of the gradient that reaches the scores.

# %%
n_queries, n_keys = (300 if SMALL else 3000), 16
print("    D   scaling   std(score)   mean max weight   mean |d loss / d score|")
for D in [4, 64, 1024]:
    q = rng.standard_normal((n_queries, 1, D))
    k = rng.standard_normal((n_queries, n_keys, D))
    raw = (q @ k.transpose(0, 2, 1))[:, 0]  # (N, 1, D) @ (N, D, 16) -> (N, 1, 16) -> (N, 16)
    for name, scores in [("none", raw), ("1/sqrt(D)", raw / math.sqrt(D))]:
        s = tg.tensor(scores, requires_grad=True)
        probs = F.softmax(s, axis=-1)
        probs.backward(rng.standard_normal(probs.shape))  # a random upstream gradient
        print(f"{D:5d}   {name:9}   {scores.std():10.2f}   {probs.numpy().max(axis=-1).mean():15.3f}"
              f"   {np.abs(s.grad).mean():23.4f}")
        if name == "none":
            unscaled_std = scores.std()
assert abs(unscaled_std / math.sqrt(1024) - 1) < 0.1  # the last D: std of raw scores ~ sqrt(D)

# %% [markdown]
# Without scaling the scores spread like $\sqrt D$, the softmax saturates and the gradient
# shrinks by an order of magnitude between $D = 4$ and $D = 1024$. With scaling all three rows
# look alike. `F.scaled_dot_product_attention` uses `scale = 1 / sqrt(D)` unless told
# otherwise.

# %% [markdown]
# ## 3. Softmax and the max-subtraction trick
#
# Written as its definition, $e^{s_j} / \sum_i e^{s_i}$, softmax overflows: in float32, $e^{x}$ is
# infinite for $x > 88.7$, and $\infty / \infty$ is NaN. Logits of $10^4$ are not exotic; a model
# that has become confident, or a bug one layer earlier, produces them. The fix costs nothing:
# softmax does not change when the same constant is subtracted from every score,
#
# $$\frac{e^{s_j - m}}{\sum_i e^{s_i - m}} = \frac{e^{-m} e^{s_j}}{e^{-m} \sum_i e^{s_i}} = \frac{e^{s_j}}{\sum_i e^{s_i}},$$
#
# so we take $m = \max_i s_i$. Then every exponent is $\le 0$ (no overflow), and the largest is
# exactly $e^0 = 1$, so the sum is at least 1 (no division by zero, no log of zero).

# %%
logits = tg.tensor([1e4, 0.0, -1e4])  # float32
with np.errstate(over="ignore", invalid="ignore"):
    naive = logits.exp() / logits.exp().sum()
stable = F.softmax(logits, axis=-1)
print("naive  exp(x) / sum exp(x):", naive.numpy())
print("stable F.softmax          :", stable.numpy())
assert np.isnan(naive.numpy()).any() and np.array_equal(stable.numpy(), [1.0, 0.0, 0.0])

# %% [markdown]
# The readable derivation, `F.composed.softmax`, is four lines of primitives:

# %%
print(inspect.getsource(F.composed.softmax))

# %% [markdown]
# ## 4. Masks: causal and padding
#
# Not every query may look at every key.
#
# - **Causal.** A language model predicts token $t + 1$ from tokens $0..t$. If position $t$ could
#   attend to position $t + 1$ during training, it would simply copy the answer. So query $i$
#   may see only keys $j \le i$: the allowed pattern is lower-triangular.
# - **Padding.** Sequences in a batch have different lengths and are padded to the same $T$.
#   Padding tokens are not real, so no query may attend to them.
#
# `F.scaled_dot_product_attention` takes a **boolean** `mask`, True where a query *may* attend,
# broadcastable to the scores' shape $(B, H, T_q, T_k)$, and `causal=True` for the triangle. A
# padding mask is naturally $(B, T_k)$: reshaped to $(B, 1, 1, T_k)$ it broadcasts over heads and
# queries (chapter 3, section 3). Causal masks are aligned to the bottom-right: query $i$ sees keys
# $j \le i + (T_k - T_q)$, so a single new query at the end (text generation) sees every key.

# %%
T = 5
lengths = [5, 3]  # two sequences, right-padded to T = 5
real = np.arange(T)[None, :] < np.array(lengths)[:, None]  # (B, T): True on real tokens
padding_mask = real[:, None, None, :]  # (B, T) -> (B, 1, 1, T): broadcasts over H and Tq
causal = np.tril(np.ones((T, T), dtype=bool))  # (Tq, Tk), what causal=True uses when Tq = Tk
allowed = causal & padding_mask  # (T, T) & (B, 1, 1, T) -> (B, 1, T, T)
print("sequence 1 (length 3), causal and padding together (rows: queries, columns: keys):")
print(allowed[1, 0].astype(int))

# %% [markdown]
# **A porting trap: which corner the triangle starts in.** With as many queries as keys there
# is only one causal triangle. With fewer queries than keys there are two, and libraries
# disagree. PyTorch's `scaled_dot_product_attention(..., is_causal=True)` aligns it to the
# **top-left**: query $i$ sees keys $j \le i$ whatever $T_k$ is (`torch.tril(ones(Tq, Tk))`;
# PyTorch offers the other one as `torch.nn.attention.bias.causal_lower_right`). Ours is aligned
# to the **bottom-right**: the last query sees the last key, as it must when the queries are the
# newest $T_q$ tokens of a sequence whose $T_k$ keys include the earlier ones (generation with a
# KV cache, chapter 8). A port that passes its tests on square inputs then goes wrong only in
# generation. To see the pattern a `causal=True` call uses, give it queries and keys of zeros
# (every allowed key scores the same) and the identity matrix as values: each output row is then
# exactly that query's row of attention weights.

# %%
Tq, Tk = 2, 4
flat_q, flat_k, identity = tg.zeros((Tq, 3)), tg.zeros((Tk, 3)), tg.tensor(np.eye(Tk, dtype=np.float32))
ours = F.scaled_dot_product_attention(flat_q, flat_k, identity, causal=True)  # (Tq, Tk): the weights
top_left = np.tril(np.ones((Tq, Tk), dtype=bool))  # PyTorch's is_causal=True
bottom_right = np.tril(np.ones((Tq, Tk), dtype=bool), k=Tk - Tq)  # ours
print("our causal=True, Tq = 2, Tk = 4, weights:\n", ours.numpy())
print("PyTorch's is_causal=True allows:\n", top_left.astype(int))
assert np.array_equal(ours.numpy() > 0, bottom_right) and not np.array_equal(bottom_right, top_left)
as_pytorch = F.scaled_dot_product_attention(flat_q, flat_k, identity, mask=top_left)
assert np.array_equal(as_pytorch.numpy() > 0, top_left)  # to port PyTorch code, pass its triangle as mask=

# %% [markdown]
# So: porting a PyTorch model that calls `is_causal=True` with $T_q \ne T_k$, pass
# `mask=np.tril(np.ones((Tq, Tk), bool))` instead of `causal=True`; porting ours to PyTorch, pass
# `attn_mask=torch.tril(torch.ones(Tq, Tk, dtype=torch.bool), diagonal=Tk - Tq)`.

# %% [markdown]
# Inside attention, a disallowed score becomes $-\infty$ before the softmax, so that $e^{-\infty} = 0$
# gives it exactly zero weight. Many implementations add a large finite number instead,
# $-10^4$ or $-10^9$. That is *almost* the same, and the difference is a leak.
#
# A finite mask is just another number added to the score, and a model can outbid it. Below,
# query 0 may see only key 0; key 1 is in its future. As training sharpens the model its
# scores grow; once the future key's score is $10^4$ higher, a $-10^4$ mask no longer hides
# it, and the output at position 0 starts to depend on the future value. With $-\infty$ no
# score, however large, can make up the difference.


# %%
def attention_with_finite_mask(q, k, v, allowed, fill=-1e4):
    """The common shortcut, shown here to be wrong: add ``fill`` (not -inf) where not allowed."""
    scores = (q @ k.swapaxes(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))  # (Tq, D) @ (D, Tk) -> (Tq, Tk)
    additive = tg.tensor(np.where(allowed, 0.0, fill).astype(scores.dtype))
    return F.softmax(scores + additive, axis=-1) @ v  # (Tq, Tk) @ (Tk, Dv) -> (Tq, Dv)


k_demo = tg.tensor([[1.0, 0.0], [0.0, 1.0]])  # key 0, key 1 (D = 2)
v_demo = tg.tensor([[1.0, 0.0], [0.0, 1.0]])  # value 0 says "past", value 1 says "future"
only_past = np.array([[True, False]])  # query 0 may see key 0 only
for sharpness in [10.0, 1e4, 2e4]:
    q_demo = tg.tensor([[0.0, sharpness * math.sqrt(2)]])  # a query that scores the future key at `sharpness`
    finite = attention_with_finite_mask(q_demo, k_demo, v_demo, only_past)
    exact = F.scaled_dot_product_attention(q_demo, k_demo, v_demo, mask=only_past)
    print(f"future score {sharpness:>7g}: -1e4 mask -> {finite.numpy()[0]}   -inf mask -> {exact.numpy()[0]}")
assert finite.numpy()[0, 1] == 1.0 and exact.numpy()[0, 1] == 0.0

# %% [markdown]
# At future score $2 \cdot 10^4$ the $-10^4$ mask hands query 0 the future value entirely.
#
# **Replacing a score versus adding to it.** The leak comes from *adding*: an additive mask
# leaves the masked score at $s + \text{fill}$, which still grows with $s$, so a large enough
# $s$ outbids any finite fill. A mask that *replaces* the score, `scores.masked_fill(~allowed,
# fill)` (or `np.where(allowed, scores, fill)`), leaves it at `fill` whatever $s$ was: the masked
# entry no longer depends on $s$ at all, so no score can outbid it (and its gradient with respect
# to $s$ is exactly zero). With $-\infty$ the two agree, because $s + (-\infty) = -\infty$ for every
# finite $s$. The library takes only boolean masks and replaces each disallowed score by
# $-\infty$, safe either way. Here are the three on the scores of the example above, key 1
# masked:

# %%
scores = tg.tensor([[0.0, 2e4]])  # (Tq=1, Tk=2): the masked future key has the larger score
hidden = tg.tensor([[False, True]])  # True where the mask applies
additive_finite = scores + tg.tensor([[0.0, -1e4]])  # s + fill: 2e4 - 1e4 = 1e4 still wins
replaced_finite = scores.masked_fill(hidden, -1e4)  # fill, whatever s was
replaced_infinite = scores.masked_fill(hidden, -math.inf)  # what the library does
for name, masked in [("add -1e4", additive_finite), ("replace by -1e4", replaced_finite),
                     ("replace by -inf", replaced_infinite)]:
    print(f"{name:16s}: masked scores {masked.numpy()[0]}   weights {F.softmax(masked, axis=-1).numpy()[0]}")
assert F.softmax(additive_finite, axis=-1).numpy()[0, 1] == 1.0
assert F.softmax(replaced_finite, axis=-1).numpy()[0, 1] == 0.0 == F.softmax(replaced_infinite, axis=-1).numpy()[0, 1]

# %% [markdown]
# Replacing by a finite number is safe against outbidding but not against the next problem:
# in a row where *every* key is masked, every score is replaced by the same $-10^4$, and the
# softmax of equal numbers is uniform.
#
# **A fully masked row.** Sometimes a query may see no key at all: with *left* padding and a
# causal mask, the padding positions at the start see only padding. Then every score in the
# row is $-\infty$, the maximum is $-\infty$, and the textbook softmax computes
# $e^{-\infty - (-\infty)} = e^{\mathrm{NaN}}$, or $0/0$: NaN, which then spreads to every
# gradient in the model. A finite mask is worse in a quieter way: $\mathrm{softmax}(s - 10^4) =
# \mathrm{softmax}(s)$, so a fully masked row attends **exactly as if there were no mask**, to
# every padding token and future token alike.
#
# The library's rule: a fully masked row's exp-sum is 0, and it is divided by 1 instead, so the
# row's output is **zeros** and it passes back **zero gradients**, never NaN.

# %%
T = 4
q = tg.tensor(rng.standard_normal((1, 1, T, 2)), requires_grad=True)  # (B, H, T, D)
k = tg.tensor(rng.standard_normal((1, 1, T, 2)), requires_grad=True)
v = tg.tensor(rng.standard_normal((1, 1, T, 2)), requires_grad=True)
left_padded = np.array([False, True, True, True])  # token 0 is padding
mask = left_padded[None, None, None, :]  # (T,) -> (1, 1, 1, T)
out = F.scaled_dot_product_attention(q, k, v, mask=mask, causal=True)  # query 0 sees only key 0: masked
out.backward(rng.standard_normal(out.shape))
print("output row of the padding query:", out.numpy()[0, 0, 0], "  its q gradient:", q.grad[0, 0, 0])
q0, k0, v0 = q.detach()[0, 0], k.detach()[0, 0], v.detach()[0, 0]  # (1, 1, T, 2) -> (T, 2)
finite = attention_with_finite_mask(q0, k0, v0, causal[:T, :T] & left_padded)  # float64 scores
unmasked = F.scaled_dot_product_attention(q0, k0, v0)
print("the same row with a -1e4 mask   :", finite.numpy()[0], "= with no mask at all:", unmasked.numpy()[0])
assert np.all(out.numpy()[0, 0, 0] == 0) and np.all(q.grad[0, 0, 0] == 0) and np.isfinite(k.grad).all()
assert np.allclose(finite.numpy()[0], unmasked.numpy()[0], rtol=0, atol=1e-9)

# %% [markdown]
# ## 5. A picture: attention over a sentence
#
# Attention weights form a $(T_q, T_k)$ table, and a table is easier to look at than to read.
# Here is one over a real sentence, with queries and keys built by hand so that we know what
# the picture should show. Each word becomes a vector that counts its letter pairs (with `^`
# and `$` marking the word's start and end: "cat" is `^c`, `ca`, `at`, `t$`), scaled to length 1,
# so the dot product of two words is 1 for the same word and larger the more letter pairs
# they share. Every word is a key; as a query it is the same vector times 5 (a sharpness, as in
# section 1). The mask lets each word look only at the words *before* it, not at itself, so
# this head answers: "where did a word like me occur earlier?" (trained models grow heads that
# do this, and use them to copy what followed the earlier occurrence). With the identity matrix
# as the values, the output is the table of weights itself.

# %%
sentence = "the cat sat on the mat and then the dog sat on the cat"
words = sentence.split(" ")


def letter_pairs(word):
    marked = f"^{word}$"
    return [marked[i:i + 2] for i in range(len(marked) - 1)]


pairs = sorted({pair for word in words for pair in letter_pairs(word)})
counts = np.array([[letter_pairs(word).count(pair) for pair in pairs] for word in words], dtype=np.float32)
unit = tg.tensor(counts / np.linalg.norm(counts, axis=1, keepdims=True))  # (T, number of letter pairs)
T = len(words)
earlier_only = np.tril(np.ones((T, T), dtype=bool), k=-1)  # (Tq, Tk): key j < query i
sentence_weights = F.scaled_dot_product_attention(unit * 5.0, unit, tg.tensor(np.eye(T, dtype=np.float32)),
                                                  mask=earlier_only, scale=1.0).numpy()  # (T, T): the weights

fig, ax = plt.subplots(figsize=(6.5, 5.5))
image = ax.imshow(sentence_weights, cmap="Blues", vmin=0, vmax=1)
ax.set_xticks(range(T), [f"{j} {w}" for j, w in enumerate(words)], rotation=90)
ax.set_yticks(range(T), [f"{i} {w}" for i, w in enumerate(words)])
ax.set_xlabel("key: an earlier word")
ax.set_ylabel("query: the word looking back")
ax.set_title("where did a word like me occur before?")
fig.colorbar(image, ax=ax, label="attention weight")
fig.tight_layout()
fig.savefig(FIGURES / "04_attention_heatmap.png", dpi=120)
plt.close(fig)
for i in (5, 9, 13):
    top = np.argsort(-sentence_weights[i])[:2]
    print(f"{i:2d} {words[i]:4s} -> " + ", ".join(f"{j} {words[j]} ({sentence_weights[i, j]:.2f})" for j in top))

# %% [markdown]
# What the picture shows (`tutorials/figures/04_attention_heatmap.png`): everything on and above
# the diagonal is white, because the mask allows only earlier words. Row 0 is white too: the
# first word has no earlier word, its row is fully masked, and by the library's rule its
# weights, like its output, are zeros. A word that occurred before lights up its earlier
# occurrences: the second "sat" looks at the first, "on" at "on", and the last "cat" at word 1,
# "cat", with a little weight on "sat" and "mat", which share `at` and `t$`. Equal keys share the
# weight equally: word 8, "the", splits it between the two "the"s before it, and "then" does the
# same because it starts like "the". "mat" had no exact match yet, so it divides its weight
# between "cat" and "sat"; "dog" and "and" share no letter pair with anything before them and
# spread their weight evenly, the plain average of section 1. Row 1 is the lesson in the
# picture: "cat" gives *all* its weight to "the", with which it shares nothing, because it is the
# only word it may see. Softmax weights always sum to 1, so attention cannot answer "nothing
# here"; a model that needs to must learn to park the weight somewhere harmless.

# %%
assert not sentence_weights[~earlier_only].any()  # nothing on or above the diagonal, row 0 all zeros
assert sentence_weights[13, 1] > 0.5 and sentence_weights[10, 2] > 0.5  # "cat" -> "cat", "sat" -> "sat"
assert np.allclose(sentence_weights[9, :9], 1 / 9)  # "dog" matches nothing: a uniform average

# %% [markdown]
# ## 6. Multiple heads are reshapes
#
# One attention pattern per position is limiting: a token may need its subject for agreement
# and the previous word for an idiom, at the same time. *Multi-head* attention runs $H$
# attentions side by side, each on its own $D = C / H$ channels of the model's width $C$. No new
# operation is needed: we reshape the channels into $H$ groups and move the head axis next to
# the batch axis, so that the heads look like more batch entries to
# `scaled_dot_product_attention` (whose batch axes are everything before the last two).
#
# The learned projections that make $q$, $k$, $v$ from the tokens come in chapter 5; here we
# use random ones.

# %%
B, T, C, H = 2, 5, 8, 2
D = C // H
x = tg.tensor(rng.standard_normal((B, T, C)))
w_q, w_k, w_v = (tg.tensor(rng.standard_normal((C, C)) / math.sqrt(C)) for _ in range(3))


def split_heads(t):
    return t.reshape(B, T, H, D).permute(0, 2, 1, 3)  # (B, T, C) -> (B, T, H, D) -> (B, H, T, D)


q, k, v = split_heads(x @ w_q), split_heads(x @ w_k), split_heads(x @ w_v)  # (B, T, C) @ (C, C) -> (B, H, T, D)
heads = F.scaled_dot_product_attention(q, k, v, causal=True)  # (B, H, T, D), scores (B, H, T, T)
merged = heads.permute(0, 2, 1, 3).reshape(B, T, C)  # (B, H, T, D) -> (B, T, H, D) -> (B, T, C)
print("x", x.shape, "-> q", q.shape, "-> heads", heads.shape, "-> merged", merged.shape)

# Head 1 is ordinary single-head attention on channels D..2D of the projections:
head_1 = F.scaled_dot_product_attention((x @ w_q)[..., D:], (x @ w_k)[..., D:], (x @ w_v)[..., D:], causal=True)
check_close(merged[..., D:], head_1.numpy(), name="head 1")

# %% [markdown]
# The heads do not interact inside attention at all; they are mixed afterwards by one more
# learned matrix (the output projection), in chapter 5.

# %% [markdown]
# ## 7. Fused and composed
#
# The library has attention twice. `F.composed.scaled_dot_product_attention` is the formula
# written with primitives: a matmul, a scale, a masked fill, the softmax steps and a matmul.
# Its gradient comes for free from those primitives' backward passes. Read it:

# %%
print(inspect.getsource(F.composed.scaled_dot_product_attention))

# %% [markdown]
# `F.scaled_dot_product_attention` (the one `F` exports) is **fused**: a single `Function`
# whose forward and backward call two *kernels*, `attention_fwd` and `attention_bwd`, looked up
# by name in the active backend's kernel table. The reference table is plain NumPy; other
# backends (Numba, CuPy) fill the same names with faster code, and the fused op does not
# change. Fusing shrinks the graph and what it saves: the forward keeps only the inputs, the
# output and one log-sum-exp per row, and the backward recomputes the probabilities from them
# (the trick FlashAttention is built on). `tg.graph_text` prints the graph behind a tensor,
# one line per node with its op, shape and dtype: the fused output hangs from one node, the
# composed one from ten, each of which saves arrays for its backward.

# %%
print(f"active backend: {active_backend()!r}; kernels: {', '.join(KERNEL_NAMES)}")
print(get_kernel("attention_bwd").__doc__)
q, k, v = (tg.tensor(rng.standard_normal((1, 2, 5, 4)), requires_grad=True) for _ in range(3))
fused_out = F.scaled_dot_product_attention(q, k, v, causal=True)
composed_out = F.composed.scaled_dot_product_attention(q, k, v, causal=True)
fused_graph = tg.graph_text(fused_out, names={"q": q, "k": k, "v": v, "out": fused_out})
composed_graph = tg.graph_text(composed_out, names={"q": q, "k": k, "v": v, "out": composed_out})
print("fused:\n" + fused_graph)
print("composed:\n" + composed_graph)
assert fused_graph.splitlines()[0].startswith("[0] out = Attention") and len(fused_graph.splitlines()) == 4

# %% [markdown]
# ## 8. The check
#
# This chapter claimed three things, and we test each in float64:
#
# 1. the fused attention computes the same function as the composed derivation, in value and
#    in gradient (with a random upstream gradient), on a causal, padded, multi-head example;
# 2. causal attention is causal: changing the keys and values after position $t$ leaves the
#    outputs at positions $0..t$ exactly unchanged, and sends them no gradient;
# 3. the gradient of attention is right, by `gradcheck` against finite differences.

# %%
B, H, T, D = 2, 2, 5, 3
shape = (B, H, T, D)
q_np, k_np, v_np = (rng.standard_normal(shape) for _ in range(3))
padding_mask = (np.arange(T)[None, :] < np.array([[5], [3]]))[:, None, None, :]  # (B, T) -> (B, 1, 1, T)
upstream = rng.standard_normal(shape)

results = {}
for name, attention in [("fused", F.scaled_dot_product_attention), ("composed", F.composed.scaled_dot_product_attention)]:
    q, k, v = (tg.tensor(a, requires_grad=True) for a in (q_np, k_np, v_np))
    out = attention(q, k, v, mask=padding_mask, causal=True)  # (B, H, T, D)
    out.backward(upstream)
    results[name] = [out.numpy(), q.grad, k.grad, v.grad]
for label, fused, composed in zip(["output", "dq", "dk", "dv"], results["fused"], results["composed"]):
    check_close(fused, composed, name=f"fused vs composed {label}")
print("1. fused == composed in value and gradient (float64)")

q, k, v = (tg.tensor(a) for a in (q_np, k_np, v_np))
reference = F.scaled_dot_product_attention(q, k, v, causal=True).numpy()
for t in range(T):
    k_changed, v_changed = k_np.copy(), v_np.copy()
    k_changed[..., t + 1:, :] = rng.standard_normal(k_changed[..., t + 1:, :].shape) * 10
    v_changed[..., t + 1:, :] = rng.standard_normal(v_changed[..., t + 1:, :].shape) * 10
    k_t, v_t = tg.tensor(k_changed, requires_grad=True), tg.tensor(v_changed, requires_grad=True)
    out = F.scaled_dot_product_attention(q, k_t, v_t, causal=True)
    assert np.array_equal(out.numpy()[..., : t + 1, :], reference[..., : t + 1, :]), t
    out[..., : t + 1, :].sum().backward()  # loss that reads only positions 0..t
    assert not k_t.grad[..., t + 1:, :].any() and not v_t.grad[..., t + 1:, :].any(), t
print("2. outputs at 0..t ignore keys and values after t, and send them no gradient")


def masked_causal_attention(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, mask=padding_mask, causal=True)


assert gradcheck(masked_causal_attention, q_np, k_np, v_np)
assert gradcheck(masked_causal_attention, q_np[:, :, :2], k_np, v_np)  # Tq = 2 < Tk = 5: bottom-right causal
print("3. gradcheck of attention (causal + padding, Tq = Tk and Tq < Tk) passed; chapter 4 checks passed")

# %% [markdown]
# ## What we left out
#
# Attention here took $q$, $k$ and $v$ as given. In a Transformer they are made from the
# tokens by learned linear maps, and the heads are mixed by a learned output map; that layer,
# `tinygrad_lm.nn.MultiHeadAttention`, sits inside the Transformer block of chapter 5, next to
# layer normalisation, an MLP and residual connections. Two more pieces come later: dropout on
# the attention weights (the `dropout_p` and `rng` arguments; chapter 5 explains dropout), and
# the KV cache of chapter 8, which keeps the keys and values of a growing sequence so that
# generating each new token costs one query, not a whole new attention matrix.

# %% [markdown]
# ## Exercises
#
# Three exercises wait in `tutorials/exercises/ch04.py`. Edit that file, then check your answers
# from the repository root with `pytest tutorials/exercises -k ch04`. Reference solutions are in
# `tutorials/solutions/ch04.py`.
#
# 1. **`causal_mask`**: the boolean causal mask for $T_q$ queries and $T_k$ keys, aligned
#    bottom-right as `causal=True` is.
# 2. **`attention`**: scaled dot-product attention from Tensor primitives, with a `-inf` mask and
#    fully masked rows that give zeros, not NaN. It must equal `F.scaled_dot_product_attention`
#    in value and gradient on random shapes and masks, and a masked key must not be outbid.
# 3. **`self_attention_heads`**: section 6's reshapes for packed $[q \mid k \mid v]$: split,
#    attend per head, merge; equal to `F.self_attention`.
