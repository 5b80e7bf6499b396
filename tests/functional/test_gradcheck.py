"""float64 gradcheck of both versions of every functional op, against finite differences.

Fused == composed (test_fused_vs_composed.py) could hide a bug both versions share; here
each version is checked on its own against central differences of its forward
(``tinygrad_lm.testing.gradcheck``), with a random upstream gradient, on small fixed inputs
that exercise every option: axes, both GELU forms, weight/bias, ignored targets, label
smoothing, class weights, masks, causal alignment with Tq != Tk, a fully masked row, dropout
(alone and in attention), every reduction of mse_loss and kl_div, log_target, a zero teacher
probability.
"""

import numpy as np
import pytest

from tinygrad_lm.functional import composed, fused
from tinygrad_lm.testing import gradcheck

VERSIONS = [pytest.param(fused, id="fused"), pytest.param(composed, id="composed")]
RNG = np.random.default_rng(10)


def normal(*shape):
    return RNG.standard_normal(shape)


X = normal(2, 3, 4)
TARGETS = np.array([[0, 3, -100], [2, 2, 1]])
CLASS_WEIGHT = np.array([0.5, 1.0, 2.0, 0.25])
Q, K, V = normal(2, 2, 3, 4), normal(2, 1, 5, 4), normal(2, 1, 5, 3)  # k, v broadcast over heads
MASK = RNG.random((2, 1, 3, 5)) < 0.6
MASK[0, 0, 1] = False  # a fully masked row
MASK[:, :, :, -1] = True
Y = normal(2, 3, 4)
TEACHER = np.abs(Y) / np.abs(Y).sum(axis=-1, keepdims=True)  # probabilities over the last axis
TEACHER[0, 1, 2] = 0.0  # 0 log 0 = 0; a constant, since the loss has no derivative in t at t = 0

CASES = {
    "softmax last axis": lambda F: (lambda x: F.softmax(x), X),
    "softmax axis 0": lambda F: (lambda x: F.softmax(x, axis=0), X),
    "log_softmax axis 1": lambda F: (lambda x: F.log_softmax(x, axis=1), X),
    "gelu exact": lambda F: (lambda x: F.gelu(x), 3 * X),
    "gelu tanh": lambda F: (lambda x: F.gelu(x, approximate="tanh"), 3 * X),
    "linear": lambda F: (lambda x, w, b: F.linear(x, w, b), X, normal(5, 4), normal(5)),
    "linear no bias, 1-D x": lambda F: (lambda x, w: F.linear(x, w), normal(4), normal(3, 4)),
    "layer_norm": lambda F: (lambda x, w, b: F.layer_norm(x, w, b), X, normal(4), normal(4)),
    "layer_norm no params": lambda F: (lambda x: F.layer_norm(x, eps=1e-3), X),
    "cross_entropy mean": lambda F: (lambda x: F.cross_entropy(x, TARGETS), X),
    "cross_entropy all options": lambda F: (
        lambda x: F.cross_entropy(x, TARGETS, label_smoothing=0.2, weight=CLASS_WEIGHT), X),
    "cross_entropy none": lambda F: (lambda x: F.cross_entropy(x, TARGETS, reduction="none"), X),
    "attention": lambda F: (lambda q, k, v: F.scaled_dot_product_attention(q, k, v), Q, K, V),
    "attention mask": lambda F: (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask=MASK), Q, K, V),
    "attention causal Tq<Tk": lambda F: (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, causal=True, scale=0.7), Q, K, V),
    "attention dropout": lambda F: (
        lambda q, k, v: F.scaled_dot_product_attention(
            q, k, v, causal=True, dropout_p=0.3, rng=np.random.default_rng(0)), Q, K, V),
    "self_attention causal": lambda F: (lambda qkv: F.self_attention(qkv, 2, causal=True), normal(2, 3, 12)),
    "self_attention mask dropout": lambda F: (
        lambda qkv: F.self_attention(qkv, 2, mask=MASK[0, 0, :, :3], dropout_p=0.3, rng=np.random.default_rng(2)),
        normal(1, 3, 6)),
    "dropout": lambda F: (lambda x: F.dropout(x, 0.4, rng=np.random.default_rng(1)), X),
    "mse_loss mean": lambda F: (lambda a, b: F.mse_loss(a, b), X, Y),
    "mse_loss sum": lambda F: (lambda a, b: F.mse_loss(a, b, reduction="sum"), X, Y),
    "mse_loss none": lambda F: (lambda a, b: F.mse_loss(a, b, reduction="none"), X, Y),
    "kl_div batchmean": lambda F: (lambda s, t: F.kl_div(F.log_softmax(s), F.softmax(t)), X, Y),
    "kl_div mean zero teacher": lambda F: (lambda s: F.kl_div(s, TEACHER, reduction="mean"), X),
    "kl_div log_target sum": lambda F: (lambda s, t: F.kl_div(s, t, reduction="sum", log_target=True), X, Y),
    "kl_div log_target none": lambda F: (lambda s, t: F.kl_div(s, t, reduction="none", log_target=True), X, Y),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", list(CASES))
def test_gradcheck(case, version):
    fn, *inputs = CASES[case](version)
    assert gradcheck(fn, *inputs, name=f"{version.__name__.split('.')[-1]} {case}")


def test_gradcheck_catches_a_wrong_fused_kernel(monkeypatch):
    # The check above can fail: a softmax backward that forgets the -y y^T term is caught.
    from tinygrad_lm.backends import kernels

    monkeypatch.setitem(kernels(), "softmax_bwd", lambda y, gy: y * gy)  # in the active table
    with pytest.raises(AssertionError, match="gradcheck"):
        gradcheck(lambda x: fused.softmax(x), X)

