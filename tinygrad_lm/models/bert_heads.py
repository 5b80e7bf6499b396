"""BERT's heads: masked-LM and next-sentence pre-training, and sequence classification.

Pre-training (Devlin et al. 2019, section 3.1 and appendix A.2), on top of ``BertModel``'s
sequence output h (B, T, H):

    masked LM        z = LN(gelu(W_t h + b_t))                     transform      (B, T, H)
                     mlm_logits = z E^T + b_dec                   decoder        (B, T, V)
                     E is the word-embedding matrix itself (tied, Press & Wolf 2017): the
                     decoder has only its own bias b_dec (V,), and E gets gradient from both uses.
    next sentence    nsp_logits = W_n tanh(W_p h[:, 0] + b_p) + b_n   pooled [CLS]   (B, 2)
                     class 0 = "B follows A", class 1 = "B is a random sentence" (HF's order)

    loss = CE(mlm_logits, mlm_labels) + CE(nsp_logits, nsp_labels)

MLM labels are (B, T): the original token id where a token was masked, and ``IGNORE_INDEX``
(-100, PyTorch's and Hugging Face's convention) everywhere else; ``F.cross_entropy`` skips
those rows and averages over the counted ones. A batch with no masked token at all has an
MLM loss of 0/0 = NaN (PyTorch's convention, with zero gradient), so a masking recipe should
mask at least one token per batch.

Sequence classification: a sentence vector (the pooler's tanh on [CLS], as in the paper, or
the mean over real tokens), dropout, one Linear to ``n_classes`` logits; CE against labels (B,).

Left out: the masking recipe and the NSP pair sampler (data preparation, not the model),
token classification and span (question answering) heads.
"""

import collections

import numpy as np

from .. import functional as F
from ..engine import array_module
from ..nn import Dropout, LayerNorm, Linear, Module, Parameter
from ..nn.transformer import ACTIVATIONS
from .bert import BertConfig, BertModel, mean_pool

IGNORE_INDEX = -100

PreTrainingOutput = collections.namedtuple(
    "PreTrainingOutput", ["mlm_logits", "nsp_logits", "mlm_loss", "nsp_loss", "loss"])
PreTrainingOutput.__doc__ = """BertForPreTraining's result: logits (B, T, V) and (B, 2); each loss a
scalar Tensor when its labels were given (else None); ``loss`` their sum (None without labels)."""


class MaskedLMHead(Module):
    """transform (dense + activation + LayerNorm) and the decoder's bias; the decoder's weight
    is passed in (the tied word embeddings): ``head(h (B, T, H), E (V, H))`` -> logits (B, T, V)."""

    def __init__(self, config, rng, dtype):
        self.activation = config.activation
        self.dense = Linear(config.hidden, config.hidden, rng=rng, dtype=dtype)
        self.ln = LayerNorm(config.hidden, eps=config.layer_norm_eps, dtype=dtype)
        self.bias = Parameter(np.zeros(config.vocab_size, dtype=dtype))  # b_dec (V,)

    def forward(self, hidden, decoder_weight):
        z = self.ln(ACTIVATIONS[self.activation](self.dense(hidden)))  # (B, T, H)
        return F.linear(z, decoder_weight, self.bias)  # z E^T + b_dec: (B, T, H) @ (H, V) -> (B, T, V)


def _build_bert(config, dtype, caller):
    if not isinstance(config, BertConfig):
        raise TypeError(f"{caller}: expected a BertConfig, got {type(config).__name__}")
    return BertModel(config, dtype=dtype)


def _init_like_bert(bert, *linears):
    """N(0, initializer_range) weights and zero biases for a head's Linears, from ``bert.rng``."""
    for linear in linears:
        linear.weight.data[...] = bert.rng.normal(0.0, bert.config.initializer_range, linear.weight.shape)
        linear.bias.data[...] = 0.0


class BertForPreTraining(Module):
    """``BertModel`` + masked-LM head + next-sentence head (needs ``config.pooler``).

    ``model(input_ids, token_type_ids=None, attention_mask=None, mlm_labels=None, nsp_labels=None)``
    -> ``PreTrainingOutput``. Parameters: ``bert.*``, ``mlm.*`` and ``nsp.*``; the decoder
    weight is ``bert.embeddings.word.weight`` (tied, so it appears once).
    """

    def __init__(self, config, dtype="float32"):
        self.bert = _build_bert(config, dtype, "BertForPreTraining")
        if not config.pooler:
            raise ValueError("BertForPreTraining: next-sentence prediction reads the pooled [CLS] vector; "
                             "build it with BertConfig(pooler=True)")
        self.config = config
        self.mlm = MaskedLMHead(config, self.bert.rng, dtype)
        self.nsp = Linear(config.hidden, 2, rng=self.bert.rng, dtype=dtype)
        _init_like_bert(self.bert, self.mlm.dense, self.nsp)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, mlm_labels=None, nsp_labels=None):
        hidden = self.bert(input_ids, token_type_ids, attention_mask)  # (B, T, H)
        mlm_logits = self.mlm(hidden, self.bert.embeddings.word.weight)  # (B, T, V)
        nsp_logits = self.nsp(self.bert.pooled(hidden))  # (B, H) -> (B, 2)
        mlm_loss = None if mlm_labels is None else F.cross_entropy(mlm_logits, mlm_labels, ignore_index=IGNORE_INDEX)
        nsp_loss = None if nsp_labels is None else F.cross_entropy(nsp_logits, nsp_labels)
        losses = [loss for loss in (mlm_loss, nsp_loss) if loss is not None]
        loss = None if not losses else losses[0] if len(losses) == 1 else losses[0] + losses[1]
        return PreTrainingOutput(mlm_logits, nsp_logits, mlm_loss, nsp_loss, loss)


class BertForSequenceClassification(Module):
    """``BertModel`` + dropout + a Linear to ``n_classes`` over a sentence vector.

    ``pooling``: "cls" (the pooler's tanh on [CLS], BERT's choice; needs ``config.pooler``) or
    "mean" (``mean_pool`` over the attention mask). ``model(input_ids, token_type_ids=None,
    attention_mask=None, labels=None)`` -> (logits (B, n_classes), loss or None). Parameters:
    ``bert.*`` and ``classifier.*`` (Hugging Face's names for this head).
    """

    def __init__(self, config, n_classes, pooling="cls", dtype="float32"):
        self.bert = _build_bert(config, dtype, "BertForSequenceClassification")
        if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 2:
            raise ValueError(f"BertForSequenceClassification: n_classes must be an int >= 2, got {n_classes!r}")
        if pooling not in ("cls", "mean"):
            raise ValueError(f"BertForSequenceClassification: pooling must be 'cls' or 'mean', got {pooling!r}")
        if pooling == "cls" and not config.pooler:
            raise ValueError("BertForSequenceClassification: pooling='cls' uses the pooler; build the model with "
                             "BertConfig(pooler=True) or choose pooling='mean'")
        self.config, self.n_classes, self.pooling = config, n_classes, pooling
        self.drop = Dropout(config.dropout, rng=self.bert.rng)
        self.classifier = Linear(config.hidden, n_classes, rng=self.bert.rng, dtype=dtype)
        _init_like_bert(self.bert, self.classifier)

    def sentence_vectors(self, input_ids, token_type_ids=None, attention_mask=None):
        """The sentence vectors (B, H) the head classifies: the pooler on [CLS], or the masked mean."""
        hidden = self.bert(input_ids, token_type_ids, attention_mask)  # (B, T, H)
        if self.pooling == "cls":
            return self.bert.pooled(hidden)  # (B, T, H) -> (B, H)
        if attention_mask is None:  # every position is real: (B, T) of ones, where hidden lives
            attention_mask = array_module(hidden.data).ones(hidden.shape[:2], dtype=np.int64)
        return mean_pool(hidden, attention_mask)  # (B, T, H) -> (B, H)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, labels=None):
        sentence = self.sentence_vectors(input_ids, token_type_ids, attention_mask)  # (B, H)
        logits = self.classifier(self.drop(sentence))  # (B, H) -> (B, n_classes)
        return logits, None if labels is None else F.cross_entropy(logits, labels)

    def extra_repr(self):
        return f"n_classes={self.n_classes}, pooling={self.pooling!r}"
