"""Checks of chapter 10's exercises (the `answers` fixture: see conftest.py)."""

import argparse
import collections
import inspect
import json
import pickle
import random
import re
import subprocess
import textwrap
import typing
import unittest

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.data import WordPieceTokenizer, basic_tokenize, train_wordpiece
from tinygrad_lm.models import IGNORE_INDEX, BertConfig, BertModel
from tinygrad_lm.nn import TransformerBlock
from tinygrad_lm.testing import check_close

rng = np.random.default_rng(10)


# --- 1. WordPiece ------------------------------------------------------------------------------
def _docstring_lines(*modules):
    return [line for module in modules for line in inspect.getdoc(module).splitlines()]


@pytest.fixture(scope="module")
def tokenizer():
    """A WordPiece vocabulary learned from a few hundred lines of standard-library docstrings."""
    return train_wordpiece(_docstring_lines(argparse, collections, json, re, textwrap), vocab_size=400)


def test_wordpiece_word_matches_the_library_on_many_words(answers, tokenizer):
    unseen = sorted({w for line in _docstring_lines(pickle, random, subprocess, typing, unittest) for w in basic_tokenize(line)})
    words = unseen + ["unaffable", "tokenization", "x" * 100, "snow\u2603man", "\u2603", "a"]
    vocab = set(tokenizer.vocabulary)
    for word in words:
        assert basic_tokenize(word) == [word], word  # the tokenizer sees this word whole
        assert answers.wordpiece_word(word, vocab) == tokenizer.tokenize(word), word
    pieces = [len(tokenizer.tokenize(w)) for w in words]
    assert len(words) > 300 and max(pieces) >= 4  # many words, some spelled in several pieces
    assert sum(tokenizer.tokenize(w) == ["[UNK]"] for w in words) >= 2  # and some unknown


def test_wordpiece_word_turns_a_long_word_into_unk(answers, tokenizer):
    vocab = set(tokenizer.vocabulary)
    assert answers.wordpiece_word("x" * 101, vocab) == tokenizer.tokenize("x" * 101) == ["[UNK]"]
    short = WordPieceTokenizer(tokenizer.vocabulary, max_input_chars_per_word=5)
    for word in ["parse", "parser", "json", "expression"]:
        assert answers.wordpiece_word(word, vocab, max_chars=5) == short.tokenize(word), word


def test_wordpiece_word_is_greedy_and_never_backs_up(answers):
    vocab = {"a", "ab", "##bcd", "##c", "##d", "##bc"}
    assert answers.wordpiece_word("abcd", vocab) == ["ab", "##c", "##d"]  # not the shorter a ##bcd
    assert answers.wordpiece_word("abc", {"a", "ab", "##bc"}, unk="<unk>") == ["<unk>"]  # a ##bc exists
    assert answers.wordpiece_word("ab", vocab) == ["ab"]
    assert answers.wordpiece_word("ba", vocab, unk="?") == ["?"]  # "b" starts no word


# --- 2. The masking recipe ---------------------------------------------------------------------
V, MASK_ID = 1000, 4  # ids 0-4 are the special tokens, 5..V-1 ordinary ones


def _batch(rows, T, seed):
    """Ordinary ids (rows, T) with [CLS] first, [SEP] last and a random length of [PAD] before it."""
    draw = np.random.default_rng(seed)
    ids = draw.integers(5, V, (rows, T))
    ids[:, 0], ids[:, -1] = 2, 3
    for row, n_pad in enumerate(draw.integers(0, T // 2, rows)):
        ids[row, T - 1 - n_pad:T - 1] = 0
    return ids, ids < 5


def test_mask_tokens_never_touches_special_positions(answers):
    ids, special = _batch(200, 32, seed=1)
    before = ids.copy()
    inputs, labels = answers.mask_tokens(ids, special, V, MASK_ID, np.random.default_rng(0), p=0.5)
    assert inputs.shape == labels.shape == ids.shape and inputs.dtype == labels.dtype == np.int64
    np.testing.assert_array_equal(ids, before, err_msg="mask_tokens changed ids in place")
    chosen = labels != IGNORE_INDEX
    assert not (chosen & special).any(), "a special position was chosen"
    np.testing.assert_array_equal(inputs[special], ids[special])
    np.testing.assert_array_equal(labels[chosen], ids[chosen], err_msg="a label is not the original id")
    np.testing.assert_array_equal(inputs[~chosen], ids[~chosen], err_msg="an unchosen position changed")
    assert chosen.any() and ((inputs == MASK_ID) <= chosen).all()


def test_mask_tokens_follows_the_15_and_80_10_10_recipe(answers):
    ids, special = _batch(4000, 40, seed=2)  # about 110,000 ordinary positions
    inputs, labels = answers.mask_tokens(ids, special, V, MASK_ID, np.random.default_rng(1))
    chosen = labels != IGNORE_INDEX
    fraction = chosen.sum() / (~special).sum()
    assert abs(fraction - 0.15) < 0.005, f"chose {fraction:.4f} of the ordinary tokens, expected 0.15"
    masked = chosen & (inputs == MASK_ID)
    same = chosen & (inputs == ids)
    swapped = chosen & ~masked & ~same
    shares = [kind.sum() / chosen.sum() for kind in (masked, swapped, same)]
    assert np.allclose(shares, [0.8, 0.1, 0.1], atol=0.015), f"[MASK] / random / unchanged = {shares}"
    replacements = inputs[swapped]
    assert replacements.min() >= 0 and replacements.max() < V
    assert abs(replacements.mean() - (V - 1) / 2) < 0.05 * V, "random ids are not uniform over the vocabulary"
    assert len(np.unique(replacements)) > 0.7 * V, "random ids should spread over the whole vocabulary"


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_mask_tokens_chooses_with_probability_p(answers, p):
    ids, special = _batch(500, 40, seed=3)
    _, labels = answers.mask_tokens(ids, special, V, MASK_ID, np.random.default_rng(2), p=p)
    fraction = (labels != IGNORE_INDEX).sum() / (~special).sum()
    assert abs(fraction - p) < 0.01, f"p={p}: chose {fraction:.4f}"


def test_mask_tokens_draws_only_from_the_generator(answers):
    ids, special = _batch(50, 16, seed=4)
    first, again, other = (answers.mask_tokens(ids, special, V, MASK_ID, np.random.default_rng(seed))
                           for seed in (7, 7, 8))
    for mine, same in zip(first, again):
        np.testing.assert_array_equal(mine, same, err_msg="the same seed gave different masks")
    assert not np.array_equal(first[1], other[1]), "different seeds gave the same mask"


# --- 3. The post-LN block ----------------------------------------------------------------------
def _run(function, x_np, parameters, g):
    """(value, dx, gradients of `parameters`) of function(x) against the output gradient g."""
    for p in parameters:
        p.grad = None
    x = tg.tensor(x_np, requires_grad=True)
    out = function(x)
    out.backward(g)
    return [out.numpy(), x.grad, *(p.grad.copy() for p in parameters)]


@pytest.mark.parametrize("with_mask", [False, True])
def test_post_ln_block_matches_the_library(answers, with_mask):
    B, T, C, heads = 3, 6, 16, 4
    block = TransformerBlock(C, heads, norm_first=False, mlp_hidden=24, eps=1e-12, rng=3, dtype="float64")
    for name, p in block.named_parameters():  # LayerNorms and biases away from 1 and 0
        if "ln" in name or name.endswith("bias"):
            p.data[...] = rng.normal(0.5, 0.5, p.shape)
    mask = None
    if with_mask:  # BERT's padding mask over the keys: the last positions of rows 1 and 2 are [PAD]
        lengths = np.array([T, T - 2, 1])
        mask = (np.arange(T)[None, :] < lengths[:, None])[:, None, None, :]  # (B, 1, 1, T)
    x, g = rng.standard_normal((B, T, C)) * 2, rng.standard_normal((B, T, C))
    names, parameters = zip(*block.named_parameters())
    mine = _run(lambda t: answers.post_ln_block(t, block, mask=mask), x, parameters, g)
    library = _run(lambda t: block(t, mask=mask), x, parameters, g)
    for name, a, b in zip(["value", "dx", *names], mine, library):
        check_close(a, b, name=name, scale=np.abs(b).max())


def test_post_ln_block_stacked_is_a_bert(answers):
    config = BertConfig(vocab_size=40, hidden=12, n_layers=2, n_heads=3, intermediate=20, max_position=8,
                        dropout=0.0, attention_dropout=0.0, pooler=False, seed=5)
    model = BertModel(config, dtype="float64").eval()
    ids = rng.integers(5, 40, (2, 8))
    attention_mask = np.array([[1] * 8, [1] * 5 + [0] * 3])
    x = model.embeddings(ids, np.zeros_like(ids))  # (B, T, H)
    for block in model.blocks:
        x = answers.post_ln_block(x, block, mask=attention_mask.astype(bool)[:, None, None, :])
    check_close(x, model(ids, attention_mask=attention_mask).numpy(), name="BERT's sequence output")
