"""Exercises for chapter 10 (BERT and WordPiece). Edit this file; check it with

    pytest tutorials/exercises -k ch10

Reference solutions: tutorials/solutions/ch10.py (look after you have tried).
Add the imports your answers need at the top; the solutions use

    import numpy as np
    import tinygrad_lm.functional as F
    from tinygrad_lm.models import IGNORE_INDEX

1. `wordpiece_word`: greedy longest-match-first WordPiece of one word, as
   `WordPieceTokenizer` splits it.
2. `mask_tokens`: BERT's masking recipe: 15% of the ordinary tokens chosen, of those 80%
   [MASK], 10% a random token, 10% unchanged; labels -100 everywhere else.
3. `post_ln_block`: a post-LN encoder block (BERT's layout) from the library's functional
   ops, equal to `TransformerBlock(norm_first=False)` in value and gradient.
"""


def wordpiece_word(word, vocab, unk="[UNK]", max_chars=100):
    """The WordPiece tokens of one word (a str already cut by the basic tokenizer): list[str].

    `vocab` is a set of str. Greedy longest-match-first: take the longest prefix of the word
    that is in `vocab`; then, from where it ended, the longest piece p of the rest with
    "##" + p in `vocab` (a continuation); and so on to the end of the word. If at some point no
    piece matches (not even one character), the whole word is `[unk]` (one token, whatever was
    matched before is dropped). A word longer than `max_chars` characters is `[unk]` at once.
    Greedy never backs up to try a shorter piece: with vocab {"ab", "a", "##bc"}, "abc" is
    `[unk]` although "a ##bc" would spell it. Must equal `WordPieceTokenizer.tokenize(word)`
    for every word that the basic tokenizer leaves whole.
    """
    raise NotImplementedError("exercise ch10.wordpiece_word")


def mask_tokens(ids, special_mask, vocab_size, mask_id, rng, p=0.15):
    """BERT's masked-LM inputs and labels: (inputs, labels), int64 NumPy arrays of ids' shape.

    ids: int NumPy array, any shape (T,) or (B, T). special_mask: bool, ids' shape, True at
    positions never to be predicted ([CLS], [SEP], [PAD]). rng: a `numpy.random.Generator`,
    the only source of randomness (a seed gives the same result every time).

    * each position that is not special is chosen independently with probability p;
    * of the chosen, each independently: 80% -> `mask_id`, 10% -> a random id drawn uniformly
      from [0, vocab_size), 10% -> left unchanged;
    * labels: the original id at the chosen positions, `IGNORE_INDEX` (-100) everywhere else;
    * inputs: ids with those replacements; `ids` itself is left untouched (work on a copy).
    (The library's `PretrainingData.mask_tokens` chooses round(p * count) positions instead
    of a coin per position: the same mean.)
    """
    raise NotImplementedError("exercise ch10.mask_tokens")


def post_ln_block(x, block, mask=None):
    """BERT's encoder block, x (B, T, C) -> (B, T, C), from `F.linear`, `F.scaled_dot_product_attention`,
    `F.layer_norm` and `F.gelu` with the parameters of `block`, a `TransformerBlock(norm_first=False)`:

        qkv = linear(x, attn.qkv)                      (B, T, C) -> (B, T, 3C), [q | k | v]
        q, k, v split into H = attn.n_heads heads      (B, T, C) -> (B, H, T, D), D = C / H
        a   = attention(q, k, v, mask)                 both directions: NOT causal
        x   = LN1(x + linear(merge_heads(a), attn.proj))          (B, H, T, D) -> (B, T, C)
        x   = LN2(x + linear(gelu(linear(x, mlp.fc)), mlp.proj))  exact GELU (erf)

    Post-LN: each LayerNorm comes AFTER its residual add (GPT-2's pre-LN normalises the
    branch's input instead). LN uses the block's weight, bias and eps (`block.ln1.eps`).
    `mask`: boolean, broadcastable to (B, H, T, T), True = may attend (BERT's padding mask is
    (B, 1, 1, T)), or None. No dropout (the block is in eval mode). Must equal
    `block(x, mask=mask)` in value and in the gradients of x and of every parameter.
    """
    raise NotImplementedError("exercise ch10.post_ln_block")
