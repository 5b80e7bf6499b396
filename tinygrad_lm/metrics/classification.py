"""Classification metrics from counts: accuracy, precision / recall / F1, the confusion matrix.

Everything here is counting followed by a division, in NumPy. For one class c, with its
predictions compared against the truth over all N samples:

    tp_c   = #{i : y_true[i] = c and y_pred[i] = c}     true positives
    pred_c = #{i : y_pred[i] = c}  = tp_c + fp_c        predicted as c
    true_c = #{i : y_true[i] = c}  = tp_c + fn_c        support of c

    precision_c = tp_c / pred_c
    recall_c    = tp_c / true_c
    f1_c        = 2 tp_c / (true_c + pred_c)            (= 2 P R / (P + R) when both defined)

Labels may be ints, whole floats, bools or strings (not a mix of numbers and strings); the label
set is the sorted union of the labels in ``y_true`` and ``y_pred``, as scikit-learn's
``unique_labels``. The conventions (averages, ``pos_label``, ``labels``, ``zero_division``) are
scikit-learn's, and ``tests/metrics`` checks that the numbers are identical to its own.

Left out: sample weights, multilabel / multi-output targets, the ``samples`` average, F-beta
for beta != 1, probability-based metrics (ROC, log-loss).
"""

import math
import warnings

import numpy as np

AVERAGES = ("binary", "macro", "micro", "weighted", None)


class UndefinedMetricWarning(UserWarning):
    """A precision, recall or F1 had a zero denominator and was set to 0 (``zero_division="warn"``)."""


def _labels_1d(name, y, fn):
    """``y`` as a 1-D array of class labels, or a one-line ValueError naming ``fn`` and ``name``."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{fn}: {name} must be 1-D (one label per sample), got shape {y.shape}; "
                         "for class scores take argmax over the last axis first")
    if y.size == 0:
        raise ValueError(f"{fn}: {name} is empty; pass at least one label")
    if y.dtype.kind == "f":
        if np.isnan(y).any():
            raise ValueError(f"{fn}: {name} contains NaN at index {int(np.argmax(np.isnan(y)))}; labels must be classes")
        if not np.all(y == np.round(y)):
            raise ValueError(f"{fn}: {name} holds non-whole floats (continuous values, e.g. {y[y != np.round(y)][0]}); "
                             "labels must be classes: threshold or argmax the scores first")
    elif y.dtype.kind == "O" and any(isinstance(v, float) and math.isnan(v) for v in y):
        raise ValueError(f"{fn}: {name} contains NaN; labels must be classes")
    elif y.dtype.kind not in "biuUSO":
        raise ValueError(f"{fn}: {name} has dtype {y.dtype}; labels must be ints, strings or whole floats")
    return y


def _is_text(y):
    return y.dtype.kind in "US" or (y.dtype.kind == "O" and all(isinstance(v, str) for v in y))


def encode(y_true, y_pred, fn="metrics"):
    """Check a pair of label arrays and encode them against their sorted label set.

    Returns ``(classes, t, p)``: ``classes`` (K,) the sorted union of labels, and ``t``, ``p``
    (N,) int64 indices into it, so that ``classes[t] == y_true``.
    """
    y_true, y_pred = _labels_1d("y_true", y_true, fn), _labels_1d("y_pred", y_pred, fn)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{fn}: y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
                         "pass one prediction per sample")
    if _is_text(y_true) != _is_text(y_pred):
        kinds = ["strings" if _is_text(y) else "numbers" for y in (y_true, y_pred)]
        raise ValueError(f"{fn}: y_true holds {kinds[0]} but y_pred holds {kinds[1]}; "
                         "map both to the same kind of label")
    try:
        classes, codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    except TypeError as error:
        raise ValueError(f"{fn}: labels cannot be sorted ({error}); use labels of one type") from None
    n = y_true.shape[0]
    return classes, codes[:n], codes[n:]


def _positions(classes, labels):
    """Index in ``classes`` of each wanted label, -1 for a label that never occurs."""
    where = {c: i for i, c in enumerate(classes.tolist())}
    return np.array([where.get(label, -1) for label in np.asarray(labels).tolist()], dtype=np.int64)


def accuracy(y_true, y_pred):
    """Fraction of samples whose prediction equals the truth: (1/N) sum_i [y_true[i] = y_pred[i]]."""
    _, t, p = encode(y_true, y_pred, "accuracy")
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, labels=None):
    """Counts C (K, K) with C[i, j] = #{samples of true class labels[i] predicted as labels[j]}.

    Rows are the truth, columns the prediction, both in the order of ``labels`` (default: the
    sorted label set). Samples whose true or predicted label is not in ``labels`` are left out.
    Row sums are the supports, column sums the predicted counts, the trace the correct count.
    """
    classes, t, p = encode(y_true, y_pred, "confusion_matrix")
    if labels is None:
        labels = classes
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"confusion_matrix: labels must be a non-empty 1-D list, got shape {labels.shape}")
    where = _positions(classes, labels)
    if not np.isin(where[where >= 0], t).any():
        raise ValueError(f"confusion_matrix: none of labels {labels.tolist()} occurs in y_true; "
                         "pass labels that the data uses")
    k = labels.size
    row_of = np.full(classes.size, -1, dtype=np.int64)  # class index -> row of the matrix
    row_of[where[where >= 0]] = np.flatnonzero(where >= 0)
    rows, cols = row_of[t], row_of[p]
    kept = (rows >= 0) & (cols >= 0)
    flat = np.bincount(rows[kept] * k + cols[kept], minlength=k * k)  # (K*K,) counts
    return flat.reshape(k, k).astype(np.int64)


def _check_zero_division(zero_division):
    if isinstance(zero_division, str):
        if zero_division != "warn":
            raise ValueError(f'zero_division must be 0.0, 1.0, nan or "warn", got {zero_division!r}')
        return 0.0
    if zero_division in (0, 1) or (isinstance(zero_division, float) and math.isnan(zero_division)):
        return float(zero_division)
    raise ValueError(f'zero_division must be 0.0, 1.0, nan or "warn", got {zero_division!r}')


def _divide(numerator, denominator, fill):
    """numerator / denominator elementwise, ``fill`` where the denominator is 0."""
    undefined = denominator == 0
    result = numerator.astype(np.float64) / np.where(undefined, 1, denominator)
    result[undefined] = fill
    return result, undefined


def _average(values, weights):
    """Mean of ``values`` ignoring NaN (from ``zero_division=nan``); weighted by ``weights`` if given.

    Weighted: sum_c w_c v_c / sum_c w_c; if every weight is 0 the plain mean is used.
    """
    if np.isnan(values).all():
        return math.nan
    if weights is None:
        return float(np.nanmean(values))
    defined = ~np.isnan(values)
    values, weights = values[defined], weights[defined].astype(np.float64)
    if np.sum(weights) == 0:
        return float(np.mean(values))
    return float(np.sum(values * weights) / np.sum(weights))


def _chosen_labels(classes, average, pos_label, labels):
    """The labels scored, after scikit-learn's rules for ``average`` and ``pos_label``."""
    if average == "binary":
        if classes.size > 2:
            raise ValueError(f"precision_recall_f1: average='binary' needs at most 2 classes, the data has "
                             f"{classes.size} ({classes.tolist()}); use average='macro', 'micro' or 'weighted'")
        if pos_label not in classes.tolist() and classes.size == 2:
            raise ValueError(f"precision_recall_f1: pos_label={pos_label!r} is not one of the labels "
                             f"{classes.tolist()}; pass pos_label=<the positive class>")
        return np.asarray([pos_label])
    if labels is None:
        return classes
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"precision_recall_f1: labels must be a non-empty 1-D list, got shape {labels.shape}")
    return labels


def precision_recall_f1(y_true, y_pred, average="binary", pos_label=1, labels=None, zero_division=0.0):
    """(precision, recall, f1), each a float, or a (K,) array per label when ``average=None``.

    Per label (see the module docstring) P_c = tp_c / pred_c, R_c = tp_c / true_c,
    F1_c = 2 tp_c / (true_c + pred_c). Then, over the scored labels c = 1..K:

        "binary"    the scores of ``pos_label`` alone (at most two classes in the data; if
                    ``pos_label`` never occurs and only one class does, its counts are all 0)
        "macro"     (1/K) sum_c M_c, each class counting the same
        "weighted"  sum_c true_c M_c / sum_c true_c, each class counting by its support
        "micro"     the metric of the pooled counts: sum_c tp_c / sum_c pred_c etc.; with every
                    label scored in single-label data it equals the accuracy
        None        the (K,) arrays P_c, R_c, F1_c

    ``labels`` picks (and orders) the scored labels; labels absent from the data score 0 counts.
    A zero denominator (no prediction of c: precision; no sample of c: recall; neither: F1) gives
    ``zero_division``: 0.0 or 1.0; nan, which the averages then skip; or "warn", which gives 0.0
    and emits one ``UndefinedMetricWarning`` naming the undefined metrics. These are
    scikit-learn's ``precision_recall_fscore_support`` conventions.
    """
    if average not in AVERAGES:
        raise ValueError(f"precision_recall_f1: average must be one of {AVERAGES}, got {average!r}")
    fill = _check_zero_division(zero_division)
    classes, t, p = encode(y_true, y_pred, "precision_recall_f1")
    where = _positions(classes, _chosen_labels(classes, average, pos_label, labels))
    k = classes.size
    counts = [np.bincount(t[t == p], minlength=k), np.bincount(p, minlength=k), np.bincount(t, minlength=k)]
    tp, predicted, true = (np.where(where >= 0, c[np.maximum(where, 0)], 0) for c in counts)  # (L,) each
    if average == "micro":
        tp, predicted, true = (np.array([c.sum()]) for c in (tp, predicted, true))
    precision, p_undefined = _divide(tp, predicted, fill)
    recall, r_undefined = _divide(tp, true, fill)
    f1, f_undefined = _divide(2.0 * tp, 1.0 * true + predicted, fill)
    if zero_division == "warn":
        undefined = [name for name, mask in zip(("precision", "recall", "F1"), (p_undefined, r_undefined, f_undefined))
                     if mask.any()]
        if undefined:
            warnings.warn(f"{', '.join(undefined)} ill-defined (a class with no predicted or no true sample) and set "
                          "to 0.0; pass zero_division=0.0, 1.0 or nan to choose and silence this",
                          UndefinedMetricWarning, stacklevel=2)
    if average is None:
        return precision, recall, f1
    weights = true if average == "weighted" else None
    return _average(precision, weights), _average(recall, weights), _average(f1, weights)
