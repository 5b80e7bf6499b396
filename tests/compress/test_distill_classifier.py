"""The classifier student: layers copied from the teacher, and a distillation step that learns from stored logits."""

import numpy as np
import pytest

from tinygrad_lm.compress.classifier_study import cached_teacher_outputs
from tinygrad_lm.compress.distill import DistillError
from tinygrad_lm.compress.distill_classifier import (
    WARMUP_FRACTION,
    classifier_student,
    distill_classifier,
)
from tinygrad_lm.models import BertConfig, BertForSequenceClassification
from tinygrad_lm.optim import linear_decay
from tinygrad_lm.train.classifier_task import encode, predict_logits, predict_outputs


class CharIds:
    """A stand-in tokenizer: one id per character (ord mod 50), padded to the longest text."""

    def encode_batch(self, texts, max_length):
        rows = [[ord(c) % 50 for c in text[:max_length]] for text in texts]
        width = max(len(r) for r in rows)
        ids = np.array([r + [0] * (width - len(r)) for r in rows])  # (B, T)
        mask = np.array([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        return {"input_ids": ids, "token_type_ids": np.zeros_like(ids), "attention_mask": mask}


@pytest.fixture
def teacher():
    config = BertConfig(vocab_size=50, hidden=32, n_layers=4, n_heads=2, intermediate=64, max_position=16,
                        dropout=0.0, attention_dropout=0.0, pooler=False)
    return BertForSequenceClassification(config, 2, "mean")


def test_student_takes_every_other_teacher_layer(teacher):
    student = classifier_student(teacher, 2)
    assert student.config.n_layers == 2 and student.num_parameters() < teacher.num_parameters()
    for i, j in ((0, 0), (1, 2)):
        np.testing.assert_array_equal(student.bert.blocks[i].mlp.fc.weight.numpy(),
                                      teacher.bert.blocks[j].mlp.fc.weight.numpy())
    np.testing.assert_array_equal(student.classifier.weight.numpy(), teacher.classifier.weight.numpy())
    with pytest.raises(DistillError, match="larger than its teacher"):
        classifier_student(teacher, 5)


def test_distillation_moves_the_student_towards_the_teacher_logits(teacher):
    texts = ["good film", "bad film", "a fine day", "awful"] * 4
    labels = np.array([1, 0, 1, 0] * 4)
    targets = np.tile([[-3.0, 3.0], [3.0, -3.0]], (8, 1))  # (16, 2): confident stored teacher logits
    student = classifier_student(teacher, 2, init="scratch")
    losses = distill_classifier(student, CharIds(), texts, labels, targets, steps=12, lr=3e-3, batch_size=8,
                                max_length=12).losses
    assert losses[-3:].mean() < losses[:3].mean()
    with pytest.raises(DistillError, match="3 classes"):
        distill_classifier(student, CharIds(), texts, labels, np.zeros((16, 3)), steps=1)


def test_unlabelled_texts_and_the_sentence_term_train_and_the_best_check_is_kept(teacher):
    texts = ["good film", "bad film", "a fine day", "awful"] * 4
    labels = np.array([1, 0, -100, -100] * 4)  # half the texts from a transfer set: no label
    logits, sentences = predict_outputs(teacher, CharIds(), texts, 12)  # (16, 2), (16, 32)
    np.testing.assert_allclose(logits, teacher(*encode(CharIds(), texts, 12, "cpu"))[0].numpy(), rtol=1e-5, atol=1e-6)
    student = classifier_student(teacher, 2, init="scratch")
    val = (texts[:4], np.array([1, 0, 1, 0]))
    run = distill_classifier(student, CharIds(), texts, labels, logits, steps=6, lr=3e-3, batch_size=8, max_length=12,
                             teacher_sentences=sentences, hidden_weight=1.0, val=val, check_every=2)
    assert np.isfinite(run.losses).all() and [c["step"] for c in run.checks] == [2, 4, 6]
    best = max(run.checks, key=lambda c: c["val_accuracy"])
    assert run.best_step == best["step"]
    accuracy = (predict_logits(student, CharIds(), val[0], 12).argmax(axis=1) == val[1]).mean()
    assert accuracy == best["val_accuracy"]
    with pytest.raises(DistillError, match="teacher_sentences"):
        distill_classifier(student, CharIds(), texts, labels, logits, steps=1, hidden_weight=1.0)


def test_teacher_outputs_are_cached_for_the_same_texts_only(teacher, tmp_path):
    cache, texts = tmp_path / "teacher.npz", ["good film", "bad film", "awful"]
    logits, _ = cached_teacher_outputs(teacher, CharIds(), texts, 12, cache)
    teacher.classifier.weight.data[...] = 0  # a changed teacher: only a fresh computation would notice
    again, _ = cached_teacher_outputs(teacher, CharIds(), texts, 12, cache)
    np.testing.assert_array_equal(again, logits)
    other, _ = cached_teacher_outputs(teacher, CharIds(), texts[:2], 12, cache)  # other texts: computed again
    np.testing.assert_allclose(other, np.zeros((2, 2)) + teacher.classifier.bias.numpy(), atol=1e-6)


def test_the_linear_schedule_warms_up_then_decays_to_zero_and_a_constant_lr_stays(teacher):
    texts, labels = ["good film", "bad film", "a fine day", "awful"] * 4, np.array([1, 0, 1, 0] * 4)
    logits = np.tile([[-3.0, 3.0], [3.0, -3.0]], (8, 1))  # (16, 2)
    steps, warmup = 50, int(WARMUP_FRACTION * 50)
    linear = distill_classifier(classifier_student(teacher, 2), CharIds(), texts, labels, logits, steps, lr=1e-3,
                                batch_size=8, max_length=12, lr_schedule="linear").lrs
    np.testing.assert_allclose(linear, [linear_decay(k, 1e-3, steps, warmup_steps=warmup) for k in range(steps)])
    assert warmup == 3 and linear.argmax() == warmup and linear[0] < linear[warmup] and 0 < linear[-1] < 1e-4
    constant = distill_classifier(classifier_student(teacher, 2), CharIds(), texts, labels, logits, 5, lr=1e-3,
                                  batch_size=8, max_length=12).lrs
    np.testing.assert_array_equal(constant, np.full(5, 1e-3))
    with pytest.raises(DistillError, match="lr_schedule must be one of"):
        distill_classifier(classifier_student(teacher, 2), CharIds(), texts, labels, logits, 1, lr_schedule="cosine")
