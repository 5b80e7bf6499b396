"""Checks of chapter 12's exercises (the `answers` fixture: see conftest.py)."""

import numpy as np
import pytest

import tinygrad_lm as tg
import tinygrad_lm.functional as F
from tinygrad_lm.models import BertConfig, BertForSequenceClassification
from tinygrad_lm.models.bert import mean_pool
from tinygrad_lm.nn import Linear
from tinygrad_lm.testing import check_close
from tinygrad_lm.train.classifier_task import freeze_lowest

rng = np.random.default_rng(12)
CONFIG = BertConfig(vocab_size=40, hidden=12, n_layers=3, n_heads=3, intermediate=20, max_position=8,
                    dropout=0.0, attention_dropout=0.0)


def classifier(pooling="mean"):
    return BertForSequenceClassification(CONFIG, n_classes=3, pooling=pooling)


def test_head_gradients_match_a_linear_and_cross_entropy(answers):
    pooled, labels = rng.standard_normal((7, 5)), rng.integers(0, 4, 7)
    head = Linear(5, 4, rng=rng, dtype="float64")
    loss = F.cross_entropy(head(tg.tensor(pooled)), labels)
    loss.backward()
    mine, dw, db = answers.head_gradients(pooled, labels, head.weight.numpy(), head.bias.numpy())
    assert isinstance(mine, float) and dw.shape == (4, 5) and db.shape == (4,)
    check_close(np.array(mine), loss.numpy(), name="loss")
    check_close(dw, head.weight.grad, name="dW", scale=1.0)
    check_close(db, head.bias.grad, name="db", scale=1.0)


def test_head_gradients_give_the_classifier_head_its_gradient(answers):
    model = classifier()
    ids, labels = rng.integers(0, 40, (4, 6)), np.array([0, 2, 1, 2])
    mask = np.ones((4, 6), dtype=np.int64)
    mask[1, 4:] = 0  # a padded row: the mean must skip its padding
    model(ids, attention_mask=mask, labels=labels)[1].backward()
    with tg.no_grad():
        pooled = mean_pool(model.bert(ids, attention_mask=mask), mask).numpy()  # (B, H)
    _, dw, db = answers.head_gradients(pooled, labels, model.classifier.weight.numpy(), model.classifier.bias.numpy())
    check_close(dw, model.classifier.weight.grad, name="classifier dW", scale=1.0, atol=1e-6)
    check_close(db, model.classifier.bias.grad, name="classifier db", scale=1.0, atol=1e-6)


@pytest.mark.parametrize("k", [0, 1, 3])
def test_freeze_lowest_layers_freezes_what_the_library_does(answers, k):
    mine, library = classifier(pooling="cls"), classifier(pooling="cls")
    names = answers.freeze_lowest_layers(mine, k)
    assert names == sorted(freeze_lowest(library, k))
    assert [n for n, p in mine.named_parameters() if not p.requires_grad] == \
        [n for n, p in library.named_parameters() if not p.requires_grad]
    mine(rng.integers(0, 40, (2, 5)), labels=np.array([0, 1]))[1].backward()
    for name, parameter in mine.named_parameters():
        assert (parameter.grad is None) == (name in names), name  # frozen: no gradient; the rest: one


def test_freeze_lowest_layers_refuses_more_layers_than_there_are(answers):
    with pytest.raises(ValueError, match="4.*3|3.*4"):
        answers.freeze_lowest_layers(classifier(), 4)
