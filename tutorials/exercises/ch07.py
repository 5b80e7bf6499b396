"""Exercises for chapter 7 (pre-training a GPT). Edit this file; check it with

    pytest tutorials/exercises -k ch07

Reference solutions: tutorials/solutions/ch07.py (look after you have tried).
Add the imports your answers need at the top; the solutions use

    import numpy as np

1. `char_encode`: a character tokenizer in two lines: vocabulary and ids.
2. `sample_batch`: random training windows and their next-token targets.
3. `gpt_parameter_count`: the parameter count of any GPT configuration, by formula.
"""


def char_encode(text):
    """(ids, vocabulary) of a character-level tokenizer built from `text` itself.

    vocabulary: the sorted list of the distinct characters of `text` (token id i stands for
    vocabulary[i]); ids: an int64 NumPy array (len(text),) with each character's id.
    """
    raise NotImplementedError("exercise ch07.char_encode")


def sample_batch(ids, block_size, batch_size, rng):
    """A batch (x, y) of `batch_size` random windows of `block_size` tokens, int64 (B, T) each.

    Draw the starts with exactly `rng.integers(0, len(ids) - block_size, size=batch_size)`
    (one call, so the same generator state gives the same batch as
    `tinygrad_lm.data.BatchSampler`). Row b of x is ids[start_b : start_b + T]; y is the same
    window shifted one token on, ids[start_b + 1 : start_b + T + 1]: the token each position
    must predict. Build both with one fancy-indexing step each (starts (B, 1) + offsets (1, T)).
    """
    raise NotImplementedError("exercise ch07.sample_batch")


def gpt_parameter_count(config):
    """How many parameters `tinygrad_lm.models.GPT(config)` has, from the config's numbers alone.

    V = config.vocab_size, T = config.block_size, C = config.n_embd, L = config.n_layer.
    Count: the token embedding (V, C); the position embedding (T, C); L blocks (chapter 5:
    12 C^2 + 13 C each with biases; without biases (config.bias False) the Linears have no
    bias and the LayerNorms only their weight); the final LayerNorm; and the output head,
    which is tied to the token embedding (shares its matrix, so adds nothing).
    Check: GPT-2 small (the GPTConfig() defaults) has 124,439,808.
    """
    raise NotImplementedError("exercise ch07.gpt_parameter_count")
