"""BERT on the (fake) GPU: the same outputs, losses and gradients as on the CPU, nothing left on the host.

The fake GPU (tests/fake_cuda.py) runs NumPy with the reference kernels underneath, so against
a CPU run under ``use_kernels("numpy")`` results must agree exactly; what is checked is that
ids, masks and positions are made or moved onto the device and every array stays there.
"""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.backends import use_kernels
from tinygrad_lm.engine import DeviceError
from tinygrad_lm.models import (
    IGNORE_INDEX,
    BertConfig,
    BertForPreTraining,
    BertForSequenceClassification,
    BertModel,
    mean_pool,
)

CONFIG = BertConfig(vocab_size=13, hidden=8, n_layers=2, n_heads=2, intermediate=16, max_position=10,
                    dropout=0.0, attention_dropout=0.0)
X = np.array([[1, 5, 7, 2, 0], [1, 9, 2, 0, 0]])
MASK = (X != 0).astype(np.int64)
LABELS = np.where(np.arange(5) == 2, X, IGNORE_INDEX)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_pretraining_loss_and_gradients_on_the_gpu_match_the_cpu(fake_cuda, positions):
    config = BertConfig(**{**CONFIG.to_dict(), "position_embedding": positions})
    results = []
    with use_kernels("numpy"):
        for device in ("cpu", "cuda"):
            model = BertForPreTraining(config).to(device)
            inputs = [tg.tensor(a, device=device) for a in (X, np.zeros_like(X), MASK, LABELS, np.array([0, 1]))]
            out = model(*inputs)
            out.loss.backward()
            results.append((out.loss.item(), {n: p.grad for n, p in model.named_parameters()}))
    (cpu_loss, cpu_grads), (gpu_loss, gpu_grads) = results
    assert gpu_loss == cpu_loss
    for name, grad in gpu_grads.items():
        assert isinstance(grad, fake_cuda.DeviceArray), name
        np.testing.assert_array_equal(grad.get(), cpu_grads[name], err_msg=name)


def test_encoder_and_mean_pool_stay_on_the_device_and_refuse_host_ids(fake_cuda):
    model = BertModel(CONFIG).to("cuda").eval()
    with pytest.raises(DeviceError, match="BertModel: input_ids: an array on cpu .* tensors on cuda"):
        model(X)
    ids, mask = tg.tensor(X, device="cuda"), tg.tensor(MASK, device="cuda")
    with tg.no_grad(), use_kernels("numpy"):
        hidden = model(ids, attention_mask=mask)
        vectors = mean_pool(hidden, mask)
        expected = mean_pool(BertModel(CONFIG).eval()(X, attention_mask=MASK), MASK)
    assert hidden.device == "cuda" and vectors.device == "cuda"
    np.testing.assert_array_equal(vectors.numpy(), expected.numpy())
    with pytest.raises(DeviceError, match="mean_pool: attention_mask: an array on cpu"):
        mean_pool(hidden, MASK)


def test_mean_pooled_classifier_without_a_mask_runs_on_the_device(fake_cuda):
    model = BertForSequenceClassification(CONFIG, n_classes=3, pooling="mean").to("cuda")
    with use_kernels("numpy"):
        logits, loss = model(tg.tensor(X, device="cuda"), labels=tg.tensor([0, 2], device="cuda"))
    assert logits.device == "cuda" and logits.shape == (2, 3) and loss.device == "cuda"
