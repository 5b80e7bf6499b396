"""Pre-training a BERT with the Trainer: masked-LM + next-sentence prediction on sentence pairs.

``BertTask`` is the ``model="bert"`` task of ``tasks.py``. The text is the corpus in BERT's
format (``data.bert_pretraining.pretraining_text``: the Shakespeare plays, the standard
library's docstrings, or a file with one sentence per line and blank lines between documents);
documents with fewer than two sentences are dropped and a tenth of the documents (at least
two, spread evenly over the corpus: ``split_documents``) is held out. The WordPiece vocabulary (``config.vocab_size`` tokens) is learned
from the training documents only, once: a resumed run and ``tinygrad-lm eval`` take it from
the checkpoint.

The loss of a batch (``pretraining_outputs``): BertModel's sequence output h (B, T, H); the
masked-LM head runs on the N masked positions only, h[rows, cols] (N, H) -> logits (N, V)
(BERT's ``max_predictions_per_seq`` trick: about 7x less work than all B*T rows, and the same
mean as ``BertForPreTraining``'s cross-entropy with ignore_index, which a test checks); the
next-sentence head on the pooled [CLS] (B, 2). loss = CE_mlm + CE_nsp.

Each evaluation logs, on ``val_pairs`` fixed held-out pairs (masks drawn once from the seed):
the MLM loss and accuracy over masked positions, the NSP loss and accuracy, and the accuracy
of always guessing the most frequent non-special training token (the baseline the MLM
accuracy must beat); plus train_loss, the mean MLM + NSP loss of ``eval_iters`` fresh training
batches. val_loss (best weights, early stopping) is val MLM loss + val NSP loss.

Left out: MLM on a subset without NSP (RoBERTa), sentence-order prediction (ALBERT), and
dynamic sequence lengths (every batch is padded to block_size).
"""

import numpy as np

from .. import functional as F
from ..data import train_wordpiece
from ..data.bert_pretraining import (
    IGNORE_INDEX,
    PretrainingData,
    encode_documents,
    pretraining_text,
    split_documents,
    text_documents,
)
from ..data.corpora import CorpusError
from ..engine import no_grad, tensor
from ..models import BertConfig, BertForPreTraining
from .config import VAL_FRACTION, ConfigError, check_memory
from .evaluate import _eval_mode
from .state import text_fingerprint


def bert_config(run, vocab_size):
    """The BertConfig of a run: n_embd wide, block_size positions, dropout everywhere."""
    return BertConfig(vocab_size=vocab_size, hidden=run.n_embd, n_layers=run.n_layer, n_heads=run.n_head,
                      intermediate=run.intermediate, max_position=run.block_size, dropout=run.dropout,
                      attention_dropout=run.dropout, seed=run.seed)


def pretraining_outputs(model, batch):
    """(mlm_logits (N, V) at the N masked positions, their labels (N,) on the host, nsp_logits (B, 2))."""
    device = model.bert.embeddings.word.weight.device
    hidden = model.bert(*(tensor(batch[name], device=device)  # host -> device, (B, T) each
                          for name in ("input_ids", "token_type_ids", "attention_mask")))  # (B, T, H)
    rows, cols = np.nonzero(batch["mlm_labels"] != IGNORE_INDEX)  # (N,) each
    picked = hidden[tensor(rows, device=device), tensor(cols, device=device)]  # (B, T, H) -> (N, H)
    mlm_logits = model.mlm(picked, model.bert.embeddings.word.weight)  # (N, V)
    nsp_logits = model.nsp(model.bert.pooled(hidden))  # (B, 2)
    return mlm_logits, batch["mlm_labels"][rows, cols], nsp_logits


def pretraining_losses(model, batch):
    """(MLM cross-entropy over masked positions, NSP cross-entropy), scalar Tensors."""
    mlm_logits, targets, nsp_logits = pretraining_outputs(model, batch)
    device = mlm_logits.device
    return (F.cross_entropy(mlm_logits, tensor(targets, device=device)),
            F.cross_entropy(nsp_logits, tensor(batch["nsp_labels"], device=device)))


class PairSampler:
    """Training batches from ``data``, drawn with one seeded generator (its state is the resume state)."""

    def __init__(self, data, batch_size, seed):
        self.data, self.batch_size = data, batch_size
        self.rng = np.random.default_rng(seed)

    def next_batch(self):
        return self.data.next_batch(self.batch_size, self.rng)

    def state_dict(self):
        return {"bit_generator": self.rng.bit_generator.state, "batch_size": self.batch_size,
                "starts": len(self.data.starts)}

    def load_state_dict(self, state):
        for key, value in (("batch_size", self.batch_size), ("starts", len(self.data.starts))):
            if state[key] != value:
                raise ValueError(f"PairSampler.load_state_dict: saved {key}={state[key]!r}, this run has {value!r}")
        self.rng.bit_generator.state = state["bit_generator"]


class BertTask:
    """Masked-LM + next-sentence pre-training of ``models.BertForPreTraining`` (module docstring)."""

    loss_label = "MLM + NSP cross-entropy (nats)"  # the loss curve's y-axis: a sum of two means

    def __init__(self, config):
        self.config = config
        self.text = pretraining_text(config.corpus if not config.text_path else None, config.text_path or None)
        documents = [doc for doc in text_documents(self.text) if len(doc) >= 2]
        self.train_documents, self.heldout_documents = split_documents(documents, VAL_FRACTION)
        check_memory(config, config.vocab_size)
        self.tokenizer = None
        self.tokens_per_batch = config.batch_size * config.block_size

    def prepare(self, tokenizer=None):
        """Learn (or take) the tokenizer, encode the documents, draw the held-out pairs."""
        c = self.config
        if tokenizer is None:
            try:
                tokenizer = train_wordpiece(("\n".join(doc) for doc in self.train_documents), c.vocab_size)
            except ValueError as error:
                raise ConfigError(f"config: vocab_size={c.vocab_size} does not fit this text ({error})") from None
        self.tokenizer = tokenizer
        encoded = [encode_documents(docs, tokenizer) for docs in (self.train_documents, self.heldout_documents)]
        for name, docs in zip(("training", "held-out"), encoded):
            if len(docs) < 2:
                raise CorpusError(f"only {len(docs)} {name} documents keep two sentences after tokenization; "
                                  "BERT pre-training needs two or more in each split")
        options = {"max_length": c.block_size, "mask_prob": c.mask_prob, "whole_word_mask": c.whole_word_mask}
        self.train_data = PretrainingData(encoded[0], tokenizer, **options)
        self.heldout = PretrainingData(encoded[1], tokenizer, **options).heldout_set(
            c.val_pairs, c.batch_size, [c.seed, 1])
        counts = np.bincount(np.concatenate([s for doc in encoded[0] for s in doc]), minlength=tokenizer.vocab_size)
        counts[self.train_data.special] = 0
        self.frequent_id = int(np.argmax(counts))  # the most frequent non-special training token
        labels = np.concatenate([batch["mlm_labels"][batch["mlm_labels"] != IGNORE_INDEX] for batch in self.heldout])
        self.baseline_accuracy = float(np.mean(labels == self.frequent_id))

    def build(self, device, tokenizer=None):
        """``prepare``, then the model on ``device`` and the training sampler."""
        self.prepare(tokenizer)
        c = self.config
        self.model = BertForPreTraining(bert_config(c, self.tokenizer.vocab_size), dtype=c.dtype).to(device)
        self.rng = self.model.bert.rng
        self.sampler = PairSampler(self.train_data, c.batch_size, c.seed)

    def train_loss(self):
        mlm_loss, nsp_loss = pretraining_losses(self.model, self.sampler.next_batch())
        return mlm_loss + nsp_loss

    def heldout_metrics(self):
        """MLM loss/accuracy (per masked token) and NSP loss/accuracy (per pair) on the held-out pairs."""
        totals = dict.fromkeys(("mlm_loss", "mlm_correct", "masked", "nsp_loss", "nsp_correct", "pairs"), 0.0)
        restore = _eval_mode(self.model)
        try:
            with no_grad():
                for batch in self.heldout:
                    mlm_logits, targets, nsp_logits = pretraining_outputs(self.model, batch)
                    mlm, nsp = mlm_logits.numpy(), nsp_logits.numpy()
                    device = mlm_logits.device
                    mlm_loss = F.cross_entropy(mlm_logits, tensor(targets, device=device))
                    nsp_loss = F.cross_entropy(nsp_logits, tensor(batch["nsp_labels"], device=device))
                    totals["mlm_loss"] += float(mlm_loss.item()) * len(targets)
                    totals["nsp_loss"] += float(nsp_loss.item()) * len(nsp)
                    totals["mlm_correct"] += int(np.sum(mlm.argmax(axis=1) == targets))
                    totals["nsp_correct"] += int(np.sum(nsp.argmax(axis=1) == batch["nsp_labels"]))
                    totals["masked"] += len(targets)
                    totals["pairs"] += len(nsp)
        finally:
            restore()
        return {"val_mlm_loss": totals["mlm_loss"] / totals["masked"],
                "val_mlm_accuracy": totals["mlm_correct"] / totals["masked"],
                "mlm_baseline_accuracy": self.baseline_accuracy,
                "val_nsp_loss": totals["nsp_loss"] / totals["pairs"],
                "val_nsp_accuracy": totals["nsp_correct"] / totals["pairs"], "val_pairs": int(totals["pairs"])}

    def evaluate(self, step):
        c = self.config
        rng = np.random.default_rng([c.seed, step, 0])  # never disturbs the training sampler
        restore = _eval_mode(self.model)
        try:
            with no_grad():
                train = [sum(float(loss.item()) for loss in pretraining_losses(
                    self.model, self.train_data.next_batch(c.batch_size, rng))) for _ in range(c.eval_iters)]
        finally:
            restore()
        held = self.heldout_metrics()
        return {"train_loss": float(np.mean(train)), "val_loss": held["val_mlm_loss"] + held["val_nsp_loss"], **held}

    @staticmethod
    def describe(record):
        return (f"step {record['step']}: train loss {record['train_loss']:.4f}, val loss {record['val_loss']:.4f}; "
                f"MLM acc {record['val_mlm_accuracy']:.3f} (baseline {record['mlm_baseline_accuracy']:.3f}), "
                f"NSP acc {record['val_nsp_accuracy']:.3f} on {record['val_pairs']} held-out pairs")


def evaluate_pretraining(model, tokenizer, run):
    """(text fingerprint, held-out metrics) of a trained BertForPreTraining on its run's held-out pairs.

    The pairs are rebuilt from the run's config and text exactly as the Trainer drew them, so
    the numbers are those of the run's last evaluation when the text is unchanged."""
    task = BertTask(run)
    task.prepare(tokenizer)
    task.model = model
    return text_fingerprint(task.text), task.heldout_metrics()
