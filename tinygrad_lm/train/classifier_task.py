"""Fine-tuning a pretrained encoder to classify texts: the ``model="classifier"`` task of ``tasks.py``.

The model is ``models.BertForSequenceClassification``: the encoder of ``config.pretrained``
(``data.pretrained.load_pretrained``: MiniLM by default, or a local Hugging Face BERT folder)
with its weights, then mean pooling (or the pooler's [CLS], ``config.pooling``), dropout and a
new Linear to one logit per label. With mean pooling the model is built without the pooler
(nothing would read it: parameters without a gradient have no place in the optimizer). The data is ``config.dataset`` (``data.classification``:
fixed stratified train/val/test splits) or, with ``config.text_path``, a labelled CSV/TSV/JSONL
file split 80/10/10 by ``split_stratified`` with the run's seed.

One step: ``batch_size`` training texts (epochs of a seeded permutation), encoded with the
encoder's WordPiece tokenizer, cut to ``block_size`` tokens (or the encoder's positions, if
fewer) and padded to the longest in the batch; loss = CE(logits (B, C), labels (B,)).

What trains (``param_groups``): the embeddings and the lowest ``freeze_layers`` blocks are
frozen (``nn.freeze``: no gradient, no optimizer state). The rest is split into AdamW groups:
weight decay on matrices only (never on biases and LayerNorm weights:
``optim.param_groups_for_weight_decay``) and, with ``layer_lr_decay`` d < 1, one learning-rate
scale per depth: the head (classifier and pooler) 1, block i of L d^(L - i), the embeddings
d^(L + 1) (Clark et al. 2020, ELECTRA; Sun et al. 2019). The Trainer multiplies each group's
scale into the schedule's lr.

Each evaluation: train_loss (``eval_iters`` seeded training batches) and, on the whole
validation split, val_loss, val_accuracy and the macro-averaged F1 (``metrics``). Early
stopping and the best weights follow the validation accuracy (``monitor`` = 1 - accuracy,
lower is better), not the loss. ``evaluate_split`` scores any split (the CLI's test numbers);
``split_metrics`` matches a split's labels to the model's by name and refuses a label the model
never saw. Settings the encoder cannot take (``check_encoder_fits``: more frozen layers than it
has, pooling="cls" without a pooler) are refused when the task is made, before the run
directory exists.

The checkpoint carries what ``classify`` needs: the encoder's config, the tokenizer (the
whole vocabulary) and ``label_names`` (``extra_meta``); the text fingerprint covers every split.

Left out: sentence pairs (NLI), multi-label outputs, class weights for unbalanced data.
"""

import json

import numpy as np

from .. import functional as F
from ..data import load_classification_dataset, load_labelled_file, split_stratified
from ..data.pretrained import load_pretrained
from ..engine import no_grad, tensor
from ..metrics import accuracy, precision_recall_f1
from ..models import BertForSequenceClassification, BertModel
from ..nn import freeze, trainable_named_parameters
from ..optim import param_groups_for_weight_decay
from .config import ConfigError
from .evaluate import _eval_mode

EVAL_BATCH = 64  # texts per forward pass when evaluating


def load_splits(config):
    """{"train", "val", "test": ClassificationData} of a run: its dataset, or its labelled file split by seed."""
    if config.text_path:
        return split_stratified(load_labelled_file(config.text_path), seed=config.seed)
    return load_classification_dataset(config.dataset)


def encoder_of(model):
    """The BertModel of a pretrained load (itself, or ``.bert`` of a model with heads)."""
    return model if isinstance(model, BertModel) else model.bert


def n_blocks(model):
    return len(model.bert.blocks)


def check_freeze_layers(k, n_layers):
    """Refuse freezing more blocks than the encoder has (ConfigError naming both numbers)."""
    if k > n_layers:
        raise ConfigError(f"config: freeze_layers={k} but the encoder has {n_layers} layers; "
                          f"pass --freeze-layers between 0 and {n_layers}")


def check_encoder_fits(config, encoder):
    """Refuse what the pretrained ``encoder`` cannot do: more frozen layers than it has, pooling='cls'
    without a pooler (ConfigError, before anything is written)."""
    check_freeze_layers(config.freeze_layers, len(encoder.blocks))
    if config.pooling == "cls" and not encoder.config.pooler:
        raise ConfigError(f"config: pooling='cls' needs a pooler, which {config.pretrained} lacks; use pooling=mean")


def freeze_lowest(model, k):
    """Freeze the embeddings and blocks 0..k-1 of a BertForSequenceClassification; returns the names frozen."""
    if k == 0:
        return []
    check_freeze_layers(k, n_blocks(model))
    names = freeze(model, "bert.embeddings.*")
    for index in range(k):
        names += freeze(model, f"bert.blocks.{index}.*")
    return names


def depth_scale(name, n_layers, decay):
    """The lr scale of a parameter: 1 for the head, decay^(L - i) for block i, decay^(L + 1) for the embeddings."""
    if name.startswith("bert.embeddings."):
        return decay ** (n_layers + 1)
    if name.startswith("bert.blocks."):
        return decay ** (n_layers - int(name.split(".")[2]))
    return 1.0


def layerwise_param_groups(model, weight_decay, decay):
    """AdamW groups of the trainable parameters, each with an "lr_scale" (see the module docstring)."""
    by_scale = {}
    for name, parameter in trainable_named_parameters(model):
        by_scale.setdefault(depth_scale(name, n_blocks(model), decay), []).append((name, parameter))
    groups = []
    for scale in sorted(by_scale, reverse=True):  # the head first, then downwards
        groups += [{**group, "lr_scale": scale} for group in param_groups_for_weight_decay(by_scale[scale], weight_decay)]
    return groups


class EpochSampler:
    """Training rows in batches: each epoch a fresh seeded permutation (the order and position are resume state)."""

    def __init__(self, n_rows, batch_size, seed):
        self.n_rows, self.batch_size = n_rows, batch_size
        self.rng = np.random.default_rng(seed)
        self.order, self.position = self.rng.permutation(n_rows), 0

    def next_rows(self):
        if self.position + self.batch_size > self.n_rows:  # the epoch's remainder is dropped
            self.order, self.position = self.rng.permutation(self.n_rows), 0
        rows = self.order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return rows

    def state_dict(self):
        return {"bit_generator": self.rng.bit_generator.state, "order": self.order.tolist(),
                "position": self.position, "batch_size": self.batch_size, "n_rows": self.n_rows}

    def load_state_dict(self, state):
        for key, value in (("batch_size", self.batch_size), ("n_rows", self.n_rows)):
            if state[key] != value:
                raise ValueError(f"EpochSampler.load_state_dict: saved {key}={state[key]!r}, this run has {value!r}")
        self.rng.bit_generator.state = state["bit_generator"]
        self.order, self.position = np.asarray(state["order"], dtype=np.int64), int(state["position"])


def encode(tokenizer, texts, max_length, device):
    """(input_ids, token_type_ids, attention_mask) Tensors (B, T) on ``device``, T = the longest row, <= max_length."""
    batch = tokenizer.encode_batch(list(texts), max_length=max_length)
    return tuple(tensor(batch[name], device=device) for name in ("input_ids", "token_type_ids", "attention_mask"))


def predict_outputs(model, tokenizer, texts, max_length):
    """Logits (N, C) and the sentence vectors (N, H) they were computed from, on the host, for
    ``texts``, in eval mode and without gradients; each text cut to ``max_length`` tokens, or to
    the encoder's positions if it has fewer."""
    max_length = min(max_length, model.bert.config.max_position)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths together: less padding
    logits = np.zeros((len(texts), model.n_classes), dtype=np.float64)  # (N, C)
    sentences = np.zeros((len(texts), model.config.hidden), dtype=np.float32)  # (N, H)
    restore = _eval_mode(model)
    try:
        with no_grad():
            for start in range(0, len(order), EVAL_BATCH):
                rows = order[start:start + EVAL_BATCH]
                inputs = encode(tokenizer, [texts[i] for i in rows], max_length, model.device)
                sentence = model.sentence_vectors(*inputs)  # (B, H)
                logits[rows] = model.classifier(model.drop(sentence)).numpy()  # (B, C), as forward
                sentences[rows] = sentence.numpy()
    finally:
        restore()
    return logits, sentences


def predict_logits(model, tokenizer, texts, max_length):
    """Logits (N, C) on the host for ``texts`` (``predict_outputs`` without the sentence vectors)."""
    return predict_outputs(model, tokenizer, texts, max_length)[0]


def label_ids_of_model(data, label_names):
    """``data.labels`` as ids of the model's classes ``label_names``, matched by name (N,).

    A label the model was never trained on is refused by name (its score would be meaningless)."""
    names = [str(name) for name in label_names]
    unknown = [data.label_names[k] for k in np.unique(data.labels) if data.label_names[k] not in names]
    if unknown:
        raise ValueError(f"classifier: the label {unknown[0]!r} (of {len(unknown)} unknown) is not among the model's "
                         f"classes {tuple(names)}; score only texts with those labels, or fine-tune on data that has it")
    to_model = np.array([names.index(name) if name in names else -1 for name in data.label_names], dtype=np.int64)
    return to_model[data.labels]  # (N,)


def split_metrics(model, tokenizer, data, max_length, prefix, label_names):
    """{prefix_loss, prefix_accuracy, prefix_f1 (macro)} of ``model`` on a ClassificationData.

    ``label_names`` are the model's classes (its checkpoint's ``label_names``): data labels are
    matched to them by name (``label_ids_of_model``)."""
    labels = label_ids_of_model(data, label_names)  # (N,)
    logits = predict_logits(model, tokenizer, data.texts, max_length)  # (N, C)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, C) log-softmax
    predicted = logits.argmax(axis=1)
    _, _, f1 = precision_recall_f1(labels, predicted, average="macro")
    return {f"{prefix}_loss": float(-log_probs[np.arange(len(labels)), labels].mean()),
            f"{prefix}_accuracy": float(accuracy(labels, predicted)), f"{prefix}_f1": float(f1)}


def data_text(splits):
    """The splits as one canonical string (label names, then split/label/text lines): what a resume fingerprints."""
    names = splits["train"].label_names
    lines = [json.dumps(list(names))]
    for split in ("train", "val", "test"):
        lines += [f"{split}\t{label}\t{text}" for text, label in zip(splits[split].texts, splits[split].labels.tolist())]
    return "\n".join(lines)


class ClassifierTask:
    """Fine-tuning ``BertForSequenceClassification`` from a pretrained encoder (module docstring)."""

    loss_label = "cross-entropy (nats/text)"  # per labelled text; the best weights follow accuracy
    monitor_name = "1 - val_accuracy"  # what best weights and early stopping follow (Trainer.monitor_name)

    def __init__(self, config):
        self.config = config
        self.splits = load_splits(config)
        self.label_names = tuple(self.splits["train"].label_names)
        self.text = data_text(self.splits)
        # the weights load here, not in build: the Trainer makes the run directory between the two, and
        # settings the encoder cannot take must be refused before that
        self.pretrained, self.tokenizer = load_pretrained(config.pretrained)
        check_encoder_fits(config, encoder_of(self.pretrained))
        self.tokens_per_batch = config.batch_size * config.block_size
        self.extra_meta = {"label_names": list(self.label_names)}

    def build(self, device, tokenizer=None):
        """The pretrained encoder + a new head on ``device`` (frozen as configured) and the sampler."""
        c = self.config
        encoder = encoder_of(self.pretrained)
        self.pretrained = None  # its weights are copied into the new model below; free them after
        config = encoder.config.__class__.from_dict({**encoder.config.to_dict(), "dropout": c.dropout,
                                                     "attention_dropout": c.dropout, "seed": c.seed,
                                                     "pooler": c.pooling == "cls"})  # mean pooling never reads it
        self.model = BertForSequenceClassification(config, len(self.label_names), c.pooling, dtype=c.dtype)
        self.model.bert.load_state_dict({name: array for name, array in encoder.state_dict().items()
                                         if config.pooler or not name.startswith("pooler.")})
        self.frozen = freeze_lowest(self.model, c.freeze_layers)
        self.model = self.model.to(device)
        self.rng = self.model.bert.rng
        self.sampler = EpochSampler(len(self.splits["train"].texts), c.batch_size, c.seed)

    def param_groups(self, weight_decay):
        return layerwise_param_groups(self.model, weight_decay, self.config.layer_lr_decay)

    def _loss(self, rows):
        train = self.splits["train"]
        max_length = min(self.config.block_size, self.model.bert.config.max_position)
        inputs = encode(self.tokenizer, [train.texts[i] for i in rows], max_length, self.model.device)
        labels = tensor(train.labels[rows], device=self.model.device)  # (B,)
        return F.cross_entropy(self.model(*inputs)[0], labels)

    def train_loss(self):
        return self._loss(self.sampler.next_rows())

    def evaluate(self, step):
        c = self.config
        rng = np.random.default_rng([c.seed, step, 0])  # never disturbs the training sampler
        n_train = len(self.splits["train"].texts)
        restore = _eval_mode(self.model)
        try:
            with no_grad():
                train = [float(self._loss(rng.choice(n_train, min(c.batch_size, n_train), replace=False)).item())
                         for _ in range(c.eval_iters)]
        finally:
            restore()
        val = self.evaluate_split("val")
        return {"train_loss": float(np.mean(train)), **val, "monitor": 1.0 - val["val_accuracy"]}

    def evaluate_split(self, split):
        return split_metrics(self.model, self.tokenizer, self.splits[split], self.config.block_size, split,
                             self.label_names)

    @staticmethod
    def describe(record):
        return (f"step {record['step']}: train loss {record['train_loss']:.4f}, val loss {record['val_loss']:.4f}, "
                f"val accuracy {record['val_accuracy']:.4f}, val F1 {record['val_f1']:.4f}")
