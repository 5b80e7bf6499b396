"""Exercises for chapter 16 (compression). Edit this file; check it with

    pytest tutorials/exercises -k ch16

Reference solutions: tutorials/solutions/ch16.py (look after you have tried).
Add the imports your answers need at the top; the solutions use

    import numpy as np

1. `quantize_symmetric_int8`: symmetric int8 weights with a scale per output channel or per
   group of columns, and the dequantized weights.
2. `global_magnitude_masks`: one magnitude ranking over several weight matrices.
3. `distillation_loss_and_gradient`: Hinton's soft-target loss at temperature T plus the hard
   loss, and its gradient with respect to the student's logits, by hand in NumPy.
"""


def quantize_symmetric_int8(weight, group_size=None):
    """(q, scales, dequantized) of a float32 weight W (N, K) = (out_features, in_features).

    group_size None: one scale per output channel (row), s_n = max_k |W[n, k]| / 127, scales
    (N,). Otherwise one scale per row and group of ``group_size`` consecutive columns (the last
    group may be shorter), scales (N, ceil(K / group_size)). Then

        q = clip(round(W / s), -127, 127) as int8    (N, K), s broadcast over its row or group
        dequantized = q * s                          (N, K) float32

    A row (or group) of zeros gets s = 1. Compute in float32 (scales, the division) and round
    half to even (np.rint), as the library does, so q equals `quantize_int8` exactly. The
    error |W - q s| is at most s / 2 everywhere.
    """
    raise NotImplementedError("exercise ch16.quantize_symmetric_int8")


def global_magnitude_masks(weights, sparsity):
    """Keep-masks (bool, True = kept), one per array of ``weights`` (a list of arrays of any shapes).

    Rank every entry of every array together by |w|, and drop exactly round(sparsity * n) of the
    smallest (n = the total number of entries; 0 < sparsity < 1). Matrices whose weights are
    smaller lose more of them. Each mask has its array's shape. Must equal
    `Masks.magnitude(model, sparsity, scope="global")` on a model's prunable weights.
    """
    raise NotImplementedError("exercise ch16.global_magnitude_masks")


def distillation_loss_and_gradient(student_logits, teacher_logits, targets, temperature=2.0, alpha=0.5):
    """(loss, d loss / d student_logits) for logits z_s, z_t (N, V) and labels y (N,), in NumPy.

    With p^T = softmax(z / T) per row (subtract the row maximum first), p_s = softmax(z_s):

        loss = alpha T^2 KL(p_t^T || p_s^T) + (1 - alpha) CE(z_s, y)
        KL   = (1/N) sum_n sum_v p_t^T[n, v] (log p_t^T[n, v] - log p_s^T[n, v])
        CE   = -(1/N) sum_n log p_s[n, y_n]
        grad = alpha T (p_s^T - p_t^T) / N + (1 - alpha) (p_s - onehot(y)) / N    (N, V)

    Return the loss as a float. Must equal `tinygrad_lm.compress.distill.distillation_loss` and
    its backward.
    """
    raise NotImplementedError("exercise ch16.distillation_loss_and_gradient")
