"""tinygrad_lm.metrics against scikit-learn, the oracle (a `test` extra, never a run-time need).

Hypothesis draws random single-label problems: binary and multiclass, 1-30 samples, int or string
labels, classes missing from y_pred or y_true, an optional ``labels`` list (a subset, reordered,
with a label that never occurs), each average ("binary", "macro", "micro", "weighted", None) and
each ``zero_division`` (0.0, 1.0, nan, "warn"). Results must be identical (exact float
equality, nan equal to nan); so must the choice to raise (e.g. average="binary" on three
classes), and for "warn" whether a warning is given (ours gives one, scikit-learn one per
metric). ``pytest --hypothesis-show-statistics`` shows how often each kind of case came up.
The report's text, the confusion matrix and accuracy are compared the same way (the
report only when some prediction is right: with none, scikit-learn 1.9 prints supports as floats).

These tests skip, saying so, without scikit-learn. Their sibling needing nothing checks the
committed golden file ``sklearn_golden.json`` (cases and scikit-learn's answers, made once by the
oracle with scikit-learn 1.9.1), written by::

    .venv/bin/python tests/metrics/test_sklearn_parity.py --write-golden
"""

import importlib.util
import json
import math
import random
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tinygrad_lm.metrics import (
    accuracy,
    classification_report,
    confusion_matrix,
    precision_recall_f1,
)

GOLDEN = Path(__file__).with_name("sklearn_golden.json")
# cheap cases (a few ms each): far more than the profile's default
PRF_EXAMPLES, OTHER_EXAMPLES = (max(n, settings.default.max_examples) for n in (600, 200))
AVERAGES = ["binary", "macro", "micro", "weighted", None]
ZERO_DIVISIONS = [0.0, 1.0, math.nan, "warn"]


needs_sklearn = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                                   reason="scikit-learn (the oracle, in the test extra) is not installed")


def outcome(fn, *args, **kwargs):
    """("ok", result, warned) or ("error", None, False): what a call did, its warnings recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args, **kwargs)
        except ValueError:
            return "error", None, False
    warned = any(w.category.__name__ == "UndefinedMetricWarning" for w in caught)
    return "ok", result, warned


@st.composite
def problems(draw):
    """(y_true, y_pred, keyword arguments) of one precision/recall/F1 call."""
    k = draw(st.integers(1, 5))
    pool = [f"c{i}" for i in range(k)] if draw(st.booleans()) else list(range(-1, k - 1))
    n = draw(st.integers(1, 30))
    y_true = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    y_pred = draw(st.lists(st.sampled_from(pool[: draw(st.integers(1, k))]), min_size=n, max_size=n))
    kwargs = {"average": draw(st.sampled_from(AVERAGES)), "zero_division": draw(st.sampled_from(ZERO_DIVISIONS))}
    if kwargs["average"] == "binary":
        kwargs["pos_label"] = draw(st.sampled_from(pool))
    elif draw(st.booleans()):
        unseen = "zz" if isinstance(pool[0], str) else 99
        kwargs["labels"] = draw(st.lists(st.sampled_from([*pool, unseen]), min_size=1, max_size=k + 1, unique=True))
    return y_true, y_pred, kwargs


def same(ours, theirs):
    np.testing.assert_array_equal(np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64))


def check_prf(y_true, y_pred, kwargs, expected_kind, expected, expected_warned):
    kind, result, warned = outcome(precision_recall_f1, y_true, y_pred, **kwargs)
    assert kind == expected_kind
    if kind == "ok":
        same(result, expected)
        assert warned == expected_warned


@needs_sklearn
@settings(max_examples=PRF_EXAMPLES)
@given(problems())
def test_precision_recall_f1_matches_sklearn(problem):
    import sklearn.metrics as sk
    y_true, y_pred, kwargs = problem
    kind, result, warned = outcome(sk.precision_recall_fscore_support, y_true, y_pred, **kwargs)
    event(f"average={kwargs['average']}, zero_division={kwargs['zero_division']}, outcome={kind}")
    event(f"labels={'strings' if isinstance(y_true[0], str) else 'ints'}, labels given={'labels' in kwargs}, "
          f"a class missing from y_true or y_pred={set(y_true) != set(y_pred)}")
    check_prf(y_true, y_pred, kwargs, kind, None if result is None else result[:3], warned)


@needs_sklearn
@settings(max_examples=OTHER_EXAMPLES)
@given(problems(), st.integers(1, 4))
def test_accuracy_confusion_matrix_report_match_sklearn(problem, digits):
    import sklearn.metrics as sk
    y_true, y_pred, kwargs = problem
    assert accuracy(y_true, y_pred) == sk.accuracy_score(y_true, y_pred)
    labels = kwargs.get("labels")
    kind, expected, _ = outcome(sk.confusion_matrix, y_true, y_pred, labels=labels)
    kind_ours, cm, _ = outcome(confusion_matrix, y_true, y_pred, labels=labels)
    assert kind_ours == kind
    if kind == "ok":
        assert cm.tolist() == expected.tolist()
    if accuracy(y_true, y_pred) == 0:
        return  # scikit-learn 1.9 prints float supports ("1.0") when no prediction is right; ours stay ints
    zero_division = 1.0 if kwargs["zero_division"] == 1.0 else 0.0
    assert classification_report(y_true, y_pred, digits=digits, zero_division=zero_division) == \
        sk.classification_report(y_true, y_pred, digits=digits, zero_division=zero_division)


def test_matches_golden_file():
    """The sibling that needs nothing: scikit-learn's committed answers on seeded cases."""
    for case in json.loads(GOLDEN.read_text()):
        kwargs = {**case["kwargs"], "zero_division": {"nan": math.nan}.get(case["kwargs"]["zero_division"],
                                                                           case["kwargs"]["zero_division"])}
        check_prf(case["y_true"], case["y_pred"], kwargs, case["kind"], case["result"], case["warned"])


def golden_cases(n_cases=60, seed=0):
    """Seeded random cases, every (average, zero_division) pair, some with ``labels``, answered by scikit-learn."""
    import sklearn.metrics as sk

    rng = random.Random(seed)
    cases = []
    for i in range(n_cases):
        k = rng.randint(1, 4)
        pool = [f"c{j}" for j in range(k)] if i % 2 else list(range(k))
        n = rng.randint(1, 12)
        y_true = [rng.choice(pool) for _ in range(n)]
        y_pred = [rng.choice(pool[: rng.randint(1, k)]) for _ in range(n)]
        kwargs = {"average": AVERAGES[i % 5], "zero_division": ZERO_DIVISIONS[i % 4]}  # all 20 pairs, 3 times
        if kwargs["average"] == "binary":
            kwargs["pos_label"] = rng.choice(pool)
        elif i % 3 == 0:
            kwargs["labels"] = rng.sample([*pool, "zz" if i % 2 else 99], rng.randint(1, k + 1))
        kind, result, warned = outcome(sk.precision_recall_fscore_support, y_true, y_pred, **kwargs)
        if result is not None:
            result = [np.asarray(v, dtype=np.float64).tolist() for v in result[:3]]
        if isinstance(kwargs["zero_division"], float) and math.isnan(kwargs["zero_division"]):
            kwargs["zero_division"] = "nan"
        cases.append({"y_true": y_true, "y_pred": y_pred, "kwargs": kwargs, "kind": kind, "result": result,
                      "warned": warned})
    return cases


if __name__ == "__main__" and sys.argv[1:] == ["--write-golden"]:
    GOLDEN.write_text(json.dumps(golden_cases(), indent=None).replace("}, {", "},\n{") + "\n")
