"""Chapter 8: sampling: turning next-token probabilities into text, fast, with a KV cache.

Run with ``python tutorials/08_sampling.py`` (a few seconds).
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
import numpy as np

from tinygrad_lm.generate import sample_next
from tinygrad_lm.models import GPT, GPTConfig

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
# Without a cache, producing token t+1 re-runs the model over all t previous tokens: the keys
# and values of old positions are recomputed every step, O(T^2) work per sequence. Causal
# attention means those keys and values never change, so `GPT.generate` keeps them in a
# `KVCache` and feeds only the newest token: O(T) per step. Below, an untrained model is
# enough to check that both ways give identical tokens.

# %%
model = GPT(GPTConfig(vocab_size=20, block_size=32, n_layer=2, n_head=2, n_embd=16, seed=1))
prompt = np.array([[1, 2, 3]])
cached = model.generate(prompt, 12, temperature=1.0, rng=7, use_cache=True)
recomputed = model.generate(prompt, 12, temperature=1.0, rng=7, use_cache=False)
print("cached    :", cached[0].tolist())
print("recomputed:", recomputed[0].tolist())

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
