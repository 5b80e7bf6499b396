"""Exercises for chapter 12 (fine-tuning and zero-shot). Edit this file; check it with

    pytest tutorials/exercises -k ch12

Reference solutions: tutorials/solutions/ch12.py (look after you have tried).
Add the imports your answers need at the top; the solutions use

    import numpy as np
    from tinygrad_lm.nn import freeze

1. `head_gradients`: the classification head's loss and gradients by hand, in NumPy.
2. `freeze_lowest_layers`: freeze the embeddings and the lowest k blocks of a classifier.
"""


def head_gradients(pooled, labels, weight, bias):
    """Mean cross-entropy of the head logits = pooled @ weight^T + bias, and its gradients.

    pooled (N, H) sentence vectors, labels (N,) int, weight (C, H), bias (C,). With
    p = softmax(logits) per row (subtract the row maximum first):

        loss   = -(1/N) sum_n log p[n, labels[n]]
        dW     = (p - onehot(labels))^T @ pooled / N        (C, H)
        db     = sum over n of (p - onehot(labels)) / N      (C,)

    Return (loss as a float, dW, db).
    """
    raise NotImplementedError("exercise ch12.head_gradients")


def freeze_lowest_layers(model, k):
    """Freeze ``model.bert``'s embeddings and blocks 0..k-1 (a BertForSequenceClassification).

    Use ``tinygrad_lm.nn.freeze`` with the parameter names' patterns ("bert.embeddings.*",
    "bert.blocks.0.*", ...). k = 0 freezes nothing. A k larger than the number of blocks is a
    ValueError whose message names both numbers. Return the sorted names of the frozen parameters.
    """
    raise NotImplementedError("exercise ch12.freeze_lowest_layers")
