"""Models assembled from ``tinygrad_lm.nn``.

    gpt.py           GPTConfig and GPT (decoder-only LM)
    bert.py          BertConfig, BertModel (encoder), mean_pool, cls_pool
    bert_heads.py    BertForPreTraining (masked LM + next sentence), BertForSequenceClassification
    bert_weights.py  Hugging Face BERT state dicts (config.json + safetensors) mapped strictly
"""

from .bert import BertConfig, BertModel, cls_pool, mean_pool
from .bert_heads import (
    IGNORE_INDEX,
    BertForPreTraining,
    BertForSequenceClassification,
    PreTrainingOutput,
)
from .gpt import GPT, GPTConfig

__all__ = [
    "GPT", "IGNORE_INDEX", "BertConfig", "BertForPreTraining", "BertForSequenceClassification", "BertModel",
    "GPTConfig", "PreTrainingOutput", "cls_pool", "mean_pool",
]
