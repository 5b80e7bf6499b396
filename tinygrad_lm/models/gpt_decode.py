"""Graph-free GPT decoding: the same weights and kernels as ``GPT.forward``, no autograd.

Why this file exists. At batch 1 a decoding step is tiny arithmetic (a 128-wide model: a few
(1, 128) @ (128, 512) products per layer) but ``GPT.forward`` runs it as about a hundred
autograd ops, each checking its operands, wrapping its result in a Tensor and recording a
graph node (even under ``no_grad`` the checks and the wrapping remain). Measured on a trained
``shakespeare-char`` model (``benchmarks/generation_speed.py``, one thread, idle machine): the
autograd path takes 2.39 ms per cached token against PyTorch eager's 0.706 ms, the Python around
the ops dwarfing the arithmetic; ``GPTDecoder`` runs the same computation on plain arrays in
0.382 ms:

    x = wte[ids] + pos[start:start+T]                       (B, T, C)     pos: wpe read once
    per block (pre-LN):
      h = layer_norm_fwd(x, ln1)                            kernel of the active table
      q, k, v = split(h W_qkv^T + b)                        (B, T, 3HD) -> 3 x (B, H, T, D)
      keys[:, :, start:start+T] = k, values[...] = v        the preallocated cache (B, H, T_max, D)
      a = attention_fwd(q, keys[:S], values[:S], causal)    S = start + T, bottom-right causal
      x = x + merge(a) W_proj^T + b                         (B, H, T, D) -> (B, T, HD) -> (B, T, C)
      x = x + act(layer_norm_fwd(x, ln2) W_fc^T + b) W_proj2^T + b
    logits = layer_norm_fwd(x, ln_f) @ wte^T                (B, T, V)

Every piece is the one ``GPT.forward`` calls: the kernels of ``tinygrad_lm.backends`` (the
numba, numpy or cupy table, chosen the same way), the same GEMM shapes, the same order, so the
logits agree with the autograd model's to the last bits or nearly (tests/models/test_gpt_decode.py
states the tolerance). Head-pruned blocks keep their own H (attention width H*D, not C) and
neuron-pruned MLPs their own hidden width: shapes are read from the modules, not the config.

Weights are read once, when the decoder is built (``GPT.generate`` builds one per call, so it
always sees the current weights): a Linear's ``weight`` array as is; a quantized layer
(``compress.quantize``: int8 per channel or per group, float16) through its ``dequantized()``
float32 weight, computed once instead of at every step as its module does, because
dequantizing the whole model per token (about 250,000 weights here) would cost more than the
step itself; the result is the same array the module would make. A layer that runs its own
kernel (the int8 GEMM, ``gemm="int8"``) is called as a module on a constant Tensor. The
positions are ``model.wpe``'s table (learned or quantized), or the sinusoidal module applied to
every position once.

The KV cache is preallocated, (B, H, block_size, D) keys and values per block, and written in
place: no concatenation per step. The attention kernel wants contiguous (B*H, S, D) arrays, so
each step still copies the S filled positions out of it (O(S) per token, a few microseconds at
S = 64, small next to the projections). ``reset()`` empties it for a new sequence.

Left out: gradients (use ``GPT.forward``), dropout (decoding runs in eval mode), beam search's
row reordering, sequences past ``block_size`` (the caller slides the window and resets, as
``GPT.generate`` does).
"""

import numpy as np

from ..backends import kernels
from ..engine import Tensor, array_module, no_grad
from ..engine.errors import ShapeError


def _linear(module):
    """A function rows (N, in) -> (N, out) computing ``module`` (a Linear or a quantized one) without a graph."""
    if getattr(module, "gemm", "dequant") != "dequant":  # a layer with its own kernel (compress's int8 GEMM)
        return lambda rows: module(Tensor(rows)).data
    weight = module.dequantized() if hasattr(module, "dequantized") else module.weight.data  # (out, in)
    weight_t, bias = weight.T, None if module.bias is None else module.bias.data

    def linear(rows):
        y = rows @ weight_t  # (N, in) @ (in, out) -> (N, out), as F.linear
        if bias is not None:
            y += bias
        return y

    return linear


def _norm(module, dtype, xp):
    """(weight, bias, eps) of a LayerNorm as the fused layer_norm passes them: absent ones as 1 and 0."""
    channels = module.dim
    weight = xp.ones(channels, dtype=dtype) if module.weight is None else module.weight.data
    bias = xp.zeros(channels, dtype=dtype) if module.bias is None else module.bias.data
    return weight, bias, module.eps


class _Block:
    """One pre-LN TransformerBlock's arrays, and its slice of the KV cache."""

    def __init__(self, block, batch, block_size, dtype, xp):
        attn = block.attn
        self.heads, self.head_dim = attn.n_heads, attn.head_dim
        self.scale = 1.0 / float(np.sqrt(self.head_dim))  # F.scaled_dot_product_attention's default
        self.ln1, self.ln2 = _norm(block.ln1, dtype, xp), _norm(block.ln2, dtype, xp)
        self.qkv, self.proj = _linear(attn.qkv), _linear(attn.proj)
        self.fc, self.mlp_proj = _linear(block.mlp.fc), _linear(block.mlp.proj)
        self.activation = block.mlp.activation
        shape = (batch, self.heads, block_size, self.head_dim)  # (B, H, T_max, D)
        self.keys, self.values = xp.zeros(shape, dtype=dtype), xp.zeros(shape, dtype=dtype)

    def act(self, table, h):
        """The MLP's activation, as ``nn.transformer.ACTIVATIONS`` computes it."""
        if self.activation == "relu":
            return array_module(h).maximum(h, 0)
        return table["gelu_fwd"](h, "tanh" if self.activation == "gelu_tanh" else "none")

    def __call__(self, table, x, start):
        """x (B, T, C) at positions start..start+T-1 -> (B, T, C); stores the new keys and values."""
        xp = array_module(x)
        B, T, C = x.shape
        H, D = self.heads, self.head_dim
        rows = x.reshape(B * T, C)  # (B, T, C) -> (B*T, C)
        h = table["layer_norm_fwd"](rows, *self.ln1)[0]
        qkv = self.qkv(h).reshape(B, T, 3, H, D)  # (B*T, 3HD) -> (B, T, 3, H, D)
        stop = start + T
        self.keys[:, :, start:stop] = qkv[:, :, 1].transpose(0, 2, 1, 3)  # (B, T, H, D) -> (B, H, T, D)
        self.values[:, :, start:stop] = qkv[:, :, 2].transpose(0, 2, 1, 3)
        q = xp.ascontiguousarray(qkv[:, :, 0].transpose(0, 2, 1, 3)).reshape(B * H, T, D)  # (B*H, T, D)
        k = xp.ascontiguousarray(self.keys[:, :, :stop]).reshape(B * H, stop, D)  # (B*H, S, D)
        v = xp.ascontiguousarray(self.values[:, :, :stop]).reshape(B * H, stop, D)
        out = table["attention_fwd"](q, k, v, None, None, True, self.scale)[0]  # (B*H, T, D)
        merged = out.reshape(B, H, T, D).transpose(0, 2, 1, 3).reshape(B * T, H * D)  # -> (B*T, H*D)
        rows = rows + self.proj(merged)  # (B*T, H*D) -> (B*T, C), the residual
        h = self.act(table, self.fc(table["layer_norm_fwd"](rows, *self.ln2)[0]))  # (B*T, hidden)
        rows = rows + self.mlp_proj(h)
        return rows.reshape(B, T, C)


class GPTDecoder:
    """Incremental, graph-free forward passes of a GPT for ``batch`` rows; see the module docstring.

    ``decoder(ids)`` takes the next (B, T) token ids (host or model device) and returns their
    logits (B, T, V) as an array on the model's device, continuing after the ``len(decoder)``
    positions already cached. ``reset()`` starts a new sequence.
    """

    def __init__(self, model, batch):
        config = model.config
        self.block_size, self.batch = config.block_size, batch
        wte = model.wte.weight.data  # (V, C): a Parameter, or a quantized table dequantized once
        xp = array_module(wte)
        if hasattr(model.wpe, "weight"):  # learned (or quantized: dequantized once) positions (T_max, C)
            self.positions = model.wpe.weight.data
        else:  # sinusoidal: the module's table for every position
            with no_grad():
                self.positions = model.wpe(xp.arange(config.block_size)).data  # (T_max, C)
        self.wte, self.wte_t = wte, wte.T
        self.blocks = [_Block(block, batch, config.block_size, wte.dtype, xp) for block in model.blocks]
        self.ln_f = _norm(model.ln_f, wte.dtype, xp)
        self.length = 0

    def __len__(self):
        """How many positions are cached."""
        return self.length

    def reset(self):
        """Forget the cached positions (the arrays are reused)."""
        self.length = 0

    def __call__(self, ids):
        xp = array_module(self.wte)
        ids = xp.asarray(ids)
        if ids.ndim != 2 or ids.dtype.kind not in "iu" or ids.shape[0] != self.batch or ids.shape[1] == 0:
            raise ShapeError(f"GPTDecoder: ids must be integer token ids of shape ({self.batch}, time>=1), "
                             f"got {ids.dtype} array of shape {ids.shape}")
        B, T = ids.shape
        if int(ids.min()) < 0 or int(ids.max()) >= self.wte.shape[0]:  # NumPy would wrap a negative id
            raise IndexError(f"GPTDecoder: token ids must lie in 0..{self.wte.shape[0] - 1}, got values in "
                             f"[{int(ids.min())}, {int(ids.max())}]")
        start = self.length
        if start + T > self.block_size:
            raise ShapeError(f"GPTDecoder: {T} new tokens after {start} cached positions exceed block_size="
                             f"{self.block_size}; reset() and feed the last block_size tokens")
        table = kernels(self.wte)
        x = self.wte[ids] + self.positions[start:start + T]  # (B, T, C) + (T, C) -> (B, T, C)
        for block in self.blocks:
            x = block(table, x, start)
        self.length = start + T
        C = x.shape[-1]
        h = table["layer_norm_fwd"](x.reshape(B * T, C), *self.ln_f)[0]  # (B*T, C)
        return (h @ self.wte_t).reshape(B, T, -1)  # (B*T, C) @ (C, V) -> (B, T, V)
