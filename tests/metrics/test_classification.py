"""tinygrad_lm.metrics on hand-derived values, invariants, bad input, the report's layout and the PNG.

Nothing here needs scikit-learn (its parity tests are in ``test_sklearn_parity.py``).

The worked example used throughout (class 2 is never predicted, so its precision is 0/0):

    y_true = [0, 0, 0, 1, 1, 2, 2, 2]
    y_pred = [0, 1, 0, 1, 0, 1, 1, 0]

    confusion matrix (rows true, columns predicted)   per class
              0  1  2                                  tp  pred  true   P      R     F1 = 2tp/(true+pred)
        0  [  2  1  0 ]                             0   2    4     3    2/4    2/3   4/7
        1  [  1  1  0 ]                             1   1    4     2    1/4    1/2   2/6
        2  [  1  2  0 ]                             2   0    0     3    0/0    0/3   0/3

    accuracy = trace / N = 3/8
    macro     P = (1/2 + 1/4 + z)/3   (z = zero_division: 1/4 for z=0, 7/12 for z=1)
              R = (2/3 + 1/2 + 0)/3 = 7/18        F1 = (4/7 + 1/3 + 0)/3 = 19/63
    weighted  P = (3*1/2 + 2*1/4 + 3*z)/8 = 1/4 (z=0)
              R = (3*2/3 + 2*1/2 + 0)/8 = 3/8     F1 = (3*4/7 + 2*1/3 + 0)/8 = 25/84
    micro     P = R = F1 = sum tp / N = 3/8
    z = nan   P_2 is skipped: macro P = (1/2 + 1/4)/2 = 3/8, weighted P = (3/2 + 2/4)/5 = 2/5
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lm import metrics, train
from tinygrad_lm.metrics import (
    UndefinedMetricWarning,
    accuracy,
    classification_report,
    confusion_matrix,
    perplexity,
    plot_confusion_matrix,
    precision_recall_f1,
)

Y_TRUE = [0, 0, 0, 1, 1, 2, 2, 2]
Y_PRED = [0, 1, 0, 1, 0, 1, 1, 0]
EXACT = {"abs": 1e-15, "rel": 1e-12}


def test_worked_example_confusion_matrix_and_accuracy():
    assert confusion_matrix(Y_TRUE, Y_PRED).tolist() == [[2, 1, 0], [1, 1, 0], [1, 2, 0]]
    assert accuracy(Y_TRUE, Y_PRED) == 3 / 8
    # labels picks and orders rows and columns; samples with a label outside them are left out
    assert confusion_matrix(Y_TRUE, Y_PRED, labels=[2, 0]).tolist() == [[0, 1], [0, 2]]


def test_worked_example_per_class_and_averages():
    p, r, f1 = precision_recall_f1(Y_TRUE, Y_PRED, average=None)
    assert p.tolist() == pytest.approx([2 / 4, 1 / 4, 0.0], **EXACT)
    assert r.tolist() == pytest.approx([2 / 3, 1 / 2, 0.0], **EXACT)
    assert f1.tolist() == pytest.approx([4 / 7, 2 / 6, 0.0], **EXACT)
    assert precision_recall_f1(Y_TRUE, Y_PRED, average="macro") == pytest.approx((1 / 4, 7 / 18, 19 / 63), **EXACT)
    assert precision_recall_f1(Y_TRUE, Y_PRED, average="macro", zero_division=1.0)[0] == pytest.approx(7 / 12, **EXACT)
    assert precision_recall_f1(Y_TRUE, Y_PRED, average="weighted") == pytest.approx((1 / 4, 3 / 8, 25 / 84), **EXACT)
    assert precision_recall_f1(Y_TRUE, Y_PRED, average="micro") == pytest.approx((3 / 8,) * 3, **EXACT)
    assert precision_recall_f1(Y_TRUE, Y_PRED, average="macro", zero_division=math.nan)[0] == pytest.approx(3 / 8, **EXACT)
    assert precision_recall_f1(Y_TRUE, Y_PRED, average="weighted", zero_division=math.nan)[0] == pytest.approx(2 / 5, **EXACT)
    p, _, _ = precision_recall_f1(Y_TRUE, Y_PRED, average=None, labels=[2, 7, 0], zero_division=1.0)
    assert p.tolist() == [1.0, 1.0, 0.5]  # 7 never occurs: all its counts are 0
    # weighted, every scored label without support: the weights are all 0, so the plain mean is used
    # (label 1: tp = 0, pred = 2, true = 0: P = 0/2 = 0, R = 0/0 -> 1, F1 = 0/(0+2) = 0)
    assert precision_recall_f1([0, 0], [1, 1], average="weighted", labels=[1], zero_division=1.0) == (0.0, 1.0, 0.0)


def test_binary_with_string_labels():
    # pos: tp = 2 (samples 0, 4), fp = 1 (sample 3), fn = 1 (sample 1): P = R = F1 = 2/3
    y_true = ["pos", "pos", "neg", "neg", "pos"]
    y_pred = ["pos", "neg", "neg", "pos", "pos"]
    assert precision_recall_f1(y_true, y_pred, pos_label="pos") == pytest.approx((2 / 3,) * 3, **EXACT)
    # neg: tp = 1, fp = 1, fn = 1
    assert precision_recall_f1(y_true, y_pred, pos_label="neg") == pytest.approx((1 / 2,) * 3, **EXACT)
    # only one class present and it is not pos_label: every count is 0, so zero_division decides
    assert precision_recall_f1([0, 0], [0, 0], zero_division=1.0) == (1.0, 1.0, 1.0)


def test_warn_returns_zero_and_warns_once():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = precision_recall_f1(Y_TRUE, Y_PRED, average="macro", zero_division="warn")
    assert result == precision_recall_f1(Y_TRUE, Y_PRED, average="macro", zero_division=0.0)
    assert [w.category for w in caught] == [UndefinedMetricWarning]
    assert "precision" in str(caught[0].message) and "recall" not in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        precision_recall_f1(Y_TRUE, Y_PRED, average="macro", zero_division=0.0)  # no warning when chosen


labels = st.sampled_from(["a", "b", "c", "d"])


@given(st.lists(st.tuples(labels, labels), min_size=1, max_size=30))
def test_invariants(pairs):
    """Identities that hold for any single-label data, with every label scored."""
    y_true, y_pred = map(list, zip(*pairs))
    cm = confusion_matrix(y_true, y_pred)
    acc = accuracy(y_true, y_pred)
    assert cm.sum() == len(pairs) and np.trace(cm) / len(pairs) == acc
    assert precision_recall_f1(y_true, y_pred, average="micro") == pytest.approx((acc,) * 3, **EXACT)
    assert precision_recall_f1(y_true, y_pred, average="weighted")[1] == pytest.approx(acc, **EXACT)
    p, r, _ = precision_recall_f1(y_true, y_pred, average=None, zero_division=math.nan)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(p, np.diag(cm) / cm.sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(r, np.diag(cm) / cm.sum(axis=1), rtol=1e-12)
    # renaming the classes (order kept) changes nothing
    rename = {"a": 10, "b": 20, "c": 30, "d": 40}
    renamed = [rename[y] for y in y_true], [rename[y] for y in y_pred]
    assert precision_recall_f1(*renamed, average="macro") == precision_recall_f1(y_true, y_pred, average="macro")


@pytest.mark.parametrize(("y_true", "y_pred", "message"), [
    ([0, 1, 1], [0, 1], r"y_true has shape \(3,\) but y_pred has shape \(2,\)"),
    ([], [], "y_true is empty"),
    ([[0, 1]], [[0, 1]], r"y_true must be 1-D .* shape \(1, 2\)"),
    ([0.0, math.nan], [0.0, 1.0], "y_true contains NaN at index 1"),
    ([0, 1], [0.0, 0.5], "y_pred holds non-whole floats"),
    (["a", "b"], [0, 1], "y_true holds strings but y_pred holds numbers"),
])
def test_bad_input_is_one_line(y_true, y_pred, message):
    for fn in (accuracy, confusion_matrix, precision_recall_f1):
        with pytest.raises(ValueError, match=message) as error:
            fn(y_true, y_pred)
        assert fn.__name__ in str(error.value) and "\n" not in str(error.value)


def test_bad_average_pos_label_labels_zero_division():
    with pytest.raises(ValueError, match="average='binary' needs at most 2 classes"):
        precision_recall_f1(Y_TRUE, Y_PRED)
    with pytest.raises(ValueError, match="pos_label=1 is not one of the labels"):
        precision_recall_f1(["a", "b"], ["b", "a"])
    with pytest.raises(ValueError, match="average must be one of"):
        precision_recall_f1(Y_TRUE, Y_PRED, average="sample")
    with pytest.raises(ValueError, match="zero_division must be"):
        precision_recall_f1(Y_TRUE, Y_PRED, average="macro", zero_division=0.5)
    with pytest.raises(ValueError, match="none of labels"):
        confusion_matrix(Y_TRUE, Y_PRED, labels=[5])


def test_report_layout():
    expected = (
        "              precision    recall  f1-score   support\n"
        "\n"
        "    negative       0.50      1.00      0.67         1\n"
        "    positive       1.00      0.50      0.67         2\n"
        "\n"
        "    accuracy                           0.67         3\n"
        "   macro avg       0.75      0.75      0.67         3\n"
        "weighted avg       0.83      0.67      0.67         3\n"
    )
    assert classification_report([1, 0, 1], [1, 0, 0], label_names=["negative", "positive"]) == expected
    with pytest.raises(ValueError, match="1 label_names for 2 classes"):
        classification_report([1, 0], [1, 0], label_names=["x"])


def test_confusion_matrix_png(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib (the plot extra) is not installed")
    path = plot_confusion_matrix(confusion_matrix(Y_TRUE, Y_PRED), ["zero", "one", "two"], tmp_path / "cm.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"cm must be square \(K, K\), got shape \(2, 3\)"):
        plot_confusion_matrix(np.zeros((2, 3)), ["a", "b"], tmp_path / "bad.png")


def test_drawing_leaves_a_notebooks_backend_alone(monkeypatch, tmp_path):
    matplotlib = pytest.importorskip("matplotlib", reason="matplotlib (the plot extra) is not installed")
    chosen = []
    monkeypatch.setattr(matplotlib, "use", lambda *args, **kwargs: chosen.append(args))
    path = plot_confusion_matrix(np.eye(2, dtype=int), ["a", "b"], tmp_path / "cm.png")
    assert chosen == [] and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_without_matplotlib_says_how_to_install(monkeypatch, tmp_path):
    for name in ("matplotlib", "matplotlib.figure"):  # importing either now raises ImportError
        monkeypatch.setitem(__import__("sys").modules, name, None)
    with pytest.raises(ImportError, match=r"pip install tinygrad_lm\[plot\]"):
        plot_confusion_matrix(np.eye(2), ["a", "b"], tmp_path / "cm.png")


def test_perplexity_is_exp_of_loss_and_single_sourced():
    assert perplexity(math.log(65)) == pytest.approx(65, rel=1e-12)  # uniform over 65 characters
    assert perplexity(0.0) == 1.0 and perplexity(1000.0) == math.inf
    assert train.perplexity is metrics.perplexity
