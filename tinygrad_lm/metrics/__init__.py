"""Evaluation metrics, NumPy only: classification scores, their report and picture, perplexity.

    classification.py  accuracy, precision_recall_f1, confusion_matrix (scikit-learn's conventions)
    report.py          classification_report (text), plot_confusion_matrix (PNG, needs matplotlib)
    language.py        perplexity
    bleu.py            corpus_bleu, sentence_bleu (sacrebleu's conventions; mt_tokenizers.py: 13a, intl, none)
"""

from .bleu import BLEUScore, corpus_bleu, sentence_bleu
from .classification import (
    UndefinedMetricWarning,
    accuracy,
    confusion_matrix,
    precision_recall_f1,
)
from .language import perplexity
from .report import classification_report, plot_confusion_matrix

__all__ = [
    "BLEUScore", "UndefinedMetricWarning", "accuracy", "classification_report", "confusion_matrix", "corpus_bleu",
    "perplexity", "plot_confusion_matrix", "precision_recall_f1", "sentence_bleu",
]
