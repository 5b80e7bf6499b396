"""The distillation loss (value, gradient, PyTorch), students from teacher layers, and bad input."""

import numpy as np
import pytest

from tinygrad_lm import tensor, testing
from tinygrad_lm.compress.distill import (
    DistillError,
    distill_gpt,
    distillation_loss,
    gpt_student,
    hidden_state_loss,
    picked_layers,
)
from tinygrad_lm.compress.loop import gpt_run_data, val_loss
from tinygrad_lm.train import load_model
from tinygrad_lm.train.rundir import BEST

RNG = np.random.default_rng(0)
ZS, ZT = RNG.standard_normal((6, 5)), RNG.standard_normal((6, 5))
Y = RNG.integers(0, 5, 6)


def _reference(zs, zt, y, T, alpha):
    def log_softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    ls, lt = log_softmax(zs / T), log_softmax(zt / T)
    kl = (np.exp(lt) * (lt - ls)).sum() / len(zs)
    return alpha * T**2 * kl + (1 - alpha) * -log_softmax(zs)[np.arange(len(y)), y].mean()


@pytest.mark.parametrize("T, alpha", [(1.0, 0.5), (4.0, 0.9), (2.0, 0.0), (2.0, 1.0)])
def test_loss_matches_the_formula(T, alpha):
    loss = distillation_loss(tensor(ZS, dtype="float64"), ZT, Y, T, alpha)
    assert loss.item() == pytest.approx(_reference(ZS, ZT, Y, T, alpha), rel=1e-12)


def test_loss_matches_pytorch():
    torch = pytest.importorskip("torch")
    fn = torch.nn.functional
    zs, zt = torch.tensor(ZS), torch.tensor(ZT)
    T, alpha = 3.0, 0.7
    expected = (alpha * T**2 * fn.kl_div(fn.log_softmax(zs / T, -1), fn.log_softmax(zt / T, -1), reduction="batchmean",
                                         log_target=True) + (1 - alpha) * fn.cross_entropy(zs, torch.tensor(Y)))
    ours = distillation_loss(tensor(ZS, dtype="float64"), ZT, Y, T, alpha).item()
    assert ours == pytest.approx(expected.item(), rel=1e-12)


def test_loss_and_hidden_terms_pass_gradcheck():
    hidden_t = RNG.standard_normal((6, 4))
    for kind in ("cosine", "mse"):
        testing.gradcheck(lambda zs, hs, k=kind: distillation_loss(zs, ZT, Y, 2.0, 0.6, hs, hidden_t, 0.5, k),
                          tensor(ZS, requires_grad=True, dtype="float64"),
                          tensor(RNG.standard_normal((6, 4)), requires_grad=True, dtype="float64"))


def test_identical_hidden_states_cost_nothing():
    h = RNG.standard_normal((3, 4))
    assert hidden_state_loss(tensor(h, dtype="float64"), h).item() == pytest.approx(0.0, abs=1e-12)
    assert hidden_state_loss(tensor(h, dtype="float64"), h, "mse").item() == 0.0


def test_vocabulary_mismatch_and_bad_settings_are_refused():
    with pytest.raises(DistillError, match="same vocabulary"):
        distillation_loss(tensor(ZS), RNG.standard_normal((6, 7)), Y)
    with pytest.raises(DistillError, match="temperature > 0"):
        distillation_loss(tensor(ZS), ZT, Y, temperature=0)


def test_picked_layers_are_every_other_and_students_stay_smaller():
    assert picked_layers(6, 3) == [0, 2, 4] and picked_layers(6, 2) == [0, 3] and picked_layers(4, 4) == [0, 1, 2, 3]
    with pytest.raises(DistillError, match="larger than its teacher"):
        picked_layers(4, 5)


def test_student_copies_the_teacher_layers_and_distillation_lowers_its_loss(gpt_run):
    teacher, tokenizer, meta = load_model(gpt_run / BEST)
    student = gpt_student(teacher, 1)
    np.testing.assert_array_equal(student.blocks[0].mlp.fc.weight.numpy(), teacher.blocks[0].mlp.fc.weight.numpy())
    np.testing.assert_array_equal(student.wte.weight.numpy(), teacher.wte.weight.numpy())
    train_ids, val_ids = gpt_run_data(meta, tokenizer)
    before = val_loss(student, val_ids, 20)
    losses = distill_gpt(teacher, student, train_ids, steps=15, lr=3e-3)
    assert np.all(np.isfinite(losses)) and val_loss(student, val_ids, 20) < before
    with pytest.raises(DistillError, match="init must be"):
        gpt_student(teacher, 1, init="random-ish")


def test_rows_without_a_label_get_the_soft_term_only():
    # a transfer set's texts have no label (-100): the hard term averages over the labelled rows alone,
    # and a batch with none at all is the soft term, not NaN
    y = Y.copy()
    y[:3] = -100
    mixed = distillation_loss(tensor(ZS, dtype="float64"), ZT, y, 2.0, 0.5).item()
    soft = _reference(ZS, ZT, Y, 2.0, 1.0) * 0.5
    hard = _reference(ZS[3:], ZT[3:], Y[3:], 2.0, 0.0) * 0.5
    assert mixed == pytest.approx(soft + hard, rel=1e-12)
    none = distillation_loss(tensor(ZS, dtype="float64"), ZT, np.full(6, -100), 2.0, 0.5).item()
    assert none == pytest.approx(soft, rel=1e-12)
