"""Chapter 6 of the tinygrad_lm book: losses and optimizers, the mathematics of one training step.

Teaches cross-entropy and its gradient p - onehot (with the log-sum-exp trick), label smoothing
and perplexity; the backward passes that begin and end a language model (the embedding's
scatter-add and layer norm's three-term formula); SGD, momentum, Adam and AdamW (bias
correction, decoupled weight decay), written in NumPy and checked step by step against
`tinygrad_lm.optim` and every CPU table's `adamw_step` kernel; learning-rate schedules, L1/L2
penalties, gradient clipping, and early stopping on a real overfitting curve. Run it from the
repository root with `python tutorials/06_losses_and_optimizers.py`, or open it as a notebook
with jupytext. TINYGRAD_LM_TUTORIAL_SMALL=1 overfits a smaller slice of text in fewer steps.
Figures are written to tutorials/figures/06_*.png (or $TINYGRAD_LM_FIGURES_DIR).
Left for later chapters: the GPT itself (chapter 7); left out: second-order methods, Adafactor,
Lion, mixed precision and loss scaling.
"""

# %%
import functools
import math
import os
import sys
from pathlib import Path

import matplotlib
import numpy as np

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm.backends import kernel_backends, load_kernels
from tinygrad_lm.data import BatchSampler, CharTokenizer, train_val_split
from tinygrad_lm.data.corpora import load_stdlib_source
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.optim import SGD, Adam, AdamW, clip_grad_norm_, grad_norm
from tinygrad_lm.optim.regularization import l1_penalty, l2_penalty
from tinygrad_lm.optim.schedules import cyclic, linear_decay, step_decay, warmup_cosine
from tinygrad_lm.testing import check_close, gradcheck
from tinygrad_lm.train import perplexity, split_loss

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # draw into files when run as a script or under the test suite
import matplotlib.pyplot as plt  # after the backend is chosen

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
FIGURES = Path(os.environ.get("TINYGRAD_LM_FIGURES_DIR", "tutorials/figures"))
FIGURES.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)

# %% [markdown]
# # Chapter 6 — Losses and optimizers
#
# Chapter 5 ended with a loss that fell, and said nothing of why. A training step is three
# pieces of mathematics: a **loss** that scores the model's predictions, the **gradient** of
# that loss with respect to every weight (autograd's job, but two of a language model's
# backwards deserve a derivation of their own), and an **update rule** that turns gradients
# into better weights. This chapter derives each, then checks the library against the
# derivation.
#
# ## 1. Cross-entropy and its gradient
#
# A language model outputs *logits* $z \in \mathbb{R}^V$, one per vocabulary entry; softmax turns
# them into probabilities $p_c = e^{z_c} / \sum_j e^{z_j}$. The loss for the true next token $t$
# is its negative log-probability, the **cross-entropy** between the one-hot target $y$ and $p$:
#
# $$L = -\sum_c y_c \log p_c = -\log p_t = -z_t + \log \sum_j e^{z_j}.$$
#
# Differentiating the last form is one line: $\partial(-z_t)/\partial z_c = -[c = t]$, and the
# derivative of $\log \sum_j e^{z_j}$ is $e^{z_c} / \sum_j e^{z_j} = p_c$. So
#
# $$\frac{\partial L}{\partial z_c} = p_c - y_c, \qquad \text{for a batch of } N \text{ rows averaged: } \frac{\partial L}{\partial Z} = \frac{P - Y}{N}, \quad (N, V).$$
#
# The gradient pushes up the true logit by $1 - p_t$ and pushes down every other logit by its
# probability: the more confident and wrong, the harder the push. It is also why softmax and
# cross-entropy are fused into one op: $P - Y$ is cheaper and more accurate than multiplying
# softmax's Jacobian by $-1/p_t$.

# %%
N, V = 6, 5
logits = tg.tensor(rng.standard_normal((N, V)) * 2, requires_grad=True)  # (N, V) float64
targets = rng.integers(0, V, N)  # (N,)
F.cross_entropy(logits, targets).backward()
probs = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(axis=1, keepdims=True)  # (N, V)
onehot = np.eye(V)[targets]  # (N,) -> (N, V)
check_close(logits.grad, (probs - onehot) / N, name="dL/dz = (p - onehot) / N")
assert gradcheck(lambda z: F.cross_entropy(z, targets), logits.numpy(), name="cross_entropy")
print("dL/dz == (p - onehot) / N, and gradcheck passes; row sums of the gradient:", logits.grad.sum(axis=1).round(15))

# %% [markdown]
# Every row of the gradient sums to zero ($\sum_c p_c = \sum_c y_c = 1$): adding a constant to
# all logits changes no probability, so no gradient can move them together.
#
# **The log-sum-exp trick.** Written as above, $\sum_j e^{z_j}$ overflows as soon as a logit
# passes about 710 in float64 (88 in float32), and $\log p_c$ of a tiny $p_c$ becomes $\log 0$.
# Since $\log\sum_j e^{z_j} = m + \log \sum_j e^{z_j - m}$ for any $m$, choosing $m = \max_j z_j$
# makes every exponent $\le 0$ and at least one term equal to 1, so the sum lies in $[1, V]$ and
# nothing overflows; $\log p_c = z_c - \mathrm{lse}(z)$ is then computed without ever forming $p_c$.

# %%
z = np.array([[1000.0, 0.0, -1000.0]])  # (1, 3): a confident, correct model
with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
    naive = np.log(np.exp(z).sum()) - z[0, 0]
m = z.max()
stable = m + np.log(np.exp(z - m).sum()) - z[0, 0]
print(f"naive loss {naive}, stable loss {stable}, F.cross_entropy {F.cross_entropy(tg.tensor(z), [0]).item()}")
print("F.log_softmax of the same row:", F.log_softmax(tg.tensor(z)).numpy())
big = tg.tensor(np.array([[1e4, -1e4, 0.0]], dtype=np.float32), requires_grad=True)
F.cross_entropy(big, [1]).backward()  # the wrong class, by 2e4 nats
print(f"float32 logits of +-1e4: loss {F.cross_entropy(big, [1]).item():.0f}, gradient {big.grad[0]}")
assert not math.isfinite(naive) and stable == 0.0 and np.isfinite(big.grad).all()

# %% [markdown]
# ## 2. Label smoothing
#
# A one-hot target asks for $p_t = 1$, which only infinite logits achieve, so a model can keep
# growing its logits forever. *Label smoothing* (Szegedy et al. 2016, section 7) mixes the target
# with the uniform distribution: $q = (1 - s)\, y + s/V$. The loss is the cross-entropy to $q$,
#
# $$L_s = -\sum_c q_c \log p_c = (1 - s)(-\log p_t) + \frac{s}{V} \sum_c (-\log p_c).$$
#
# Its gradient follows from the same one line, now with weights $q_c$ that sum to 1:
# $\partial L_s / \partial z_c = -q_c + (\sum_j q_j)\, p_c = p_c - q_c$. It vanishes at $p = q$,
# finite logits with $z_t - z_c = \log\frac{1 - s + s/V}{s/V}$, where the loss reaches its floor,
# the entropy $H(q) = -\sum_c q_c \log q_c > 0$. `F.cross_entropy(..., label_smoothing=s)` is
# PyTorch's definition of exactly this.

# %%
s = 0.1
logits = tg.tensor(rng.standard_normal((N, V)) * 2, requires_grad=True)  # (N, V)
F.cross_entropy(logits, targets, label_smoothing=s).backward()
probs = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(axis=1, keepdims=True)  # (N, V)
q = (1 - s) * onehot + s / V  # (N, V) smoothed targets
check_close(logits.grad, (probs - q) / N, name="dL_s/dz = (p - q) / N")
assert gradcheck(lambda z: F.cross_entropy(z, targets, label_smoothing=s), logits.numpy(), name="smoothed ce")
at_floor = tg.tensor(np.log(q), requires_grad=True)  # logits whose softmax is q
floor = F.cross_entropy(at_floor, targets, label_smoothing=s)
floor.backward()
entropy = -(q[0] * np.log(q[0])).sum()
print(f"at p = q: loss {floor.item():.6f} = H(q) {entropy:.6f}, largest |gradient| {np.abs(at_floor.grad).max():.1e}")
assert abs(floor.item() - entropy) < 1e-12 and np.abs(at_floor.grad).max() < 1e-12

# %% [markdown]
# ## 3. Perplexity
#
# The mean cross-entropy $\bar L$ is in nats per token. Its exponential, the **perplexity**
# $\mathrm{PPL} = e^{\bar L}$, is easier to picture: it is the *effective branching factor*, the
# number of equally likely choices that would leave the model exactly as uncertain. A model that
# spreads its probability evenly over $k$ tokens, the right one among them, has
# $\bar L = \log k$ and perplexity $k$; knowing nothing (uniform over $V$) gives perplexity $V$;
# a perfect model gives 1. A validation loss of 1.87 nats per character (what the
# `shakespeare-char` GPT of the README reaches) is a perplexity of 6.5: about as unsure as a fair
# choice among six or seven characters.

# %%
V = 50
targets = rng.integers(0, V, 200)  # (200,)
uniform = F.cross_entropy(tg.tensor(np.zeros((200, V))), targets)
print(f"uniform over V = {V}: loss {uniform.item():.4f} = ln V {math.log(V):.4f}, perplexity {perplexity(uniform.item()):.4f}")
for k in [2, 7]:
    logits = np.full((200, V), -50.0)  # (200, V): all but k classes out of reach
    logits[:, :k] = 0.0
    targets = rng.integers(0, k, 200)  # the right answer is always among the k
    ppl = perplexity(F.cross_entropy(tg.tensor(logits), targets).item())
    print(f"uniform over {k} choices: perplexity {ppl:.6f}")
    assert abs(ppl - k) < 1e-9
assert abs(perplexity(uniform.item()) - V) < 1e-9

# %% [markdown]
# ## 4. Two backwards worth deriving: the embedding and layer norm
#
# **The embedding** is the first op of a language model: $Y_n = W_{\mathrm{ids}_n}$, picking rows of
# $W$ (V, D) for ids (N,) to give $Y$ (N, D). Row $v$ of $W$ appears in the output once for every
# position where $\mathrm{ids}_n = v$, and a variable used several times receives the *sum* of
# its gradients (chapter 1), so
#
# $$\frac{\partial L}{\partial W_v} = \sum_{n:\ \mathrm{ids}_n = v} G_n, \qquad G = \frac{\partial L}{\partial Y}\ (N, D),$$
#
# a *scatter-add*; rows no id picked get zero. The NumPy line that looks right,
# `dW[ids] += G`, is wrong: fancy-index assignment writes each repeated row once, so the last
# occurrence wins. `np.add.at(dW, ids, G)` adds unbuffered, one position at a time.

# %%
ids = np.array([1, 3, 1, 1, 0])  # (N,) with id 1 three times
W = rng.standard_normal((4, 3))  # (V, D)
G = rng.standard_normal((5, 3))  # (N, D) upstream gradient
buffered = np.zeros_like(W)
buffered[ids] += G  # WRONG: row 1 gets only G[3]
scatter_add = np.zeros_like(W)
np.add.at(scatter_add, ids, G)  # row 1 gets G[0] + G[2] + G[3]
weight = tg.tensor(W, requires_grad=True)
F.embedding(weight, ids).backward(G)
print("row 1: dW[ids] += G ->", buffered[1].round(3), "  np.add.at ->", scatter_add[1].round(3),
      "  F.embedding ->", weight.grad[1].round(3))
check_close(weight.grad, scatter_add, name="embedding backward == np.add.at")
assert gradcheck(F.embedding, W, ids, name="embedding (repeated ids)")
assert not np.allclose(buffered, scatter_add)

# %% [markdown]
# **Layer norm** (chapter 5) normalises each row $x \in \mathbb{R}^C$:
# $\mu = \frac1C\sum_j x_j$, $\sigma^2 = \frac1C\sum_j (x_j - \mu)^2$, $r = (\sigma^2 + \varepsilon)^{-1/2}$,
# $\hat x = (x - \mu)\, r$, $y = \gamma \odot \hat x + \beta$. With $G = \partial L/\partial y$ of shape
# (N, C), the parameters are easy, summed over rows: $\partial L/\partial\beta = \sum_n G_n$ and
# $\partial L/\partial\gamma = \sum_n G_n \odot \hat x_n$, both (C,). For $x$, let $\hat g = G \odot \gamma$.
# Using $\partial\mu/\partial x_j = 1/C$ and $\partial\sigma^2/\partial x_j = 2(x_j - \mu)/C$, so
# $\partial r/\partial x_j = -r^3 (x_j - \mu)/C$:
#
# $$\frac{\partial \hat x_i}{\partial x_j} = r\left(\delta_{ij} - \frac1C - \frac{\hat x_i \hat x_j}{C}\right)
#   \quad\Longrightarrow\quad
#   \frac{\partial L}{\partial x_j} = \sum_i \hat g_i \frac{\partial \hat x_i}{\partial x_j}
#   = r\left(\hat g_j - \overline{\hat g} - \hat x_j\, \overline{\hat g \odot \hat x}\right),$$
#
# where the bars are means over the row's $C$ channels. Three terms, with shapes (N, C), (N, 1)
# and (N, C) times (N, 1), all scaled by $r$ (N, 1). The middle term is why each row's gradient
# sums to zero (chapter 5); the last removes the component along $\hat x$, since scaling a row
# does not change $\hat x$ either (up to $\varepsilon$).

# %%
def layer_norm_backward(x, gamma, G, eps=1e-5):
    """(dx (N, C), dgamma (C,), dbeta (C,)) of y = (x - mu) r gamma + beta, for G = dL/dy (N, C)."""
    mu = x.mean(axis=1, keepdims=True)  # (N, C) -> (N, 1)
    r = 1 / np.sqrt(((x - mu) ** 2).mean(axis=1, keepdims=True) + eps)  # (N, 1)
    x_hat = (x - mu) * r  # (N, C)
    g_hat = G * gamma  # (N, C) * (C,) -> (N, C)
    dx = r * (g_hat - g_hat.mean(axis=1, keepdims=True) - x_hat * (g_hat * x_hat).mean(axis=1, keepdims=True))
    return dx, (G * x_hat).sum(axis=0), G.sum(axis=0)  # (N, C) -> (C,)


x, gamma, beta = rng.standard_normal((4, 6)) * 3 + 1, rng.standard_normal(6), rng.standard_normal(6)
G = rng.standard_normal((4, 6))
leaves = [tg.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
F.layer_norm(*leaves).backward(G)
for name, leaf, by_hand in zip(["dx", "dgamma", "dbeta"], leaves, layer_norm_backward(x, gamma, G)):
    check_close(leaf.grad, by_hand, name=f"layer norm {name}")
assert gradcheck(F.layer_norm, x, gamma, beta, name="layer_norm")
print("layer-norm backward: the three-term formula == F.layer_norm's backward (dx, dgamma, dbeta); gradcheck passes")

# %% [markdown]
# ## 5. Optimizers: SGD, momentum, Adam, AdamW
#
# Given the gradient $g_t$ at step $t$, each optimizer moves the weights $\theta$ (learning rate $\eta$):
#
# - **SGD**: $\theta \leftarrow \theta - \eta\, g_t$. Its trouble is *conditioning*: the step must
#   be small enough for the steepest direction (on a quadratic with curvatures $h_i$, stable only
#   for $\eta < 2/h_{\max}$), so it crawls along the flat ones.
# - **Momentum** (Polyak 1964; PyTorch's form): $b_t = \mu\, b_{t-1} + g_t$ ($b_1 = g_1$),
#   $\theta \leftarrow \theta - \eta\, b_t$. A steady gradient builds $b \to g/(1 - \mu)$, ten times
#   the step for $\mu = 0.9$; a gradient that flips sign every step cancels itself out.
# - **Adam** (Kingma & Ba 2015): running means of the gradient and of its square,
#   $m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t$, $v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2$, from
#   $m_0 = v_0 = 0$, and the step $\theta \leftarrow \theta - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)$.
#   Each coordinate's step is about $\eta$ in size whatever its gradient's scale.
#   **Bias correction**: unrolled, $m_t = (1-\beta_1)\sum_{k \le t} \beta_1^{t-k} g_k$, so for a
#   steady gradient $m_t = (1 - \beta_1^t)\, g$, too small while $t$ is small because of the
#   zero start; $\hat m_t = m_t / (1 - \beta_1^t)$ and $\hat v_t = v_t / (1 - \beta_2^t)$ undo it.
#   Without it, the first step would be $\frac{(1-\beta_1) g}{\sqrt{1-\beta_2}\,|g|} \approx 3.2\,\eta$
#   for $(\beta_1, \beta_2) = (0.9, 0.999)$ instead of $\eta$.
# - **Weight decay** shrinks weights towards 0. Adam with *L2 decay* adds $\lambda\theta$ to the
#   gradient, so the decay goes through $m$ and $v$ and is divided by $\sqrt{\hat v}$.
#   **AdamW** (Loshchilov & Hutter 2019) *decouples* it: $\theta \leftarrow \theta - \eta\lambda\theta$,
#   then the Adam step from the raw gradient. For SGD the two are the same; for Adam they are not
#   (section 6).
#
# Here is each rule in NumPy, and a check that the library's optimizers follow exactly the same
# trajectory on an ill-conditioned quadratic $f(\theta) = \frac12 (\theta_1^2 + 25\,\theta_2^2)$,
# whose gradient the library gets from autograd and NumPy from the formula $h \odot \theta$.

# %%
def sgd(theta, g, state, lr, momentum=0.0, weight_decay=0.0):
    """theta - lr * b, with b = g (plain) or b_t = momentum * b_{t-1} + g (b_1 = g); L2 decay in g."""
    g = g + weight_decay * theta
    if momentum:
        g = state["b"] = g if "b" not in state else momentum * state["b"] + g
    return theta - lr * g


def adam(theta, g, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    """One Adam step with bias correction; weight decay as L2 (in g) or decoupled (AdamW)."""
    beta1, beta2 = betas
    t = state["t"] = state.get("t", 0) + 1
    if decoupled:
        theta = theta * (1 - lr * weight_decay)  # AdamW: shrink first, outside the moments
    else:
        g = g + weight_decay * theta  # L2: the decay becomes part of the gradient
    m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps)


first_step = adam(np.zeros(3), np.array([1e-3, 1.0, 1e3]), {}, lr=1.0)
print(f"Adam's first step (lr 1) for gradients 1e-3, 1, 1e3: {first_step}; without bias correction: "
      f"{-(1 - 0.9) / math.sqrt(1 - 0.999):.3f} each")
assert np.allclose(first_step, -1.0, atol=1e-4)

curvature, start, STEPS_2D = np.array([1.0, 25.0]), np.array([-4.0, 1.0]), 60


def numpy_path(update, hyper):
    """The (STEPS_2D + 1, 2) path of the NumPy rule ``update`` from ``start`` on the quadratic."""
    theta, state, path = start.copy(), {}, [start.copy()]
    for _ in range(STEPS_2D):
        theta = update(theta, curvature * theta, state, **hyper)  # gradient of f: h * theta
        path.append(theta)
    return np.array(path)


def library_path(optimizer_class, hyper, penalty=0.0):
    """The same path taken by a tinygrad_lm optimizer, with gradients from autograd."""
    theta = tg.tensor(start.copy(), requires_grad=True)
    optimizer, path = optimizer_class([theta], **hyper), [start.copy()]
    for _ in range(STEPS_2D):
        loss = (0.5 * curvature * theta * theta).sum()
        if penalty:
            loss = loss + 0.5 * penalty * l2_penalty([theta])  # section 8
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        path.append(theta.numpy().copy())
    return np.array(path)


cases = {
    "SGD, lr 0.07": (SGD, sgd, {"lr": 0.07}),
    "SGD + momentum 0.7, lr 0.03": (SGD, sgd, {"lr": 0.03, "momentum": 0.7}),
    "Adam, lr 0.3": (Adam, adam, {"lr": 0.3}),
    "Adam + L2 decay 0.5": (Adam, adam, {"lr": 0.3, "weight_decay": 0.5}),
    "AdamW, decay 0.5": (AdamW, functools.partial(adam, decoupled=True), {"lr": 0.3, "weight_decay": 0.5}),
}
paths = {}
for label, (optimizer_class, update, hyper) in cases.items():
    paths[label] = library_path(optimizer_class, hyper)
    check_close(paths[label], numpy_path(update, hyper), name=label)
    print(f"{label:28s} library == NumPy for {STEPS_2D} steps; f at the end {0.5 * (curvature * paths[label][-1] ** 2).sum():.2e}")

# %% [markdown]
# AdamW's update runs as one fused kernel, `adamw_step`, looked up in the active kernel table
# (chapter 9 opens the tables). Every CPU table's kernel must agree with the NumPy rule, in
# float32 on a thousand weights with random gradients, step after step:

# %%
hyper = {"lr": 1e-2, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.1}
gradients = rng.standard_normal((5, 1000))  # 5 steps of gradients for 1000 weights
theta0 = rng.standard_normal(1000)
reference, state = theta0.copy(), {}
for g in gradients:
    reference = adam(reference, g, state, decoupled=True, **hyper)
for table in kernel_backends():
    adamw_step = load_kernels(table)["adamw_step"]
    param, m, v = theta0.astype(np.float32), np.zeros(1000, np.float32), np.zeros(1000, np.float32)
    for step, g in enumerate(gradients, start=1):
        adamw_step(param, g.astype(np.float32), m, v, hyper["lr"], *hyper["betas"], hyper["eps"], hyper["weight_decay"], step)
    check_close(param, reference, name=f"{table} adamw_step")
    print(f"{table:6s} adamw_step == the NumPy AdamW rule after 5 steps (float32), max |diff| {np.abs(param - reference).max():.1e}")

# %% [markdown]
# The paths, drawn: SGD, at a learning rate close to its limit $2/25$, zig-zags across the steep
# direction and crawls along the flat one; momentum, with a smaller rate, builds up speed along
# the valley while its zig-zags cancel, and ends far closer to the minimum; Adam takes steps of
# about $\eta$ in both coordinates from the start, so it heads diagonally. (Near the minimum
# Adam's normalised step keeps it circling at a scale set by $\eta$: a decaying learning rate,
# section 7, is what settles it.)

# %%
fig, ax = plt.subplots(figsize=(7, 4))
grid = np.meshgrid(np.linspace(-4.5, 1.5, 200), np.linspace(-1.5, 1.5, 200))
ax.contour(grid[0], grid[1], 0.5 * (grid[0] ** 2 + 25 * grid[1] ** 2), levels=np.geomspace(0.05, 30, 12), colors="0.8")
for label in list(cases)[:3]:
    ax.plot(*paths[label].T, ".-", ms=3, lw=1, label=label)
ax.set(xlabel=r"$\theta_1$ (curvature 1)", ylabel=r"$\theta_2$ (curvature 25)",
       title=f"{STEPS_2D} steps on $f = (\\theta_1^2 + 25\\,\\theta_2^2)/2$")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(FIGURES / "06_optimizer_paths.png", dpi=120)
plt.close(fig)

# %% [markdown]
# ## 6. Decoupled weight decay is not L2 in Adam
#
# In Adam with L2 decay the term $\lambda\theta$ is divided by $\sqrt{\hat v}$ like the rest of the
# gradient. A weight with large gradients has a large $\sqrt{\hat v}$, so it is barely decayed;
# a weight with no gradient at all has $\hat m / \sqrt{\hat v} = \pm 1$ from the decay term alone
# and is pulled to 0 at the full rate $\eta$ per step, whatever $\lambda$. AdamW shrinks every
# weight by the same factor $(1 - \eta\lambda)$ per step. Two weights, both starting at 1: one
# never receives a gradient, the other receives large, noisy ones. What does the decay remove,
# compared with the same run without decay?

# %%
def final_weights(optimizer_class, weight_decay, steps=50, lr=1e-2):
    theta = tg.tensor(np.ones(2), requires_grad=True)
    optimizer = optimizer_class([theta], lr=lr, weight_decay=weight_decay)
    noise = np.random.default_rng(1)
    for _ in range(steps):
        theta.grad = np.array([0.0, 100.0 * noise.standard_normal()])  # no data gradient, big noisy one
        optimizer.step()
    return theta.numpy()


for optimizer_class in [Adam, AdamW]:
    removed = final_weights(optimizer_class, 0.0) - final_weights(optimizer_class, 0.1)
    print(f"{optimizer_class.__name__:5s} (decay 0.1, 50 steps, lr 0.01): removed {removed[0]:.4f} from the weight "
          f"without gradient, {removed[1]:.4f} from the one with gradients of size 100")
    if optimizer_class is Adam:
        assert removed[0] > 0.4 and removed[1] < 1e-3  # all-or-nothing, set by the gradient's size
    else:
        assert np.allclose(removed, 1 - (1 - 1e-2 * 0.1) ** 50, rtol=0.05)  # the same, as promised
check_close(paths["Adam + L2 decay 0.5"], paths["Adam, lr 0.3"], rtol=1e-6, atol=1e-9, name="L2 divided away")

# %% [markdown]
# Adam's L2 decay took almost half of the idle weight ($\eta = 0.01$ per step, whatever
# $\lambda$) and almost nothing from the busy one; AdamW took about
# $1 - (1 - \eta\lambda)^{50} \approx 4.9\%$ from both: a uniform, predictable shrinkage, which is
# why GPT training uses AdamW. Section 5 showed the extreme case of L2 in Adam: on the quadratic
# the decay term $\lambda\theta_i$ is proportional to the gradient $h_i\theta_i$ in every
# coordinate, Adam's normalisation divides the proportion away, and "Adam + L2 decay 0.5"
# followed Adam's path to within $\epsilon$'s effect (checked above): the decay did nothing.
#
# ## 7. Learning-rate schedules
#
# The learning rate is usually a function of the step. Four classic shapes, each in
# `tinygrad_lm.optim.schedules` (warm-up, where used, is
# $\eta_{\max}\,(t + 1)/(t_w + 1)$ for $t < t_w$):
#
# - **warm-up + cosine** (GPT): after $t_w$ warm-up steps,
#   $\eta_t = \eta_{\min} + \frac12\left(1 + \cos\pi\frac{t - t_w}{T - t_w}\right)(\eta_{\max} - \eta_{\min})$;
#   warm-up lets Adam's $\hat v$ settle before full-size steps (chapter 5: post-LN needs it most);
# - **linear** (BERT): $\eta_t = \eta_{\max} + (\eta_{\mathrm{end}} - \eta_{\max})\frac{t - t_w}{T - t_w}$;
# - **step**: $\eta_t = \eta_{\max}\,\gamma^{\lfloor t / k \rfloor}$, drops by $\gamma$ every $k$ steps;
# - **cyclic** (triangular): $\eta_t = \eta_{\mathrm{lo}} + (\eta_{\max} - \eta_{\mathrm{lo}})(1 - |2\phi - 1|)$,
#   $\phi = (t \bmod P)/P$, up and down every period $P$.

# %%
T_total, peak = 1000, 1e-3
schedules = {
    "warm-up + cosine": functools.partial(warmup_cosine, base_lr=peak, warmup_steps=100, total_steps=T_total, min_lr=1e-4),
    "linear (with warm-up)": functools.partial(linear_decay, base_lr=peak, total_steps=T_total, warmup_steps=100),
    "step (x0.5 every 250)": functools.partial(step_decay, base_lr=peak, step_size=250, gamma=0.5),
    "cyclic (period 250)": functools.partial(cyclic, base_lr=1e-4, max_lr=peak, period=250),
}
steps = np.arange(T_total)
fig, axes = plt.subplots(2, 2, figsize=(8, 5), sharex=True, sharey=True)
for ax, (name, schedule) in zip(axes.flat, schedules.items()):
    ax.plot(steps, [schedule(int(t)) for t in steps], lw=1.5)
    ax.set_title(name, fontsize=10)
for ax in axes[1]:
    ax.set_xlabel("step")
for ax in axes[:, 0]:
    ax.set_ylabel("learning rate")
fig.tight_layout()
fig.savefig(FIGURES / "06_learning_rate_schedules.png", dpi=120)
plt.close(fig)
checks = [(schedules["warm-up + cosine"](100), peak), (schedules["warm-up + cosine"](T_total), 1e-4),
          (schedules["warm-up + cosine"](550), (peak + 1e-4) / 2), (schedules["linear (with warm-up)"](T_total), 0.0),
          (schedules["step (x0.5 every 250)"](600), peak / 4), (schedules["cyclic (period 250)"](125), peak)]
assert all(math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-15) for got, want in checks), checks
print("schedules: peak after warm-up, cosine midpoint, end values, step drops and cyclic peak match their formulas")

# %% [markdown]
# ## 8. L1/L2 penalties and gradient clipping
#
# A penalty is a term added to the loss. $\mathrm{L2}(\theta) = \sum_i \theta_i^2$ has gradient
# $2\theta$, so adding $\frac\lambda2 \mathrm{L2}$ to the loss is SGD's (coupled) weight decay
# $\lambda$; $\mathrm{L1}(\theta) = \sum_i |\theta_i|$ has gradient $\mathrm{sign}(\theta)$, a pull of
# constant size that favours exact zeros (with a proximal step; plain gradient steps hover
# around them). Below: the gradients, and SGD with $\frac\lambda2\,$`l2_penalty` following the
# same path as `SGD(weight_decay=λ)`.
#
# **Clipping by global norm** (Pascanu et al. 2013) treats all gradients as one vector:
# $\|g\| = \sqrt{\sum_k \|g_k\|^2}$, and if it exceeds $c$ every $g_k$ is multiplied by
# $c / (\|g\| + 10^{-6})$. The direction is kept; only a rare huge step is shortened.

# %%
w = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
(l1_penalty([w]) + l2_penalty([w])).backward()
check_close(w.grad, np.sign(w.numpy()) + 2 * w.numpy(), name="d(L1 + L2)/dw")
check_close(library_path(SGD, {"lr": 0.05}, penalty=0.3), library_path(SGD, {"lr": 0.05, "weight_decay": 0.3}),
            name="(lambda/2) L2 penalty == SGD weight decay")

params = [tg.tensor(rng.standard_normal(shape), requires_grad=True) for shape in [(4, 5), (5,), (3, 3)]]
upstream = [rng.standard_normal(p.shape) * 3 for p in params]
for p, u in zip(params, upstream):
    (p * u).sum().backward()  # p.grad = u
total = math.sqrt(sum((u**2).sum() for u in upstream))
returned = clip_grad_norm_(params, max_norm=1.0)
for p, u in zip(params, upstream):
    check_close(p.grad, u * (1.0 / (total + 1e-6)), name="clipped gradient")
print(f"L1/L2 gradients and the penalty == weight decay check pass; clipping: norm {returned:.3f} "
      f"(formula {total:.3f}) -> {grad_norm(params):.6f}")
assert math.isclose(returned, total, rel_tol=1e-12) and abs(grad_norm(params) - 1.0) < 1e-5

# %% [markdown]
# ## 9. Early stopping on a real curve
#
# The loss we minimise is measured on training text; what we want is low loss on text the model
# has not seen. Give a model too little text and too many steps and the two part: training loss
# keeps falling while validation loss turns up, because the model memorises. **Early stopping**
# evaluates the validation loss every few steps, remembers the best weights, and stops once it
# has not improved for `patience` evaluations, returning the best weights.
#
# The text: a slice of the Python standard library's source (real, and no download), split into
# a training part and the 20% after it. The model: a small GPT (chapter 7 builds it), with no
# dropout and no weight decay, so nothing holds it back. Losses are exact means over every
# window of each split (`split_loss`), so the curve is not noise. We train past the stopping
# point only to show what stopping saved. `Trainer` does the same with
# `early_stopping_patience` (on estimated losses), keeping the best weights in `best.safetensors`.

# %%
CHARS, STEPS, EVAL_EVERY, PATIENCE = (3_000, 300, 20, 5) if SMALL else (12_000, 1000, 20, 5)
text = load_stdlib_source(max_chars=300_000 + CHARS)[300_000:]
tokenizer = CharTokenizer.from_text(text)
train_ids, val_ids = train_val_split(tokenizer.encode(text), val_fraction=0.2)
model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=64, seed=0))
optimizer = AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
sampler = BatchSampler(train_ids, block_size=32, batch_size=16, seed=0)
history, best, stale, stopped_at = [], None, 0, None  # best = (step, val loss, weights)
for step in range(STEPS + 1):
    if step % EVAL_EVERY == 0:
        train_loss, val_loss = split_loss(model, train_ids, 32), split_loss(model, val_ids, 32)
        history.append((step, train_loss, val_loss))
        if best is None or val_loss < best[1]:
            best, stale = (step, val_loss, model.state_dict()), 0
        else:
            stale += 1
        if stale == PATIENCE and stopped_at is None:
            stopped_at = step  # here a real run stops and restores best[2]
    if step < STEPS:
        x, y = sampler.next_batch()  # (B, T) each
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
steps_seen, train_curve, val_curve = map(np.array, zip(*history))
print(f"{len(train_ids):,} training and {len(val_ids):,} validation characters, {model.num_parameters():,} parameters")
print(f"best validation loss {best[1]:.3f} (perplexity {perplexity(best[1]):.2f}) at step {best[0]}; "
      f"patience {PATIENCE} ran out at step {stopped_at}; at step {STEPS}: train {train_curve[-1]:.3f}, val {val_curve[-1]:.3f}")

# %%
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(steps_seen, train_curve, label="training loss")
ax.plot(steps_seen, val_curve, label="validation loss")
ax.axvline(best[0], color="0.4", ls=":", label=f"best validation (step {best[0]})")
if stopped_at is not None:
    ax.axvspan(stopped_at, STEPS, color="0.9", label=f"after stopping (patience {PATIENCE})")
ax.set(xlabel="step", ylabel="cross-entropy (nats per character)", title="Early stopping: a small GPT on 80% of a slice of text")
ax.legend()
fig.tight_layout()
fig.savefig(FIGURES / "06_early_stopping.png", dpi=120)
plt.close(fig)

# %% [markdown]
# ## 10. The check
#
# Sections 1-8 checked their claims as they went (gradients against formulas and gradcheck,
# optimizers against NumPy step for step, schedules and clipping against their formulas).
# Left to check is early stopping: the model overfit (training loss still falling, validation
# loss up from its best), patience ran out before the last step, and restoring the best weights
# gives back the best validation loss.

# %%
train_at_best = train_curve[steps_seen == best[0]][0]
assert stopped_at is not None and best[0] < stopped_at < STEPS, (best[0], stopped_at)
assert train_curve[-1] < train_at_best - 0.2 and val_curve[-1] > best[1] + 0.05, history
model.load_state_dict(best[2])
assert split_loss(model, val_ids, 32) == best[1]
print(f"early stopping at step {stopped_at} keeps step {best[0]}'s weights: validation {best[1]:.3f} instead of {val_curve[-1]:.3f}")
print("chapter 6 checks passed")

# %% [markdown]
# ## What we left out
#
# Chapter 7 puts these pieces into one loop: AdamW with decay on the matrices only, warm-up +
# cosine, clipping at 1, and the `Trainer` with its evaluation and checkpoints. Left out here:
# Nesterov momentum (`SGD(nesterov=True)`), Adagrad and RMSprop (in `tinygrad_lm.optim`, Adam's
# ancestors), second-order methods, Adafactor and Lion, and the loss scaling that mixed
# precision needs.

# %% [markdown]
# ## Exercises
#
# Four exercises wait in `tutorials/exercises/ch06.py`. Edit that file, then check your answers
# from the repository root with `pytest tutorials/exercises -k ch06`. Reference solutions are in
# `tutorials/solutions/ch06.py`.
#
# 1. **`cross_entropy_and_grad`**: label-smoothed cross-entropy and its gradient $(p - q)/N$ in
#    NumPy, equal to `F.cross_entropy` and its backward, and finite for logits of $\pm 10^4$.
# 2. **`adamw_update`**: one AdamW step by hand, bias correction and decoupled decay included;
#    five steps must match `tinygrad_lm.optim.AdamW`, moments and all.
# 3. **`warmup_cosine_lr`**: the warm-up + cosine schedule, equal to `optim.warmup_cosine` at
#    every step.
# 4. **`BrokenEmbedding`** (break the backward): a copy of the embedding whose backward looks
#    right and loses gradient when an id repeats. Run `gradcheck` with ids that never repeat (it
#    passes: the bug hides), then with a repeated id (it fails), and fix it. A check is only as
#    good as its inputs.
