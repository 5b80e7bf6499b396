"""Reference solutions to chapter 15's exercises (tutorials/exercises/ch15.py states the tasks)."""

import numpy as np


def sgns_gradients(h, rows, labels):
    """sigma = sigmoid(U h); the error y - sigma weights the rows (for h) and h (for each row)."""
    scores = rows @ h  # (K, D) @ (D,) -> (K,)
    signs = 2.0 * labels - 1.0
    loss = float(np.logaddexp(0.0, -signs * scores).sum())  # -log sigmoid(s z) = log(1 + exp(-s z))
    error = labels - np.exp(-np.logaddexp(0.0, -scores))  # (K,): y - sigma, sigma = exp(log sigmoid)
    return loss, -error @ rows, -np.outer(error, h)  # (K,) @ (K, D) -> (D,); (K, D)


def noise_table(counts, power=0.75, domain=2**31):
    """count^power normalised; the cumulative table scaled to the integer domain, its end pinned."""
    weights = np.asarray(counts, dtype=np.float64) ** power
    cumulative = np.round(np.cumsum(weights) / weights.sum() * domain).astype(np.uint64)
    cumulative[-1] = domain
    return weights / weights.sum(), cumulative


def three_cos_add(vectors, a, b, c):
    """Cosines with the normalised b^ - a^ + c^, the question's rows at -inf, the first maximum."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)  # (V, 1)
    unit = vectors / np.where(norms == 0, 1.0, norms)
    query = unit[b] - unit[a] + unit[c]  # (D,)
    scores = unit @ (query / np.linalg.norm(query))  # (V, D) @ (D,) -> (V,)
    scores[[a, b, c]] = -np.inf
    return int(np.argmax(scores))


def glove_cost(W, W_tilde, b, b_tilde, rows, cols, x, x_max=100.0, alpha=0.75):
    """Per-pair weighted residuals, then np.add.at so a word in several pairs sums its gradients."""
    weight = np.minimum(1.0, (x / x_max) ** alpha)  # f(x) (P,)
    diff = np.einsum("pd,pd->p", W[rows], W_tilde[cols]) + b[rows] + b_tilde[cols] - np.log(x)  # (P,)
    fdiff = weight * diff
    dW, dW_tilde, db, db_tilde = (np.zeros_like(p) for p in (W, W_tilde, b, b_tilde))
    np.add.at(dW, rows, fdiff[:, None] * W_tilde[cols])  # (P, D) summed into the rows of (V, D)
    np.add.at(dW_tilde, cols, fdiff[:, None] * W[rows])
    np.add.at(db, rows, fdiff)
    np.add.at(db_tilde, cols, fdiff)
    return float(0.5 * (fdiff * diff).sum()), dW, dW_tilde, db, db_tilde
