"""BERT: a bidirectional Transformer encoder (Devlin et al. 2019), and sentence pooling.

    input_ids (B, T), token_type_ids (B, T), attention_mask (B, T): 1 = real token, 0 = padding
      -> word(input_ids) + position(0..T-1) + token_type(token_type_ids)          (B, T, H)
      -> LayerNorm (eps = layer_norm_eps) -> dropout
      -> n_layers post-LN encoder blocks, each                                   (B, T, H)
             x = LN1(x + attention(x, mask))      every query sees every real key, in both directions
             x = LN2(x + W_2 gelu(W_1 x + b_1) + b_2)
      -> sequence output (B, T, H); ``pooled`` = tanh(W_p x[:, 0] + b_p)         (B, H)

The padding mask: attention_mask (B, T) becomes a boolean (B, 1, 1, T) mask over the keys
(True = may attend), broadcast over heads and queries, so no position reads a [PAD] key.
Scores of masked keys are -inf (never a finite -10000 as in the original code, which lets a
little probability through); the outputs at real positions therefore do not depend on how
much padding follows. Outputs at padded positions are computed but meaningless.

Post-LN (a LayerNorm after each residual add, as BERT and the original Transformer do) is
``TransformerBlock(norm_first=False)``: there is no final LayerNorm after the last block
(pre-LN models such as GPT-2 need one; here the last block's LN2 plays that part).

GELU is the exact one, x Phi(x) with the erf (``activation="gelu"``); "gelu_tanh" is the
tanh approximation (Hugging Face's "gelu_new"). Position vectors are learned (BERT's) or the
fixed sinusoids of ``nn.SinusoidalPositions`` (``position_embedding="sinusoidal"``).

Initialisation (BERT's ``initializer_range``): every Linear and Embedding weight N(0, 0.02),
biases 0, LayerNorms (1, 0), drawn from ``model.rng`` seeded by ``config.seed``.

Pooling for sentence vectors: ``mean_pool`` (the average of the real tokens' vectors, what
sentence-transformers' MiniLM uses) and ``cls_pool`` (the [CLS] vector). The pre-training and
classification heads are in ``bert_heads.py``; Hugging Face weights load through
``bert_weights.py``.

``model.attention_weights(...)`` recomputes every layer's attention probabilities for plots.

Left out: relative position types, cross-attention (BERT as a decoder), a KV cache, head
pruning, returning every layer's hidden states.
"""

import dataclasses
import numbers

import numpy as np

from .. import functional as F
from ..engine import Tensor, array_module, no_grad, on_device
from ..engine.errors import ShapeError
from ..nn import (
    Dropout,
    Embedding,
    LayerNorm,
    Linear,
    Module,
    ModuleList,
    TransformerBlock,
)
from ..nn.positional import SinusoidalPositions
from ..nn.transformer import ACTIVATIONS
from .config_dict import ConfigDict

POSITION_EMBEDDINGS = ("learned", "sinusoidal")


@dataclasses.dataclass(frozen=True)
class BertConfig(ConfigDict):
    """The shape of a BERT. Defaults are BERT-base (uncased, 110M parameters).

    vocab_size (V), hidden (H), n_layers, n_heads (H % n_heads == 0), intermediate (the MLP's
    inner width), max_position (longest input T), type_vocab_size (segments: 2 for sentence
    pairs), layer_norm_eps, dropout (embeddings and every residual branch), attention_dropout
    (on the attention weights), activation ("gelu" exact, "gelu_tanh", "relu"),
    position_embedding ("learned" or "sinusoidal"), pooler (build the [CLS] dense + tanh that
    next-sentence prediction uses), initializer_range (std of the initial weights), seed.
    """

    vocab_size: int = 30522
    hidden: int = 768
    n_layers: int = 12
    n_heads: int = 12
    intermediate: int = 3072
    max_position: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation: str = "gelu"
    position_embedding: str = "learned"
    pooler: bool = True
    initializer_range: float = 0.02
    seed: int = 0

    def __post_init__(self):
        for name in ("vocab_size", "hidden", "n_layers", "n_heads", "intermediate", "max_position",
                     "type_vocab_size"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"BertConfig: {name} must be a positive int, got {value!r}")
        if self.hidden % self.n_heads:
            raise ValueError(f"BertConfig: hidden ({self.hidden}) must be divisible by n_heads ({self.n_heads}) "
                             f"so every head gets hidden // n_heads dimensions")
        for name in ("dropout", "attention_dropout"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0.0 <= value < 1.0:
                raise ValueError(f"BertConfig: {name} must be in [0, 1), got {value!r}")
        for name in ("layer_norm_eps", "initializer_range"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"BertConfig: {name} must be a positive number, got {value!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"BertConfig: activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if self.position_embedding not in POSITION_EMBEDDINGS:
            raise ValueError(f"BertConfig: position_embedding must be one of {list(POSITION_EMBEDDINGS)}, "
                             f"got {self.position_embedding!r}")
        if not isinstance(self.pooler, bool):
            raise TypeError(f"BertConfig: pooler must be True or False, got {self.pooler!r}")
        if not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"BertConfig: seed must be an int >= 0, got {self.seed!r}")


def _as_ids(value, name, caller, kinds="iu"):
    """An integer (B, T) array (NumPy or device array) from ids given as a Tensor, array or lists.

    ``kinds``: the NumPy dtype kinds accepted ("iu" integers; "iub" also booleans, for masks)."""
    ids = value.data if isinstance(value, Tensor) else value
    ids = ids if hasattr(ids, "ndim") and hasattr(ids, "dtype") else np.asarray(ids)
    if ids.ndim != 2 or ids.dtype.kind not in kinds:
        raise ShapeError(f"{caller}: {name} must be integers of shape (batch, time), got {ids.dtype} array "
                         f"of shape {ids.shape}")
    return ids


class BertEmbeddings(Module):
    """word + position + token-type vectors, then LayerNorm and dropout: (B, T) ids -> (B, T, H)."""

    def __init__(self, config, rng, dtype):
        H = config.hidden
        self.word = Embedding(config.vocab_size, H, rng=rng, dtype=dtype)
        if config.position_embedding == "learned":
            self.position = Embedding(config.max_position, H, rng=rng, dtype=dtype)
        else:
            self.position = SinusoidalPositions(config.max_position, H, dtype=dtype)
        self.token_type = Embedding(config.type_vocab_size, H, rng=rng, dtype=dtype)
        self.ln = LayerNorm(H, eps=config.layer_norm_eps, dtype=dtype)
        self.drop = Dropout(config.dropout, rng=rng)

    def forward(self, ids, token_type_ids):
        positions = array_module(ids).arange(ids.shape[1])  # (T,), on the ids' device
        x = self.word(ids) + self.position(positions)  # (B, T, H) + (T, H) -> (B, T, H)
        x = x + self.token_type(token_type_ids)  # (B, T, H)
        return self.drop(self.ln(x))


class BertModel(Module):
    """The encoder of the module docstring. ``BertModel(BertConfig(...), dtype="float32")``.

    ``model(input_ids, token_type_ids=None, attention_mask=None)`` -> sequence output (B, T, H).
    Missing token types are all 0 (one segment); a missing mask lets every position attend.
    ``model.pooled(hidden)`` -> tanh(W_p hidden[:, 0] + b_p) (B, H), when built with a pooler.
    ``model.max_seq_length``: the longest input sentence embedding feeds it (sentence-transformers'
    setting, read by ``data.pretrained.embed``); ``max_position`` unless a loader sets it.
    """

    def __init__(self, config, dtype="float32"):
        if not isinstance(config, BertConfig):
            raise TypeError(f"BertModel: expected a BertConfig, got {type(config).__name__}")
        self.config = config
        self.max_seq_length = config.max_position
        self.rng = np.random.default_rng(config.seed)
        H = config.hidden
        self.embeddings = BertEmbeddings(config, self.rng, dtype)
        self.blocks = ModuleList(
            TransformerBlock(H, config.n_heads, dropout=config.dropout, norm_first=False,
                             mlp_hidden=config.intermediate, activation=config.activation,
                             eps=config.layer_norm_eps, rng=self.rng, dtype=dtype)
            for _ in range(config.n_layers)
        )
        for block in self.blocks:  # BERT drops attention weights and residual branches at separate rates
            block.attn.dropout = config.attention_dropout  # read by MultiHeadAttention.forward
        if config.pooler:
            self.pooler = Linear(H, H, rng=self.rng, dtype=dtype)
        self._init_weights()

    def _init_weights(self):
        """N(0, initializer_range) for Linear and Embedding weights, zero biases, from ``self.rng``."""
        for _, module in self.named_modules():
            if isinstance(module, (Linear, Embedding)):
                module.weight.data[...] = self.rng.normal(0.0, self.config.initializer_range, module.weight.shape)
            if isinstance(module, Linear) and module.bias is not None:
                module.bias.data[...] = 0.0

    def _inputs(self, input_ids, token_type_ids, attention_mask):
        """(ids, token types, boolean key mask (B, 1, 1, T) or None), checked and on the model's device."""
        device = self.embeddings.word.weight.device

        def checked(value, name, kinds="iu"):
            return on_device(_as_ids(value, name, "BertModel", kinds), device, f"BertModel: {name}")

        ids = checked(input_ids, "input_ids")
        B, T = ids.shape
        if ids.shape[1] > self.config.max_position:
            raise ShapeError(f"BertModel: sequence length T={T} exceeds max_position={self.config.max_position}; "
                             f"truncate the input (the tokenizer's max_length does this)")
        types = (array_module(ids).zeros((B, T), dtype=np.int64) if token_type_ids is None  # (B, T): one segment
                 else checked(token_type_ids, "token_type_ids"))
        mask = None if attention_mask is None else checked(attention_mask, "attention_mask", "iub")
        for name, array in (("token_type_ids", types), ("attention_mask", mask)):
            if array is not None and array.shape != (B, T):
                raise ShapeError(f"BertModel: {name} must have input_ids' shape {(B, T)}, got {array.shape}")
        if mask is not None:
            mask = (mask != 0)[:, None, None, :]  # (B, T) -> (B, 1, 1, T): True = this key may be attended to
        return ids, types, mask

    def forward(self, input_ids, token_type_ids=None, attention_mask=None):
        ids, types, mask = self._inputs(input_ids, token_type_ids, attention_mask)
        x = self.embeddings(ids, types)  # (B, T) -> (B, T, H)
        for block in self.blocks:
            x = block(x, mask=mask)  # (B, T, H), mask broadcast to (B, heads, T, T)
        return x

    def attention_weights(self, input_ids, token_type_ids=None, attention_mask=None):
        """Every layer's attention probabilities, for plots: a list of ``n_layers`` NumPy arrays
        (B, n_heads, T, T), row = query, column = key, each row softmax(q k^T / sqrt(D)) over the
        keys the mask allows (0 on padding).

        Recomputed from each block's input with the identity matrix as the values, so attention's
        output is its weight table (the trick of chapter 4). Runs under ``no_grad``; dropout acts
        as the modules' mode says, so call ``eval()`` first for the weights used at inference.
        """
        ids, types, mask = self._inputs(input_ids, token_type_ids, attention_mask)
        B, T = ids.shape
        heads = self.config.n_heads
        weights = []
        with no_grad():
            x = self.embeddings(ids, types)  # (B, T, H)
            identity = Tensor(array_module(ids).eye(T, dtype=x.dtype))  # (T, T): the values
            for block in self.blocks:
                q, k, _ = block.attn.qkv(x).split(3, axis=-1)  # (B, T, 3H) -> 3 x (B, T, H)
                q, k = (a.reshape(B, T, heads, -1).permute(0, 2, 1, 3) for a in (q, k))  # (B, T, H) -> (B, heads, T, D)
                table = F.scaled_dot_product_attention(q, k, identity, mask=mask)  # (B, heads, T, T)
                weights.append(table.numpy())
                x = block(x, mask=mask)  # (B, T, H): the next block's input
        return weights

    def pooled(self, hidden):
        """BERT's pooler: tanh(W_p h_[CLS] + b_p), (B, T, H) -> (B, H). Needs ``config.pooler``."""
        if not self.config.pooler:
            raise ValueError("BertModel.pooled: this model was built with pooler=False; use cls_pool or "
                             "mean_pool, or build it with BertConfig(pooler=True)")
        return self.pooler(cls_pool(hidden)).tanh()  # (B, H) -> (B, H)

    def extra_repr(self):
        c = self.config
        return (f"vocab_size={c.vocab_size}, hidden={c.hidden}, n_layers={c.n_layers}, n_heads={c.n_heads}, "
                f"position_embedding={c.position_embedding!r}, parameters={self.num_parameters():,}")


def cls_pool(hidden):
    """The [CLS] (first) position's vector: (B, T, H) -> (B, H)."""
    return hidden[:, 0]


def mean_pool(hidden, attention_mask):
    """The mean of the real tokens' vectors (Reimers & Gurevych 2019): (B, T, H), (B, T) -> (B, H).

    v_b = sum_t m_bt h_bt / max(sum_t m_bt, 1e-9) with m = attention_mask (1 real, 0 padding);
    a row without any real token gives zeros (the clamp of sentence-transformers).
    """
    mask = on_device(_as_ids(attention_mask, "attention_mask", "mean_pool", "iub"), hidden.device,
                     "mean_pool: attention_mask")
    if mask.shape != tuple(hidden.shape[:2]):
        raise ShapeError(f"mean_pool: attention_mask of shape {mask.shape} must match hidden's (B, T) = "
                         f"{tuple(hidden.shape[:2])}")
    xp = array_module(hidden.data)
    weights = xp.asarray(mask != 0, dtype=hidden.dtype)  # (B, T) of 0.0 / 1.0
    counts = xp.maximum(weights.sum(axis=1, keepdims=True), 1e-9)  # (B, 1)
    return (hidden * weights[:, :, None]).sum(axis=1) / counts  # (B, T, H) * (B, T, 1) -> (B, H)
