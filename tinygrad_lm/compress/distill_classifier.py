"""Distilling a fine-tuned BERT classifier (MiniLM on Pang & Lee) into a shallower student.

The teacher is a ``tinygrad-lm finetune`` run. Its logits and sentence vectors on every
training text are computed once (``teacher_outputs``: the teacher is fixed, so recomputing them
each step would only cost time); each step then runs the student alone on a batch and takes
``distill.distillation_loss`` of its logits against the stored ones, optionally plus
DistilBERT's cosine loss between sentence vectors, AdamW (weight decay 0.01, clipping at 1)
with the student's dropout on. Texts without a label (a transfer set, ``transfer.py``) get the
soft term only. With a validation split the student keeps the weights of its best check, the
selection rule every student of the study shares. The student is the teacher's config with
``n_layers`` blocks, initialised from the teacher's layers i * L // N (DistilBERT) with its
embeddings and head, or from scratch. ``classifier_study.py`` runs the measured comparison.

Left out: a student narrower than its teacher, intermediate-layer matching (TinyBERT).
"""

import dataclasses

import numpy as np

from ..engine import no_grad
from ..models import BertForSequenceClassification
from ..models.bert import mean_pool
from ..optim import AdamW, clip_grad_norm_, param_groups_for_weight_decay
from ..train.classifier_task import EVAL_BATCH, EpochSampler, encode, predict_logits
from .distill import DistillError, copy_from_teacher, distillation_loss, picked_layers


def classifier_student(teacher, n_layers, init="every-other"):
    """A BertForSequenceClassification of ``n_layers`` blocks shaped like ``teacher``."""
    picked = picked_layers(teacher.config.n_layers, n_layers)
    student = BertForSequenceClassification(dataclasses.replace(teacher.config, n_layers=n_layers), teacher.n_classes,
                                            teacher.pooling)
    if init == "every-other":
        return copy_from_teacher(student, teacher, "bert.blocks.", picked)
    if init != "scratch":
        raise DistillError(f"init must be 'every-other' or 'scratch', got {init!r}")
    return student


def sentence_and_logits(model, inputs):
    """The pooled sentence vectors (B, H) and logits (B, C) of a classifier, computed as its forward does."""
    input_ids, token_type_ids, attention_mask = inputs
    hidden = model.bert(input_ids, token_type_ids, attention_mask)  # (B, T, H)
    sentence = model.bert.pooled(hidden) if model.pooling == "cls" else mean_pool(hidden, attention_mask)  # (B, H)
    return sentence, model.classifier(model.drop(sentence))


def teacher_outputs(teacher, tokenizer, texts, max_length):
    """The teacher's logits (N, C) and sentence vectors (N, H) for ``texts``, in eval mode, computed once."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths together: less padding
    logits = np.zeros((len(texts), teacher.n_classes))  # (N, C)
    sentences = np.zeros((len(texts), teacher.config.hidden), dtype=np.float32)  # (N, H)
    teacher.eval()
    with no_grad():
        for start in range(0, len(order), EVAL_BATCH):
            rows = order[start:start + EVAL_BATCH]
            sentence, batch_logits = sentence_and_logits(teacher, encode(tokenizer, [texts[i] for i in rows],
                                                                         max_length, teacher.device))
            logits[rows], sentences[rows] = batch_logits.numpy(), sentence.numpy()
    return logits, sentences


@dataclasses.dataclass
class Training:
    """What ``distill_classifier`` did: the loss of every step, and the validation accuracy at each check."""

    losses: np.ndarray
    checks: list = dataclasses.field(default_factory=list)  # [{"step", "val_accuracy"}]
    best_step: int | None = None


def _val_accuracy(model, tokenizer, val, max_length):
    texts, labels = val
    return float((predict_logits(model, tokenizer, texts, max_length).argmax(axis=1) == labels).mean())


def distill_classifier(student, tokenizer, texts, labels, teacher_logits, steps, lr=1e-4, alpha=0.5, temperature=2.0,
                       batch_size=32, max_length=64, seed=0, teacher_sentences=None, hidden_weight=0.0, val=None,
                       check_every=50):
    """``steps`` AdamW steps of ``student`` on batches of ``texts`` against the stored ``teacher_logits`` (N, C).

    ``labels`` (N,) may be ``UNLABELLED`` for texts of a transfer set (soft term only). ``hidden_weight`` > 0 adds
    DistilBERT's cosine loss between the student's and the stored teacher's sentence vectors (N, H). ``val`` =
    (texts, label ids): the validation accuracy is checked every ``check_every`` steps and at the end, and the
    student keeps the weights of its best check (the earliest on ties). Returns a ``Training``."""
    if teacher_logits.shape[1] != student.n_classes:
        raise DistillError(f"the teacher has {teacher_logits.shape[1]} classes and the student {student.n_classes}")
    if hidden_weight and teacher_sentences is None:
        raise DistillError("hidden_weight > 0 needs teacher_sentences (N, H), the teacher's sentence vectors")
    sampler = EpochSampler(len(texts), batch_size, seed)
    optimizer = AdamW(param_groups_for_weight_decay(student.named_parameters(), 0.01), lr=lr)
    student.train()
    result, best, best_state = Training(np.zeros(steps)), -1.0, None
    for step in range(1, steps + 1):
        rows = sampler.next_rows()
        sentence, logits = sentence_and_logits(student, encode(tokenizer, [texts[i] for i in rows], max_length,
                                                               student.device))
        hidden = None if teacher_sentences is None else teacher_sentences[rows]
        loss = distillation_loss(logits, teacher_logits[rows], labels[rows], temperature, alpha, sentence, hidden,
                                 hidden_weight)
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(student.parameters(), 1.0)
        optimizer.step()
        result.losses[step - 1] = float(loss.item())
        if val is not None and (step % check_every == 0 or step == steps):
            accuracy = _val_accuracy(student, tokenizer, val, max_length)
            result.checks.append({"step": step, "val_accuracy": accuracy})
            if accuracy > best:
                best, best_state, result.best_step = accuracy, student.state_dict(), step
    if best_state is not None:
        student.load_state_dict(best_state)
    student.eval()
    return result
