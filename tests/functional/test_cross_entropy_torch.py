"""Label-smoothed cross-entropy against PyTorch itself (an optional oracle: skipped without torch).

Both versions (fused and composed) on random logits with ignored positions, class weights and
smoothing 0.1 (the Transformer's), in float64: the loss and the gradient equal
``torch.nn.functional.cross_entropy``'s to 1e-12. Without torch, ``test_cross_entropy.py``
checks the same definition against a NumPy re-derivation.
"""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.functional import composed, fused

torch = pytest.importorskip("torch", reason="torch is an optional oracle (pip install torch)")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("version", [fused, composed], ids=["fused", "composed"])
def test_label_smoothing_matches_pytorch(version, weighted, reduction):
    rng = np.random.default_rng(12)
    logits = rng.standard_normal((5, 7, 9)) * 3  # (B, T, V)
    targets = rng.integers(0, 9, (5, 7))
    targets[rng.random((5, 7)) < 0.3] = 0  # 0 plays pad: ignored
    weight = rng.uniform(0.3, 2.0, 9) if weighted else None
    options = {"ignore_index": 0, "label_smoothing": 0.1, "reduction": reduction}
    x = tg.tensor(logits, requires_grad=True)
    loss = version.cross_entropy(x, targets, weight=weight, **options)
    upstream = rng.standard_normal(loss.shape)
    (loss * tg.tensor(upstream)).sum().backward()

    t = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(
        t.permute(0, 2, 1), torch.tensor(targets),  # torch puts classes on axis 1: (B, V, T)
        weight=None if weight is None else torch.tensor(weight), **options)
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-13)
