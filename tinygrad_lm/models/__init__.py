"""Models assembled from ``tinygrad_lm.nn``: ``gpt.py`` holds GPTConfig and GPT (decoder-only LM)."""

from .gpt import GPT, GPTConfig

__all__ = ["GPT", "GPTConfig"]
