"""Evaluation metrics, NumPy only: classification scores, their report and picture, perplexity.

    classification.py  accuracy, precision_recall_f1, confusion_matrix (scikit-learn's conventions)
    report.py          classification_report (text), plot_confusion_matrix (PNG, needs matplotlib)
    language.py        perplexity
"""

from .classification import (
    UndefinedMetricWarning,
    accuracy,
    confusion_matrix,
    precision_recall_f1,
)
from .language import perplexity
from .report import classification_report, plot_confusion_matrix

__all__ = [
    "UndefinedMetricWarning", "accuracy", "classification_report", "confusion_matrix", "perplexity",
    "plot_confusion_matrix", "precision_recall_f1",
]
