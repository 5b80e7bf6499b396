"""Chapter 12: Fine-tuning and zero-shot: three ways to make a pretrained encoder classify sentences.

Takes all-MiniLM-L6-v2 (chapter 10) to Pang & Lee's sentence polarity and compares three
recipes: zero-shot (no training: the cosine to a label description), a linear probe (logistic
regression on frozen sentence vectors) and fine-tuning (a new head, every unfrozen weight
trained). Derives the classification head's gradient and checks it against backward; measures
why fine-tuning uses a small learning rate (how far one AdamW step at 5e-5 and at 5e-3 moves
the encoder, and what it does to a known similarity, cos 0.7553); freezes the lower layers and
checks that they do not move while the loss falls; and sets the full runs' measured results
side by side (tutorials/figures/12_three_results.png) with a confusion matrix of this
chapter's own run (12_confusion_matrix.png). Run with ``python
tutorials/12_fine_tuning_and_zero_shot.py`` from the repository root; needs MiniLM's weights and
the Pang & Lee data (fetched once, then cached). ``TINYGRAD_LM_TUTORIAL_SMALL=1`` uses small
subsets and a handful of steps. Left out: the full fine-tuning run itself (``tinygrad-lm
finetune``, minutes; its committed results are read here, not recomputed), layer-wise
learning-rate decay, and zero-shot by a causal LM beyond its committed result.
"""

# %% [markdown]
# # Chapter 12 — Fine-tuning and zero-shot
#
# Chapter 10 ended with a pretrained encoder: MiniLM turns a sentence into a vector, and
# sentences that mean alike get vectors that point alike. This chapter asks it a question it
# was never trained for: is this movie-review sentence positive or negative? (Pang & Lee 2005:
# 5,331 + 5,331 sentences from reviews; the library's fixed split is 3,200 / 400 / 400.)
#
# There are three answers, in order of how much they change the model:
#
# 1. **zero-shot**: train nothing; call a sentence positive if its vector is closer to the
#    vector of "a positive movie review" than to that of "a negative movie review";
# 2. **linear probe**: keep the encoder frozen, learn only p(y | x) = softmax(W v(x) + b) on
#    its sentence vectors v(x) (logistic regression, chapter 6's cross-entropy);
# 3. **fine-tuning**: put the same head on the encoder and train *everything* (or everything
#    above some frozen layers) on the labelled sentences.

# %%
import json
import os
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # run as a script: draw into files, no display needed
import matplotlib.pyplot as plt  # after the backend is chosen

import tinygrad_lm.functional as F
from tinygrad_lm.baselines import train_linear_probe, zero_shot_by_embedding
from tinygrad_lm.data import load_classification_dataset
from tinygrad_lm.data.pretrained import embed, load_pretrained
from tinygrad_lm.engine import no_grad
from tinygrad_lm.metrics import (
    accuracy,
    classification_report,
    confusion_matrix,
    plot_confusion_matrix,
)
from tinygrad_lm.models import BertForSequenceClassification
from tinygrad_lm.models.bert import mean_pool
from tinygrad_lm.nn import freeze, trainable_named_parameters
from tinygrad_lm.optim import AdamW
from tinygrad_lm.train.classifier_task import encode, freeze_lowest, predict_logits

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
FIGURES = Path(os.environ.get("TINYGRAD_LM_FIGURES_DIR", "tutorials/figures"))  # run from the repository root
FIGURES.mkdir(parents=True, exist_ok=True)
RESULTS = Path("benchmarks/results")  # the full runs' measured results, committed

splits = load_classification_dataset("pang-lee")
names = splits["train"].label_names
rng = np.random.default_rng(0)
n_train, n_test = (192, 128) if SMALL else (3200, 400)
train_rows = rng.permutation(len(splits["train"].texts))[:n_train]
train_texts = [splits["train"].texts[i] for i in train_rows]
train_labels = splits["train"].labels[train_rows]
test_texts, test_labels = splits["test"].texts[:n_test], splits["test"].labels[:n_test]
encoder, tokenizer = load_pretrained("all-MiniLM-L6-v2")
print(f"{len(splits['train'].texts)} / {len(splits['val'].texts)} / {len(splits['test'].texts)} sentences, "
      f"labels {names}; this run uses {n_train} training and {n_test} test sentences")
print(train_texts[0], "->", names[train_labels[0]])

# %% [markdown]
# ## 1. Zero-shot: a description per label
#
# No training at all: embed each sentence and each label's description, and pick the label
# whose description has the larger cosine. The encoder was trained to put paraphrases close
# together, not to read sentiment, so this works only as far as "a positive movie review" is
# a paraphrase of a positive sentence.

# %%
descriptions = ["a negative movie review", "a positive movie review"]
started = time.perf_counter()
zero_shot_predicted, cosines = zero_shot_by_embedding(encoder, tokenizer, test_texts, descriptions)
zero_shot_accuracy = accuracy(test_labels, zero_shot_predicted)
print(f"zero-shot accuracy {zero_shot_accuracy:.3f} on {n_test} test sentences "
      f"({time.perf_counter() - started:.1f} s), share called positive {zero_shot_predicted.mean():.2f}")

# %% [markdown]
# ## 2. A linear probe: logistic regression on frozen vectors
#
# Now use labels, but only to fit W (2 × 384) and b: 770 numbers. The encoder's vectors are
# computed once and never change, so training costs a fraction of a second; what it can learn
# is bounded by what the vectors already separate with a hyperplane.

# %%
started = time.perf_counter()
train_vectors = embed(encoder, tokenizer, train_texts)  # (n_train, 384), unit rows
test_vectors = embed(encoder, tokenizer, test_texts)  # (n_test, 384)
probe = train_linear_probe(train_vectors, train_labels, n_classes=2, seed=0)
probe_accuracy = accuracy(test_labels, probe.predict(test_vectors))
print(f"linear probe accuracy {probe_accuracy:.3f} (best epoch {probe.best_epoch}, "
      f"{time.perf_counter() - started:.1f} s with the embedding)")

# %% [markdown]
# ## 3. The classification head and its gradient
#
# `BertForSequenceClassification` is the encoder, then a sentence vector (here the mean of the
# real tokens' outputs, the pooling MiniLM was trained with), then dropout and a new
# `Linear(384, 2)`: logits z = W v + b, loss = mean over the batch of -log softmax(z)_y.
# The head starts random (BERT's init, std 0.02); the encoder starts from MiniLM's weights.
#
# The head's gradient follows from chapter 6's result, dL/dz = (p - onehot(y)) / N for a
# mean over N rows, and the chain rule through z = W v + b:
#
#     dL/dW = sum_n (p_n - onehot(y_n)) v_n^T / N      (2, 384)
#     dL/db = sum_n (p_n - onehot(y_n)) / N            (2,)
#
# a sum of outer products of "how wrong" with "what the sentence looked like". We check that
# backward gives exactly this (dropout is 0 in this chapter so that the check is exact; the
# full run uses 0.1).

# %%
config = encoder.config.__class__.from_dict({**encoder.config.to_dict(), "dropout": 0.0,
                                             "attention_dropout": 0.0, "seed": 0})
model = BertForSequenceClassification(config, n_classes=2, pooling="mean")
model.bert.load_state_dict(encoder.state_dict())
start = {name: value.copy() for name, value in model.state_dict().items()}  # every experiment starts here

batch = 16
inputs = encode(tokenizer, train_texts[:batch], 64, model.device)  # (B, T) ids, types, mask
logits, loss = model(*inputs, labels=train_labels[:batch])
loss.backward()
with no_grad():
    pooled = mean_pool(model.bert(*inputs), inputs[2]).numpy()  # (B, T, H) -> (B, H)
p = F.softmax(logits, axis=-1).numpy()  # (B, 2)
error = (p - np.eye(2)[train_labels[:batch]]) / batch  # (B, 2): (p - onehot) / N
weight_error = np.abs(model.classifier.weight.grad - error.T @ pooled).max()  # (2, B) @ (B, H) -> (2, H)
bias_error = np.abs(model.classifier.bias.grad - error.sum(axis=0)).max()
print(f"loss {float(loss.numpy()):.4f} (ln 2 = {np.log(2):.4f}); head gradient vs (p - onehot)/N ⊗ v: "
      f"max difference {weight_error:.1e} (weight), {bias_error:.1e} (bias)")

# %% [markdown]
# ## 4. Why the learning rate is small
#
# The head is new and random; the encoder below it is not. Its weights hold what pre-training
# learned, and fine-tuning should *adjust* them, not overwrite them. Adam's first step moves
# every weight by about lr (the update is m / sqrt(v) ≈ ±1 times lr), whatever the gradient's
# size, so lr sets directly how far the encoder travels from where pre-training left it.
# MiniLM's weights are of order 0.05, so lr = 5e-5 moves each by about a thousandth of its
# size; lr = 5e-3 by a tenth.
#
# Measure it: from the same start, on the same batch, take two AdamW steps at each rate, then
# look at how far the encoder moved (‖ΔW‖ / ‖W‖ over all encoder matrices) and at what it now
# says about chapter 10's known pair, whose cosine was 0.7553, and about a pair that share
# nothing but their grammar.

# %%
pair = ["A man is eating food.", "A man is eating a piece of bread."]
unrelated = ["A man is eating food.", "The stock market fell sharply on Monday."]


def pair_cosine(bert, texts):
    a, b = embed(bert, tokenizer, texts)  # unit vectors
    return float(a @ b)


known, far = pair_cosine(model.bert, pair), pair_cosine(model.bert, unrelated)
before = {name: value.copy() for name, value in model.bert.state_dict().items()}
moved, cosine_after, far_after = {}, {}, {}
for lr in (5e-5, 5e-3):
    model.load_state_dict(start)
    optimizer = AdamW(list(model.named_parameters()), lr=lr, weight_decay=0.0)
    for _ in range(2):
        optimizer.zero_grad()
        model(*inputs, labels=train_labels[:batch])[1].backward()
        optimizer.step()
    after = model.bert.state_dict()
    change = sum(float(np.sum((after[n] - before[n]) ** 2)) for n in before if before[n].ndim == 2)
    size = sum(float(np.sum(before[n] ** 2)) for n in before if before[n].ndim == 2)
    moved[lr], cosine_after[lr] = np.sqrt(change / size), pair_cosine(model.bert, pair)
    far_after[lr] = pair_cosine(model.bert, unrelated)
    print(f"lr {lr:.0e}: encoder moved ‖ΔW‖/‖W‖ = {moved[lr]:.2e}; cos(known pair) {known:.4f} -> "
          f"{cosine_after[lr]:.4f}; cos(unrelated pair) {far:.4f} -> {far_after[lr]:.4f}")

# %% [markdown]
# At 5e-5 the encoder moves by about a thousandth and its similarities barely change: the
# paraphrases stay close, the unrelated pair stays far. At 5e-3, two steps (on sixteen
# sentences about films) move it by almost a tenth, and the encoder *collapses*: both pairs
# now have a cosine near 1, every sentence maps to nearly the same vector, and what
# pre-training learnt is gone. Large steps, driven by a head that is still random noise, wreck
# the features before the head has learnt to use them. The README's full run uses 5e-5 with a
# 10% warm-up (the first steps, when the head is still random, are the smallest).
#
# ## 5. Freezing the lower layers
#
# `nn.freeze(model, pattern)` sets `requires_grad = False` on the parameters whose names match:
# backward gives them no gradient and the optimizer is given only
# `nn.trainable_named_parameters(model)`. The library's `freeze_lowest(model, k)` (what
# `tinygrad-lm finetune --freeze-layers k` calls) freezes the embeddings and blocks 0..k-1.
# Lower layers hold the most general features (words, syntax), and a frozen layer costs no
# gradient work below it. Fine-tune with the lowest 3 of 6 layers frozen, and check that the
# frozen weights do not move while the loss on the training batches falls. MiniLM also carries
# BERT's pooler (a dense + tanh on [CLS]), which mean pooling never uses: it would get no
# gradient, so freeze it too and the optimizer keeps no state for it. (`tinygrad-lm finetune`
# goes one step further: with mean pooling it builds the model without a pooler at all.)

# %%
model.load_state_dict(start)
frozen = freeze_lowest(model, 3) + freeze(model, "bert.pooler.*")
trainable = trainable_named_parameters(model)
n_frozen = sum(int(np.prod(start[n].shape)) for n in frozen)
n_trainable = sum(int(np.prod(parameter.shape)) for _, parameter in trainable)
print(f"frozen {len(frozen)} tensors ({n_frozen:,} numbers), training {len(trainable)} ({n_trainable:,})")

steps, lr = (8, 1e-4) if SMALL else (200, 5e-5)  # full: one epoch of 3,200 sentences, 16 at a time
batches = [np.arange(i, i + batch) % n_train for i in range(0, min(steps, n_train // batch) * batch, batch)]
measured = batches[:8]  # the loss is measured on the first eight training batches, before and after


def loss_on(rows_list):
    with no_grad():
        return float(np.mean([model(*encode(tokenizer, [train_texts[i] for i in rows], 64, model.device),
                                    labels=train_labels[rows])[1].numpy() for rows in rows_list]))


loss_before = loss_on(measured)
optimizer = AdamW(trainable, lr=lr, weight_decay=0.01)
started = time.perf_counter()
for step in range(steps):
    rows = batches[step % len(batches)]
    optimizer.zero_grad()
    model(*encode(tokenizer, [train_texts[i] for i in rows], 64, model.device), labels=train_labels[rows])[1].backward()
    optimizer.step()
loss_after = loss_on(measured)
now = model.state_dict()
frozen_moved = max(float(np.abs(now[n] - start[n]).max()) for n in frozen)
trainable_moved = min(float(np.abs(now[n] - start[n]).max()) for n, _ in trainable)
print(f"{steps} steps at lr {lr:.0e} ({time.perf_counter() - started:.1f} s): loss on the training batches "
      f"{loss_before:.4f} -> {loss_after:.4f}; largest change of a frozen weight {frozen_moved}, "
      f"every trained tensor moved (the least by {trainable_moved:.1e})")

fine_tuned_predicted = predict_logits(model, tokenizer, test_texts, 64).argmax(axis=1)
print(classification_report(test_labels, fine_tuned_predicted, label_names=names))
plot_confusion_matrix(confusion_matrix(test_labels, fine_tuned_predicted), names, FIGURES / "12_confusion_matrix.png",
                      title=f"our run: {steps} steps, {n_test} sentences")

# %% [markdown]
# What the picture shows (`tutorials/figures/12_confusion_matrix.png`): rows are the true
# labels, columns the predictions of this chapter's own run (in a full run: one epoch of the
# 3,200 training sentences, 16 at a time, constant lr 5e-5, lowest 3 layers frozen; in small
# mode a few batches). The errors fall in both off-diagonal cells: the model has not settled
# for calling everything one label, as the one-description zero-shot nearly does.
#
# ## 6. The three results side by side
#
# The numbers below are the full runs on the 400 test sentences, made with the README's
# commands (`tinygrad-lm finetune --model all-MiniLM-L6-v2 --dataset pang-lee`, with and
# without `--freeze-layers 3`, and `benchmarks/zero_shot.py`) and read here from their
# committed results in `benchmarks/results/`; they are not recomputed by this chapter.

# %%
zero_shot = json.loads((RESULTS / "zero_shot_pang_lee.json").read_text())
rows = [(row["method"], row["accuracy"], row["macro_f1"]) for row in zero_shot["rows"]]
for folder, label in [("finetune-pang-lee/freeze-layers-3", "fine-tuned, lowest 3 layers frozen"),
                      ("finetune-pang-lee", "fine-tuned, all layers")]:
    metrics = json.loads((RESULTS / folder / "test_metrics.json").read_text())
    rows.append((label, metrics["test_accuracy"], metrics["test_f1"]))
    print(f"{label}: {metrics['median_step_ms'] / 1000:.2f} s per step of 32 sentences, best at step "
          f"{metrics['best_step']} of {metrics['steps']}")
rows.sort(key=lambda row: row[1])
print(f"{'method':58s} accuracy  macro-F1")
for method, acc, f1 in rows:
    print(f"{method:58s} {acc:8.3f}  {f1:8.3f}")

fig, ax = plt.subplots(figsize=(9, 3.8))
ax.barh([method for method, _, _ in rows], [acc for _, acc, _ in rows], color="tab:blue")
ax.axvline(zero_shot["chance_accuracy"], color="grey", linestyle="--", label="chance")
for y, (_, acc, _) in enumerate(rows):
    ax.text(acc + 0.005, y, f"{acc:.3f}", va="center")
ax.set_xlim(0.4, 0.9)
ax.set_xlabel(f"test accuracy (Pang & Lee, {zero_shot['test_sentences']} sentences)")
ax.set_title("three recipes, full runs")
ax.legend(loc="lower right")
fig.tight_layout()
fig.savefig(FIGURES / "12_three_results.png", dpi=120)
plt.close(fig)

# %% [markdown]
# What the picture shows (`tutorials/figures/12_three_results.png`): each step up the ladder
# uses the labels more and moves the encoder more. Zero-shot by a description beats chance but
# calls most sentences positive; averaging three descriptions per label helps. The probe learns
# a direction for sentiment inside vectors made for paraphrase, and fine-tuning moves the
# vectors themselves, gaining most; freezing half the encoder costs a little accuracy and saves
# a third of the step time. The character-level Shakespeare GPT, read zero-shot, is at chance.
#
# ## Check

# %%
best = {method: acc for method, acc, _ in rows}
assert abs(known - 0.7553) < 1e-4, known
assert weight_error < 1e-5 and bias_error < 1e-6, (weight_error, bias_error)
assert moved[5e-3] > 30 * moved[5e-5], moved
assert abs(cosine_after[5e-5] - known) < 0.02 and abs(far_after[5e-5] - far) < 0.02, (cosine_after, far_after)
assert far < 0.3 and cosine_after[5e-3] > 0.98 and far_after[5e-3] > 0.98, (far, cosine_after, far_after)
assert frozen_moved == 0.0 and trainable_moved > 0.0, (frozen_moved, trainable_moved)
assert loss_after < loss_before - 0.05, (loss_before, loss_after)
assert zero_shot_accuracy > 0.5 and probe_accuracy > 0.6, (zero_shot_accuracy, probe_accuracy)
assert best["fine-tuned, all layers"] > best["linear probe (frozen MiniLM)"] > max(
    acc for method, acc in best.items() if "zero-shot" in method), best
print(f"checked: cos {known:.4f}, head gradient to {weight_error:.0e}, lr 5e-3 moves the encoder "
      f"{moved[5e-3] / moved[5e-5]:.0f}x more than 5e-5, frozen weights unchanged, loss "
      f"{loss_before:.3f} -> {loss_after:.3f}")

# %% [markdown]
# ## Exercises
#
# In `tutorials/exercises/ch12.py`, checked by `pytest tutorials/exercises -k ch12` against
# the library (reference solutions in `tutorials/solutions/ch12.py`):
#
# 1. `head_gradients`: section 3's derivation in NumPy, the head's loss, dW = (p - onehot)^T v / N
#    and db; it must equal the backward of a `Linear` + `F.cross_entropy`, and give a small
#    `BertForSequenceClassification`'s head its gradient from the mean-pooled vectors (padding
#    included);
# 2. `freeze_lowest_layers`: section 5's freezing with `nn.freeze` by name, the embeddings and
#    blocks 0..k-1, the same names as the library's `freeze_lowest`, no gradient for exactly
#    those after a backward, and a clear error for more layers than the encoder has.
