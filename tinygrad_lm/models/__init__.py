"""Models assembled from ``tinygrad_lm.nn``.

    gpt.py           GPTConfig and GPT (decoder-only LM)
    bert.py          BertConfig, BertModel (encoder), mean_pool, cls_pool
    bert_heads.py    BertForPreTraining (masked LM + next sentence), BertForSequenceClassification
    bert_weights.py  Hugging Face BERT state dicts (config.json + safetensors) mapped strictly
    seq2seq.py       Seq2SeqConfig, Seq2Seq (the encoder-decoder Transformer), Seq2SeqCache
    seq2seq_decode.py  greedy_decode, beam_search / beam_hypotheses (GNMT length penalty)
"""

from .bert import BertConfig, BertModel, cls_pool, mean_pool
from .bert_heads import (
    IGNORE_INDEX,
    BertForPreTraining,
    BertForSequenceClassification,
    PreTrainingOutput,
)
from .gpt import GPT, GPTConfig
from .seq2seq import Seq2Seq, Seq2SeqCache, Seq2SeqConfig
from .seq2seq_decode import Hypothesis, beam_hypotheses, beam_search, greedy_decode

__all__ = [
    "GPT", "IGNORE_INDEX", "BertConfig", "BertForPreTraining", "BertForSequenceClassification", "BertModel",
    "GPTConfig", "Hypothesis", "PreTrainingOutput", "Seq2Seq", "Seq2SeqCache", "Seq2SeqConfig", "beam_hypotheses",
    "beam_search", "cls_pool", "greedy_decode", "mean_pool",
]
