"""cross_entropy against a plain NumPy re-derivation of PyTorch's definition, option by option.

The reference below is written independently of the library, one row at a time in float64
(loops, no vectorised tricks), straight from PyTorch's documentation: weighted negative log
likelihood, label smoothing as (1 - s) nll + s * mean over classes of -w_c log p_c, ignored
positions contributing nothing, "mean" dividing by the total weight of counted targets.
Every combination of options is checked on both versions, plus nothing counted ("mean" is
NaN with a zero gradient, as in PyTorch), the accepted target types, and the errors.
"""

import itertools
import warnings

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.functional import composed, fused
from tinygrad_lm.testing import check_close

VERSIONS = [pytest.param(fused, id="fused"), pytest.param(composed, id="composed")]


def reference(logits, targets, ignore_index=-100, label_smoothing=0.0, weight=None, reduction="mean"):
    """PyTorch's cross_entropy with the class axis last, one row at a time."""
    classes = logits.shape[-1]
    rows, flat = logits.reshape(-1, classes).astype(np.float64), targets.reshape(-1)
    weight = np.ones(classes) if weight is None else weight
    losses, total_weight = [], 0.0
    for x, t in zip(rows, flat):
        if t == ignore_index:
            losses.append(0.0)
            continue
        log_p = x - np.log(np.sum(np.exp(x - x.max()))) - x.max()
        nll = -weight[t] * log_p[t]
        smooth = sum(-weight[c] * log_p[c] for c in range(classes)) / classes
        losses.append((1 - label_smoothing) * nll + label_smoothing * smooth)
        total_weight += weight[t]
    losses = np.array(losses)
    if reduction == "none":
        return losses.reshape(targets.shape)
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / total_weight


RNG = np.random.default_rng(30)
LOGITS = RNG.standard_normal((3, 4, 6)) * 3
TARGETS = RNG.integers(0, 6, size=(3, 4))
TARGETS[0, 2] = TARGETS[2, 0] = -100
WEIGHT = RNG.uniform(0.2, 2.0, size=6)
OPTIONS = list(itertools.product([0.0, 0.25, 1.0], [None, WEIGHT], ["mean", "sum", "none"]))


@pytest.mark.parametrize("smoothing, weight, reduction", OPTIONS)
@pytest.mark.parametrize("version", VERSIONS)
def test_matches_the_numpy_derivation(version, smoothing, weight, reduction):
    options = {"label_smoothing": smoothing, "weight": weight, "reduction": reduction}
    got = version.cross_entropy(tg.tensor(LOGITS), TARGETS, **options)
    check_close(got, reference(LOGITS, TARGETS, **options), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_custom_ignore_index_skips_those_positions(version):
    targets = np.where(TARGETS == -100, 5, TARGETS)  # now class 5 is the one we ignore
    got = version.cross_entropy(tg.tensor(LOGITS), targets, ignore_index=5, weight=WEIGHT)
    check_close(got, reference(LOGITS, targets, ignore_index=5, weight=WEIGHT), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("version", VERSIONS)
def test_ignored_positions_get_no_gradient(version):
    x = tg.tensor(LOGITS, requires_grad=True)
    version.cross_entropy(x, TARGETS, label_smoothing=0.1).backward()
    assert np.all(x.grad[TARGETS == -100] == 0)
    assert np.all(x.grad[TARGETS != -100] != 0)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("version", VERSIONS)
def test_all_targets_ignored_gives_nan_mean_and_zero_sum_both_with_zero_gradient(version, reduction):
    # PyTorch 2.13: cross_entropy(x, all -100) is nan ("mean", 0/0) or 0.0 ("sum"); x.grad zeros.
    x = tg.tensor(LOGITS, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no RuntimeWarning on the way
        loss = version.cross_entropy(x, np.full((3, 4), -100), label_smoothing=0.1, reduction=reduction)
        loss.backward()
    assert np.isnan(loss.item()) if reduction == "mean" else loss.item() == 0.0
    assert np.all(x.grad == 0)


@pytest.mark.parametrize("version", VERSIONS)
def test_targets_may_be_a_tensor_an_array_or_a_list(version):
    logits = tg.tensor(LOGITS[0])
    want = reference(LOGITS[0], TARGETS[0])
    for targets in (tg.tensor(TARGETS[0]), TARGETS[0].astype(np.int32), TARGETS[0].tolist()):
        check_close(version.cross_entropy(logits, targets), want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_single_row_of_one_class_has_zero_loss(version):
    x = tg.tensor(np.array([[2.5]]), requires_grad=True)
    loss = version.cross_entropy(x, np.array([0]), label_smoothing=0.3)
    assert loss.item() == 0.0
    loss.backward()
    assert x.grad[0, 0] == 0.0


@pytest.mark.parametrize("version", VERSIONS)
def test_the_gradient_of_the_mean_is_softmax_minus_one_hot_over_the_count(version):
    x = tg.tensor(LOGITS[1], requires_grad=True)  # (4, 6), no ignored targets in row 1
    version.cross_entropy(x, TARGETS[1]).backward()
    p = np.exp(LOGITS[1] - LOGITS[1].max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    check_close(x.grad, (p - np.eye(6)[TARGETS[1]]) / 4, rtol=1e-12, atol=1e-14)


# --- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("version", VERSIONS)
def test_a_target_out_of_range_is_named_with_its_position_and_the_class_count(version):
    targets = TARGETS.copy()
    targets[1, 3] = 6
    with pytest.raises(IndexError, match=r"cross_entropy: target 6 at position \(1, 3\) is outside 0..5 \(C=6"):
        version.cross_entropy(tg.tensor(LOGITS), targets)
    targets[1, 3] = -1
    with pytest.raises(IndexError, match=r"target -1 .* ignore_index=-100"):
        version.cross_entropy(tg.tensor(LOGITS), targets)


@pytest.mark.parametrize("version", VERSIONS)
def test_float_targets_are_refused(version):
    with pytest.raises(tg.DTypeError, match="cross_entropy: targets must be integer class indices, got dtype float64"):
        version.cross_entropy(tg.tensor(LOGITS), TARGETS.astype(np.float64))


@pytest.mark.parametrize("version", VERSIONS)
def test_mismatched_shapes_are_refused_naming_both(version):
    with pytest.raises(tg.ShapeError, match=r"targets of shape \(4, 3\) do not match logits of shape \(3, 4, 6\)"):
        version.cross_entropy(tg.tensor(LOGITS), TARGETS.T)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("options, error, message", [
    ({"weight": np.ones(5)}, tg.ShapeError, r"weight has shape \(5,\); it needs one weight per class, \(6,\)"),
    ({"reduction": "avg"}, ValueError, r"reduction='avg' is not one of 'mean', 'sum', 'none'"),
    ({"label_smoothing": 1.5}, ValueError, r"label_smoothing must be in \[0, 1\], got 1.5"),
])
def test_bad_options_are_refused(version, options, error, message):
    with pytest.raises(error, match=f"cross_entropy: {message}"):
        version.cross_entropy(tg.tensor(LOGITS), TARGETS, **options)
