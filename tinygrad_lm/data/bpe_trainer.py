"""Training a byte-level BPE vocabulary on a corpus: `train_bpe(texts, vocab_size)`.

The algorithm of Sennrich et al. (2016) over bytes, as GPT-2 was trained:

1. Special tokens (default ``<|endoftext|>``) are cut out of the texts, which are then split
   into words by GPT-2's regex (bpe_pretokenize.py) and the words counted. Merges never
   cross a word boundary.
2. Each distinct word becomes a list of byte ids. The base vocabulary is all 256 bytes,
   ids 0..255 in the order of their byte-characters' code points (GPT-2's order: "!" is 0).
3. Repeat until the vocabulary has ``vocab_size`` tokens (special tokens included) or no pair
   is seen `min_frequency` times: take the most frequent adjacent pair (a, b), replace it in
   every word by a new token a+b (a string already in the vocabulary keeps its id), and
   record the merge.

Tie-breaking: among pairs of equal count, the one with the smallest (id of a, id of b) wins,
with ids as above (bytes by code point, then merged tokens in the order they were made).
That is Hugging Face's ``BpeTrainer`` rule too: its ids are ours shifted by the number of
special tokens (it puts them first; GPT-2's layout, used here, puts them last).

Counting agrees with merging. A merge replaces occurrences left to right without overlap, so
"aaa" gets one merge of (a, a) ("aa" "a") and "aaaa" two; the count of (a, a) in a run of r
equal symbols is therefore r // 2, not r - 1. (Hugging Face counts r - 1, every adjacent
pair; ``overlapping_pairs=True`` counts that way, which the parity test uses.)

Cost: the counts are kept up to date instead of recounted. `where` maps each pair to the
words holding it; a merge recounts only those words (subtract their pairs, merge, add them
back), and the pairs whose counts changed are pushed on a heap of (-count, a, b). A popped
entry whose count is no longer current is dropped (a fresher one was pushed when it changed);
the heap is rebuilt when dead entries outnumber live pairs. Measured in bpe_speed.py.

Left out: the tokenizer (bpe.py), Hugging Face's ``limit_alphabet``, ``max_token_length``
and ``continuing_subword_prefix`` options.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from tinygrad_lm.data.bpe import ENDOFTEXT, BPETokenizer
from tinygrad_lm.data.bpe_pretokenize import BYTE_TO_CHAR, gpt2_pattern
from tinygrad_lm.data.tokenizers import TokenizerError

Pair = tuple[int, int]
HEAP_SLACK = 50_000  # the heap is rebuilt when it holds more than 2 * pairs + HEAP_SLACK entries


def word_pairs(units: Sequence[int], overlapping: bool = False) -> list[Pair]:
    """The adjacent pairs a left-to-right merge would find: in a run of equal units every
    second (a, a) is skipped, as merging takes them without overlap ("aaaa": 2, "aaa": 1).
    With `overlapping`, every adjacent pair (Hugging Face's count: "aaaa": 3)."""
    pairs, taken = [], False  # taken: the pair ending at units[i] was counted
    for i in range(len(units) - 1):
        if not overlapping and taken and units[i - 1] == units[i] == units[i + 1]:
            taken = False
            continue
        pairs.append((units[i], units[i + 1]))
        taken = True
    return pairs


def merge_units(units: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace each occurrence of `pair` in `units`, left to right without overlap, by `new_id`."""
    a, b = pair
    out, i = [], 0
    while i < len(units):
        if i + 1 < len(units) and units[i] == a and units[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(units[i])
            i += 1
    return out


def count_words(texts: Iterable[str], special_tokens: Sequence[str] = ()) -> Counter[str]:
    """How often each GPT-2 word occurs in `texts`, special tokens cut out first."""
    if isinstance(texts, str):
        texts = [texts]
    splitter = re.compile("|".join(map(re.escape, sorted(special_tokens, key=len, reverse=True)))) \
        if special_tokens else None  # fmt: skip
    pattern, counts = gpt2_pattern(), Counter()
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"train_bpe: texts[{index}] is a {type(text).__name__}, not a str")
        for part in splitter.split(text) if splitter else (text,):
            counts.update(pattern.findall(part))
    return counts


class _PairCounts:
    """Words as lists of token ids with their counts, and the live count of every pair."""

    def __init__(self, word_counts: Counter[str], byte_ids: dict[int, int], overlapping: bool):
        self.overlapping = overlapping
        self.words, self.counts = [], []
        for word, count in sorted(word_counts.items()):
            try:
                data = word.encode("utf-8")
            except UnicodeEncodeError:
                raise TokenizerError(f"train_bpe: the word {word!r} holds a lone surrogate, which has no UTF-8 "
                                 "bytes; was the text decoded with errors='surrogateescape'?") from None
            self.words.append([byte_ids[b] for b in data])
            self.counts.append(count)
        self.pair_count: Counter[Pair] = Counter()
        self.where: defaultdict[Pair, set[int]] = defaultdict(set)  # a superset: stale members are harmless
        for index in range(len(self.words)):
            self._add(index, +1, set())

    def _add(self, index: int, sign: int, changed: set[Pair]) -> None:
        count = self.counts[index] * sign
        for pair in word_pairs(self.words[index], self.overlapping):
            self.pair_count[pair] += count
            changed.add(pair)
            if sign > 0:
                self.where[pair].add(index)

    def merge(self, pair: Pair, new_id: int) -> set[Pair]:
        """Merge `pair` into `new_id` in every word holding it; returns the pairs whose counts changed."""
        changed: set[Pair] = set()
        for index in sorted(self.where.pop(pair, ())):
            self._add(index, -1, changed)
            self.words[index] = merge_units(self.words[index], pair, new_id)
            self._add(index, +1, changed)
        for gone in [p for p in changed if self.pair_count[p] <= 0]:
            del self.pair_count[gone]
            self.where.pop(gone, None)
        return changed

    def heap(self, min_frequency: int) -> list[tuple[int, int, int]]:
        entries = [(-count, *pair) for pair, count in self.pair_count.items() if count >= min_frequency]
        heapq.heapify(entries)
        return entries


def train_bpe(texts: Iterable[str], vocab_size: int, special_tokens: Sequence[str] = (ENDOFTEXT,),
              min_frequency: int = 2, overlapping_pairs: bool = False) -> BPETokenizer:  # fmt: skip
    """A `BPETokenizer` learned from `texts` (an iterable of str; one str counts as one text).

    The vocabulary holds the 256 bytes, the merged tokens in the order they were made, then
    `special_tokens`: `vocab_size` tokens in all, unless the corpus runs out of pairs seen
    `min_frequency` times first. See the module docstring for the rules. Bad arguments or
    texts raise `TokenizerError` (a ValueError), one line naming the problem.
    """
    special_tokens = tuple(special_tokens)
    if len(set(special_tokens)) != len(special_tokens) or not all(isinstance(s, str) and s for s in special_tokens):
        raise TokenizerError(f"train_bpe: special_tokens must be distinct non-empty strings, got {special_tokens!r}")
    smallest = 256 + len(special_tokens)
    if not isinstance(vocab_size, int) or vocab_size < smallest:
        raise TokenizerError(f"train_bpe: vocab_size must be an int >= {smallest} (256 bytes + "
                         f"{len(special_tokens)} special tokens), got {vocab_size!r}")
    if not isinstance(min_frequency, int) or min_frequency < 1:
        raise TokenizerError(f"train_bpe: min_frequency must be an int >= 1, got {min_frequency!r}")
    word_counts = count_words(texts, special_tokens)
    if not word_counts:
        raise TokenizerError("train_bpe: the texts are empty (or hold only special tokens); there is nothing to learn")
    vocabulary = sorted(BYTE_TO_CHAR.values())  # 256 byte-characters, GPT-2's order
    ids = {token: index for index, token in enumerate(vocabulary)}
    byte_ids = {byte: ids[char] for byte, char in BYTE_TO_CHAR.items()}
    state = _PairCounts(word_counts, byte_ids, overlapping_pairs)
    heap, merges = state.heap(min_frequency), []
    while len(vocabulary) < vocab_size - len(special_tokens) and heap:
        negative_count, a, b = heapq.heappop(heap)
        if state.pair_count.get((a, b), 0) != -negative_count:
            continue  # stale: a fresher entry was pushed when its count changed
        token = vocabulary[a] + vocabulary[b]
        if token not in ids:
            ids[token] = len(vocabulary)
            vocabulary.append(token)
        merges.append((vocabulary[a], vocabulary[b]))
        for pair in state.merge((a, b), ids[token]):
            if state.pair_count.get(pair, 0) >= min_frequency:
                heapq.heappush(heap, (-state.pair_count[pair], *pair))
        if len(heap) > 2 * len(state.pair_count) + HEAP_SLACK:
            heap = state.heap(min_frequency)
    clash = [s for s in special_tokens if s in ids]
    if clash:
        raise TokenizerError(f"train_bpe: special token {clash[0]!r} is also a learned token (the text spells it); "
                         "pick a special token such as <|pad|> that one GPT-2 word cannot spell")
    return BPETokenizer([*vocabulary, *special_tokens], merges, special_tokens, source="trained BPE vocabulary")
