"""Reference solutions to chapter 11's exercises (tutorials/exercises/ch11.py states the tasks).

Plain NumPy, no tinygrad_lm: each is a port, checked against the golden bundles.
"""

import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])  # NumPy has no erf; libm's, element by element


def causal_attention_probs(q, k):
    """softmax(q k^T / sqrt(D), bottom-right causal mask), rows max-subtracted."""
    tq, tk, d = q.shape[-2], k.shape[-2], q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(np.asarray(d, dtype=q.dtype))  # (..., Tq, D) @ (..., D, Tk)
    allowed = np.tril(np.ones((tq, tk), dtype=bool), k=tk - tq)  # (Tq, Tk): j <= i + Tk - Tq
    scores = np.where(allowed, scores, -np.inf)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))  # exp(-inf) = 0 where masked
    return (e / e.sum(axis=-1, keepdims=True)).astype(q.dtype)


def _layer_norm(x, weight, bias, eps):
    mean = x.mean(axis=-1, keepdims=True)  # (B, T, C) -> (B, T, 1)
    var = x.var(axis=-1, keepdims=True)  # biased: divided by C
    return (x - mean) / np.sqrt(var + np.float32(eps)) * weight + bias


def _linear(x, tensors, name):
    return x @ tensors[f"param/{name}.weight"].T + tensors[f"param/{name}.bias"]  # weight (out, in)


def gpt_forward(tensors, n_head, eps=1e-5):
    """Every activation of the tiny GPT, in order, as the bundle names them."""
    ids, targets = tensors["input/ids"], tensors["input/targets"]
    wte = tensors["param/wte.weight"]  # (V, C)
    B, T = ids.shape
    C = wte.shape[1]
    H, D = n_head, C // n_head
    out = {"input/ids": ids, "input/targets": targets}
    x = wte[ids] + tensors["param/wpe.weight"][:T]  # (B, T, C) + (T, C) -> (B, T, C)
    out["act/embed"] = x
    n_layer = len({name.split(".")[1] for name in tensors if name.startswith("param/blocks.")})
    for i in range(n_layer):
        p, a = f"blocks.{i}.", f"act/block{i}/"
        h = _layer_norm(x, tensors[f"param/{p}ln1.weight"], tensors[f"param/{p}ln1.bias"], eps)
        qkv = _linear(h, tensors, p + "attn.qkv")  # (B, T, C) -> (B, T, 3C), [q | k | v]
        q, k, v = (np.ascontiguousarray(part.reshape(B, T, H, D).transpose(0, 2, 1, 3))  # (B, T, C) -> (B, H, T, D)
                   for part in np.split(qkv, 3, axis=-1))
        probs = causal_attention_probs(q, k)  # (B, H, T, T)
        y = (probs @ v).transpose(0, 2, 1, 3).reshape(B, T, C)  # (B, H, T, D) -> (B, T, H, D) -> (B, T, C)
        att_out = _linear(y, tensors, p + "attn.proj")
        resid1 = x + att_out
        h2 = _layer_norm(resid1, tensors[f"param/{p}ln2.weight"], tensors[f"param/{p}ln2.bias"], eps)
        f = _linear(h2, tensors, p + "mlp.fc")  # (B, T, C) -> (B, T, 4C)
        hidden = (0.5 * f * (1.0 + _erf(f / math.sqrt(2.0)))).astype(np.float32)  # exact GELU
        mlp_out = _linear(hidden, tensors, p + "mlp.proj")  # (B, T, 4C) -> (B, T, C)
        x = resid1 + mlp_out
        out.update({a + "ln1": h, a + "q": q, a + "k": k, a + "v": v, a + "att_probs": probs, a + "att_y": y,
                    a + "att_out": att_out, a + "resid1": resid1, a + "ln2": h2, a + "mlp_hidden": hidden,
                    a + "mlp_out": mlp_out, a + "out": x})
    x = _layer_norm(x, tensors["param/ln_f.weight"], tensors["param/ln_f.bias"], eps)
    logits = x @ wte.T  # (B, T, C) @ (C, V) -> (B, T, V): the head is the embedding
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # log-sum-exp
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)  # (B, T, 1)
    out.update({"act/ln_f": x, "act/logits": logits, "loss": np.asarray(-picked.mean(), dtype=np.float32)})
    return out


def adamw_trajectory(A, c, x0, steps, lr, betas, eps, weight_decay):
    """AdamW (decay first, then the moments and the bias-corrected step), as numpy_ref.adamw_step."""
    beta1, beta2 = betas
    x, m, v = x0.astype(np.float64), np.zeros_like(x0, dtype=np.float64), np.zeros_like(x0, dtype=np.float64)
    out = {}
    for t in range(1, steps + 1):
        g = A @ (x - c)
        x = x * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        x = x - (lr / (1 - beta1**t)) * m / (np.sqrt(v / (1 - beta2**t)) + eps)
        out[f"adamw/step{t}/grad"], out[f"adamw/step{t}/param"] = g, x
    return out
