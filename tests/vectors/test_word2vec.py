"""Word2Vec: the kernel's step is the SGNS gradient, training is seeded, learns structure, refuses bad input."""

import os
import subprocess
import sys

import numba
import numpy as np
import pytest

from tinygrad_lm.engine import Tensor
from tinygrad_lm.testing.gradcheck import gradcheck
from tinygrad_lm.vectors.sgns_autograd import kernel_step, sgns_loss
from tinygrad_lm.vectors.vocab import VectorsError
from tinygrad_lm.vectors.word2vec import Word2VecConfig, train_word2vec

SMALL = {"vector_size": 16, "epochs": 3, "min_count": 1, "sample": 0.0, "negative": 3, "window": 3}


def test_kernel_step_is_minus_alpha_times_the_autograd_gradient():
    rng = np.random.default_rng(3)
    h, rows, labels, alpha = rng.normal(size=6), rng.normal(size=(4, 6)), np.array([1.0, 0, 0, 0]), 0.05
    h_t, rows_t = Tensor(h, requires_grad=True), Tensor(rows, requires_grad=True)
    sgns_loss(h_t, rows_t, labels).backward()
    step_h, step_rows = kernel_step(h, rows, alpha)
    np.testing.assert_allclose(step_h, -alpha * h_t.grad, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(step_rows, -alpha * rows_t.grad, rtol=1e-12, atol=1e-14)


def test_sgns_loss_passes_gradcheck():
    rng = np.random.default_rng(4)
    labels = np.array([1.0, 0, 0])
    assert gradcheck(lambda h, rows: sgns_loss(h, rows, labels), rng.normal(size=5), rng.normal(size=(3, 5)))


@pytest.mark.parametrize("cbow", [False, True])
def test_training_is_deterministic_with_one_thread_and_a_seed(topics, cbow):
    config = Word2VecConfig(**SMALL, cbow=cbow, seed=7)
    first = train_word2vec(topics, config, progress=False)
    again = train_word2vec(topics, config, progress=False)
    other = train_word2vec(topics, Word2VecConfig(**SMALL, cbow=cbow, seed=8), progress=False)
    np.testing.assert_array_equal(first.vectors, again.vectors)
    assert not np.array_equal(first.vectors, other.vectors)


@pytest.mark.parametrize("cbow", [False, True])
def test_training_puts_words_of_a_topic_together(topics, topic_groups, cbow):
    vectors = train_word2vec(topics, Word2VecConfig(**{**SMALL, "epochs": 5}, cbow=cbow), progress=False)
    for group in topic_groups:
        neighbours = [word for word, _ in vectors.nearest(group[0], k=5)]
        assert set(neighbours) <= set(group), (group[0], neighbours)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="Numba has one thread here")
def test_two_threads_train_hogwild_and_learn_the_same_structure(topics, topic_groups):
    vectors = train_word2vec(topics, Word2VecConfig(**{**SMALL, "epochs": 5}, threads=2), progress=False)
    assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS  # restored after training
    assert set(w for w, _ in vectors.nearest("cat", k=5)) <= set(topic_groups[0])


def test_subsampling_keeps_fewer_words_and_info_reports_speed(topics):
    kept_all = train_word2vec(topics, Word2VecConfig(**SMALL), progress=False).info
    sampled = train_word2vec(topics, Word2VecConfig(**{**SMALL, "sample": 1e-2}), progress=False).info
    assert kept_all["words_kept_after_subsampling"] == len(topics) * SMALL["epochs"]
    assert sampled["words_kept_after_subsampling"] < kept_all["words_kept_after_subsampling"]
    assert kept_all["words_per_second"] > 0 and kept_all["vocabulary"] == 20


@pytest.mark.parametrize("tokens, message", [
    ([], "no word occurs"),
    (["a", "b", "c", "a", "b", "c"], "only 3 words"),
    (["a", "b", "c", "d", "e", "f", "g"] * 3, r"only 7 words.*negative=10"),
])  # fmt: skip
def test_corpus_too_small_is_refused_before_any_kernel(tokens, message):
    with pytest.raises(VectorsError, match=message):
        train_word2vec(tokens, Word2VecConfig(min_count=1, negative=10 if len(tokens) == 21 else 5), progress=False)


@pytest.mark.parametrize("change, message", [
    ({"window": 0}, "window"), ({"negative": 0}, "negative"), ({"alpha": 0.0}, "alpha"),
    ({"min_alpha": 0.1}, "min_alpha"), ({"seed": -1}, "seed"), ({"threads": 10**6}, "threads"),
    ({"vector_size": 2.5}, "vector_size"),
])  # fmt: skip
def test_settings_out_of_range_are_named(topics, change, message):
    with pytest.raises(VectorsError, match=message):
        train_word2vec(topics, Word2VecConfig(**{**SMALL, **change}), progress=False)


KERNEL_RUN = """
import sys
import numpy as np
from tinygrad_lm.vectors.vocab import Vocabulary, split_sentences
from tinygrad_lm.vectors.word2vec import initial_vectors
from tinygrad_lm.vectors.word2vec_kernels import train_sentences

rng = np.random.default_rng(2)
vocab = Vocabulary.build([str(w) for w in rng.zipf(1.5, size=400) % 30], min_count=1)
ids = rng.integers(0, len(vocab), size=300).astype(np.int32)
for cbow in (False, True):
    syn0, syn1neg = initial_vectors(len(vocab), 6, 0), np.zeros((len(vocab), 6), np.float32)
    kept = train_sentences(ids, split_sentences(len(ids), 100), vocab.keep_probabilities(1e-2),
                           vocab.noise_cumulative(), syn0, syn1neg, cbow, 3, 4, 0.05, 0.001, 0, len(ids), 5, 0, 0)
    np.savez(f"{sys.argv[1]}_{cbow}.npz", kept=kept, syn0=syn0, syn1neg=syn1neg)
"""


@pytest.mark.slow  # two fresh interpreters importing Numba
def test_compiled_kernel_equals_its_plain_python_reading(tmp_path):
    """The same tiny training with Numba and with NUMBA_DISABLE_JIT=1 (the kernel read as Python)."""
    for name, jit_off in (("jit", "0"), ("python", "1")):
        subprocess.run([sys.executable, "-c", KERNEL_RUN, str(tmp_path / name)], check=True,
                       env={**os.environ, "NUMBA_DISABLE_JIT": jit_off, "NUMBA_NUM_THREADS": "1"})
    for cbow in (False, True):
        jit, python = np.load(tmp_path / f"jit_{cbow}.npz"), np.load(tmp_path / f"python_{cbow}.npz")
        assert int(jit["kept"]) == int(python["kept"]) < 300
        for table in ("syn0", "syn1neg"):
            np.testing.assert_allclose(jit[table], python[table], rtol=1e-4, atol=1e-6)
