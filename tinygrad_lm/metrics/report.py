"""What a classifier's evaluation prints and draws: a classification report and a confusion-matrix PNG.

``classification_report`` lays out per-class precision / recall / F1 / support, the accuracy,
and the macro and weighted averages, in the same text layout as scikit-learn's (the tests compare
the two strings). ``plot_confusion_matrix`` needs matplotlib, an optional extra
(``pip install tinygrad_lm[plot]``); it is imported only when called.

Left out: the dictionary form of the report (call ``precision_recall_f1`` for numbers) and
normalised confusion matrices (divide the rows by their sums).
"""

import numpy as np

from .classification import encode, precision_recall_f1


def classification_report(y_true, y_pred, label_names=None, digits=2, zero_division=0.0):
    """A text table: one row per class (sorted labels), then accuracy, macro avg, weighted avg.

    Columns are precision, recall, f1-score (``digits`` decimals) and support (true_c, the row's
    number of samples); the accuracy row shows only F1's column (= accuracy) and N. Names are
    ``label_names`` (one per sorted label) or the labels themselves; ``zero_division`` as in
    ``precision_recall_f1``.
    """
    classes, t, _ = encode(y_true, y_pred, "classification_report")
    if label_names is None:
        label_names = [str(c) for c in classes.tolist()]
    elif len(label_names) != classes.size:
        raise ValueError(f"classification_report: {len(label_names)} label_names for {classes.size} classes "
                         f"{classes.tolist()}; pass one name per sorted label")
    support = np.bincount(t, minlength=classes.size)
    scores = precision_recall_f1(y_true, y_pred, average=None, zero_division=zero_division)
    width = max(max(len(name) for name in label_names), len("weighted avg"), digits)
    row = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    lines = ["{:>{width}s} ".format("", width=width) + "".join(f" {h:>9}" for h in
                                                              ("precision", "recall", "f1-score", "support")) + "\n\n"]
    lines += [row.format(name, *values, int(n), width=width, digits=digits)
              for name, *values, n in zip(label_names, *scores, support)]
    n_total = int(support.sum())
    accuracy = precision_recall_f1(y_true, y_pred, average="micro", zero_division=zero_division)[2]
    lines.append("\n" + "{:>{width}s} ".format("accuracy", width=width) + " " * 20
                 + f" {accuracy:>9.{digits}f} {n_total:>9}\n")
    for average in ("macro", "weighted"):
        values = precision_recall_f1(y_true, y_pred, average=average, zero_division=zero_division)
        lines.append(row.format(f"{average} avg", *values, n_total, width=width, digits=digits))
    return "".join(lines)


def plot_confusion_matrix(cm, label_names, path, title="Confusion matrix"):
    """Draw ``cm`` (K, K; rows true, columns predicted) as an annotated heat map PNG at ``path``.

    Returns ``path``. Raises ImportError (saying how to install it) when matplotlib is missing.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"plot_confusion_matrix: cm must be square (K, K), got shape {cm.shape}")
    if len(label_names) != cm.shape[0]:
        raise ValueError(f"plot_confusion_matrix: {len(label_names)} label_names for a {cm.shape} matrix; "
                         "pass one name per row")
    try:  # a bare Figure saves through its own Agg canvas: no pyplot, so a notebook's backend is left alone
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_confusion_matrix needs matplotlib: pip install tinygrad_lm[plot]") from None
    k = cm.shape[0]
    fig = Figure(figsize=(1.2 * k + 2.5, 1.2 * k + 2))
    ax = fig.add_subplot()
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax)
    ax.set_xticks(range(k), labels=[str(n) for n in label_names], rotation=45, ha="right")
    ax.set_yticks(range(k), labels=[str(n) for n in label_names])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{cm[i, j]:g}", ha="center", va="center", color="white" if cm[i, j] > threshold else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
