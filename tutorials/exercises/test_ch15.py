"""Checks of chapter 15's exercises (the `answers` fixture: see conftest.py)."""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.testing import check_close
from tinygrad_lm.vectors.evaluate import evaluate_analogies
from tinygrad_lm.vectors.glove import glove_weights
from tinygrad_lm.vectors.keyed import WordVectors
from tinygrad_lm.vectors.sgns_autograd import kernel_step, sgns_loss
from tinygrad_lm.vectors.vocab import Vocabulary

rng = np.random.default_rng(15)


# --- 1. The SGNS loss and its gradient --------------------------------------------------------
def test_sgns_gradients_by_hand(answers):
    rows, labels = rng.standard_normal((4, 3)), np.array([1.0, 0, 0, 0])
    loss, dh, drows = answers.sgns_gradients(np.zeros(3), rows, labels)  # h = 0: every sigma is 1/2
    assert isinstance(loss, float) and abs(loss - 4 * np.log(2)) < 1e-12
    check_close(dh, -(labels - 0.5) @ rows, name="dh")
    check_close(drows, np.zeros((4, 3)), name="drows")
    loss, _, _ = answers.sgns_gradients(np.array([1000.0]), np.array([[1.0], [-1.0]]), np.array([1.0, 0.0]))
    assert loss == 0.0  # both pairs classified right with huge margins: no overflow, no nan
    loss, _, _ = answers.sgns_gradients(np.array([1000.0]), np.array([[-1.0]]), np.array([1.0]))
    assert abs(loss - 1000.0) < 1e-9  # wrong with a huge margin: -log sigmoid(-1000) = 1000


@pytest.mark.parametrize("K, D", [(2, 4), (6, 8), (21, 50)])
def test_sgns_gradients_match_autograd_and_the_kernel(answers, K, D):
    h, rows = rng.normal(size=D) / np.sqrt(D), rng.normal(size=(K, D))
    assert np.abs(rows @ h).max() < 6  # inside gensim's MAX_EXP: the kernel skips no target
    labels = np.zeros(K)
    labels[0] = 1.0  # the word that occurs first, the noise words after it (the kernel's order)
    h_t, rows_t = tg.tensor(h, requires_grad=True), tg.tensor(rows, requires_grad=True)
    expected = sgns_loss(h_t, rows_t, labels)
    expected.backward()
    loss, dh, drows = answers.sgns_gradients(h, rows, labels)
    assert dh.shape == (D,) and drows.shape == (K, D)
    check_close(np.array(loss), expected.numpy(), name="loss")
    check_close(dh, h_t.grad, name="dL/dh")
    check_close(drows, rows_t.grad, name="dL/dU")
    step_h, step_rows = kernel_step(h, rows, alpha=0.025)
    check_close(-0.025 * dh, step_h, name="kernel step of h", atol=1e-12)
    check_close(-0.025 * drows, step_rows, name="kernel step of U", atol=1e-12)


# --- 2. The noise distribution ----------------------------------------------------------------
def test_noise_table_by_hand(answers):
    probabilities, cumulative = answers.noise_table(np.array([16, 1]))  # 16^0.75 = 8
    check_close(probabilities, np.array([8 / 9, 1 / 9]), name="P")
    assert cumulative.dtype == np.uint64 and cumulative.tolist() == [round(8 / 9 * 2**31), 2**31]
    probabilities, cumulative = answers.noise_table(np.array([3, 1]), power=1.0, domain=4)
    assert probabilities.tolist() == [0.75, 0.25] and cumulative.tolist() == [3, 4]


def test_noise_table_matches_the_vocabulary(answers):
    for _ in range(20):
        counts = np.sort(rng.zipf(1.3, size=rng.integers(1, 3000)))[::-1]  # word counts, most frequent first
        vocab = Vocabulary([f"w{i}" for i in range(len(counts))], counts.astype(np.int64))
        probabilities, cumulative = answers.noise_table(vocab.counts)
        assert np.array_equal(cumulative, vocab.noise_cumulative())
        weights = counts.astype(np.float64) ** 0.75
        check_close(probabilities, weights / weights.sum(), name="P")
        drawn = np.diff(cumulative.astype(np.float64), prepend=0.0) / 2**31  # what a uniform draw gives
        assert np.abs(drawn - probabilities).max() < 2.0 ** -30


# --- 3. Analogies by 3CosAdd ------------------------------------------------------------------
def test_three_cos_add_finds_a_planted_analogy(answers):
    man, woman, king, queen, *noise = rng.standard_normal((12, 6))
    queen = king - man + woman + 0.01 * rng.standard_normal(6)
    vectors = np.stack([man, woman, king, queen, 3 * king, *noise])  # row 4: a long copy of "king"
    assert answers.three_cos_add(vectors, 0, 1, 2) == 3
    vectors[3] = 0.0  # a zero row: cosine 0, no division by zero
    assert answers.three_cos_add(vectors, 0, 1, 2) != 3
    with np.errstate(all="raise"):
        assert answers.three_cos_add(np.eye(4)[[0, 1, 2, 3, 3]], 0, 1, 2) == 3  # rows 3 and 4 tie: the lower


def test_three_cos_add_answers_as_evaluate_analogies(answers, tmp_path):
    vectors = rng.standard_normal((60, 10)) * rng.uniform(0.5, 3.0, (60, 1))  # rows of different lengths
    words = [f"w{i}" for i in range(60)]
    questions = [rng.choice(60, 3, replace=False) for _ in range(200)]
    mine = [answers.three_cos_add(vectors.copy(), int(a), int(b), int(c)) for a, b, c in questions]
    assert len(set(mine)) > 10  # many different answers
    path = tmp_path / "questions.txt"
    path.write_text(": random\n" + "".join(f"{words[a]} {words[b]} {words[c]} {words[x]}\n"
                                           for (a, b, c), x in zip(questions, mine)))
    result = evaluate_analogies(WordVectors(words, vectors), path, "3cosadd")
    assert result["total"] == 200 and result["correct"] == 200, result


# --- 4. GloVe's cost and its gradients --------------------------------------------------------
def glove_problem(V=6, D=3, P=15):
    """Random parameters and P pairs over V words (some words in several pairs, some in none)."""
    W, W_tilde, b, b_tilde = rng.normal(size=(V, D)), rng.normal(size=(V, D)), rng.normal(size=V), rng.normal(size=V)
    rows, cols = rng.integers(0, V - 1, P), rng.integers(0, V - 1, P)  # word V - 1 is in no pair
    x = rng.choice([0.5, 1.0, 3.0, 40.0, 100.0, 250.0], P)
    return W, W_tilde, b, b_tilde, rows, cols, x


def test_glove_cost_weighting_by_hand(answers):
    x = np.array([0.5, 1.0, 10.0, 100.0, 1000.0])
    zeros = np.zeros((5, 2)), np.zeros((5, 2)), np.zeros(5), np.zeros(5)
    for p in range(5):  # all parameters 0: diff = -log x, so J = f(x) (log x)^2 / 2
        J = answers.glove_cost(*zeros, np.array([p]), np.array([p]), x[p:p + 1])[0]
        assert isinstance(J, float)
        assert abs(J - glove_weights(x[p], 100.0, 0.75) * np.log(x[p]) ** 2 / 2) < 1e-12, x[p]
    J = answers.glove_cost(*zeros, np.array([0]), np.array([0]), np.array([np.e]), x_max=2 * np.e, alpha=1.0)[0]
    assert abs(J - 0.25) < 1e-12  # f = 1/2, log x = 1


def test_glove_cost_gradients_match_autograd(answers):
    W, W_tilde, b, b_tilde, rows, cols, x = glove_problem()
    params = [tg.tensor(p, requires_grad=True) for p in (W, W_tilde, b, b_tilde)]
    tW, tW_tilde, tb, tb_tilde = params
    diff = (tW[rows] * tW_tilde[cols]).sum(axis=1) + tb[rows] + tb_tilde[cols] - tg.tensor(np.log(x))  # (P,)
    J = (tg.tensor(glove_weights(x, 100.0, 0.75)) * diff * diff).sum() * 0.5
    J.backward()
    mine = answers.glove_cost(W, W_tilde, b, b_tilde, rows, cols, x)
    check_close(np.array(mine[0]), J.numpy(), name="J")
    for name, grad, param in zip(("dW", "dW_tilde", "db", "db_tilde"), mine[1:], params):
        check_close(grad, param.grad, name=name)
    assert not mine[1][-1].any() and not mine[3][-1]  # the word in no pair: no gradient
