"""Exercises for chapter 15 (word vectors). Edit this file; check it with

    pytest tutorials/exercises -k ch15

Reference solutions: tutorials/solutions/ch15.py (look after you have tried).
Add the imports your answers need at the top; the solutions use

    import numpy as np

1. `sgns_gradients`: the skip-gram negative-sampling loss of one (context, word, noise words)
   example and its gradients, by hand in NumPy.
2. `noise_table`: the unigram^0.75 noise distribution and the cumulative integer table the
   kernels draw noise words from.
3. `three_cos_add`: answer an analogy a : b :: c : ? over a small table of vectors.
4. `glove_cost`: GloVe's weighted least-squares cost, its weighting f(x), and its gradients.
"""


def sgns_gradients(h, rows, labels):
    """(loss, dh, drows) of L = -sum_k log sigmoid(s_k (U_k . h)), s_k = 2 y_k - 1.

    h (D,): the input vector of the context word; rows U (K, D): the output vectors of the word
    that occurs (label y = 1) and of the noise words (y = 0); labels (K,) of 0 and 1. With
    sigma_k = sigmoid(U_k . h):

        dL/dh   = -sum_k (y_k - sigma_k) U_k        (D,)
        dL/dU_k = -(y_k - sigma_k) h                (K, D)

    Return the loss as a float. Compute log sigmoid(z) without overflow for large |z|
    (log sigmoid(z) = -log(1 + exp(-z)) = -logaddexp(0, -z)). Must equal the autograd engine's
    loss and gradients (`tinygrad_lm.vectors.sgns_autograd.sgns_loss`), and -alpha times the
    gradients must be the change the Word2Vec kernel makes in one step.
    """
    raise NotImplementedError("exercise ch15.sgns_gradients")


def noise_table(counts, power=0.75, domain=2**31):
    """(probabilities, cumulative) of the negative-sampling distribution P(w) ~ count(w)^power.

    counts (V,) ints. probabilities (V,) float64 summing to 1. cumulative (V,) uint64: the
    integers round(cumsum(w) / sum(w) * domain) with w = counts ** power (in float64, in that
    order of operations), the last entry set to exactly ``domain``. A kernel draws r uniformly
    from [0, domain) and takes the first index whose cumulative entry exceeds r, so word i is
    drawn with probability (cumulative[i] - cumulative[i - 1]) / domain, about P(i). Must equal
    `Vocabulary.noise_cumulative()`.
    """
    raise NotImplementedError("exercise ch15.noise_table")


def three_cos_add(vectors, a, b, c):
    """The row x answering a : b :: c : x by 3CosAdd, an int.

    vectors (V, D): one word per row, any lengths (a zero row has cosine 0 with everything);
    a, b, c: row indices. Scale every row to unit length (x^ = x / |x|), form the query
    q = b^ - a^ + c^, and return the row with the largest cos(x, q), leaving out a, b and c
    themselves (ties: the lower row). Must give the answers of
    `tinygrad_lm.vectors.evaluate.evaluate_analogies(..., "3cosadd")`.
    """
    raise NotImplementedError("exercise ch15.three_cos_add")


def glove_cost(W, W_tilde, b, b_tilde, rows, cols, x, x_max=100.0, alpha=0.75):
    """GloVe's cost over the listed pairs and its gradients: (J, dW, dW_tilde, db, db_tilde).

    W, W_tilde (V, D), b, b_tilde (V,): the word and context vectors and biases. rows, cols (P,)
    ints and x (P,) > 0: the non-zero co-occurrence counts X[rows[p], cols[p]] (a word appears in
    many pairs). With f(x) = min(1, (x / x_max) ** alpha) and, per pair,
    diff_p = W[i] . W_tilde[j] + b[i] + b_tilde[j] - log x_p,

        J = 1/2 sum_p f(x_p) diff_p^2
        dJ/dW[i] = sum over the pairs p with rows[p] = i of f(x_p) diff_p W_tilde[cols[p]]

    and the same way for W_tilde (with W[rows[p]]), b and b_tilde (f(x_p) diff_p). Gradients
    have the shapes of their parameters; a row in no pair gets 0. Return J as a float. Must
    equal the autograd engine's gradients of the same J, and f the library's `glove_weights`.
    """
    raise NotImplementedError("exercise ch15.glove_cost")
