"""Evaluation metrics, NumPy only: classification scores, their report and picture, perplexity,
and the scores of generated text.

    classification.py  accuracy, precision_recall_f1, confusion_matrix (scikit-learn's conventions)
    report.py          classification_report (text), plot_confusion_matrix (PNG, needs matplotlib)
    language.py        perplexity
    bleu.py            corpus_bleu, sentence_bleu (sacrebleu 2.x's conventions)
    mt_tokenizers.py   BLEU's word tokenisers: 13a, intl, none
    chrf.py            corpus_chrf, sentence_chrf (chrF and chrF++, sacrebleu's conventions)
    rouge.py           rouge_scores, rouge_scores_multi, corpus_rouge: ROUGE-1/2/L/Lsum (rouge-score's)
    porter_stemmer.py  stem: the Porter stemmer in NLTK's default mode, as rouge-score uses it
"""

from .bleu import BLEUScore, corpus_bleu, sentence_bleu
from .chrf import CHRFScore, corpus_chrf, sentence_chrf
from .classification import (
    UndefinedMetricWarning,
    accuracy,
    confusion_matrix,
    precision_recall_f1,
)
from .language import perplexity
from .report import classification_report, plot_confusion_matrix
from .rouge import (
    RougeScore,
    corpus_rouge,
    rouge_scores,
    rouge_scores_multi,
    rouge_tokenize,
)

__all__ = [
    "BLEUScore", "CHRFScore", "RougeScore", "UndefinedMetricWarning", "accuracy", "classification_report",
    "confusion_matrix", "corpus_bleu", "corpus_chrf", "corpus_rouge", "perplexity", "plot_confusion_matrix",
    "precision_recall_f1", "rouge_scores", "rouge_scores_multi", "rouge_tokenize", "sentence_bleu", "sentence_chrf",
]
