"""The classifier student: layers copied from the teacher, and a distillation step that learns from stored logits."""

import numpy as np
import pytest

from tinygrad_lm.compress.distill import DistillError
from tinygrad_lm.compress.distill_classifier import (
    classifier_student,
    distill_classifier,
)
from tinygrad_lm.models import BertConfig, BertForSequenceClassification


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
                                max_length=12)
    assert losses[-3:].mean() < losses[:3].mean()
    with pytest.raises(DistillError, match="3 classes"):
        distill_classifier(student, CharIds(), texts, labels, np.zeros((16, 3)), steps=1)
