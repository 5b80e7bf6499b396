"""Chapter 8: sampling: turning next-token probabilities into text, fast, with a KV cache.

Teaches temperature, top-k and top-p sampling, and the KV cache: what one generation step
costs with and without it (counted, then timed at several lengths). It ends by checking that
top-k = 1 is greedy, that top-p never leaves the nucleus, and that the cache changes the cost
but not the tokens. Run with ``python tutorials/08_sampling.py`` (a few seconds);
``TINYGRAD_LM_TUTORIAL_SMALL=1`` times fewer lengths.
"""

# %% [markdown]
# # Sampling
#
# A trained GPT gives, for every prefix, a distribution over the next token. Generating text
# means choosing a token, appending it, and asking again. How we choose matters as much as
# the model: always taking the most likely token (greedy) loops and repeats itself; sampling
# from the full distribution wanders into the long tail of unlikely tokens. The standard
# knobs trade between the two: temperature, top-k and top-p (nucleus) sampling.

# %%
import os
import time

import numpy as np

import tinygrad_lm as tg
from tinygrad_lm.generate import sample_next
from tinygrad_lm.models import GPT, GPTConfig

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
logits = np.array([[2.0, 1.0, 0.5, 0.0, -1.0, -3.0]])  # (B=1, V=6)


def distribution(logits, temperature=1.0, top_k=None, top_p=None, n=20000):
    """Empirical frequencies of sample_next's choices (a seeded Monte-Carlo estimate)."""
    rng = np.random.default_rng(0)
    draws = np.array([sample_next(logits, temperature, top_k, top_p, rng)[0] for _ in range(n)])
    return np.bincount(draws, minlength=logits.shape[-1]) / n


# %% [markdown]
# ## Temperature
#
# Dividing logits by T before the softmax sharpens the distribution (T < 1) or flattens it
# (T > 1). T = 0 is defined as greedy: the argmax, with no division by zero.

# %%
for t in (0.5, 1.0, 2.0):
    print(f"T={t}: {np.round(distribution(logits, t), 3)}")
print("T=0 :", sample_next(logits, temperature=0.0))

# %% [markdown]
# ## Top-k and top-p
#
# Top-k keeps only the k most likely tokens. Top-p keeps the smallest set of most likely
# tokens whose total probability reaches p, so it adapts: one token when the model is sure,
# many when it is not. Both renormalise what is left.

# %%
print("top-k=2 :", np.round(distribution(logits, top_k=2), 3))
print("top-p=0.8:", np.round(distribution(logits, top_p=0.8), 3))

# %% [markdown]
# ## Generating with a KV cache
#
# Each new token needs the model's output at the last position only, but through attention
# that output depends on the keys and values of every earlier position. Without a cache, the
# step at length $t$ re-runs the model over all $t$ tokens. Count the multiply-adds of that one
# step for $L$ blocks of width $C$ (each block has about $12C^2$ weights, chapter 5, and uses
# each once per position):
#
# - **without a cache**: every position again: $12 L t C^2$ for the projections and MLPs, plus
#   $2 L t^2 C$ for attention ($t$ queries against $t$ keys, then the weighted sum of values).
#   The step costs more the longer the text, linearly and then quadratically in $t$.
# - **with a cache**: causal attention means the keys and values of old positions never change,
#   so they can be kept (`model.new_cache()` gives the `KVCache` that `forward` fills; `GPT.generate`
#   uses `GPTDecoder`'s preallocated arrays, the same kernels without the autograd graph) and only
#   the newest token is fed: $12 L C^2$, plus $2 L t C$ for one query against $t$ cached keys.
#   Almost constant; only the attention term grows, linearly.
#
# Both are costs *per step*. Summed over the $T$ steps of a whole sequence they become
# $O(L T^2 C^2 + L T^3 C)$ without the cache and $O(L T C^2 + L T^2 C)$ with it: the cache saves
# one power of $T$ in each term. An untrained model is enough to check that both ways give
# identical tokens, and to time one step both ways at several lengths.

# %%
model = GPT(GPTConfig(vocab_size=20, block_size=32, n_layer=2, n_head=2, n_embd=16, seed=1))
prompt = np.array([[1, 2, 3]])
cached = model.generate(prompt, 12, temperature=1.0, rng=7, use_cache=True)
recomputed = model.generate(prompt, 12, temperature=1.0, rng=7, use_cache=False)
print("cached    :", cached[0].tolist())
print("recomputed:", recomputed[0].tolist())

# %%
timed = GPT(GPTConfig(vocab_size=20, block_size=512, n_layer=2, n_head=4, n_embd=128, seed=1)).eval()
text = np.random.default_rng(0).integers(0, 20, (1, 512))  # any tokens: the cost does not depend on them


def step_ms(t, use_cache, repeats=5):
    """Best of `repeats` timings (the run least disturbed by other programs) of the step that
    produces token t + 1 after t tokens, in milliseconds."""
    times = []
    with tg.no_grad():
        for _ in range(repeats):
            if use_cache:
                cache = timed.new_cache()
                timed(text[:, :t], cache=cache)  # the t earlier tokens, run once before (not timed)
                start = time.perf_counter()
                timed(text[:, t:t + 1], cache=cache)  # (1, 1): only the newest token
            else:
                start = time.perf_counter()
                timed(text[:, :t + 1])  # (1, t + 1): every token again
            times.append(time.perf_counter() - start)
    return 1e3 * min(times)


step_ms(8, True), step_ms(8, False)  # a first call of each kind, not measured
lengths = (16, 64, 256) if SMALL else (16, 64, 128, 256, 511)
print(" t   without cache   with cache   (ms per step, L=2, C=128)")
for t in lengths:
    print(f"{t:3d}   {step_ms(t, False):13.2f}   {step_ms(t, True):10.2f}")

# %% [markdown]
# (This machine's timings, today; nothing asserts them.) At short lengths both steps cost about
# the same: a few dozen small array operations, whose fixed Python overhead dominates. As $t$
# grows the step without a cache grows with it, while the cached step barely moves, because at
# $C = 128$ its attention term $2 L t C$ is small next to the fixed $12 L C^2$.

# %% [markdown]
# ## The checks
#
# Sampling with top-k = 1 is greedy decoding; top-p never leaves a token outside the nucleus
# with nonzero frequency; and the cache changes the cost, not the result.

# %%
greedy = model.generate(prompt, 12, temperature=0.0)
assert (model.generate(prompt, 12, temperature=1.0, top_k=1, rng=3) == greedy).all()
probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
order = np.argsort(-probs[0])
nucleus = order[: np.searchsorted(np.cumsum(probs[0][order]), 0.8) + 1]
outside = np.setdiff1d(np.arange(logits.shape[-1]), nucleus)
assert distribution(logits, top_p=0.8)[outside].sum() == 0
assert (cached == recomputed).all()
print("checked: top-k=1 is greedy, top-p stays in the nucleus, the KV cache changes nothing")

# %% [markdown]
# ## Exercises
#
# Three exercises wait in `tutorials/exercises/ch08.py`. Edit that file, then check your answers
# from the repository root with `pytest tutorials/exercises -k ch08`. Reference solutions are in
# `tutorials/solutions/ch08.py`. Each must agree *exactly* with `tinygrad_lm.generate.sample_next`:
# the tests sample from your filtered logits and from `sample_next`'s own filter with the same
# seeds, and compare the tokens.
#
# 1. **`top_k_filter`**: keep the $k$ largest logits of each row, ties going to the lower token id.
# 2. **`top_p_filter`**: keep the nucleus, the most likely tokens until the mass before a token
#    reaches $p$.
# 3. **`inverse_cdf_sample`**: draw a token from probabilities with one uniform number per row.
