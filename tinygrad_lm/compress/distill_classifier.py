"""Distilling a fine-tuned BERT classifier (MiniLM on Pang & Lee) into a shallower student.

The teacher is a ``tinygrad-lm finetune`` run. Its logits and sentence vectors on every
training text are computed once (``train.classifier_task.predict_outputs``: the teacher is
fixed, so recomputing them each step would only cost time); each step then runs the student
alone on a batch and takes ``distill.distillation_loss`` of its logits against the stored ones,
optionally plus DistilBERT's cosine loss between sentence vectors, AdamW (weight decay 0.01,
clipping at 1) with the student's dropout on, at a constant lr or on BERT's schedule
(``lr_schedule="linear"``: warm-up over the first ``WARMUP_FRACTION`` of the steps, then a
straight line down to 0). Texts without a label (a transfer set, ``transfer.py``) get the soft
term only. With a validation split the student keeps the weights of its best check, the
selection rule every student of the study shares. The student is the teacher's config with
``n_layers`` blocks, initialised from the teacher's layers i * L // N (DistilBERT) with its
embeddings and head, or from scratch. ``classifier_study.py`` runs the measured comparison.

Left out: a student narrower than its teacher, intermediate-layer matching (TinyBERT).
"""

import dataclasses
import functools

import numpy as np

from ..models import BertForSequenceClassification
from ..optim import (
    AdamW,
    LRScheduler,
    clip_grad_norm_,
    linear_decay,
    param_groups_for_weight_decay,
)
from ..train.classifier_task import EpochSampler, encode, predict_logits
from .distill import DistillError, copy_from_teacher, distillation_loss, picked_layers

WARMUP_FRACTION = 0.06  # BERT fine-tuning's usual warm-up share (RoBERTa's GLUE runs)
LR_SCHEDULES = ("constant", "linear")


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


@dataclasses.dataclass
class Training:
    """What ``distill_classifier`` did: the loss and lr of every step, and the validation accuracy at each check."""

    losses: np.ndarray
    lrs: np.ndarray
    checks: list = dataclasses.field(default_factory=list)  # [{"step", "val_accuracy"}]
    best_step: int | None = None


def _val_accuracy(model, tokenizer, val, max_length):
    texts, labels = val
    return float((predict_logits(model, tokenizer, texts, max_length).argmax(axis=1) == labels).mean())


def distill_classifier(student, tokenizer, texts, labels, teacher_logits, steps, lr=1e-4, alpha=0.5, temperature=2.0,
                       batch_size=32, max_length=64, seed=0, teacher_sentences=None, hidden_weight=0.0, val=None,
                       check_every=50, lr_schedule="constant"):
    """``steps`` AdamW steps of ``student`` on batches of ``texts`` against the stored ``teacher_logits`` (N, C).

    ``labels`` (N,) may be ``UNLABELLED`` for texts of a transfer set (soft term only). ``hidden_weight`` > 0 adds
    DistilBERT's cosine loss between the student's and the stored teacher's sentence vectors (N, H). ``val`` =
    (texts, label ids): the validation accuracy is checked every ``check_every`` steps and at the end, and the
    student keeps the weights of its best check (the earliest on ties). ``lr_schedule``: "constant" or "linear"
    (warm-up, then linear decay to 0 at ``steps``). Returns a ``Training``."""
    if teacher_logits.shape[1] != student.n_classes:
        raise DistillError(f"the teacher has {teacher_logits.shape[1]} classes and the student {student.n_classes}")
    if hidden_weight and teacher_sentences is None:
        raise DistillError("hidden_weight > 0 needs teacher_sentences (N, H), the teacher's sentence vectors")
    if lr_schedule not in LR_SCHEDULES:
        raise DistillError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}")
    sampler = EpochSampler(len(texts), batch_size, seed)
    optimizer = AdamW(param_groups_for_weight_decay(student.named_parameters(), 0.01), lr=lr)
    scheduler = None if lr_schedule == "constant" else LRScheduler(
        optimizer, functools.partial(linear_decay, total_steps=steps, warmup_steps=int(WARMUP_FRACTION * steps)))
    student.train()
    result, best, best_state = Training(np.zeros(steps), np.zeros(steps)), -1.0, None
    for step in range(1, steps + 1):
        rows = sampler.next_rows()
        sentence = student.sentence_vectors(*encode(tokenizer, [texts[i] for i in rows], max_length,
                                                    student.device))  # (B, H)
        logits = student.classifier(student.drop(sentence))  # (B, C), as the model's forward
        hidden = None if teacher_sentences is None else teacher_sentences[rows]
        loss = distillation_loss(logits, teacher_logits[rows], labels[rows], temperature, alpha, sentence, hidden,
                                 hidden_weight)
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(student.parameters(), 1.0)
        result.lrs[step - 1] = optimizer.param_groups[0]["lr"]
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
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
