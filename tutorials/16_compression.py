"""Chapter 16: compression: fewer bits (quantization), fewer weights (pruning), a smaller model (distillation).

Trains a small GPT on the standard library's docstrings (seconds), then: quantizes its weights
to int8 per output channel and per group of 64 and checks the rounding bound |W - q s| <= s / 2,
shows why groups help when a row holds an outlier (tutorials/figures/16_quantization_error.png),
checks the int8 GEMM against NumPy's exact int32 product, and saves and reloads a quantized
checkpoint; prunes by magnitude with masks that survive fine-tuning and draws the
sparsity-vs-loss curve (16_sparsity_curve.png), scores attention heads by ablation and removes
heads and MLP neurons so the matrices really shrink; derives the distillation loss's gradient,
(p_s - p_t) / T per logit, checks it against backward, and trains a half-depth student with and
without a teacher (16_distillation.png). It ends with the size / speed / quality table of the
full runs on ``shakespeare-char`` and the MiniLM classifier, read from their committed JSON
(16_size_speed_quality.png). Run with ``python tutorials/16_compression.py`` from the repository
root (about two minutes on a quiet machine); ``TINYGRAD_LM_TUTORIAL_SMALL=1`` uses a handful of steps.
Left out: the full runs themselves (``python -m tinygrad_lm.compress.study``,
``python -m tinygrad_lm.compress.classifier_study``, ``benchmarks/generation_speed.py``).
"""

# %% [markdown]
# # Chapter 16 — Compression
#
# A trained model is a pile of float32 numbers. Three ways make it smaller or faster, each
# paid for in quality:
#
# 1. **quantization** stores each weight in fewer bits (int8: 4x smaller than float32);
# 2. **pruning** removes weights: single ones of small magnitude (unstructured), or whole
#    attention heads and MLP neurons (structured, so the matrices shrink);
# 3. **distillation** trains a smaller *student* to imitate a larger *teacher*'s whole output
#    distribution, not only the right answer.

# %%
import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path

import matplotlib
import numpy as np

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # run as a script: draw into files, no display needed
import matplotlib.pyplot as plt  # after the backend is chosen

from tinygrad_lm import tensor
from tinygrad_lm.compress import quantize_model
from tinygrad_lm.compress.distill import distill_gpt, distillation_loss, gpt_student
from tinygrad_lm.compress.files import quantize_run
from tinygrad_lm.compress.int8_gemm import int8_matmul, matmul_reference
from tinygrad_lm.compress.loop import gpt_run_data, train_steps, val_loss
from tinygrad_lm.compress.prune import (
    Masks,
    head_importance,
    prune_heads,
    prune_neurons,
    sparsity_of,
)
from tinygrad_lm.compress.quantize import dequantize, quantize_int8, weight_bytes
from tinygrad_lm.train import Trainer, load_model, preset

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
FIGURES = Path(os.environ.get("TINYGRAD_LM_FIGURES_DIR", "tutorials/figures"))  # run from the repository root
FIGURES.mkdir(parents=True, exist_ok=True)
RESULTS = Path("benchmarks/results")  # the full runs' measured results, committed
WORK = Path(tempfile.mkdtemp(prefix="chapter16_"))

config = dataclasses.replace(preset("tiny"), n_layer=4, n_head=4, n_embd=64, max_iters=30 if SMALL else 300,
                             lr_decay_iters=30 if SMALL else 300, eval_interval=30 if SMALL else 150)
Trainer(config, WORK / "teacher", progress=False).run()
model, tokenizer, meta = load_model(WORK / "teacher" / "best.safetensors")
train_ids, val_ids = gpt_run_data(meta, tokenizer)
WINDOWS = 20 if SMALL else 100
dense_loss = val_loss(model, val_ids, WINDOWS)
print(f"a 4-layer GPT of {model.num_parameters():,} parameters, validation loss {dense_loss:.4f} nats/token")

# %% [markdown]
# ## 1. Quantization
#
# Symmetric int8 keeps one float scale per output channel (row) n of W (N, K):
#
# $$s_n = \max_k |W_{nk}| / 127, \qquad q_{nk} = \mathrm{round}(W_{nk} / s_n) \in [-127, 127], \qquad W \approx q\,s.$$
#
# Rounding moves each weight by at most half a step, $|W - q s| \le s / 2$. One large weight
# (an *outlier*) makes its row's step large for every other weight of the row; a scale per
# group of 64 columns confines the damage to its group.

# %%
rng = np.random.default_rng(0)
w = rng.standard_normal((64, 256)).astype(np.float32) * 0.02
w[::8, 3] = 1.0  # one outlier in every eighth row
errors = {}
for name, group in (("per channel", None), ("per group of 64", 64)):
    q, s = quantize_int8(w, group)
    step = s[:, None] if group is None else np.repeat(s, group, axis=1)
    assert np.all(np.abs(dequantize(q, s) - w) <= step / 2 + 1e-8)  # the bound holds everywhere
    errors[name] = np.abs(dequantize(q, s) - w).mean(axis=1)  # (64,) mean error per row
    print(f"{name:16s}: mean |W - qs| {errors[name].mean():.2e}, rows with an outlier {errors[name][::8].mean():.2e}")

fig, ax = plt.subplots(figsize=(7, 3.8))
for name, err in errors.items():
    ax.plot(err, marker=".", label=name)
ax.set_yscale("log")
ax.set_xlabel("row (output channel); every eighth row holds one outlier")
ax.set_ylabel("mean |W - q s|")
ax.set_title("int8 rounding error: an outlier coarsens its whole row, unless scales are per group", fontsize=10)
ax.legend()
fig.tight_layout()
fig.savefig(FIGURES / "16_quantization_error.png", dpi=120)
plt.close(fig)

# %% [markdown]
# A quantized model dequantizes each weight on the fly and runs the usual float32 matmul. The
# other way is to quantize the activations too (one scale per row, computed at run time) and
# multiply int8 by int8 into int32, which is exact: here is the Numba kernel against NumPy.

# %%
a = rng.integers(-127, 128, (33, 200), dtype=np.int8)
b = rng.integers(-127, 128, (17, 200), dtype=np.int8)
assert np.array_equal(int8_matmul(a, b), matmul_reference(a, b))
print("int8 x int8 -> int32 GEMM equals NumPy's exact int32 product")

quantized_losses = {}
for scheme in ("int8-channel", "int8-group64", "float16"):
    report = quantize_run(WORK / "teacher", WORK / scheme, scheme)
    reloaded = load_model(WORK / scheme / "best.safetensors")[0]
    quantized_losses[scheme] = val_loss(reloaded, val_ids, WINDOWS)
    print(f"{scheme:13s}: file {report['out_bytes']:>9,} bytes ({report['ratio']:.2f}x smaller), "
          f"val loss {quantized_losses[scheme]:.4f} ({quantized_losses[scheme] - dense_loss:+.4f})")
in_memory = quantize_model(load_model(WORK / "teacher" / "best.safetensors")[0], "int8-channel")
print(f"weights in memory: {weight_bytes(model):,} -> {weight_bytes(in_memory):,} bytes")

# %% [markdown]
# ## 2. Pruning
#
# **Magnitude pruning** sets the fraction s of weights with the smallest |w| to zero. A mask
# keeps them there: AdamW's moments remember old gradients and would move a zero weight again,
# so the mask is re-applied after every optimizer step. A short fine-tune lets the remaining
# weights take over the work of the removed ones.

# %%
sparsities = (0.3, 0.6, 0.9) if SMALL else (0.1, 0.3, 0.5, 0.7, 0.8, 0.9)
steps = 3 if SMALL else 40
curve = []
for s in sparsities:
    pruned = load_model(WORK / "teacher" / "best.safetensors")[0]
    masks = Masks.magnitude(pruned, s)
    masks.apply()
    before = val_loss(pruned, val_ids, WINDOWS)
    train_steps(pruned, train_ids, steps, lr=3e-4, after_step=masks.apply)
    assert all(np.all(p.numpy()[~m] == 0) for _, p, m in masks.pairs)  # still zero after fine-tuning
    curve.append((s, before, val_loss(pruned, val_ids, WINDOWS)))
    print(f"sparsity {sparsity_of(pruned):.2f}: val loss {before:.4f} pruned, {curve[-1][2]:.4f} after {steps} steps")

fig, ax = plt.subplots(figsize=(7, 4))
ax.axhline(dense_loss, color="gray", ls=":", label="dense")
ax.plot([c[0] for c in curve], [c[1] for c in curve], marker="o", label="pruned (this chapter's model)")
ax.plot([c[0] for c in curve], [c[2] for c in curve], marker="o", label=f"+ {steps} fine-tuning steps")
full = RESULTS / "compression_shakespeare.json"
if full.exists() and "sparsity" in json.loads(full.read_text()):
    rows = json.loads(full.read_text())["sparsity"]["rows"]
    ax.plot([r["sparsity"] for r in rows], [r["val_loss_finetuned"] for r in rows], marker="s",
            label="shakespeare-char, fine-tuned (committed run)")
ax.set_xlabel("fraction of block weights set to zero")
ax.set_ylabel("validation loss (nats/token)")
ax.set_title("Magnitude pruning: quality against sparsity", fontsize=10)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(FIGURES / "16_sparsity_curve.png", dpi=120)
plt.close(fig)

# %% [markdown]
# Zeros scattered through a matrix save nothing without sparse kernels: the matmul multiplies
# them like any weight. **Structured pruning** removes whole units instead. A head's
# importance is how much the loss rises when it alone is removed (its columns of the output
# projection zeroed; Michel et al. 2019); an MLP neuron's is the product of the norms of its
# input row and output column. Removing them shrinks qkv (3C, C) to (3KD, C) and the MLP's
# (4C, C) to (H, C).

# %%
T = model.config.block_size
x, y = train_ids[:12 * T].reshape(12, T), train_ids[1:12 * T + 1].reshape(12, T)  # a calibration batch
print("head importance (loss increase when removed), layer x head:\n", np.round(head_importance(model, x, y), 4))
structured = load_model(WORK / "teacher" / "best.safetensors")[0]
prune_heads(structured, 2, x, y)
prune_neurons(structured, 128)
print(f"half the heads and MLP neurons: {model.num_parameters():,} -> {structured.num_parameters():,} parameters, "
      f"qkv {tuple(structured.blocks[0].attn.qkv.weight.shape)}, val loss {val_loss(structured, val_ids, WINDOWS):.4f}")

# %% [markdown]
# ## 3. Distillation
#
# The student sees the teacher's distribution at temperature T, which says how wrong each
# wrong answer is (Hinton et al. 2015):
#
# $$L = \alpha T^2\,\mathrm{KL}\big(\mathrm{softmax}(z_t/T)\,\|\,\mathrm{softmax}(z_s/T)\big) + (1-\alpha)\,\mathrm{CE}(z_s, y).$$
#
# The KL term's gradient per logit is $(p_s - p_t)/T$ (per row of the batch mean), so its size
# falls as 1/T; the $T^2$ puts it back on the scale of the hard term. Check it against backward:

# %%
zs, zt, labels = rng.standard_normal((4, 6)), rng.standard_normal((4, 6)), rng.integers(0, 6, 4)
student_logits = tensor(zs, requires_grad=True, dtype="float64")
distillation_loss(student_logits, zt, labels, temperature=3.0, alpha=1.0).backward()


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


by_hand = 3.0**2 * (softmax(zs / 3.0) - softmax(zt / 3.0)) / 3.0 / len(zs)  # T^2 * (p_s - p_t) / T / N
assert np.allclose(student_logits.grad, by_hand, atol=1e-12)
print("d loss / d z_s == T (p_s - p_t) / N: backward agrees with the formula")

distill_steps = 5 if SMALL else 200
students = {}
for how, alpha in (("distilled (alpha 0.5, T 2)", 0.5), ("no teacher (alpha 0)", 0.0)):
    student = gpt_student(model, 2, "every-other")
    losses = distill_gpt(model, student, train_ids, distill_steps, lr=1e-3, alpha=alpha, temperature=2.0)
    students[how] = (losses, val_loss(student, val_ids, WINDOWS))
    print(f"2-layer student, {how}: val loss {students[how][1]:.4f} (teacher {dense_loss:.4f})")

# %% [markdown]
# On the same text the student sees nothing the baseline does not, except the teacher's soft
# targets; with a strong hard-label signal that is often worth little. Distillation's real
# advantage is that the teacher labels ANY text: a *transfer set* of unlabelled in-domain text
# (``compress/transfer.py``) trains the distilled student further, while the student without a
# teacher cannot use it. The classifier study (section 4) distils the MiniLM teacher into two
# layers that way, on VADER's movie snippets, after removing every snippet that shares a run of
# six words with any Pang & Lee text: the two sets come from the same Rotten Tomatoes snippets,
# and without that check nearly every test sentence would be in the transfer set. How the
# student is trained matters as much as what it learns from: at a constant learning rate its
# validation accuracy kept jumping between checks, and BERT's schedule (a short warm-up, then a
# straight line down to zero) let it settle, worth 2.4 points of validation accuracy on seed 0.

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for how, (losses, final) in students.items():
    ax.plot(np.convolve(losses, np.ones(5) / 5, mode="valid"), label=f"{how}: val {final:.3f}")
ax.set_xlabel("step")
ax.set_ylabel("training loss (5-step mean; the distilled one includes its KL term)")
ax.set_title(f"A 2-layer student from the 4-layer teacher's every other layer (teacher val {dense_loss:.3f})",
             fontsize=10)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(FIGURES / "16_distillation.png", dpi=120)
plt.close(fig)

# %% [markdown]
# ## 4. The full runs: size, speed and quality
#
# The numbers below come from the committed results of the full runs (a trained
# ``shakespeare-char`` GPT and the fine-tuned MiniLM classifier); the commands are in their
# JSON files and in the README. Speeds were measured on a shared 2-core machine: the load
# average is recorded beside them, and only the ratios measured side by side
# (``generation_speed.json``) are comparisons.

# %%
table = []
if full.exists():
    study = json.loads(full.read_text())
    for row in study.get("quantization", []):
        table.append((f"GPT {row['scheme']}", row["bytes"] / 1e6, row["tokens_per_s"], row["val_loss"]))
    for row in study.get("distillation", []):
        table.append((f"GPT {row['model']}", row["parameters"] * 4 / 1e6, row["tokens_per_s"], row["val_loss"]))
for name, size, speed, quality in table:
    print(f"{name:58s} {size:6.2f} MB  {speed:8.1f} tokens/s  val loss {quality:.4f}")
classifier = RESULTS / "compression_classifier.json"
if classifier.exists():
    measured = json.loads(classifier.read_text())
    for row in measured["rows"] + measured.get("runs", []):
        seed = f" seed {row['seed']}" if "seed" in row else ""
        print(f"classifier {row['model'] + seed:47s} {row['parameters'] * 4 / 1e6:6.2f} MB  "
              f"{row['test_seconds']:6.1f} s / test split  accuracy {row['test_accuracy']:.4f}")
    if "speed" in measured:  # the per-row times above were taken minutes apart; this one side by side
        print(f"side by side: teacher {measured['speed']['teacher_seconds']:.1f} s, 2-layer student "
              f"{measured['speed']['student_seconds']:.1f} s per test split: {measured['speed']['speedup']:.2f}x faster")
    for kind, summary in measured.get("summary", {}).items():
        print(f"2-layer students, {kind}: test accuracy {summary['test_accuracy']} (seeds {summary['seeds']}), "
              f"mean {summary['mean_test_accuracy']:.4f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
points = table or [(f"GPT {k}", 0.0, 0.0, v) for k, v in quantized_losses.items()]
for name, size, speed, quality in points:
    for ax, value in ((left, size), (right, speed)):
        ax.scatter(value, quality, s=40)
        ax.annotate(name.replace("GPT ", ""), (value, quality), fontsize=6, xytext=(4, 2), textcoords="offset points")
left.set_xlabel("size (MB: checkpoint file, or float32 parameters)")
right.set_xlabel("cached generation, tokens/s (shared machine: see the load average)")
left.set_ylabel("validation loss (nats/token)")
fig.suptitle("shakespeare-char GPT: size, speed and quality of each compression", fontsize=10)
fig.tight_layout()
fig.savefig(FIGURES / "16_size_speed_quality.png", dpi=120)
plt.close(fig)

# %% [markdown]
# ## The check
#
# int8 per channel barely moves the loss, a mask keeps pruned weights at zero through
# training, and structured pruning really shrinks the model.

# %%
assert abs(quantized_losses["int8-channel"] - dense_loss) < 0.05
assert structured.num_parameters() < model.num_parameters()
assert all(c[2] <= c[1] + 0.01 for c in curve)  # fine-tuning did not make a pruned model worse
print("int8 per channel within 0.05 nats; the structured model is smaller; fine-tuning recovered pruned loss")

# %% [markdown]
# ## Exercises
#
# In `tutorials/exercises/ch16.py`, checked by `pytest tutorials/exercises -k ch16` against
# the library (reference solutions in `tutorials/solutions/ch16.py`):
#
# 1. `quantize_symmetric_int8`: section 1's scales per channel or per group, q and q s: the
#    same integers as `quantize_int8`, the half-step bound, and an outlier confined to its group;
# 2. `global_magnitude_masks`: section 2's one ranking of |w| over several matrices: the masks
#    of `Masks.magnitude(scope="global")` on a small GPT, smaller matrices losing more;
# 3. `distillation_loss_and_gradient`: section 3's loss with its hard term, and the gradient
#    alpha T (p_s - p_t) / N + (1 - alpha) (p - onehot) / N: equal to `distillation_loss` and
#    its backward, overflow-free.
