"""The encoder-decoder Transformer of "Attention Is All You Need" (Vaswani et al. 2017).

    src (B, S) token ids, right-padded with pad_id; tgt_in (B, T) = [bos, y_1, ..., y_{T-1}]
    encoder:  x = embed(src) * sqrt(C) + PE[0..S-1] -> dropout                          (B, S, C)
              n_encoder_layers blocks: self-attention over the real source tokens + MLP  (B, S, C)
              = memory (pre-LN adds a final LayerNorm, ``ln_enc``)
    decoder:  y = embed(tgt_in) * sqrt(C) + PE[0..T-1] -> dropout                       (B, T, C)
              n_decoder_layers blocks: causal self-attention, cross-attention to memory
              (keys = the real source tokens), MLP                                       (B, T, C)
              (pre-LN adds ``ln_dec``) -> logits = y @ embed.weight^T                    (B, T, V)
    loss = cross_entropy(logits, tgt_out, ignore_index=pad_id, label_smoothing=0.1),
           the mean over the real (non-pad) target tokens; tgt_out = [y_1, ..., y_T, eos].

The source padding mask ``source_mask(src)`` is (B, S) booleans, True on real tokens; as a
(B, 1, 1, S) key mask it stops every encoder query and every decoder query from reading a
pad key, so the outputs at real positions do not depend on how much padding follows (padded
positions' own outputs are computed but meaningless). Target padding needs no mask: it sits
after the real tokens and causal attention never looks forward; the loss ignores it.

Shared vocabulary (section 3.4): with ``tie_embeddings=True`` one matrix ``embed.weight``
(V, C) embeds the source and the target and is the pre-softmax projection too. Embeddings
are multiplied by sqrt(C) (section 3.4), so they are initialised N(0, 1/C): the scaled
embedding has unit variance, like the position vectors it is added to. With
``tie_embeddings=False`` there are ``src_embed``, ``tgt_embed`` and a ``head`` Linear (C -> V).

Residual layout: post-LN as in the paper (``norm_first=False``: x = LN(x + sublayer(x))) or
pre-LN (``norm_first=True``, which trains without careful warm-up; Xiong et al. 2020). The MLP
uses ReLU (the paper's) unless ``activation`` says otherwise. Other Linear weights keep their
PyTorch-default initialisation; everything random comes from ``model.rng`` (``config.seed``).

``cross_attention_weights(src, tgt_in)`` recomputes each decoder layer's cross-attention
probabilities (which source tokens each target position reads) for plots.

Incremental decoding: ``new_cache()`` gives a ``Seq2SeqCache``: one self-attention
``LayerCache`` per decoder block, appended to at each step, and one cross-attention
``LayerCache`` per block, filled with the memory's keys and values at the first step and
reused afterwards. Greedy decoding and beam search are in ``seq2seq_decode.py``.

Left out: separate source/target vocabularies with a shared embedding but separate heads,
checkpoint averaging, relative positions, mixed precision.
"""

import dataclasses
import math
import numbers

import numpy as np

from .. import functional as F
from ..engine import Tensor, array_module, no_grad, on_device
from ..engine.errors import DTypeError, ShapeError
from ..nn import (
    Dropout,
    Embedding,
    KVCache,
    LayerNorm,
    Linear,
    Module,
    ModuleList,
    TransformerBlock,
)
from ..nn.positional import SinusoidalPositions
from ..nn.transformer import ACTIVATIONS
from .config_dict import ConfigDict


@dataclasses.dataclass(frozen=True)
class Seq2SeqConfig(ConfigDict):
    """The shape of an encoder-decoder Transformer. Defaults are the paper's base model (V = 37000).

    vocab_size (V, shared by source and target), n_encoder_layers, n_decoder_layers, n_head,
    n_embd (C, divisible by n_head), d_ff (the MLP's inner width), max_positions (longest source
    and longest target), dropout (embeddings, attention weights, every residual branch),
    pad_id / bos_id / eos_id (three distinct ids < V), norm_first (False: post-LN as in the
    paper; True: pre-LN), tie_embeddings (one matrix for both embeddings and the output
    projection), activation ("relu" as in the paper, "gelu", "gelu_tanh"), seed.
    """

    vocab_size: int = 37000
    n_encoder_layers: int = 6
    n_decoder_layers: int = 6
    n_head: int = 8
    n_embd: int = 512
    d_ff: int = 2048
    max_positions: int = 256
    dropout: float = 0.1
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    norm_first: bool = False
    tie_embeddings: bool = True
    activation: str = "relu"
    seed: int = 0

    def __post_init__(self):
        for name in ("vocab_size", "n_encoder_layers", "n_decoder_layers", "n_head", "n_embd", "d_ff",
                     "max_positions"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Seq2SeqConfig: {name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"Seq2SeqConfig: n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}) "
                             f"so every head gets n_embd // n_head dimensions")
        if not isinstance(self.dropout, numbers.Real) or isinstance(self.dropout, bool) or not 0 <= self.dropout < 1:
            raise ValueError(f"Seq2SeqConfig: dropout must be in [0, 1), got {self.dropout!r}")
        for name in ("pad_id", "bos_id", "eos_id"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or not 0 <= value < self.vocab_size:
                raise ValueError(f"Seq2SeqConfig: {name} must be an int in [0, vocab_size={self.vocab_size}), "
                                 f"got {value!r}")
        if len({self.pad_id, self.bos_id, self.eos_id}) != 3:
            raise ValueError(f"Seq2SeqConfig: pad_id, bos_id and eos_id must differ, got {self.pad_id}, "
                             f"{self.bos_id}, {self.eos_id}")
        for name in ("norm_first", "tie_embeddings"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"Seq2SeqConfig: {name} must be True or False, got {getattr(self, name)!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"Seq2SeqConfig: activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"Seq2SeqConfig: seed must be an int >= 0, got {self.seed!r}")


class Seq2SeqCache:
    """Decoder state for incremental decoding: ``self_attn`` and ``cross`` (one LayerCache per block)."""

    def __init__(self, n_layers):
        self.self_attn, self.cross = KVCache(n_layers), KVCache(n_layers)

    def __len__(self):
        """How many target positions the decoder has seen."""
        return len(self.self_attn)


class Seq2Seq(Module):
    """The model of the module docstring. ``Seq2Seq(Seq2SeqConfig(...), dtype="float32")``."""

    def __init__(self, config, dtype="float32"):
        if not isinstance(config, Seq2SeqConfig):
            raise TypeError(f"Seq2Seq: expected a Seq2SeqConfig, got {type(config).__name__}")
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        C, V = config.n_embd, config.vocab_size
        if config.tie_embeddings:
            self.embed = Embedding(V, C, rng=self.rng, dtype=dtype)
        else:
            self.src_embed = Embedding(V, C, rng=self.rng, dtype=dtype)
            self.tgt_embed = Embedding(V, C, rng=self.rng, dtype=dtype)
            self.head = Linear(C, V, bias=False, rng=self.rng, dtype=dtype)
        self.positions = SinusoidalPositions(config.max_positions, C, dtype=dtype)
        self.drop = Dropout(config.dropout, rng=self.rng)

        def blocks(n, cross):
            return ModuleList(
                TransformerBlock(C, config.n_head, dropout=config.dropout, norm_first=config.norm_first,
                                 cross_attention=cross, mlp_hidden=config.d_ff, activation=config.activation,
                                 rng=self.rng, dtype=dtype)
                for _ in range(n))

        self.encoder = blocks(config.n_encoder_layers, cross=False)
        self.decoder = blocks(config.n_decoder_layers, cross=True)
        if config.norm_first:  # pre-LN leaves the residual stream un-normalised: one LayerNorm at each end
            self.ln_enc = LayerNorm(C, dtype=dtype)
            self.ln_dec = LayerNorm(C, dtype=dtype)
        for _, module in self.named_modules():
            if isinstance(module, Embedding):  # N(0, 1/C): embed * sqrt(C) has unit variance
                module.weight.data[...] = self.rng.normal(0.0, C ** -0.5, module.weight.shape)

    # --- inputs --------------------------------------------------------------------------------
    def check_ids(self, ids, name):
        """``ids`` as an integer (B, L) array on the model's device, in range and not too long."""
        where = f"{type(self).__name__}: {name}"
        array = ids.data if isinstance(ids, Tensor) else ids
        array = array if hasattr(array, "ndim") and hasattr(array, "dtype") else np.asarray(array)
        if array.dtype.kind not in "iu":
            raise DTypeError(f"{where} must hold integer token ids, got dtype {array.dtype}")
        if array.ndim != 2:
            raise ShapeError(f"{where} must have shape (batch, length), got shape {array.shape}")
        if array.shape[1] > self.config.max_positions:
            raise ShapeError(f"{where} has length {array.shape[1]} > max_positions={self.config.max_positions}; "
                             f"truncate it or build the model with a larger max_positions")
        V = self.config.vocab_size
        if array.size and (int(array.min()) < 0 or int(array.max()) >= V):
            raise ShapeError(f"{where} holds ids in [{int(array.min())}, {int(array.max())}], outside the "
                             f"vocabulary [0, {V})")
        return on_device(array, self._weight().device, where)

    def _weight(self):
        return self.embed.weight if self.config.tie_embeddings else self.tgt_embed.weight

    def source_mask(self, src):
        """(B, S) booleans, True on real source tokens (not ``pad_id``)."""
        return self.check_ids(src, "src") != self.config.pad_id

    def _embed(self, table, ids, start=0):
        """table(ids) * sqrt(C) + PE[start .. start + L - 1], then dropout: (B, L) -> (B, L, C)."""
        positions = array_module(ids).arange(start, start + ids.shape[1])  # (L,) on the ids' device
        x = table(ids) * math.sqrt(self.config.n_embd) + self.positions(positions)  # (B, L, C) + (L, C)
        return self.drop(x)

    # --- the two halves ------------------------------------------------------------------------
    def encode(self, src):
        """memory (B, S, C) for source ids ``src`` (B, S), padded with ``pad_id``."""
        ids = self.check_ids(src, "src")
        key_mask = (ids != self.config.pad_id)[:, None, None, :]  # (B, S) -> (B, 1, 1, S)
        x = self._embed(self.embed if self.config.tie_embeddings else self.src_embed, ids)  # (B, S, C)
        for block in self.encoder:
            x = block(x, mask=key_mask)  # (B, S, C), mask broadcast to (B, H, S, S)
        return self.ln_enc(x) if self.config.norm_first else x

    def decode(self, tgt_in, memory, src_mask, cache=None):
        """logits (B, T, V) for decoder inputs ``tgt_in`` (B, T) reading ``memory`` (B, S, C).

        ``src_mask`` (B, S): True on real source tokens (``source_mask(src)``). With a
        ``Seq2SeqCache`` the positions continue after the cached ones (see the module docstring).
        """
        ids = self.check_ids(tgt_in, "tgt_in")
        B, T = ids.shape
        start = 0 if cache is None else len(cache)
        if start + T > self.config.max_positions:
            raise ShapeError(f"{type(self).__name__}.decode: {T} target positions after {start} cached ones exceed "
                             f"max_positions={self.config.max_positions}; decode fewer tokens (max_len)")
        mask = src_mask.data if isinstance(src_mask, Tensor) else src_mask
        if memory.ndim != 3 or tuple(mask.shape) != tuple(memory.shape[:2]) or memory.shape[0] != B:
            raise ShapeError(f"{type(self).__name__}.decode: memory (B, S, C) = {memory.shape} and src_mask "
                             f"(B, S) = {mask.shape} must agree, with B = {B} rows of tgt_in")
        key_mask = mask[:, None, None, :]  # (B, S) -> (B, 1, 1, S)
        y = self._embed(self.embed if self.config.tie_embeddings else self.tgt_embed, ids, start)  # (B, T, C)
        for i, block in enumerate(self.decoder):
            y = block(y, context=memory, causal=True, context_mask=key_mask,
                      cache=None if cache is None else cache.self_attn[i],
                      context_cache=None if cache is None else cache.cross[i])  # (B, T, C)
        if self.config.norm_first:
            y = self.ln_dec(y)
        C, V = self.config.n_embd, self.config.vocab_size
        if not self.config.tie_embeddings:
            return self.head(y)  # (B, T, C) -> (B, T, V)
        logits = y.reshape(B * T, C) @ self.embed.weight.T  # (B*T, C) @ (C, V) -> (B*T, V)
        return logits.reshape(B, T, V)  # (B*T, V) -> (B, T, V)

    def forward(self, src, tgt_in):
        """logits (B, T, V) of the next target token at every position of ``tgt_in`` (B, T)."""
        return self.decode(tgt_in, self.encode(src), self.source_mask(src))

    def loss(self, src, tgt_in, tgt_out, label_smoothing=0.1):
        """Label-smoothed cross-entropy (section 5.4) of ``forward(src, tgt_in)`` against ``tgt_out``.

        The mean over the positions where ``tgt_out`` (B, T) is not ``pad_id``; label smoothing
        puts ``label_smoothing / V`` of each target's mass on every class (PyTorch's definition).
        """
        targets, inputs = self.check_ids(tgt_out, "tgt_out"), self.check_ids(tgt_in, "tgt_in")
        if targets.shape != inputs.shape:
            raise ShapeError(f"{type(self).__name__}.loss: tgt_out {targets.shape} must have tgt_in's shape "
                             f"{inputs.shape}")
        logits = self(src, tgt_in)  # (B, T, V)
        return F.cross_entropy(logits, targets, ignore_index=self.config.pad_id, label_smoothing=label_smoothing)

    def cross_attention_weights(self, src, tgt_in):
        """Every decoder layer's cross-attention probabilities, for plots: a list of
        ``n_decoder_layers`` NumPy arrays (B, n_head, T, S), row = target position, column =
        source position, each row softmax(q k^T / sqrt(D)) over the real source tokens (0 on pad).

        Recomputed with the identity matrix as the values, so attention's output is its weight
        table (the trick of chapter 4). Runs under ``no_grad``; call ``eval()`` first.
        """
        ids, mask = self.check_ids(tgt_in, "tgt_in"), self.source_mask(src)
        (B, T), (S, H) = ids.shape, (mask.shape[1], self.config.n_head)
        key_mask = mask[:, None, None, :]  # (B, S) -> (B, 1, 1, S)
        weights = []
        with no_grad():
            memory = self.encode(src)  # (B, S, C)
            identity = Tensor(array_module(mask).eye(S, dtype=memory.dtype))  # (S, S): the values
            y = self._embed(self.embed if self.config.tie_embeddings else self.tgt_embed, ids)  # (B, T, C)
            for block in self.decoder:
                if self.config.norm_first:
                    queries = block.ln_cross(y + block.attn(block.ln1(y), causal=True))
                else:
                    queries = block.ln1(y + block.attn(y, causal=True))  # the cross-attention's input (B, T, C)
                q = block.cross_attn.q(queries).reshape(B, T, H, -1).permute(0, 2, 1, 3)  # (B, T, C) -> (B, H, T, D)
                k = block.cross_attn.kv(memory).split(2, axis=-1)[0]  # (B, S, 2C) -> (B, S, C)
                k = k.reshape(B, S, H, -1).permute(0, 2, 1, 3)  # (B, S, C) -> (B, H, S, D)
                weights.append(F.scaled_dot_product_attention(q, k, identity, mask=key_mask).numpy())  # (B, H, T, S)
                y = block(y, context=memory, causal=True, context_mask=key_mask)
        return weights

    def new_cache(self):
        """An empty ``Seq2SeqCache`` for ``decode(..., cache=...)``."""
        return Seq2SeqCache(self.config.n_decoder_layers)

    def extra_repr(self):
        c = self.config
        return (f"vocab_size={c.vocab_size}, layers={c.n_encoder_layers}+{c.n_decoder_layers}, n_head={c.n_head}, "
                f"n_embd={c.n_embd}, norm_first={c.norm_first}, parameters={self.num_parameters():,}")
