"""Tests of tinygrad_lm.baselines: zero-shot by embedding and by a causal LM, the linear probe.

Small cases only: a random-weight GPT of one layer (its log-probabilities are checked against a
hand computation from its own logits), synthetic separable features for the probe, and a few
MiniLM embeddings (skipped when the pretrained files are not cached on this machine).
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lm import functional as F
from tinygrad_lm.baselines import (
    LinearProbe,
    train_linear_probe,
    zero_shot_by_embedding,
    zero_shot_by_lm,
)
from tinygrad_lm.data import CharTokenizer
from tinygrad_lm.engine import tensor
from tinygrad_lm.models import GPT, GPTConfig

VOCAB = "abcdefgh xyz."


@pytest.fixture(scope="module")
def tiny_gpt():
    tokenizer = CharTokenizer(VOCAB)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=8, n_layer=1, n_head=2, n_embd=8, seed=3))
    return model, tokenizer


def hand_loglik(model, tokenizer, prompt, word):
    """sum_j log p(word_j | prompt, word_<j) from one forward pass over prompt + word, in float64."""
    seq = tokenizer.encode(prompt + word)[-(model.config.block_size + 1):]
    logits, _ = model(seq[None, :-1])  # (1, T) -> (1, T, V)
    z = logits.numpy()[0].astype(np.float64)  # (T, V)
    log_probs = z - z.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    m = len(word)
    return sum(log_probs[len(seq) - 1 - m + j, seq[len(seq) - m + j]] for j in range(m))


def test_lm_scores_equal_a_hand_computation_of_summed_log_probs(tiny_gpt):
    model, tokenizer = tiny_gpt
    texts, words = ["abc", "hg fe"], [" xy", "z"]
    predicted, scores = zero_shot_by_lm(model, tokenizer, texts, words, prompt_template="{text}.")
    expected = np.array([[hand_loglik(model, tokenizer, t + ".", w) for w in words] for t in texts])
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(predicted, expected.argmax(axis=1))
    _, normalised = zero_shot_by_lm(model, tokenizer, texts, words, prompt_template="{text}.", length_normalize=True)
    np.testing.assert_allclose(normalised, expected / [3, 1], rtol=1e-5, atol=1e-5)


def test_lm_batches_do_not_change_scores(tiny_gpt):
    model, tokenizer = tiny_gpt
    texts, words = ["a", "bcdefg", "hh"], [" x", " yz"]  # different lengths: right padding in a batch
    _, together = zero_shot_by_lm(model, tokenizer, texts, words, batch_size=32, prompt_template="{text}")
    _, alone = zero_shot_by_lm(model, tokenizer, texts, words, batch_size=1, prompt_template="{text}")
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)


def test_long_texts_keep_their_last_tokens(tiny_gpt):
    model, tokenizer = tiny_gpt
    long_text = "abcdefgh" * 5 + "xyz"  # 43 characters, block_size 8
    _, scores = zero_shot_by_lm(model, tokenizer, [long_text], [" a", "b"], prompt_template="{text}")
    _, tail = zero_shot_by_lm(model, tokenizer, [long_text[-8:]], [" a", "b"], prompt_template="{text}")
    np.testing.assert_allclose(scores[0], [hand_loglik(model, tokenizer, long_text, w) for w in (" a", "b")],
                               rtol=1e-5, atol=1e-5)
    assert scores[0, 1] == pytest.approx(tail[0, 1], abs=1e-5)  # "b": the window is the text's last 8 characters


def test_characters_outside_the_vocabulary_are_dropped(tiny_gpt):
    model, tokenizer = tiny_gpt
    _, with_unknown = zero_shot_by_lm(model, tokenizer, ["aQb—c"], [" x", "y"], prompt_template="{text}")
    _, without = zero_shot_by_lm(model, tokenizer, ["abc"], [" x", "y"], prompt_template="{text}")
    np.testing.assert_allclose(with_unknown, without, rtol=1e-6)


@pytest.mark.parametrize("texts, words, template, message", [
    ([], [" x", " y"], "{text}", "texts is empty"),
    (["abc", ""], [" x", " y"], "{text}", r"texts\[1\]"),
    ("abc", [" x", " y"], "{text}", "list of str"),
    (["abc"], [" x", " Q"], "{text}", "label word ' Q' cannot be written"),
    (["abc"], [" x"], "{text}", "2 or more"),
    (["abc"], [" x", ""], "{text}", r"label_words\[1\]"),
    (["abc"], [" x", "abcdefgha"], "{text}", "block_size"),
    (["abc"], [" x", " y"], "no placeholder", "{text}"),
])
def test_lm_bad_input_is_a_one_line_error(tiny_gpt, texts, words, template, message):
    model, tokenizer = tiny_gpt
    with pytest.raises((ValueError, TypeError), match=message) as error:
        zero_shot_by_lm(model, tokenizer, texts, words, prompt_template=template)
    assert "\n" not in str(error.value)


def test_lm_puts_the_training_mode_back(tiny_gpt):
    model, tokenizer = tiny_gpt
    model.train()
    zero_shot_by_lm(model, tokenizer, ["abc"], [" x", " y"])
    assert all(module.training for _, module in model.named_modules())


def separable_set(n=300, d=6, k=3, seed=0):
    """k Gaussian blobs with well-separated means: linearly separable with margin."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * 6
    labels = np.arange(n) % k
    return (centres[labels] + rng.normal(size=(n, d)) * 0.3).astype(np.float32), labels.astype(np.int64)


def test_linear_probe_learns_a_separable_set_perfectly():
    features, labels = separable_set()
    probe = train_linear_probe(features, labels, 3, lr=0.05, epochs=60, seed=1)
    assert isinstance(probe, LinearProbe)
    np.testing.assert_array_equal(probe.predict(features), labels)
    proba = probe.predict_proba(features)
    assert proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert np.isfinite(probe.linear.weight.data).all() and np.abs(probe.linear.weight.data).max() < 100
    losses = [h["val_loss"] for h in probe.history]
    assert losses[probe.best_epoch - 1] == min(losses) < losses[0]  # the kept weights are the best epoch's


def test_linear_probe_gradient_is_the_logistic_regression_gradient():
    features, labels = separable_set(n=12, d=4, k=2)
    probe = LinearProbe(4, 2, seed=0)
    F.cross_entropy(probe(tensor(features)), labels).backward()
    w, b = probe.linear.weight.data.astype(np.float64), probe.linear.bias.data.astype(np.float64)
    z = features @ w.T + b  # (N, K)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    residual = (p - np.eye(2)[labels]) / len(labels)  # d mean CE / d logits, (N, K)
    np.testing.assert_allclose(probe.linear.weight.grad, residual.T @ features, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(probe.linear.bias.grad, residual.sum(axis=0), rtol=1e-4, atol=1e-6)


def test_linear_probe_uses_the_given_validation_set_and_is_seeded():
    features, labels = separable_set(n=120, k=3, seed=2)
    given = dict(val_features=features[90:], val_labels=labels[90:], lr=0.1, epochs=20, seed=4)
    a = train_linear_probe(features[:90], labels[:90], 3, **given)
    b = train_linear_probe(features[:90], labels[:90], 3, **given)
    np.testing.assert_array_equal(a.linear.weight.data, b.linear.weight.data)
    assert a.history[a.best_epoch - 1]["val_accuracy"] == 1.0
    np.testing.assert_array_equal(a.predict(features[90:]), labels[90:])


@pytest.mark.parametrize("features, labels, n_classes, message", [
    (np.zeros((4, 3), np.float32), np.array([0, 1, 0]), 2, r"shape \(4,\)"),
    (np.zeros((0, 3), np.float32), np.zeros(0, np.int64), 2, "non-empty float array"),
    (np.zeros((4, 3), np.float32), np.array([0, 1, 2, 0]), 2, r"in \[0, 2\)"),
    (np.array([[np.nan, 0.0]] * 4), np.array([0, 1, 0, 1]), 2, "NaN"),
    (np.zeros((4, 3), np.float32), np.array([0, 1, 0, 1]), 1, "n_classes"),
])
def test_linear_probe_bad_input_is_a_one_line_error(features, labels, n_classes, message):
    with pytest.raises(ValueError, match=message) as error:
        train_linear_probe(features, labels, n_classes, epochs=1)
    assert "\n" not in str(error.value)


def test_predict_proba_refuses_features_of_another_width():
    probe = LinearProbe(4, 2)
    with pytest.raises(ValueError, match="4"):
        probe.predict_proba(np.zeros((2, 5), np.float32))


def test_embedding_zero_shot_picks_the_obvious_description(minilm):
    model, tokenizer = minilm
    texts = ["I adored this film, a wonderful and moving masterpiece.",
             "A dull, boring, terrible movie; I hated every minute.",
             "The recipe needs two cups of flour and an egg."]
    # Several symmetric descriptions per label: with only "a positive/negative movie review",
    # MiniLM scores the negative review 0.430 positive vs 0.429 negative (the words "movie
    # review" dominate); averaging descriptions is what the option is for.
    labels = {"positive": ["a positive movie review", "a great film"],
              "negative": ["a negative movie review", "a terrible film"], "cooking": "a cooking recipe"}
    predicted, scores = zero_shot_by_embedding(model, tokenizer, texts, labels)
    np.testing.assert_array_equal(predicted, [0, 1, 2])
    assert scores.shape == (3, 3) and np.all(np.abs(scores) <= 1 + 1e-5)


@pytest.mark.parametrize("texts, descriptions, message", [
    ([], ["a", "b"], "texts is empty"),
    (["ok"], ["only one"], "at least 2 labels"),
    (["ok"], ["a", []], "label 1"),
    (["ok"], "a, b", "dict or list"),
])
def test_embedding_zero_shot_bad_input_is_a_one_line_error(texts, descriptions, message):
    with pytest.raises((ValueError, TypeError), match=message) as error:
        zero_shot_by_embedding(None, None, texts, descriptions)  # checked before the model is used
    assert "\n" not in str(error.value)


@pytest.mark.slow
def test_zero_shot_benchmark_script_runs_quick(tmp_path, minilm):
    """benchmarks/zero_shot.py --quick with a `tiny` GPT: every row present, scores in [0, 1]."""
    root = Path(__file__).resolve().parents[1]
    run = [sys.executable, "-m", "tinygrad_lm.cli", "train", "--preset", "tiny", "--out", str(tmp_path / "gpt")]
    subprocess.run(run, check=True, cwd=root, capture_output=True, timeout=600)
    script = [sys.executable, str(root / "benchmarks" / "zero_shot.py"), "--quick", "--gpt-checkpoint",
              str(tmp_path / "gpt"), "--out", str(tmp_path / "out")]
    result = subprocess.run(script, check=False, cwd=root, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads((tmp_path / "out" / "zero_shot_pang_lee_quick.json").read_text())["rows"]
    assert [r["method"].split(" (")[0] for r in rows] == ["embedding zero-shot"] * 2 + ["LM zero-shot", "linear probe"]
    assert all(0 <= r["accuracy"] <= 1 and 0 <= r["macro_f1"] <= 1 and r["seconds"] > 0 for r in rows)
