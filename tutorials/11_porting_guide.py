"""Chapter 11: porting the library to another language, convention by convention, checked tensor by tensor.

Lists every convention a port of our GPT must match, and for each one computes what the wrong
choice does to the numbers and by how much: row-major layouts and the (B, T, C) -> (B, H, T, D)
split into heads (and a safetensors writer that stores a view's buffer as it lies), Linear
weights stored (out, in), exact versus tanh GELU, LayerNorm's biased variance and eps inside the
square root, softmax with the maximum subtracted, where the causal mask sits when there are
fewer queries than keys (ours bottom-right, PyTorch's is_causal top-left), the output head tied
to the token embedding, and where float32 sums differ: the error grows with the reduction length
and the bundle's tolerance, atol + rtol |golden|, is sized against it
(tutorials/figures/11_float32_sum_error.png). Then the order to port in and the checker at each
step: it writes the tiny GPT's golden bundle, ports the embedding and the first LayerNorm in
plain NumPy with a deliberate bug (unbiased variance), runs ``tinygrad-lm check-port`` on it,
which names the first bad tensor and exits 1, and on the fixed port, which passes; runs the
library itself in float32 as a port of the whole bundle (forward, gradients, AdamW: it passes)
and with the bug planted (the first mismatch is named, the loss alone cannot see it;
tutorials/figures/11_checker_errors.png); and shows why the bundle's MLP input weights are
drawn larger than a fresh GPT's (so that a tanh GELU fails it at the first MLP activation, as
it fails the shakespeare-char bundle). The whole forward pass in C99 is the
worked answer, in tutorials/porting/. Run with ``python tutorials/11_porting_guide.py`` from the
repository root; ``TINYGRAD_LM_TUTORIAL_SMALL=1`` measures the float32 sums on fewer lengths.
Left out: a backward pass and AdamW written by hand (exercise 3 ports AdamW; the bundle's
``grad/`` and ``step3/`` tensors check them) and BERT's bundle (same format, other names).
"""

# %% [markdown]
# # Chapter 11 — Porting guide
#
# The best way to learn how a model really works is to write it again somewhere else: in C,
# in Rust, in JAX, on a microcontroller. The hard part is not the code, it is knowing *where
# the port first goes wrong*. A GPT forward pass is some forty tensors long; when the loss at
# the end is 3.41 instead of 3.47, every one of them is a suspect.
#
# This library ships two tools for that (see README, "Porting"):
#
# - **golden bundles**: `tinygrad-lm golden --what gpt --config tiny --out DIR` writes every
#   input, parameter, activation, the loss, every gradient and the parameters after three
#   AdamW steps, as safetensors files (a JSON header and raw little-endian arrays, readable in
#   any language) with a manifest giving each tensor's shape, meaning and the tolerance a
#   float32 port must meet;
# - **the checker**: `tinygrad-lm check-port --golden DIR --candidate DIR` compares your port's
#   tensors, written under the same names, in the order the forward pass makes them, and
#   names the first one that is wrong. It exits 1 on any mismatch.
#
# Before the tools, the conventions. Each section below is one decision a port must make the
# same way we did, with a computation showing what the other choice gives and how far off it
# is. "Far" is measured against float32's machine epsilon, $2^{-23} \approx 1.2 \times 10^{-7}$:
# a port's tensors can only be expected to agree to a small multiple of it (section 8 says how
# small, and how the checker's tolerance follows), so a convention that moves a number by
# $10^{-3}$ is a bug the checker sees, even if the generated text looks fine.

# %%
import contextlib
import io
import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

import matplotlib
import numpy as np
import safetensors.numpy

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # run as a script: draw into files, no display needed
import matplotlib.pyplot as plt  # after the backend is chosen

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm import nn
from tinygrad_lm.cli import main
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.optim import AdamW
from tinygrad_lm.porting import check_port
from tinygrad_lm.porting.bundle import FLOAT32_ATOL_SCALE, FLOAT32_RTOL
from tinygrad_lm.porting.gpt_golden import activations

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
FIGURES = Path(os.environ.get("TINYGRAD_LM_FIGURES_DIR", "tutorials/figures"))
FIGURES.mkdir(parents=True, exist_ok=True)
EPS32 = float(np.finfo(np.float32).eps)  # 2^-23 = 1.19e-7, the gap between 1 and the next float32
rng = np.random.default_rng(11)


def max_rel(a, b):
    """Largest |a - b| over the largest |b|: how far off a tensor is, on the scale of its values."""
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


# %% [markdown]
# ## 1. Row-major layouts, and what splitting into heads does in memory
#
# Every array in a bundle, and every array in this library, is **row-major** (C order): the
# last index moves fastest. An array of shape $(B, T, C)$ is one flat buffer, and element
# $(b, t, c)$ sits at offset $(b\,T + t)\,C + c$. Fortran, Julia, MATLAB and column-major BLAS
# calls default to the other order; a port in those reads our bytes transposed unless it says
# otherwise.
#
# Attention splits the channels into $H$ heads of $D = C / H$ channels each:
#
# ```
# q.reshape(B, T, H, D)        # (B, T, C) -> (B, T, H, D): free, the same buffer read differently
#  .transpose(0, 2, 1, 3)      # (B, T, H, D) -> (B, H, T, D): moves no data either, only strides
# ```
#
# So element $(b, h, t, d)$ of the heads is element $(b, t, h D + d)$ of the input, at offset
# $(b\,T + t)\,C + h\,D + d$. A port without views (C, a GPU kernel) computes that offset
# itself, or copies into a new $(B, H, T, D)$ buffer; the bundle's `act/block0/q` is stored as
# that copy. The tempting shortcut, `reshape(B, H, T, D)` without the transpose, runs, has the
# right shape, and mixes positions and heads.

# %%
B, T, H, D = 2, 5, 2, 4
C = H * D
x = np.arange(B * T * C, dtype=np.float32).reshape(B, T, C)
heads = x.reshape(B, T, H, D).transpose(0, 2, 1, 3)  # (B, T, C) -> (B, T, H, D) -> (B, H, T, D)
print("strides in bytes, (B, T, C):", x.strides, "  heads (B, H, T, D):", heads.strides)
flat = x.ravel()
offsets_agree = all(heads[b, h, t, d] == flat[(b * T + t) * C + h * D + d]
                    for b in range(B) for h in range(H) for t in range(T) for d in range(D))
print("heads[b, h, t, d] == flat[(b T + t) C + h D + d] everywhere:", offsets_agree)
assert np.shares_memory(heads, x) and not heads.flags.c_contiguous  # a view: only the strides moved

# what a port that skips the transpose computes, on real attention (C = 32, 4 heads, T = 16)
Ba, Ta, Ha, Ca = 2, 16, 4, 32
q, k, v = (rng.standard_normal((Ba, Ta, Ca)).astype(np.float32) for _ in range(3))


def split_heads(a, transpose=True):
    """(B, T, C) -> (B, H, T, D); with transpose=False, the shortcut that skips the transpose."""
    if transpose:
        return a.reshape(Ba, Ta, Ha, Ca // Ha).transpose(0, 2, 1, 3)  # (B, T, C) -> (B, H, T, D)
    return a.reshape(Ba, Ha, Ta, Ca // Ha)  # wrong: (B, T, C) read as if it were (B, H, T, D)


def attend(transpose):
    qh, kh, vh = (tg.tensor(split_heads(a, transpose)) for a in (q, k, v))
    out = F.scaled_dot_product_attention(qh, kh, vh, causal=True).numpy()  # (B, H, T, D)
    return out.transpose(0, 2, 1, 3).reshape(Ba, Ta, Ca)  # (B, H, T, D) -> (B, T, H, D) -> (B, T, C)


layout_error = max_rel(attend(transpose=False), attend(transpose=True))
print(f"attention output without the transpose: off by {layout_error:.2f} of its largest value "
      f"({layout_error / EPS32:.1e} float32 epsilons)")

# %% [markdown]
# Writing tensors out is the mirror image: safetensors stores the bytes of a row-major array
# of the stated shape, so a port writes a transposed view only after making it contiguous
# (a copy loop in C, `np.array(a, order="C")` in NumPy). Not every writer does that for you:
# `safetensors.numpy.save_file` (0.8, the version installed here) writes a view's underlying
# buffer as it lies, so the file has the right shape and scrambled values, and the checker
# reports the tensor as wrong although the port computed it right:

# %%
trap_file = Path(tempfile.mkdtemp(prefix="tinygrad_lm_ch11_")) / "view.safetensors"
safetensors.numpy.save_file({"heads": heads}, str(trap_file))  # a transposed view, written as it lies
read_back = safetensors.numpy.load_file(str(trap_file))["heads"]
view_written_right = bool(np.array_equal(read_back, heads))
print(f"a (B, H, T, D) view read back: shape {read_back.shape}, same values: {view_written_right}")
safetensors.numpy.save_file({"heads": np.array(heads, order="C")}, str(trap_file))  # made contiguous first
assert np.array_equal(safetensors.numpy.load_file(str(trap_file))["heads"], heads)
shutil.rmtree(trap_file.parent)

# %% [markdown]
# ## 2. Linear weights are stored (out, in): $y = x W^\top + b$
#
# `nn.Linear(in_features, out_features)` keeps `weight` with shape `(out_features,
# in_features)`, PyTorch's convention: row $o$ of $W$ holds the weights of output $o$. The
# attention's packed projection `attn.qkv.weight` is $(3C, C)$: rows $0 \ldots C-1$ make $q$,
# the next $C$ make $k$, the last $C$ make $v$, and inside each, head $h$ owns rows
# $hD \ldots hD + D - 1$. OpenAI's GPT-2 checkpoints (their `Conv1D`) store the transpose,
# $(C, 3C)$.
#
# A rectangular weight used the wrong way round fails loudly (shapes do not match). A square
# one does not: `attn.proj.weight` is $(C, C)$, and $x W + b$ runs and gives other numbers.

# %%
linear = nn.Linear(Ca, Ca, rng=rng)
W, b = linear.weight.numpy(), linear.bias.numpy()  # W (out, in) = (C, C)
xs = rng.standard_normal((Ba, Ta, Ca)).astype(np.float32)
library_y = linear(tg.tensor(xs)).numpy()
right_y, wrong_y = xs @ W.T + b, xs @ W + b  # (B, T, C) @ (C, C) -> (B, T, C), the second with W not transposed
print(f"x W^T + b vs the library: {max_rel(right_y, library_y):.1e};  x W + b: off by {max_rel(wrong_y, library_y):.2f}")

# %% [markdown]
# ## 3. GELU: ours is the exact one, with erf
#
# The MLP's activation in our GPT is the exact GELU, $x\,\Phi(x) = \tfrac12 x\,(1 +
# \operatorname{erf}(x/\sqrt2))$. GPT-2 (Hugging Face's `gelu_new`, PyTorch's
# `GELU(approximate="tanh")`) uses
# $\tfrac12 x\,(1 + \tanh(\sqrt{2/\pi}\,(x + 0.044715\,x^3)))$. C99's libm has `erff`; a
# port to a language without erf must bring its own, accurate to float32 (our kernels use a
# polynomial, chapter 9). The two curves are close, but not float32-close (though near 0
# they are: section 9 shows what that means for a bundle's weights):

# %%
grid = np.linspace(-6.0, 6.0, 24001)
exact = F.gelu(tg.tensor(grid), approximate="none").numpy()  # float64
tanh_form = F.gelu(tg.tensor(grid), approximate="tanh").numpy()
gelu_gap = float(np.abs(exact - tanh_form).max())
worst_x = float(grid[np.argmax(np.abs(exact - tanh_form))])
print(f"max |GELU_erf - GELU_tanh| = {gelu_gap:.2e} at x = {worst_x:+.2f} "
      f"({gelu_gap / EPS32:.0f} float32 epsilons); at x = 1: {exact[grid == 1.0][0]:.7f} vs {tanh_form[grid == 1.0][0]:.7f}")

# %% [markdown]
# ## 4. LayerNorm: biased variance, eps inside the square root
#
# $y = (x - \mu) / \sqrt{\sigma^2 + \varepsilon}\,\gamma + \beta$ with $\sigma^2 = \frac1C
# \sum_c (x_c - \mu)^2$ (divide by $C$, NumPy's `ddof=0`, PyTorch's `unbiased=False`) and
# $\varepsilon = 10^{-5}$ inside the root. Two easy slips:
#
# - the unbiased variance (divide by $C - 1$, the default of `torch.var`, R's `var`, Julia's
#   `Statistics.var`) scales every output by $\sqrt{(C-1)/C}$: about $1/(2C)$ relative, 1.6%
#   at $C = 32$ and still 0.07% at GPT-2's $C = 768$;
# - eps outside the root, $\sqrt{\sigma^2} + \varepsilon$, is within $5 \times 10^{-6}$ for a
#   row of unit variance (a few dozen epsilons, less than a float32 tolerance must allow, see
#   section 8) but a different function for a row of small variance, where eps dominates.

# %%
Cn = 32
rows = rng.standard_normal((64, Cn)).astype(np.float32)
flat_row = (1e-3 * rng.standard_normal((1, Cn))).astype(np.float32)  # std 1e-3: var = 1e-6 < eps
right_ln = F.layer_norm(tg.tensor(rows), eps=1e-5).numpy()


def layer_norm_variant(a, ddof=0, eps_inside=True, eps=1e-5):
    """LayerNorm without weight and bias, with the two choices a port can get wrong."""
    a = a.astype(np.float64)
    centred = a - a.mean(axis=-1, keepdims=True)  # (N, C)
    var = a.var(axis=-1, ddof=ddof, keepdims=True)  # (N, C) -> (N, 1)
    return centred / (np.sqrt(var + eps) if eps_inside else np.sqrt(var) + eps)


ln_errors = {
    "unbiased variance": max_rel(layer_norm_variant(rows, ddof=1), right_ln),
    "eps outside the root": max_rel(layer_norm_variant(rows, eps_inside=False), right_ln),
    "eps outside, a row of std 1e-3": max_rel(layer_norm_variant(flat_row, eps_inside=False),
                                              F.layer_norm(tg.tensor(flat_row), eps=1e-5).numpy()),
}
for name, error in ln_errors.items():
    print(f"LayerNorm with {name:32s} off by {error:.2e} ({error / EPS32:8.0f} float32 epsilons)")
print(f"1 - sqrt((C-1)/C) at C = {Cn}: {1 - math.sqrt((Cn - 1) / Cn):.2e}")

# %% [markdown]
# ## 5. Softmax subtracts the row maximum first
#
# $\mathrm{softmax}(s)_j = e^{s_j - m} / \sum_k e^{s_k - m}$ with $m = \max_k s_k$. In exact
# arithmetic $m$ cancels; in float32 it keeps every exponent $\le 0$, so nothing overflows.
# `exp` of anything above $\ln(3.4 \times 10^{38}) \approx 88.7$ is `inf` in float32, and
# `inf / inf` is NaN. Attention scores and logits of 100 happen (large weights, long training,
# a learning rate too high), so a port without the max subtraction works on the bundle and
# fails later. Cross-entropy needs the same trick in log form: $\log p_y = s_y - m - \log
# \sum_k e^{s_k - m}$, never $\log(\mathrm{softmax}(s)_y)$, which is $\log 0 = -\infty$ once
# $p_y$ underflows below $10^{-45}$.

# %%
def naive_softmax(s):
    e = np.exp(s)  # overflows to inf above 88.7 in float32
    return e / e.sum(axis=-1, keepdims=True)


modest = rng.standard_normal((4, 10)).astype(np.float32) * 3
large = np.array([[0.0, 100.0, 90.0]], dtype=np.float32)
with np.errstate(over="ignore", invalid="ignore"):
    softmax_in_range = max_rel(naive_softmax(modest), F.softmax(tg.tensor(modest), axis=-1).numpy())
    naive_large = naive_softmax(large)
safe_large = F.softmax(tg.tensor(large), axis=-1).numpy()
print(f"scores of size ~3: naive vs max-subtracted differ by {softmax_in_range:.1e} (rounding only)")
print(f"scores [0, 100, 90]: naive {naive_large[0]}, max-subtracted {safe_large[0]}")
log_p = -F.cross_entropy(tg.tensor(np.array([[0.0, 120.0]], dtype=np.float32)), np.array([0])).numpy()
with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
    naive_log_p = np.log(naive_softmax(np.array([[0.0, 120.0]], dtype=np.float32))[0, 0])
print(f"log p of a target scored 120 below the best: log-sum-exp {log_p:.1f}, log(softmax) {naive_log_p}")

# %% [markdown]
# ## 6. The causal mask is aligned bottom-right
#
# With as many queries as keys ($T_q = T_k$), "causal" has one meaning: query $i$ sees keys
# $j \le i$. With fewer queries than keys, the case of a KV-cache step (one new query, every
# earlier key), there are two:
#
# - ours, **bottom-right**: query $i$ sees keys $j \le i + (T_k - T_q)$. The queries are the
#   *last* $T_q$ positions, so the single new query sees every key, as it must;
# - PyTorch's `scaled_dot_product_attention(..., is_causal=True)`, **top-left**: the mask is
#   `torch.ones(Tq, Tk).tril(diagonal=0)`, so query $i$ sees keys $j \le i$ and the new
#   query sees only key 0. (PyTorch documents this, and offers bottom-right as a separate
#   `causal_lower_right` bias.)
#
# A port that copies PyTorch's flag passes every test with $T_q = T_k$ and generates nonsense
# with a cache. Here are the two masks, and what the top-left one does to a cache step:

# %%
Tq, Tk, Dh = 2, 5, 8
ours_mask = np.tril(np.ones((Tq, Tk), dtype=bool), k=Tk - Tq)  # (Tq, Tk): j <= i + Tk - Tq
pytorch_mask = np.tril(np.ones((Tq, Tk), dtype=bool), k=0)  # (Tq, Tk): j <= i, torch's is_causal
print("ours (bottom-right):\n", ours_mask.astype(int), "\nPyTorch is_causal (top-left):\n", pytorch_mask.astype(int))
qc, kc, vc = (tg.tensor(rng.standard_normal((1, n, Dh)).astype(np.float32)) for n in (Tq, Tk, Tk))
causal_out = F.scaled_dot_product_attention(qc, kc, vc, causal=True).numpy()
assert np.array_equal(causal_out, F.scaled_dot_product_attention(qc, kc, vc, mask=tg.tensor(ours_mask)).numpy())
top_left_out = F.scaled_dot_product_attention(qc, kc, vc, mask=tg.tensor(pytorch_mask)).numpy()
mask_error = max_rel(top_left_out, causal_out)
print(f"attention of the last {Tq} of {Tk} positions with the top-left mask: off by {mask_error:.2f}")

# %% [markdown]
# The bundle's attention has $T_q = T_k$, so it cannot catch this. The library's KV-cache
# tests can (chapter 8: the cache changes the cost of a step, not the tokens); test a port's
# cached decoding against its own uncached forward the same way.
#
# ## 7. The output head is the token embedding, transposed
#
# The logits are $\mathrm{ln\_f}(x)\,W_{te}^\top$ with $W_{te}$ = `wte.weight`, shape $(V,
# C)$: no `lm_head.weight` in the state dict, no bias (Press & Wolf 2017, as GPT-2). In the
# forward pass a port only has to know it; in the backward pass it matters more: `wte.weight`
# is used twice, so its gradient is the *sum* of the head's part,
# $\partial L / \partial W_{te} \mathrel{+}= (\partial L/\partial \mathrm{logits})^\top h$, and the
# embedding's part, which adds the gradient of `act/embed` into the rows of the tokens that
# were read (a scatter-add: a token read twice gets both). A port that keeps only one of the
# two is wrong by the other:

# %%
config = GPTConfig(vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=32, seed=3)
model = GPT(config)
assert "lm_head.weight" not in model.state_dict()
ids = rng.integers(0, 20, (2, 16))  # only tokens 0..19 appear: rows 20..39 are never read
targets = rng.integers(0, 40, (2, 16))
logits, loss = model(ids, targets)
loss.backward()
with tg.no_grad():  # the forward again, step by step, to get h = ln_f(x), the head's input
    hidden = model.wte(ids) + model.wpe(np.arange(16))  # (B, T, C)
    for block in model.blocks:
        hidden = block(hidden, causal=True)
    hidden = model.ln_f(hidden).numpy()  # (B, T, C)
wte = model.wte.weight.numpy()
assert np.allclose(hidden @ wte.T, logits.numpy(), atol=1e-5)  # (B, T, C) @ (C, V) -> (B, T, V)
probs = np.exp(logits.numpy() - logits.numpy().max(-1, keepdims=True))
probs /= probs.sum(-1, keepdims=True)  # (B, T, V)
dlogits = (probs - np.eye(40)[targets]) / targets.size  # dL/dlogits of the mean cross-entropy
head_part = dlogits.reshape(-1, 40).T @ hidden.reshape(-1, 32)  # (V, B*T) @ (B*T, C) -> (V, C)
embedding_part = model.wte.weight.grad - head_part
unread = np.abs(embedding_part[20:]).max()  # tokens never read get no embedding gradient
share = {name: float(np.linalg.norm(part) / np.linalg.norm(model.wte.weight.grad))
         for name, part in (("head", head_part), ("embedding", embedding_part))}
print(f"|grad wte| shares: head part {share['head']:.2f}, embedding part {share['embedding']:.2f}; "
      f"embedding part on never-read rows: {unread:.1e}")

# %% [markdown]
# ## 8. Where float32 sums differ, and what a tolerance must allow
#
# Every convention above is a choice with one right answer. This one is not: float32 addition
# is not associative, so the *same* formula summed in another order gives another float32
# number. A matrix product, a LayerNorm mean, a softmax denominator, the mean of the loss are
# all sums, and every library orders them its own way: a C loop adds left to right
# (sequential), NumPy's `sum` adds pairwise (halves, recursively), BLAS adds in blocks sized
# for the cache and the vector width, a GPU adds in a tree across threads. None of them is
# wrong; a port will not reproduce our bits, and it should not try.
#
# How far apart can they be? Each addition rounds with relative error at most
# $u = \varepsilon/2 = 2^{-24}$. Summing $K$ terms left to right, the error is bounded by
# about $K\,u \sum_i |x_i|$ (Higham, *Accuracy and Stability of Numerical Algorithms*, ch. 4);
# pairwise, by $\log_2 K\; u \sum_i |x_i|$. With random signs the errors partly cancel, and
# what one sees is closer to $\sqrt{K}\,u$ and $\sqrt{\log_2 K}\,u$ times the size of the
# terms. Either way **the error grows with the reduction length $K$**. One sum, four answers:

# %%
terms = rng.standard_normal(4096).astype(np.float32)
exact_sum = math.fsum(terms.astype(np.float64))  # correctly rounded: the reference
four_ways = {
    "left to right (a C loop)": float(np.cumsum(terms)[-1]),  # cumsum adds sequentially
    "right to left": float(np.cumsum(terms[::-1])[-1]),
    "pairwise (np.sum)": float(terms.sum()),
    "BLAS dot with ones": float(terms @ np.ones_like(terms)),
}
for name, value in four_ways.items():
    print(f"{name:26s} {value:+.7f}   error {abs(value - exact_sum):.1e}")
print(f"{'exact (math.fsum)':26s} {exact_sum:+.7f}")

# %% [markdown]
# Now a matrix product, the reduction a GPT is made of: $y = x W^\top$ with $x$ and $W$ of
# unit-variance entries and $K$ the inner dimension ($C$ for most Linears, $4C$ for the MLP's
# second one, $T$ for attention's $P V$). We measure the error of a sequential float32 sum and
# of BLAS's float32 `matmul` against the float64 result, as a fraction of the largest
# $|y|$, the scale the bundle's tolerances use.

# %%
lengths = [2 ** p for p in range(3, 15 if SMALL else 18)]
n_rows = 64
measured = {"sequential (a C loop)": [], "BLAS matmul": []}
for K in lengths:
    xk = rng.standard_normal((n_rows, K)).astype(np.float32)
    wk = rng.standard_normal(K).astype(np.float32)
    exact_y = xk.astype(np.float64) @ wk.astype(np.float64)  # (rows, K) @ (K,) -> (rows,)
    sequential_y = np.cumsum(xk * wk, axis=1)[:, -1]  # products rounded, then added left to right
    scale = np.abs(exact_y).max()
    measured["sequential (a C loop)"].append(np.abs(sequential_y - exact_y).max() / scale)
    measured["BLAS matmul"].append(np.abs(xk @ wk - exact_y).max() / scale)
for K, seq_err, blas_err in zip(lengths, *measured.values()):
    print(f"K = {K:6d}: error / max|y|  sequential {seq_err:.1e}   BLAS {blas_err:.1e}")

# %% [markdown]
# BLAS stays near $\varepsilon$ however long the sum (it adds in short blocks, then adds the
# blocks, much like pairwise summation); the sequential loop's error grows like $\sqrt K$. So
# the golden values cannot be "what our float32 code computed": that would be one arbitrary
# summation order among many. Instead a float32 bundle is computed **in float64** from the
# float32 parameters and rounded once, so each golden number is the float32 number nearest
# the exact result, and a port's own rounding is what the tolerance pays for. The checker
# accepts a value when
#
# $$|\text{port} - \text{golden}| \le \text{atol} + \text{rtol}\,|\text{golden}|, \qquad
#   \text{atol} = 10^{-5} \max|\text{golden tensor}|, \quad \text{rtol} = 10^{-4},$$
#
# per tensor (the manifest stores both numbers for each tensor). The atol is relative to the
# tensor's largest value because a sum's rounding error scales with its terms, not with its
# result: an element of $y$ that happens to be near 0 carries the same absolute error as its
# neighbours. $10^{-5}$ is about $84\,\varepsilon$: above the BLAS error at every length, and
# above a plain C loop's for reductions up to the lengths measured here, a margin for the
# dozen sums stacked in each block. The picture:

# %%
atol_fraction, rtol = FLOAT32_ATOL_SCALE, FLOAT32_RTOL
fig, ax = plt.subplots(figsize=(7, 4.2))
for (name, errors), marker in zip(measured.items(), "os"):
    ax.loglog(lengths, errors, marker + "-", label=f"float32 {name}")
K_axis = np.array(lengths, dtype=float)
ax.loglog(K_axis, np.sqrt(K_axis) * EPS32 / 4, "k:", label=r"$\sqrt{K}\,\varepsilon / 4$ (random-walk growth)")
ax.axhline(atol_fraction, color="tab:red", label=f"bundle atol = {atol_fraction:g} max|y|")
ax.axhline(EPS32, color="grey", lw=0.8, ls="--", label=r"float32 $\varepsilon$")
for K, label in ((768, "C of GPT-2"), (3072, "4C of GPT-2")):
    ax.axvline(K, color="grey", lw=0.6)
    ax.text(K * 1.08, 0.72, label, rotation=90, fontsize=8, color="grey", transform=ax.get_xaxis_transform())
ax.set_xlabel("reduction length K (inner dimension of y = x W^T)")
ax.set_ylabel("max |y_float32 - y_exact| / max |y|")
ax.set_title("float32 sums: the error grows with the reduction length")
ax.legend(fontsize=8, loc="upper left")
fig.tight_layout()
fig.savefig(FIGURES / "11_float32_sum_error.png", dpi=120)
plt.close(fig)
sequential_at_2048 = measured["sequential (a C loop)"][lengths.index(2048)]
print(f"sequential error at K = 2048: {sequential_at_2048:.1e} = {sequential_at_2048 / atol_fraction:.2f} of the "
      f"bundle's atol = {atol_fraction:g} max|y| (and its rtol is {rtol:g})")

# %% [markdown]
# What the picture shows (`tutorials/figures/11_float32_sum_error.png`): each point is the
# worst error over 64 dot products of length $K$, on the scale of the largest result. BLAS
# stays within a few $\varepsilon$; the sequential loop follows the $\sqrt K$ line and
# approaches the bundle's atol only near $K = 10^5$, far past the widest reduction in a GPT-2
# ($4C = 3072$; attention's is $T$, up to 1024). This is why the tolerances are what they are:
# loose enough that any honest summation order passes, tight enough that the wrong
# conventions above fail by orders of magnitude. All but one: eps outside the square root
# moved unit-variance rows by only $4.9 \times 10^{-6}$, inside the tolerance. The bundle
# catches it anyway, because a freshly initialised GPT's embeddings have a standard deviation
# near 0.03 (weights drawn with std 0.02), so its first LayerNorm sees a variance near
# $10^{-3}$, where $\varepsilon = 10^{-5}$ is a percent of it (section 9 runs it).

# %% [markdown]
# ## 9. The order to port in, and the checker at each step
#
# Port in the order the forward pass runs, and check each piece before writing the next,
# so that when a tensor fails, the bug is in the code written since the last pass:
#
# | step | what to write | check with `--only` |
# |---|---|---|
# | 0 | read safetensors and the manifest; echo the batch back | `input/` |
# | 1 | embedding: `wte[ids] + wpe[0..T-1]` | `input/,act/embed` |
# | 2 | LayerNorm (section 4) | `...,act/block0/ln1` |
# | 3 | attention: the qkv Linear (section 2), heads (section 1), scores, causal mask (6), softmax (5), $PV$, merge, `proj` | `...,act/block0/q`, `k`, `v`, `att_probs`, `att_y`, `att_out` |
# | 4 | residual, LayerNorm, MLP with exact GELU (3), residual | `act/block0/` |
# | 5 | every block, `ln_f`, the tied head (7), the logits | `act/` |
# | 6 | the loss (log-sum-exp, section 5) | `input/,act/,loss` |
# | 7 | backward, in reverse: logits, `ln_f`, the blocks, the embeddings (two gradients into `wte`) | `grad/` |
# | 8 | AdamW: three steps with `config.adamw`'s settings (decoupled decay on the names it lists) | `step3/` |
#
# Two notes on the last rows. The bundle holds the gradients of the parameters, not of the
# activations, and lists them in parameter order (`wte` first), while a backward pass makes
# them last layer first; `wte`'s depends on everything. So widen from the end:
# `--only grad/ln_f`, then add `grad/blocks.1.`, then `grad/blocks.0.`, then the embeddings.
# And AdamW needs no backward to be ported: the optim bundle (`tinygrad-lm golden --what
# optim`) gives it the gradients of a quadratic (exercise 3).
#
# The first thing to do is write the bundle. It holds the tiny preset's GPT (2 blocks, width
# 32, 2 heads, 65 tokens) and a random batch of $B = 2$ sequences of $T = 16$ tokens:

# %%
workdir = Path(tempfile.mkdtemp(prefix="tinygrad_lm_ch11_"))
golden_dir = workdir / "gpt-tiny"
assert main(["golden", "--what", "gpt", "--config", "tiny", "--out", str(golden_dir)]) == 0
manifest = json.loads((golden_dir / "manifest.json").read_text())
golden = safetensors.numpy.load_file(str(golden_dir / "tensors.safetensors"))
print(f"{len(manifest['tensors'])} tensors, {sum(a.nbytes for a in golden.values()) / 1024:.0f} KiB; config:",
      {key: manifest["config"][key] for key in ("n_layer", "n_head", "n_embd", "vocab_size", "gelu", "layer_norm_eps")})
shown = ("input/ids", "param/blocks.0.attn.qkv.weight", "act/block0/att_probs", "loss", "grad/wte.weight")
for entry in (entry for entry in manifest["tensors"] if entry["name"] in shown):
    print(f"  {entry['name']:28s} {entry['shape']!s:14s} atol {entry['atol']:.1e} rtol {entry['rtol']:g}  "
          f"{entry['description']}")

# %% [markdown]
# Steps 1 and 2 as a port would write them, in plain NumPy: it reads the bundle with
# `safetensors` (any language's reader would do) and touches nothing of `tinygrad_lm`. Its
# LayerNorm has the most common porting bug, the unbiased variance.

# %%
def ported_embedding_and_ln1(tensors, ddof):
    """The candidate tensors of steps 0-2, in float32, LayerNorm's variance divided by C - ddof."""
    ids = tensors["input/ids"]  # (B, T) int64
    T = ids.shape[1]
    embed = tensors["param/wte.weight"][ids] + tensors["param/wpe.weight"][:T]  # (B, T, C) + (T, C)
    mean = embed.mean(axis=-1, keepdims=True)  # (B, T, C) -> (B, T, 1)
    var = embed.var(axis=-1, ddof=ddof, keepdims=True)  # (B, T, 1); ddof=1 is the bug
    ln1 = (embed - mean) / np.sqrt(var + np.float32(1e-5)) * tensors["param/blocks.0.ln1.weight"] \
        + tensors["param/blocks.0.ln1.bias"]  # (B, T, C)
    return {"input/ids": ids, "input/targets": tensors["input/targets"], "act/embed": embed, "act/block0/ln1": ln1}


def write_candidate(candidate_tensors, name):
    """A candidate directory holding ``candidate_tensors`` in one safetensors file (section 1: C order)."""
    folder = workdir / name
    folder.mkdir()
    contiguous = {key: np.array(array, order="C") for key, array in candidate_tensors.items()}  # 0-d stays 0-d
    safetensors.numpy.save_file(contiguous, str(folder / "port.safetensors"))
    return folder


def check(candidate_tensors, name, only):
    """Run `tinygrad-lm check-port` on a candidate; (exit code, the report it printed)."""
    folder = write_candidate(candidate_tensors, name)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["check-port", "--golden", str(golden_dir), "--candidate", str(folder), "--only", only])
    print(printed.getvalue())
    return code, printed.getvalue()


steps_1_2 = "input/,act/embed,act/block0/ln1"
broken_code, broken_report = check(ported_embedding_and_ln1(golden, ddof=1), "unbiased", steps_1_2)
print("exit code", broken_code)

# %% [markdown]
# The ids and the embedding pass exactly (an embedding is a lookup and one addition, no
# rounding to disagree on); `act/block0/ln1` fails by 1.6% of its values, the $\sqrt{(C-1)/C}$
# of section 4, and the command exits 1, so a script or a CI job that runs it stops here. The
# fix is `ddof=0`:

# %%
fixed_code, fixed_report = check(ported_embedding_and_ln1(golden, ddof=0), "biased", steps_1_2)
print("exit code", fixed_code)

# %% [markdown]
# ### A whole port, and what "first" buys
#
# In a complete port a bug early in the forward pass spoils every tensor after it, so a
# checker that only reported the loss, or reported everything without an order, would point
# nowhere. To see it on the whole bundle we need a complete port; the quickest one is the
# library itself, run in float32 (the bundle is float64 rounded once, so our own float32
# kernels are a port like any other: their own summation orders, their own rounding). It
# loads the parameters from the bundle, computes every activation (with
# `tinygrad_lm.porting.gpt_golden.activations`, the layer-by-layer forward the bundle itself
# is made with), the loss, every gradient and three AdamW steps. Then we plant the LayerNorm
# bug in block 0 and check both, everything, no `--only`.

# %%
class UnbiasedLayerNorm(nn.LayerNorm):
    """The porting bug as a module: the variance divided by C - 1 instead of C."""

    def forward(self, x):
        C = x.shape[-1]
        centred = x - x.mean(axis=-1, keepdims=True)  # (B, T, C)
        var = (centred * centred).sum(axis=-1, keepdims=True) / (C - 1)  # (B, T, 1): the bug
        return centred / (var + self.eps).sqrt() * self.weight + self.bias


def library_port(ln1_of_block0=None):
    """Every tensor of the bundle computed by the library in float32, from the bundle's inputs."""
    model_fields = {name: manifest["config"][name] for name in GPTConfig().to_dict()}
    model = GPT(GPTConfig(**model_fields), dtype="float32")
    model.load_state_dict({name.removeprefix("param/"): array for name, array in golden.items()
                           if name.startswith("param/")})
    if ln1_of_block0 is not None:
        ln1_of_block0.load_state_dict(model.blocks[0].ln1.state_dict())
        model.blocks[0].ln1 = ln1_of_block0
    ids, targets = golden["input/ids"], golden["input/targets"]
    out = {"input/ids": ids, "input/targets": targets}
    out.update({f"param/{name}": p.numpy().copy() for name, p in model.named_parameters()})  # read back
    out.update({name: values for name, values, _ in activations(model, ids)[0]})
    _, loss = model(ids, targets)
    out["loss"] = loss.numpy()
    loss.backward()
    out.update({f"grad/{name}": p.grad for name, p in model.named_parameters()})
    adamw = manifest["config"]["adamw"]
    named = dict(model.named_parameters())
    groups = [{"params": [named[n] for n in named if n in adamw["decayed"]], "weight_decay": adamw["weight_decay"]},
              {"params": [named[n] for n in named if n not in adamw["decayed"]], "weight_decay": 0.0}]
    optimizer = AdamW(groups, lr=adamw["lr"], betas=tuple(adamw["betas"]), eps=adamw["eps"])
    for step in range(adamw["steps"]):
        if step:  # the first step uses the gradient computed above
            model.zero_grad()
            model(ids, targets)[1].backward()
        optimizer.step()
    with tg.no_grad():
        out["step3/loss"] = model(ids, targets)[1].numpy()
    out.update({f"step3/param/{name}": p.numpy() for name, p in model.named_parameters()})
    return out


def full_report(candidate_tensors, name):
    """The checker's report (a dict) on every tensor of the bundle, through its Python API."""
    return check_port(golden_dir, write_candidate(candidate_tensors, name))


library_report = full_report(library_port(), "library-float32")
broken_library_report = full_report(library_port(UnbiasedLayerNorm(manifest["config"]["n_embd"])), "library-broken")
for label, report in (("library in float32", library_report), ("... with block 0's ln1 unbiased", broken_library_report)):
    failed = [row["name"] for row in report["rows"] if row["status"] != "pass"]
    print(f"{label:34s} passed={report['passed']}, {len(failed)} of {len(report['rows'])} tensors fail, "
          f"first mismatch: {report['first_failure']}")
loss_rows = {report_name: next(row for row in report["rows"] if row["name"] == "loss")
             for report_name, report in (("fixed", library_report), ("broken", broken_library_report))}
print(f"the loss with the bug: off by {loss_rows['broken']['max_rel_error']:.1e} relative, "
      f"{loss_rows['broken']['status']} (without it: {loss_rows['fixed']['max_rel_error']:.1e})")

# %% [markdown]
# Our float32 kernels pass all 115 tensors: forward, loss, gradients and three AdamW steps,
# with their own summation orders, which is the evidence that the tolerances of section 8 are
# loose enough for an honest port. With the planted bug the checker names `act/block0/ln1`,
# and nearly every tensor after it fails too, gradients and AdamW's results included. Not the
# loss: it moves by a few millionths of itself, inside its tolerance. At initialisation the
# logits hardly depend on the first LayerNorm's scale, so **a port checked on its loss alone
# would ship this bug**; the activations are what catch it. The picture shows each forward
# tensor's worst error against its atol:

# %%
forward_rows = [(ok, bad) for ok, bad in zip(library_report["rows"], broken_library_report["rows"])
                if ok["name"].startswith("act/") or ok["name"] == "loss"]
labels = [ok["name"].removeprefix("act/") for ok, _ in forward_rows]
fig, ax = plt.subplots(figsize=(9, 4.2))
positions = np.arange(len(forward_rows))
floor = 1e-4  # exact agreement (error 0) drawn at the bottom of the axis
for offset, index, colour, label in ((-0.2, 0, "tab:green", "library in float32"),
                                     (0.2, 1, "tab:red", "with block 0's ln1 unbiased")):
    ratios = [max(pair[index]["max_abs_error"] / pair[index]["atol"], floor) for pair in forward_rows]
    ax.bar(positions + offset, ratios, width=0.4, color=colour, label=label)
ax.axhline(1.0, color="k", lw=0.8, ls="--")
ax.set_yscale("log")
ax.set_xticks(positions, labels, rotation=90, fontsize=7)
ax.set_ylabel("max |port - golden| / atol")
ax.set_title(f"check-port on the tiny GPT bundle: first mismatch {broken_library_report['first_failure']}")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(FIGURES / "11_checker_errors.png", dpi=120)
plt.close(fig)

# %% [markdown]
# What the picture shows (`tutorials/figures/11_checker_errors.png`): one pair of bars per
# forward tensor, in the order the forward pass makes them; below the dashed line a tensor is
# within its atol (a tensor also passes a little above it, through the rtol |golden| term;
# an exact match is drawn at the bottom). The float32 library stays two orders of magnitude
# below the line; the broken port jumps three orders above it at `act/block0/ln1` and stays
# there until the loss, which the bug barely moves.
#
# ### Why the bundle's MLP weights are larger than a fresh GPT's
#
# A bundle only tests the inputs it holds. With GPT-2's initialisation (every weight of std
# 0.02) the tiny model's MLP pre-activations stay within about $\pm 0.5$, and near 0 the two
# GELUs of section 3 agree far better than their worst $4.7 \times 10^{-4}$: to about one part
# in $10^4$, the bundle's rtol, so a port with the wrong GELU would pass. The generator therefore draws each
# block's `mlp.fc.weight` at std $1/\sqrt{C}$: `ln2`'s rows have unit variance, so the
# pre-activations do too, and reach $|x| \approx 2.7$ where the gap peaks. Near 0 first:

# %%
def relative_gelu_gap(limit):
    """max |GELU_erf - GELU_tanh| / |GELU_erf| over the grid's nonzero x with |x| <= limit."""
    keep = (np.abs(grid) <= limit) & (grid != 0)
    return float((np.abs(exact - tanh_form)[keep] / np.abs(exact[keep])).max())


gap_near_zero = relative_gelu_gap(0.5)
print(f"relative gap |GELU_erf - GELU_tanh| / |GELU_erf| for |x| <= 0.5: {gap_near_zero:.1e} "
      f"(the bundle allows rtol = {rtol:g} of |golden| on top of atol)")

# %% [markdown]
# Now a tanh-GELU port of block 0's MLP hidden layer, fed the bundle's own `ln2`, against the
# tiny bundle and against the larger `shakespeare-char` one (4 blocks of width 128, $T = 64$):

# %%
def tanh_gelu_hidden(bundle_tensors):
    """act/block0/mlp_hidden as a port with GPT-2's tanh GELU computes it, from the bundle's ln2."""
    pre = bundle_tensors["act/block0/ln2"] @ bundle_tensors["param/blocks.0.mlp.fc.weight"].T \
        + bundle_tensors["param/blocks.0.mlp.fc.bias"]  # (B, T, C) @ (C, 4C) -> (B, T, 4C)
    return pre, F.gelu(tg.tensor(pre), approximate="tanh").numpy()


larger_dir = workdir / "gpt-shakespeare-char"
assert main(["golden", "--what", "gpt", "--config", "shakespeare-char", "--out", str(larger_dir)]) == 0
tanh_verdicts = {}
for label, folder in (("tiny", golden_dir), ("shakespeare-char", larger_dir)):
    tensors = safetensors.numpy.load_file(str(folder / "tensors.safetensors"))
    pre, hidden = tanh_gelu_hidden(tensors)
    row = check_port(folder, write_candidate({"act/block0/mlp_hidden": hidden}, f"tanh-{label}"),
                     only=["act/block0/mlp_hidden"])["rows"][0]
    tanh_verdicts[label] = row["status"]
    print(f"{label:17s} max |pre-activation| {np.abs(pre).max():.2f}: tanh GELU off by {row['max_abs_error']:.1e} "
          f"(atol {row['atol']:.1e}) -> {row['status']}")

# %% [markdown]
# The tanh port fails both, at the first tensor it computes. So: port against the tiny bundle
# (fast, small enough to print), then check the finished port against `shakespeare-char` as
# well, whose wider model and longer batch reach further into each function. A bundle records
# one point: it sees only the mistakes that move the numbers at its inputs and weights, which
# is why its weights are chosen, not only drawn the way training starts.
#
# ### The worked port, and the steps after the forward pass
#
# `tutorials/porting/gpt.c` is the whole forward pass and loss in C99 (libc and libm, a
# two-hundred-line safetensors reader), the model answer to the exercises below; its README
# says how to build it and run the checker on it with `--only input/,act/,loss`, and its
# teaching switch `-DBREAK_LAYERNORM_EPS` plants section 4's eps bug, which the checker names
# as `act/block0/ln1`. The backward pass and AdamW are steps 7 and 8 of the table: the same
# bundle holds `grad/<name>` for every parameter and `step3/param/<name>` after three steps
# with the settings in `manifest["config"]["adamw"]`, and the same command checks them with
# `--only grad/` and `--only step3/`.
#
# ## Exercises
#
# In `tutorials/exercises/ch11.py`, checked by `pytest tutorials/exercises -k ch11` through
# the checker itself:
#
# 1. `causal_attention_probs`: port step 3's heart, the attention probabilities with the
#    bottom-right mask and the max subtracted, and pass the bundle's `att_probs`;
# 2. `gpt_forward`: the whole forward pass and loss in plain NumPy, passing `check-port --only
#    input/,act/,loss` on the tiny bundle (the C port is a worked answer in another language);
# 3. `adamw_trajectory`: AdamW in float64 on the optim bundle's quadratic (`tinygrad-lm golden
#    --what optim`), passing `--only adamw/` to $10^{-10}$.
#
# ## The check
#
# Every wrong convention moves its numbers by far more than the tolerance; the float32 sum's
# error grows with the reduction length and stays under the bundle's atol for every length a
# GPT uses; the checker exits 1 and names `act/block0/ln1` for the unbiased LayerNorm, and
# passes the fixed port; our own float32 kernels pass the whole bundle, and the planted bug
# fails every tensor from its own on; a tanh GELU fails both GPT bundles at its first tensor.

# %%
float32_tolerance = atol_fraction  # the smallest error a float32 check may flag, relative to max|tensor|
assert not view_written_right, "safetensors now writes views in C order: update section 1's warning"
assert offsets_agree and layout_error > 0.1 and max_rel(right_y, library_y) < 1e-6 and max_rel(wrong_y, library_y) > 0.1
assert 4.5e-4 < gelu_gap < 5e-4 and abs(abs(worst_x) - 2.70) < 0.01, (gelu_gap, worst_x)
assert abs(ln_errors["unbiased variance"] - (1 - math.sqrt((Cn - 1) / Cn))) < 2e-3
assert ln_errors["eps outside the root"] < float32_tolerance < ln_errors["eps outside, a row of std 1e-3"]
assert softmax_in_range < 1e-6 and np.isnan(naive_large).any() and np.all(np.isfinite(safe_large))
assert abs(log_p + 120.0) < 1e-3 and naive_log_p == -np.inf
assert mask_error > 0.1 and ours_mask[-1].all() and pytorch_mask[-1].sum() == Tq
assert unread < 1e-6 and min(share.values()) > 0.3, (unread, share)
gpt_lengths = [i for i, K in enumerate(lengths) if K <= 2 ** 14]  # every reduction length of a GPT-2 and more
assert max(measured["BLAS matmul"]) < float32_tolerance / 10
assert max(measured["sequential (a C loop)"][i] for i in gpt_lengths) < float32_tolerance
assert measured["sequential (a C loop)"][-1] > 10 * measured["sequential (a C loop)"][0]  # grows with K
assert broken_code == 1 and "first mismatch: act/block0/ln1" in broken_report
assert fixed_code == 0 and "PASSED: all 4 tensors" in fixed_report
assert library_report["passed"] and len(library_report["rows"]) == len(manifest["tensors"])
assert broken_library_report["first_failure"] == "act/block0/ln1"
rows_after = broken_library_report["rows"][[row["name"] for row in broken_library_report["rows"]].index("act/block0/ln1"):]
failing_after = [row["status"] == "fail" for row in rows_after if row["name"].startswith(("act/", "grad/"))]
assert sum(failing_after) >= 0.9 * len(failing_after), f"{sum(failing_after)} of {len(failing_after)}"
assert loss_rows["broken"]["status"] == "pass" and loss_rows["broken"]["max_rel_error"] < 1e-4  # the loss cannot see it
assert gap_near_zero < 2 * rtol  # why 0.02-scale MLP weights could not tell the GELUs apart
assert tanh_verdicts == {"tiny": "fail", "shakespeare-char": "fail"}, tanh_verdicts
print(f"checked: conventions off by {ln_errors['unbiased variance']:.1e} (unbiased LayerNorm) to {layout_error:.2f} "
      f"(heads without the transpose), float32 sums under atol up to K = {lengths[gpt_lengths[-1]]}, check-port names "
      f"{broken_library_report['first_failure']} and passes our float32 library on all {len(library_report['rows'])} tensors")
shutil.rmtree(workdir)  # the bundles and candidates written above (about 15 MB)
