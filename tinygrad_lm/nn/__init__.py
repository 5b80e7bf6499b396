"""Neural-network layers as Modules that own their Parameters.

    module.py       Parameter, Module (the walk, state dicts, train/eval), ModuleList, Sequential,
                    functional_call (run a module with some weights swapped, for gradcheck)
    layers.py       Linear, Embedding, LayerNorm, Dropout
    attention.py    MultiHeadAttention (self and cross), KVCache / LayerCache
    transformer.py  MLP, TransformerBlock (pre-LN or post-LN, optional cross-attention)
    positional.py   sinusoidal_positions, SinusoidalPositions (fixed position vectors)
    freezing.py     freeze / unfreeze parameters by name pattern, trainable_named_parameters

Every layer is built from ``tinygrad_lm``'s primitives and ``tinygrad_lm.functional``.
"""

from .attention import KVCache, LayerCache, MultiHeadAttention
from .freezing import freeze, trainable_named_parameters, unfreeze
from .layers import Dropout, Embedding, LayerNorm, Linear
from .module import (
    Module,
    ModuleList,
    Parameter,
    Sequential,
    StateDictError,
    functional_call,
)
from .positional import SinusoidalPositions, sinusoidal_positions
from .transformer import MLP, TransformerBlock

__all__ = [
    "MLP", "Dropout", "Embedding", "KVCache", "LayerCache", "LayerNorm", "Linear", "Module",
    "ModuleList", "MultiHeadAttention", "Parameter", "Sequential", "SinusoidalPositions", "StateDictError",
    "TransformerBlock", "freeze", "functional_call", "sinusoidal_positions", "trainable_named_parameters",
    "unfreeze",
]
