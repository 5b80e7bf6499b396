"""GPT: a decoder-only Transformer language model (GPT-2 layout, nanoGPT-style).

    idx (B, T) token ids
      -> wte(idx) + wpe(positions)          token + position embeddings           (B, T, C)
      -> dropout
      -> n_layer pre-LN TransformerBlocks   causal self-attention + GELU MLP      (B, T, C)
      -> ln_f                               final LayerNorm                       (B, T, C)
      -> logits = x @ wte.weight^T          head tied to the token embedding      (B, T, V)
    loss = cross_entropy(logits, targets), the mean over positions of -log p(target)

Positions are learned (``wpe`` is an Embedding, GPT-2's choice) or, with
``position_embedding="sinusoidal"``, the fixed sinusoids of the original Transformer
(``nn.SinusoidalPositions``: no Parameter, nothing in the state dict).

Weight tying (Press & Wolf 2017): the output head reuses the token-embedding matrix, so there
is no separate ``lm_head`` Parameter; ``wte.weight`` gets gradient from both uses.

Initialisation (GPT-2 paper, section 2.3; nanoGPT): every Linear and Embedding weight is
N(0, 0.02), biases are 0, LayerNorms are (1, 0), and the two projections that write into the
residual stream in each block (``attn.proj`` and ``mlp.proj``) are N(0, 0.02 / sqrt(2 n_layer)),
so the residual stream's variance does not grow with depth. Everything random comes from one
Generator, ``model.rng``, seeded with ``config.seed``: the initial weights first, then the
dropout masks during training (a trainer that checkpoints should save ``model.rng``'s state).

Generation (``GPT.generate``) runs in eval mode under ``no_grad`` and delegates the choice of
each token to ``tinygrad_lm.generate``. With ``use_cache=True`` the prompt is run once and each
later step feeds only the new token, reusing the keys and values cached per layer. The learned
positions stop at ``block_size``: once the sequence is longer, the cache is dropped and every
step recomputes the model on the last ``block_size`` tokens (the window slides, so every cached
key would sit at a new position). By default the steps run through ``gpt_decode.GPTDecoder``,
the same arithmetic on plain arrays with a preallocated cache (about 6x less time per cached
token at batch 1, where the autograd ops' Python costs more than their arithmetic); ``fast_path=False``
runs them through ``forward`` and its ``KVCache``, the reference the decoder is tested against.

Devices: build the model, then ``model.to("cuda")``. ``forward`` wants token ids and targets
on the model's device (a Tensor made with ``tensor(ids, device=model.device)``; NumPy ids are
fine for a CPU model) and refuses ids from the other device. ``generate`` keeps the growing
sequence on the host, because sampling draws from a NumPy Generator: each step copies the
tokens the model has not seen to the device and the last position's logits (B, V) back. The
KV cache stays on the device.

Left out: loading OpenAI's GPT-2 checkpoints (their Conv1D weights are stored transposed),
flash attention, mixed precision, gradient checkpointing.
"""

import dataclasses
import math
import numbers

import numpy as np

from .. import functional as F
from .. import generate as sampling
from ..engine import Tensor, array_module, no_grad, on_device, to_device
from ..engine.errors import ShapeError
from ..nn import (
    Dropout,
    Embedding,
    KVCache,
    LayerNorm,
    Linear,
    Module,
    ModuleList,
    SinusoidalPositions,
    TransformerBlock,
)
from .config_dict import ConfigDict
from .gpt_decode import GPTDecoder


@dataclasses.dataclass(frozen=True)
class GPTConfig(ConfigDict):
    """The shape of a GPT. Defaults are GPT-2 small (124M parameters).

    vocab_size: tokens in the vocabulary (V). block_size: the longest context (T_max).
    n_layer: Transformer blocks. n_head: attention heads. n_embd: model width (C).
    dropout: probability used by every Dropout. bias: whether Linear and LayerNorm have biases.
    seed: seeds ``model.rng`` (initial weights, then dropout masks). position_embedding:
    "learned" (GPT-2) or "sinusoidal" (fixed; checkpoints without the field are "learned").
    """

    vocab_size: int = 50257
    block_size: int = 1024
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True
    seed: int = 0
    position_embedding: str = "learned"

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"GPTConfig: {name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}) "
                             f"so every head gets n_embd // n_head dimensions")
        if not isinstance(self.dropout, numbers.Real) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout!r}")
        if not isinstance(self.bias, bool):
            raise TypeError(f"GPTConfig: bias must be True or False, got {self.bias!r}")
        if not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"GPTConfig: seed must be an int >= 0, got {self.seed!r}")
        if self.position_embedding not in ("learned", "sinusoidal"):
            raise ValueError(f"GPTConfig: position_embedding must be 'learned' or 'sinusoidal', "
                             f"got {self.position_embedding!r}")


class GPT(Module):
    """The language model of the module docstring. ``GPT(GPTConfig(...), dtype="float32")``."""

    def __init__(self, config, dtype="float32"):
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT: expected a GPTConfig, got {type(config).__name__}")
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        C = config.n_embd
        self.wte = Embedding(config.vocab_size, C, rng=self.rng, dtype=dtype)
        if config.position_embedding == "learned":
            self.wpe = Embedding(config.block_size, C, rng=self.rng, dtype=dtype)
        else:
            self.wpe = SinusoidalPositions(config.block_size, C, dtype=dtype)
        self.drop = Dropout(config.dropout, rng=self.rng)
        self.blocks = ModuleList(
            TransformerBlock(C, config.n_head, dropout=config.dropout, norm_first=True, bias=config.bias,
                             rng=self.rng, dtype=dtype)
            for _ in range(config.n_layer)
        )
        self.ln_f = LayerNorm(C, bias=config.bias, dtype=dtype)
        self._init_weights()

    def _init_weights(self):
        """GPT-2 initialisation (see the module docstring), drawn from ``self.rng``."""
        for _, module in self.named_modules():
            if isinstance(module, (Linear, Embedding)):
                module.weight.data[...] = self.rng.normal(0.0, 0.02, module.weight.shape)
            if isinstance(module, Linear) and module.bias is not None:
                module.bias.data[...] = 0.0
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for block in self.blocks:
            for proj in (block.attn.proj, block.mlp.proj):
                proj.weight.data[...] = self.rng.normal(0.0, residual_std, proj.weight.shape)

    def _check_ids(self, idx, what):
        """``idx`` as an integer (B, T) array, left on the device it is on."""
        ids = idx.data if isinstance(idx, Tensor) else idx
        ids = ids if hasattr(ids, "ndim") and hasattr(ids, "dtype") else np.asarray(ids)
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise ShapeError(f"GPT.{what}: idx must be integer token ids of shape (batch, time), "
                             f"got {ids.dtype} array of shape {ids.shape}")
        return ids

    def forward(self, idx, targets=None, cache=None):
        """Logits (B, T, V) for token ids ``idx`` (B, T), and the loss when ``targets`` (B, T) is given.

        With a ``KVCache`` (from ``new_cache()``) the positions continue after the cached ones
        and the new keys/values are appended to it. Returns ``(logits, loss or None)``.
        """
        weights = self.wte.weight.data
        ids = on_device(self._check_ids(idx, "forward"), self.wte.weight.device, "GPT.forward: idx")
        B, T = ids.shape
        start = 0 if cache is None else len(cache)
        if start + T > self.config.block_size:
            cached = f" after {start} cached positions" if start else ""
            raise ShapeError(f"GPT.forward: sequence length T={T}{cached} exceeds block_size="
                             f"{self.config.block_size}; crop the input to the last block_size tokens")
        positions = array_module(weights).arange(start, start + T)  # (T,), made on the model's device
        x = self.wte(ids) + self.wpe(positions)  # (B, T, C) + (T, C) -> (B, T, C)
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, causal=True, cache=None if cache is None else cache[i])  # (B, T, C)
        x = self.ln_f(x)
        C = self.config.n_embd
        logits = x.reshape(B * T, C) @ self.wte.weight.T  # (B*T, C) @ (C, V) -> (B*T, V)
        logits = logits.reshape(B, T, self.config.vocab_size)  # (B*T, V) -> (B, T, V)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss

    def new_cache(self):
        """An empty KV cache with one slot per block, for ``forward(..., cache=...)``."""
        return KVCache(self.config.n_layer)

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, stop_token=None,
                 rng=None, use_cache=True, fast_path=True):
        """Continue each row of ``idx`` (B, T0) by up to ``max_new_tokens`` tokens.

        Sampling settings are those of ``tinygrad_lm.generate.sample_next`` (temperature 0 is
        greedy). ``rng`` is a Generator or a seed (required unless greedy). Returns the ids
        (B, T0 + n) as an int64 NumPy array. Runs under ``no_grad`` and as in eval mode (no
        dropout), leaving each module's mode as it was. ``idx`` may be on either device; the sequence is kept
        on the host and each step copies only what it must (see the module docstring).
        ``fast_path=False`` runs every step through ``forward`` (autograd ops) instead of the
        graph-free ``GPTDecoder``; both give the same tokens.
        """
        ids = to_device(self._check_ids(idx, "generate"), "cpu")  # the sequence lives on the host
        block_size = self.config.block_size
        device = self.wte.weight.device
        if fast_path:
            decoder = GPTDecoder(self, batch=ids.shape[0])

            def next_logits(seq):  # seq (B, T) on the host -> logits of the next position (B, V)
                if not use_cache or seq.shape[1] > block_size:
                    decoder.reset()  # recompute the window (it slides once the sequence is longer)
                fed = seq[:, -block_size:] if not len(decoder) else seq[:, len(decoder):]
                return to_device(decoder(to_device(fed, device))[:, -1], "cpu")  # (B, T_fed, V) -> (B, V)
        else:
            cache = self.new_cache() if use_cache else None

            def next_logits(seq):  # seq (B, T) on the host -> logits of the next position (B, V)
                nonlocal cache
                if cache is not None and seq.shape[1] > block_size:
                    cache = None  # the window now slides: recompute from here on
                # the last block_size tokens (B, min(T, block_size)), or only those not yet cached
                fed = seq[:, -block_size:] if cache is None else seq[:, len(cache):]
                logits, _ = self(to_device(fed, device), cache=cache)  # explicit host -> device copy
                return logits[:, -1, :].numpy()  # (B, T_fed, V) -> (B, V), copied to the host

        def run():
            with no_grad():
                return sampling.generate_tokens(next_logits, ids, max_new_tokens, temperature=temperature,
                                                top_k=top_k, top_p=top_p, stop_token=stop_token, rng=rng)

        if fast_path:  # the decoder has no dropout and never reads the modes: nothing to switch
            return run()
        modes = [(module, module.training) for _, module in self.named_modules()]
        self.eval()
        try:
            return run()
        finally:
            for module, training in modes:
                module.training = training

    def extra_repr(self):
        c = self.config
        return (f"vocab_size={c.vocab_size}, block_size={c.block_size}, n_layer={c.n_layer}, "
                f"n_head={c.n_head}, n_embd={c.n_embd}, parameters={self.num_parameters():,}")
