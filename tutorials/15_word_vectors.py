"""Chapter 15: word vectors: from counting neighbours to Word2Vec and GloVe, and how they are scored.

Counts which words occur near which in Shakespeare's tragedies and turns the counts into vectors
(PPMI + SVD); writes down the skip-gram negative-sampling loss and its gradient, and checks that
the Numba kernel's update is exactly -alpha times the autograd engine's gradient (plus a
gradcheck); trains Word2Vec and GloVe with the library's kernels; solves analogies with 3CosAdd
and 3CosMul and shows where they fail; and draws a 2-D PCA picture of chosen words
(tutorials/figures/15_word_vectors_pca.png). Needs the Shakespeare corpus (fetched once).
Run with ``python tutorials/15_word_vectors.py`` from the repository root (about a minute).
Left out: the full comparison with gensim on the KJV + Shakespeare corpus, which is
``benchmarks/word_vectors.py`` (see README), and subword vectors (fastText).
"""

# %% [markdown]
# # Chapter 15 — Word vectors
#
# Before Transformers gave every token a vector that depends on its sentence, word meaning was
# learned as one *static* vector per word. The idea is older than neural networks: "you shall
# know a word by the company it keeps" (Firth, 1957). Words that occur near the same words mean
# similar things, so a word's row of co-occurrence counts is already a description of it. This
# chapter goes from those counts to the two methods everyone met first: Word2Vec (Mikolov et
# al. 2013) and GloVe (Pennington et al. 2014).

# %%
import os
import sys
import tempfile
from pathlib import Path

import matplotlib
import numpy as np

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # run as a script: draw into files, no display needed
import matplotlib.pyplot as plt  # after the backend is chosen

from tinygrad_lm.data import load_corpus
from tinygrad_lm.engine import Tensor
from tinygrad_lm.testing.gradcheck import gradcheck
from tinygrad_lm.vectors.evaluate import evaluate_analogies
from tinygrad_lm.vectors.glove import GloveConfig, cooccurrence_matrix, train_glove
from tinygrad_lm.vectors.keyed import WordVectors
from tinygrad_lm.vectors.sgns_autograd import kernel_step, sgns_loss
from tinygrad_lm.vectors.vocab import Vocabulary, tokenize
from tinygrad_lm.vectors.word2vec import Word2VecConfig, train_word2vec

FIGURES = Path(os.environ.get("TINYGRAD_LM_FIGURES_DIR", "tutorials/figures"))  # run from the repository root
FIGURES.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## Tokens and a vocabulary
#
# One documented rule turns text into words (`tokenize`): lowercase, letters and digits, inner
# apostrophes kept ("king's", "o'er"). Words seen fewer than 5 times are dropped, and the rest
# are sorted by frequency: the evaluation's "most frequent 300,000 words" is a prefix.

# %%
tokens = tokenize(load_corpus("shakespeare"))
vocab = Vocabulary.build(tokens, min_count=5)
print(f"{len(tokens):,} tokens, {len(vocab):,} words seen 5 times or more; the most frequent: {vocab.words[:12]}")

# %% [markdown]
# ## From co-occurrence counts to vectors
#
# Count, for every pair of words, how often they occur within 5 positions of each other,
# weighting a pair at distance d by 1/d (GloVe's counting; `cooccurrence_matrix`). The raw
# counts are dominated by "the" and "and", so reweight them with positive pointwise mutual
# information, PPMI(i, j) = max(0, log P(i, j) / (P(i) P(j))): how much more often two words
# meet than chance would have them meet. A truncated SVD of that matrix gives dense vectors
# (Levy and Goldberg 2014 showed Word2Vec implicitly factorises a shifted PMI matrix).

# %%
top = 1500
ids = vocab.encode(tokens)
rows, cols, counts = cooccurrence_matrix(ids, len(vocab), window=5)
keep = (rows < top) & (cols < top)
X = np.zeros((top, top))
X[rows[keep], cols[keep]] = counts[keep]  # (top, top) dense: the 1,500 most frequent words
joint = X / X.sum()
pmi = np.log(np.maximum(joint, 1e-300) / (joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)))
ppmi = np.where(X > 0, np.maximum(pmi, 0.0), 0.0)
U, S, _ = np.linalg.svd(ppmi)
svd_vectors = WordVectors(vocab.words[:top], U[:, :50] * np.sqrt(S[:50]))  # (top, 50)
for word in ("king", "love", "blood"):
    print(f"PPMI+SVD  {word:>6}: {[w for w, _ in svd_vectors.nearest(word, k=6)]}")

# %% [markdown]
# ## Skip-gram with negative sampling: the loss and its gradient
#
# Word2Vec learns the vectors instead of counting. Skip-gram takes a word w and a word c within
# its (randomly shrunk) window and asks a logistic classifier to tell the real pair from k
# pairs with *noise* words n_1..n_k drawn from the unigram distribution raised to 0.75. With
# h the input vector of c and u the output vectors,
#
# $$L = -\log\sigma(u_w\cdot h) - \sum_{i=1}^{k}\log\sigma(-u_{n_i}\cdot h).$$
#
# Since d/dx log sigma(x) = 1 - sigma(x), with labels y = 1 for w and 0 for the noise words,
#
# $$\frac{\partial L}{\partial h} = -\sum_t (y_t - \sigma(u_t\cdot h))\,u_t,\qquad
#   \frac{\partial L}{\partial u_t} = -(y_t - \sigma(u_t\cdot h))\,h.$$
#
# Each step touches k + 2 rows of two 100-wide tables: far too sparse for a dense autograd step
# over the whole table, so the library trains with a Numba kernel (`word2vec_kernels.sgns_step`)
# that applies g = alpha (y - sigma) row by row. One convention it takes from gensim: a target
# whose score u . h is beyond +-6 takes no step at all (gensim reads sigma from a table on
# [-6, 6] and skips the rest; the C word2vec saturates sigma to 0 or 1 instead), so the kernel
# is the gradient step of the loss over the targets scored inside (-6, 6). Every score below is
# inside, and tests/vectors covers a skipped one. We can still check it against the engine: build
# the same loss from Tensors, backpropagate, and compare -alpha times the gradient with the
# change the kernel makes.

# %%
rng = np.random.default_rng(0)
h, rows_u, labels, alpha = rng.normal(size=8), rng.normal(size=(6, 8)), np.array([1.0, 0, 0, 0, 0, 0]), 0.025
assert np.abs(rows_u @ h).max() < 6  # no target skipped
h_t, u_t = Tensor(h, requires_grad=True), Tensor(rows_u, requires_grad=True)
sgns_loss(h_t, u_t, labels).backward()
step_h, step_u = kernel_step(h, rows_u, alpha)
print("largest difference, kernel step vs -alpha * autograd gradient:",
      float(np.abs(step_h + alpha * h_t.grad).max()), float(np.abs(step_u + alpha * u_t.grad).max()))
print("gradcheck of the autograd loss:", gradcheck(lambda a, b: sgns_loss(a, b, labels), h, rows_u))

# %% [markdown]
# The rest of the recipe is bookkeeping that matters: frequent words are *subsampled* (a word of
# frequency f is kept with probability (sqrt(f/t) + 1) t/f, t = 1e-3), which both speeds up
# training and widens the effective window; the window size is drawn uniformly per center word
# (near words count more); the learning rate falls linearly to almost zero. CBOW turns the
# prediction around: the mean of the context vectors predicts the center word. Both run here
# with gensim's defaults but fewer dimensions and epochs, so the chapter stays quick.

# %%
small = {"vector_size": 50, "epochs": 3, "min_count": 5}
skipgram = train_word2vec(tokens, Word2VecConfig(**small), progress=False)
cbow = train_word2vec(tokens, Word2VecConfig(**small, cbow=True), progress=False)
for name, wv in (("skip-gram", skipgram), ("CBOW", cbow)):
    print(f"{name}: {wv.info['words_per_second']:,.0f} words/s")
    for word in ("king", "love", "blood"):
        print(f"  {word:>6}: {[w for w, _ in wv.nearest(word, k=6)]}")

# %% [markdown]
# ## GloVe: fit the logarithm of the counts
#
# GloVe starts from the co-occurrence matrix X we counted above and fits
#
# $$J = \sum_{i,j:\,X_{ij}>0} f(X_{ij})\,\big(w_i\cdot\tilde w_j + b_i + \tilde b_j - \log X_{ij}\big)^2,
#   \qquad f(x) = \min\big(1, (x/x_{max})^{\alpha}\big),$$
#
# with x_max = 100 and alpha = 0.75: rare pairs, whose counts are noise, weigh little; very
# frequent ones are capped so "of the" does not dominate. It is trained with AdaGrad over the
# non-zero entries in random order, and the vectors are W + W~ (two sets that differ only by
# their random start; their sum is slightly better than either).

# %%
glove = train_glove(tokens, GloveConfig(vector_size=50, epochs=15), progress=False)
costs = glove.info["cost_per_pair_by_epoch"]
print(f"GloVe: {glove.info['pairs']:,} non-zero X_ij, cost per pair {costs[0]:.4f} -> {costs[-1]:.4f}")
for word in ("king", "love", "blood"):
    print(f"  {word:>6}: {[w for w, _ in glove.nearest(word, k=6)]}")

# %% [markdown]
# ## Analogies and their limits
#
# "man is to king as woman is to ?" is answered by 3CosAdd, the word x (other than the three in
# the question) maximising cos(x, b - a + c) on unit vectors, or 3CosMul, which multiplies the
# similarities instead of adding them so one large term cannot dominate. The standard test is
# Google's 19,544 questions (capitals, currencies, plurals, tenses); on this corpus only about 4%
# of them have all four words, so we write a few that Shakespeare's vocabulary can answer.

# %%
questions = """: family
man woman king queen
man woman lord lady
he she his her
father mother son daughter
brother sister father mother
king queen prince princess
: verbs
speak spoke give gave
come came know knew
"""
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "questions.txt"
    path.write_text(questions)
    for name, wv in (("skip-gram", skipgram), ("CBOW", cbow), ("GloVe", glove), ("PPMI+SVD", svd_vectors)):
        add, mul = evaluate_analogies(wv, path, "3cosadd"), evaluate_analogies(wv, path, "3cosmul")
        print(f"{name:>9}: 3CosAdd {add['correct']}/{add['total']}, 3CosMul {mul['correct']}/{mul['total']} "
              f"(coverage {add['coverage']:.2f})")

# %% [markdown]
# Limits worth knowing. The three question words are excluded from the answer, and that rule does
# much of the work: without it, the nearest word to b - a + c is usually b or c itself (Linzen
# 2016). The offset works for frequent, regular relations (gender, plural, tense) and poorly for
# rare ones. One vector per word mixes all its senses ("will", the verb and the noun). And the
# vectors learn the associations of their text, biases included: what a corpus says about
# women or nations comes out in the geometry. Word-similarity sets (WS-353, SimLex-999) score
# vectors by the Spearman correlation of cosines with human ratings; SimLex separates similarity
# ("cup"-"mug") from relatedness ("cup"-"coffee"), which window-based vectors blur.

# %% [markdown]
# ## A picture: two principal components of chosen words

# %%
chosen = ["king", "queen", "prince", "lord", "lady", "father", "mother", "son", "daughter", "brother",
          "sister", "sword", "blood", "death", "grave", "love", "hate", "fear", "joy", "night", "day"]
points = skipgram.unit[[skipgram.row(w) for w in chosen]]  # (21, 50)
centered = points - points.mean(0)
_, _, components = np.linalg.svd(centered, full_matrices=False)
xy = centered @ components[:2].T  # (21, 2)
fig, ax = plt.subplots(figsize=(7, 5.5))
ax.scatter(xy[:, 0], xy[:, 1], s=12)
for word, (x, y) in zip(chosen, xy):
    ax.annotate(word, (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
ax.set_title("Skip-gram vectors of Shakespeare's tragedies: first two principal components", fontsize=10)
ax.set_xlabel("PC 1")
ax.set_ylabel("PC 2")
fig.tight_layout()
fig.savefig(FIGURES / "15_word_vectors_pca.png", dpi=120)
plt.close(fig)

# %% [markdown]
# ## The check
#
# The chapter's claim: the kernel that trains the vectors takes exactly the gradient step of the
# SGNS loss the autograd engine differentiates (for targets scored inside (-6, 6), gensim's rule).

# %%
assert np.allclose(step_h, -alpha * h_t.grad, atol=1e-12) and np.allclose(step_u, -alpha * u_t.grad, atol=1e-12)
assert costs[-1] < costs[0]
print("kernel step == -alpha * autograd gradient; GloVe's cost fell")

# %% [markdown]
# ## Exercises
#
# In `tutorials/exercises/ch15.py`, checked by `pytest tutorials/exercises -k ch15` against
# the library (reference solutions in `tutorials/solutions/ch15.py`):
#
# 1. `sgns_gradients`: the SGNS loss of one example and its gradients by hand, overflow-free:
#    equal to the engine's `sgns_loss` and its backward, and -alpha times them equal to the
#    kernel's step;
# 2. `noise_table`: P(w) ~ count^0.75 and the integer cumulative table a kernel draws noise
#    words from: equal to `Vocabulary.noise_cumulative`;
# 3. `three_cos_add`: an analogy answered over a small table of vectors, the question's words
#    left out: a planted analogy found, and the answers `evaluate_analogies` accepts;
# 4. `glove_cost`: J with its weighting f(x) and its gradients, summed over every pair a word
#    is in: equal to the engine's gradients of the same J.
