"""Chapter 5 of the tinygrad_lm book: the Transformer block, from layer norm to a trained toy.

Teaches layer normalisation (biased variance, eps inside the square root), GELU (exact and
tanh, and the one point where its slope is zero), the position-wise MLP, dropout, residual
connections, pre-LN versus post-LN, how to count a block's parameters, and a block's forward
pass written out with shapes, using `tinygrad_lm.nn` (LayerNorm, Linear, MLP,
MultiHeadAttention, TransformerBlock). It ends by checking shapes, the parameter-count formula,
a float64 gradcheck of the block, and a loss that falls when one block learns a toy task.
Run it from the repository root with `python tutorials/05_the_transformer_block.py`, or open it
as a notebook with jupytext. TINYGRAD_LM_TUTORIAL_SMALL=1 trains for fewer steps.
Left for later chapters: stacking blocks into a GPT, the final layer norm and tied output
head (chapter 7), and the KV cache (chapter 8).
"""

# %%
import inspect
import math
import os

import numpy as np

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm import nn
from tinygrad_lm.optim import Adam
from tinygrad_lm.testing import check_close, gradcheck

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
rng = np.random.default_rng(0)

# %% [markdown]
# # Chapter 5 — The Transformer block
#
# A GPT is a stack of identical *blocks*. Each block does two things to the sequence of vectors
# it receives, shape $(B, T, C)$ (batch, time, channels):
#
# 1. **communicate**: multi-head self-attention (chapter 4) lets each position gather
#    information from earlier positions;
# 2. **compute**: an MLP transforms each position on its own, the same way at every position.
#
# Each of the two is wrapped in a *residual connection* and a *layer normalisation*. In the
# layout GPT-2 uses ("pre-LN"):
#
# $$x \leftarrow x + \mathrm{Attention}(\mathrm{LN}_1(x)), \qquad x \leftarrow x + \mathrm{MLP}(\mathrm{LN}_2(x)).$$
#
# The block maps $(B, T, C)$ to $(B, T, C)$, which is what makes blocks stackable. This chapter
# takes the pieces one at a time, then puts them together.

# %% [markdown]
# ## 1. Layer normalisation
#
# Layer norm (Ba, Kiros & Hinton 2016) standardises each position's vector across its $C$
# channels, then lets the model rescale and shift it with learned $\gamma$ (`weight`) and
# $\beta$ (`bias`), each of shape $(C,)$:
#
# $$\mu = \frac1C \sum_{c} x_c, \qquad \sigma^2 = \frac1C \sum_c (x_c - \mu)^2, \qquad
#   y_c = \frac{x_c - \mu}{\sqrt{\sigma^2 + \varepsilon}}\, \gamma_c + \beta_c.$$
#
# Two details are easy to get wrong when porting a model, and both change the numbers:
#
# - the variance is the **biased** one, divided by $C$, not $C - 1$ (NumPy's `ddof=0`);
# - $\varepsilon$ (default $10^{-5}$) sits **inside** the square root. It keeps a constant row
#   ($\sigma^2 = 0$) finite, giving $y = \beta$ instead of $0/0$.
#
# Unlike batch normalisation, nothing is averaged over the batch, so a position's output does
# not depend on what else is in the batch, and training and inference compute the same thing.

# %%
C = 8
x = tg.tensor(rng.standard_normal((2, 3, C)) * 5 + 3)  # (B, T, C) float64, far from mean 0 / var 1
mu = x.numpy().mean(axis=-1, keepdims=True)  # (B, T, C) -> (B, T, 1)
candidates = {
    "biased var, eps inside sqrt (the rule)": (x.numpy() - mu) / np.sqrt(x.numpy().var(axis=-1, keepdims=True) + 1e-5),
    "unbiased var (ddof=1)": (x.numpy() - mu) / np.sqrt(x.numpy().var(axis=-1, ddof=1, keepdims=True) + 1e-5),
    "eps outside the sqrt": (x.numpy() - mu) / (np.sqrt(x.numpy().var(axis=-1, keepdims=True)) + 1e-5),
}
y = F.layer_norm(x, eps=1e-5)  # no weight/bias: gamma = 1, beta = 0
for name, by_hand in candidates.items():
    print(f"{name:40s} max |F.layer_norm - by hand| = {np.abs(y.numpy() - by_hand).max():.1e}")
check_close(y, candidates["biased var, eps inside sqrt (the rule)"])
print(f"largest |per-row mean|: {np.abs(y.numpy().mean(axis=-1)).max():.1e}   per-row biased variances: {y.numpy().var(axis=-1)[0]}")
constant_row = F.layer_norm(tg.tensor(np.full((1, C), 7.0)))
print("a constant row normalises to:", constant_row.numpy()[0, :4], "... (no NaN)")

# %% [markdown]
# `nn.LayerNorm(C)` is the layer: it owns $\gamma = 1$ and $\beta = 0$ as Parameters and calls
# `F.layer_norm`. Its output's per-row mean is 0 and its biased variance just under 1 (the
# $\varepsilon$ takes a little).
#
# One consequence worth knowing: layer norm's output does not change if a whole row is shifted
# by a constant, so the gradient it sends back to each row **sums to zero**: no gradient
# signal can move a row's mean.

# %%
layer_norm = nn.LayerNorm(C, dtype="float64")
x = tg.tensor(rng.standard_normal((4, C)), requires_grad=True)
layer_norm(x).backward(rng.standard_normal((4, C)))
print("row sums of d loss / d x:", x.grad.sum(axis=-1))
assert np.allclose(x.grad.sum(axis=-1), 0, atol=1e-12)

# %% [markdown]
# ## 2. GELU
#
# The nonlinearity of the MLP is the Gaussian Error Linear Unit (Hendrycks & Gimpel 2016):
#
# $$\mathrm{GELU}(x) = x\, \Phi(x) = \tfrac12 x \left(1 + \mathrm{erf}(x / \sqrt2)\right),$$
#
# the input times the probability that a standard normal variable is below it. It is a
# smooth ReLU: close to $x$ for large $x$, close to 0 for very negative $x$, and slightly negative
# in between (its minimum is about $-0.17$ at $x \approx -0.75$). Its slope,
#
# $$\mathrm{GELU}'(x) = \Phi(x) + x\, \varphi(x), \qquad \varphi(x) = e^{-x^2/2} / \sqrt{2\pi},$$
#
# is zero at exactly one point, that minimum, negative to its left, and tends to zero (like a
# Gaussian) as $x \to -\infty$. A ReLU's slope is zero on the whole half-line $x < 0$, so a ReLU
# unit whose inputs are all negative receives no gradient and never recovers ("dies"). A GELU
# unit's gradient is exactly zero only at that one point, and for inputs down to about $-3$
# it is still of a usable size, so a unit pushed slightly negative can come back; far below
# that it is as dead as a ReLU for all practical purposes.
#
# GPT-2 used a tanh approximation, once cheaper than `erf`:
# $\tfrac12 x\left(1 + \tanh\!\left(\sqrt{2/\pi}\,(x + 0.044715 x^3)\right)\right)$. The two differ
# by less than $5 \cdot 10^{-4}$, but a checkpoint trained with one should be run with the same
# one. `F.gelu(x, approximate="none" | "tanh")` has both; `nn.MLP(activation=...)` chooses.

# %%
grid = tg.tensor(np.linspace(-4, 4, 8001))
exact, approx = F.gelu(grid).numpy(), F.gelu(grid, approximate="tanh").numpy()
for value in [-3.0, -0.75, 0.0, 1.0, 3.0]:
    i = int(np.argmin(np.abs(grid.numpy() - value)))
    print(f"x = {value:+.2f}: relu {max(value, 0.0):+.4f}   gelu {exact[i]:+.4f}   gelu (tanh) {approx[i]:+.4f}")
print(f"max |exact - tanh| on [-4, 4]: {np.abs(exact - approx).max():.1e}; minimum of gelu: {exact.min():.4f}")
assert np.abs(exact - approx).max() < 5e-4

# %% [markdown]
# Where exactly is the slope zero? Ask the library: backward through `F.gelu` gives the slope at
# every point of a grid at once, the sign change brackets the root, and bisection narrows it.


# %%
def gelu_slope(points):
    """GELU'(x) at each point, by backpropagation through F.gelu (float64)."""
    x = tg.tensor(np.asarray(points, dtype=np.float64), requires_grad=True)
    F.gelu(x).backward(np.ones(x.shape))
    return x.grad


slopes = gelu_slope(grid.numpy())
(sign_change,) = np.flatnonzero(np.diff(np.sign(slopes)))  # exactly one, on [-4, 4]
low, high = grid.numpy()[sign_change], grid.numpy()[sign_change + 1]
for _ in range(50):
    middle = (low + high) / 2
    low, high = (middle, high) if gelu_slope([middle])[0] < 0 else (low, middle)
root = (low + high) / 2
print(f"GELU'(x) = 0 at x = {root:.6f}, where GELU(x) = {F.gelu(tg.tensor(np.array([root]))).numpy()[0]:.6f}")
print("slope at x = -3, -6, -10:", gelu_slope([-3.0, -6.0, -10.0]))
assert abs(root + 0.7518) < 1e-4 and abs(gelu_slope([root])[0]) < 1e-12

# %% [markdown]
# ## 3. The MLP
#
# The *position-wise feed-forward network* (Vaswani et al. 2017, eq. 2) is two linear layers
# with a GELU between them, widening to a hidden size of $4C$ and coming back:
#
# $$\mathrm{MLP}(x) = \mathrm{GELU}(x W_1^\top + b_1)\, W_2^\top + b_2, \qquad
#   (B, T, C) \to (B, T, 4C) \to (B, T, C).$$
#
# `nn.Linear` stores $W$ as (out, in), PyTorch's layout, so pretrained weights load as they
# are. "Position-wise" means the same weights act on every position separately: no
# information moves between positions here; that is attention's job. We can see it: the MLP of
# a whole sequence equals the MLP of each position on its own.
#
# Its parameters: $W_1$ has $4C \cdot C$, $b_1$ has $4C$, $W_2$ has $C \cdot 4C$, $b_2$ has $C$, so
# $8C^2 + 5C$ in all. Most of a Transformer's parameters live in its MLPs.

# %%
mlp = nn.MLP(C, rng=0)  # fc: C -> 4C, proj: 4C -> C
x = tg.tensor(rng.standard_normal((2, 5, C)).astype(np.float32))
whole = mlp(x)  # (2, 5, C) -> (2, 5, 4C) -> (2, 5, C)
one_by_one = np.stack([mlp(x[:, t]).numpy() for t in range(5)], axis=1)  # 5 x (2, C) -> (2, 5, C)
check_close(whole, one_by_one, name="MLP is position-wise")
print(mlp)
print("MLP parameters:", mlp.num_parameters(), " 8C^2 + 5C =", 8 * C**2 + 5 * C)

# %% [markdown]
# The `(drop): Dropout(p=0.0)` line is *dropout* (Srivastava et al. 2014), the regulariser
# every layer of the block takes as `dropout=p`. While training, it sets each number to zero
# with probability $p$ and multiplies the survivors by $1/(1-p)$, so that the expected value
# of every output is unchanged; in evaluation (`module.eval()`, or `training=False`) it is the
# identity. A unit therefore cannot rely on any one other unit being present, which discourages
# memorising the training set. The block applies it to the attention weights, to the
# attention's output and to the MLP's output; the default $p = 0$ turns it off, as in every
# model of this book (our corpora are small enough and our runs short enough not to overfit).

# %%
ones = tg.ones((100_000,))
dropped = F.dropout(ones, p=0.25, training=True, rng=np.random.default_rng(0))
print(f"p = 0.25: zeroed fraction {(dropped.numpy() == 0).mean():.3f}, survivors = {dropped.numpy().max():.4f} "
      f"(1 / 0.75), mean {dropped.numpy().mean():.3f}; training=False returns x itself: "
      f"{F.dropout(ones, p=0.25, training=False) is ones}")
assert abs(dropped.numpy().mean() - 1) < 0.01

# %% [markdown]
# ## 4. Residual connections
#
# A deep network is a long chain of functions, and by the chain rule the gradient reaching
# the first layer is a product of one Jacobian per layer. A product of many matrices tends to
# shrink towards zero or blow up. A *residual connection* (He et al. 2016) computes
# $x + f(x)$ instead of $f(x)$. Its Jacobian is $I + J_f$: whatever $f$ does, the identity path
# carries the gradient straight through, and the network only has to learn a *correction* to
# its input. Thirty small tanh layers, with and without the `x +`:

# %%
depth, width = 30, 16
layers = [nn.Linear(width, width, rng=i) for i in range(depth)]
for residual in [False, True]:
    x = tg.tensor(rng.standard_normal((4, width)).astype(np.float32), requires_grad=True)
    h = x
    for layer in layers:
        h = h + layer(h).tanh() if residual else layer(h).tanh()
    h.backward(rng.standard_normal(h.shape).astype(np.float32))
    label = "x + tanh(layer(x))" if residual else "tanh(layer(x))    "
    print(f"{label}: mean |d loss / d input| after {depth} layers = {np.abs(x.grad).mean():.2e}")

# %% [markdown]
# Without residuals the gradient at the input has all but vanished; with them it is of order
# one. This is what lets us stack dozens of Transformer blocks.

# %% [markdown]
# ## 5. Pre-LN and post-LN
#
# Where does the layer norm go? The original Transformer (Vaswani et al. 2017) normalises
# *after* adding the residual ("post-LN"); GPT-2 and most models since normalise the input of
# each branch and leave the residual sum alone ("pre-LN"):
#
# | | one sub-layer $f$ (attention or MLP) |
# |---|---|
# | post-LN (`norm_first=False`) | $x \leftarrow \mathrm{LN}(x + f(x))$ |
# | pre-LN (`norm_first=True`, the default) | $x \leftarrow x + f(\mathrm{LN}(x))$ |
#
# In pre-LN the residual stream is never normalised: the output of a stack of blocks is its
# input plus the sum of every branch's output, so there is a clean identity path from the
# last block back to the first (section 4). In post-LN every path passes through a layer
# norm. Xiong et al. (2020) showed that this makes post-LN's gradients near the output large
# at initialisation, which is why post-LN needs a learning-rate warm-up to train at all, and
# pre-LN much less so. The price of pre-LN is visible too: the stream's size grows with
# depth, so GPT-2 adds one final layer norm after the last block (chapter 7). Here is the
# size of the stream, block after block, in both layouts:

# %%
C, H = 16, 2
x0 = tg.tensor(rng.standard_normal((2, 8, C)).astype(np.float32))
for norm_first in [True, False]:
    x = x0
    sizes = []
    for i in range(12):
        x = nn.TransformerBlock(C, H, norm_first=norm_first, rng=i)(x, causal=True)
        sizes.append(float(np.sqrt((x.numpy() ** 2).mean())))
    name = "pre-LN " if norm_first else "post-LN"
    print(f"{name} rms of the stream after blocks 1..12: {np.round(sizes, 2)}")

# %% [markdown]
# Post-LN's output is layer-normalised after every block (rms 1, whatever the depth);
# pre-LN's stream grows as the branches add to it.

# %% [markdown]
# ## 6. Counting parameters
#
# A pre-LN block with width $C$ (with biases, hidden size $4C$, no cross-attention) holds:
#
# | piece | shapes | count |
# |---|---|---|
# | `ln1`, `ln2` | $\gamma, \beta$: $(C,)$ each | $4C$ |
# | `attn.qkv` | $W$: $(3C, C)$, $b$: $(3C,)$ | $3C^2 + 3C$ |
# | `attn.proj` | $W$: $(C, C)$, $b$: $(C,)$ | $C^2 + C$ |
# | `mlp.fc` | $W$: $(4C, C)$, $b$: $(4C,)$ | $4C^2 + 4C$ |
# | `mlp.proj` | $W$: $(C, 4C)$, $b$: $(C,)$ | $4C^2 + C$ |
#
# $$N_\text{block} = 12 C^2 + 13 C.$$
#
# The number of heads does not appear: heads split the $C$ channels, they do not add weights.
# For GPT-2 small, $C = 768$: $12 \cdot 768^2 + 13 \cdot 768 = 7{,}087{,}872$ per block, and twelve
# blocks make 85 million of its 124 million parameters (the rest is mostly the token
# embedding).


# %%
def block_parameters(C):
    """12 C^2 + 13 C: the parameter count of a pre-LN block with biases and a 4C-wide MLP."""
    return 12 * C**2 + 13 * C


block = nn.TransformerBlock(C, H, rng=0)
for name, parameter in block.named_parameters():
    print(f"{name:18s} {parameter.shape!s:10s} {parameter.size:6d}")
print(f"total {block.num_parameters()}  formula 12 C^2 + 13 C = {block_parameters(C)}"
      f"  (GPT-2 small block: {block_parameters(768):,})")

# %% [markdown]
# ## 7. One block's forward pass, written out
#
# Here is everything the block does, spelled out with its own layers and the functional ops,
# one shape change per line. (`TransformerBlock.forward` and `MultiHeadAttention.forward` do
# exactly this, with dropout and options around it; read them in `tinygrad_lm/nn/`. The layer
# runs the split into heads, the attention and the merge as one fused op,
# `F.self_attention(qkv, H, causal=True)`: the same arithmetic as one graph node instead of
# eleven, checked against the lines below.)

# %%
print(inspect.getsource(nn.TransformerBlock.forward))

# %%
B, T, D = 2, 6, C // H
x = tg.tensor(rng.standard_normal((B, T, C)).astype(np.float32))

h = block.ln1(x)  # (B, T, C): each position normalised
q, k, v = block.attn.qkv(h).split(3, axis=-1)  # (B, T, C) -> (B, T, 3C) -> 3 x (B, T, C)
q, k, v = (t.reshape(B, T, H, D).permute(0, 2, 1, 3) for t in (q, k, v))  # (B, T, C) -> (B, H, T, D)
heads = F.scaled_dot_product_attention(q, k, v, causal=True)  # (B, H, T, D), scores (B, H, T, T)
merged = heads.permute(0, 2, 1, 3).reshape(B, T, C)  # (B, H, T, D) -> (B, T, H, D) -> (B, T, C)
x1 = x + block.attn.proj(merged)  # (B, T, C): first residual add
hidden = F.gelu(block.mlp.fc(block.ln2(x1)))  # (B, T, C) -> (B, T, 4C)
out = x1 + block.mlp.proj(hidden)  # (B, T, 4C) -> (B, T, C): second residual add

check_close(F.self_attention(block.attn.qkv(h), H, causal=True), merged.numpy(), name="F.self_attention")
check_close(out, block(x, causal=True).numpy(), name="block forward by hand")
print("by hand == block(x, causal=True):", out.shape)

# %% [markdown]
# ## 8. The check
#
# This chapter claimed four things about the block:
#
# 1. it maps $(B, T, C)$ to $(B, T, C)$, for any batch and length;
# 2. it has $12C^2 + 13C$ parameters;
# 3. its backward pass is right: a float64 `gradcheck` with respect to its input (through both
#    layer norms, attention, GELU and both residuals), and with respect to a weight, using
#    `nn.functional_call` to run the block with that weight swapped for the checked tensor;
# 4. it can learn: a few optimisation steps on a toy task make the loss fall.
#
# The toy task needs attention: the target at every position is the token one step *back*.
# Tokens are random, so no position can guess; it must look at its predecessor. The model is
# the smallest language model there is: a token embedding plus a position embedding (so
# attention can tell "one step back" from "two steps back"), one block, and a linear head to
# one logit per token, trained with cross-entropy and Adam. Chance level is $\ln V$.

# %%
for shape in [(1, 1, C), (3, 7, C)]:
    assert block(tg.randn(*shape, rng=rng), causal=True).shape == shape
print("1. (B, T, C) -> (B, T, C) for", [(1, 1, C), (3, 7, C)])

for width, heads_count in [(16, 2), (24, 3), (32, 8)]:
    assert nn.TransformerBlock(width, heads_count, rng=0).num_parameters() == block_parameters(width)
print("2. parameter count == 12 C^2 + 13 C for C = 16, 24, 32")

block64 = nn.TransformerBlock(8, 2, rng=0, dtype="float64")
x64 = rng.standard_normal((2, 4, 8))
assert gradcheck(lambda x: block64(x, causal=True), x64, name="TransformerBlock (input)")
assert gradcheck(lambda x, w: nn.functional_call(block64, {"attn.qkv.weight": w}, x, causal=True),
                 x64, block64.attn.qkv.weight, wrt=[1], name="TransformerBlock (attn.qkv.weight)")
print("3. gradcheck (float64) of the block w.r.t. its input and attn.qkv.weight passed")

# %%
V, C, H, B, T = 8, 16, 2, 16, 8
steps = 60 if SMALL else 120
token_embedding, position_embedding = nn.Embedding(V, C, rng=0), nn.Embedding(T, C, rng=1)
block, head = nn.TransformerBlock(C, H, rng=2), nn.Linear(C, V, rng=3)
modules = [token_embedding, position_embedding, block, head]
optimizer = Adam([p for m in modules for p in m.parameters()], lr=1e-2)
data_rng = np.random.default_rng(1)
losses = []
for step in range(steps):
    ids = data_rng.integers(0, V, (B, T))  # (B, T) random tokens
    h = token_embedding(ids) + position_embedding(np.arange(T))  # (B, T, C) + (T, C) -> (B, T, C)
    logits = head(block(h, causal=True))  # (B, T, C) -> (B, T, V)
    loss = F.cross_entropy(logits[:, 1:], ids[:, :-1])  # position t predicts token t - 1
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(float(loss))
    if step % 20 == 0:
        print(f"step {step:3d}   loss {loss:.3f}")
final = float(np.mean(losses[-5:]))
print(f"4. loss fell from {losses[0]:.3f} (chance ln V = {math.log(V):.3f}) to {final:.3f}")
assert final < 0.25 * math.log(V) and final < 0.25 * losses[0], losses
print("chapter 5 checks passed")

# %% [markdown]
# ## What we left out
#
# One block is a model that can look one step back. A GPT stacks $N$ of them between a token
# and position embedding and a final layer norm and output head (often the embedding matrix
# itself, "weight tying"), with dropout during training and a careful initialisation that
# keeps the residual stream's size under control as $N$ grows. That is chapter 7, after
# chapter 6 has derived the loss and the optimizer that train it. One option of
# `TransformerBlock` this book does not use: `cross_attention=True` adds a second attention
# whose keys and values come from another sequence (an encoder's output, as in the original
# Transformer's decoder); a GPT only ever attends to itself.

# %% [markdown]
# ## Exercises
#
# Three exercises wait in `tutorials/exercises/ch05.py`. Edit that file, then check your answers
# from the repository root with `pytest tutorials/exercises -k ch05`. Reference solutions are in
# `tutorials/solutions/ch05.py`.
#
# 1. **`gelu_tanh`**: GPT-2's tanh approximation of GELU from Tensor primitives, equal to
#    `F.gelu(x, approximate="tanh")` in value and gradient.
# 2. **`BrokenTanhGelu`** (break the backward): the same function as one fused op whose backward
#    left out one factor of the chain rule. `gradcheck` catches it; find it and fix it.
# 3. **`layer_norm`**: section 1's formula from Tensor ops, with the two details that change the
#    numbers (biased variance, $\varepsilon$ inside the square root); equal to `F.layer_norm` in value
#    and in all three gradients, and `bias` for a constant row.
