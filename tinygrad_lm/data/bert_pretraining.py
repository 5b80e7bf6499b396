"""BERT's pre-training data: documents -> sentences -> sentence pairs (NSP) -> masked tokens (MLM).

The pipeline (Devlin et al. 2019, section 3.1 and appendix A.1; Google's
``create_pretraining_data.py`` simplified)::

    text = pretraining_text("shakespeare")          # one sentence per line, a blank line between documents
    docs = text_documents(text)                     # [[sentence, ...], ...]
    data = PretrainingData(encode_documents(docs, tokenizer), tokenizer, max_length=128)
    batch = data.next_batch(32, rng)                # int64 (B, T) arrays + nsp_labels (B,)

Documents and sentences, by corpus (``pretraining_text`` writes each in BERT's input format):

* ``shakespeare``: one play = one document. A play starts at its title line, the line two
  above "by William Shakespeare" (the title and the byline are dropped). Lines without a
  lowercase letter (speaker names such as "FIRST CITIZEN.", ACT and SCENE headings) are
  dropped, the rest are joined with spaces and cut into sentences by ``split_sentences``.
* ``stdlib``: one standard-library module = one document; its docstrings (module, classes,
  functions, in source order) are cut into paragraphs at blank lines, then into sentences.
* a text file (``--text``): already in BERT's format, one sentence per line and a blank line
  between documents.

``split_sentences``: whitespace collapsed to single spaces, then a cut after every ".", "?"
or "!" (with any closing quotes or brackets) that is followed by whitespace.

A pair (``make_pair``): pick a document and a start sentence at random (uniform over the
sentences that have a next one), take sentences from there until they hold the token budget
(max_length - 3: [CLS] A [SEP] B [SEP]) or the document ends, and cut that run at a random
sentence boundary into A and the rest. With probability 1/2 B is the rest (nsp label 0,
"B follows A"); otherwise B is a run from a random start in another document (label 1).
The pair is cut to the budget with longest-first truncation (tokens dropped from the end of
the longer segment) and packed as [CLS] A [SEP] B [SEP], token types 0 then 1, right-padded
with [PAD] to max_length (attention mask 0 there).

Masking (``mask_tokens``): of the positions that are not special tokens, n = max(1,
floor(mask_prob * count + u)), u ~ U[0, 1), are chosen at random (BERT's count per sequence,
rounded at random so that its mean is exactly mask_prob * count; every sequence has a target); of those, 80% become [MASK], 10% a random non-special token, 10% stay
unchanged (decided per token). Labels hold the original id at chosen positions and
``IGNORE_INDEX`` (-100) elsewhere. Whole-word masking chooses words (a piece and its ``##``
continuations) in random order, skipping a word that would overshoot n.

Determinism: everything random draws from the ``numpy.random.Generator`` passed in, so a
seed gives the same batches on every run; ``heldout_set`` builds a fixed evaluation set.

Left out: BERT's random-length short sequences (10% of pairs), random front/back truncation,
sentence splitting by a trained model, duplicating the data with several masks (we mask
fresh on every draw).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Sequence

import numpy as np

from tinygrad_lm.data.corpora import CorpusError, load_corpus, stdlib_source_files
from tinygrad_lm.models import IGNORE_INDEX

IS_NEXT, NOT_NEXT = 0, 1  # NSP classes, Hugging Face's order
BYLINE = "by William Shakespeare"
_SENTENCE_END = re.compile(r"(?<=[.?!])[\"')\]]*\s+")
_LOWERCASE = re.compile("[a-z]")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: whitespace collapsed, cut after . ? ! (and closing quotes) + space."""
    flat = " ".join(text.split())
    if not flat:
        return []
    cuts = [m.end() for m in _SENTENCE_END.finditer(flat)]
    return [flat[a:b].strip() for a, b in zip([0, *cuts], [*cuts, len(flat)]) if flat[a:b].strip()]


def shakespeare_documents(text: str) -> list[list[str]]:
    """The plays of the ``shakespeare`` corpus as documents of sentences (the module's rule)."""
    lines = text.split("\n")
    starts = [i - 2 for i, line in enumerate(lines) if line.strip() == BYLINE and i >= 2]
    if not starts:
        raise CorpusError(f"shakespeare_documents: no line {BYLINE!r} found, so no play starts; "
                          "is this the shakespeare corpus?")
    documents = []
    for start, end in zip(starts, [*starts[1:], len(lines)]):
        kept = [line for line in lines[start + 3 : end] if _LOWERCASE.search(line)]
        documents.append(split_sentences(" ".join(kept)))
    return documents


def _docstrings(tree: ast.AST):
    """Docstrings of a module, its classes and functions, depth first in source order."""
    if isinstance(tree, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        doc = ast.get_docstring(tree)
        if doc:
            yield doc
    for child in ast.iter_child_nodes(tree):
        yield from _docstrings(child)


def docstring_documents(root=None) -> list[list[str]]:
    """One document per standard-library module (``corpora.stdlib_source_files`` order) holding
    its docstrings' sentences; modules that do not parse or have no docstring are skipped."""
    documents = []
    for path in stdlib_source_files(root):
        try:
            tree = ast.parse(path.read_bytes())
        except (OSError, SyntaxError, ValueError):
            continue
        sentences = [s for doc in _docstrings(tree) for paragraph in re.split(r"\n\s*\n", doc)
                     for s in split_sentences(paragraph)]
        if sentences:
            documents.append(sentences)
    return documents


def format_documents(documents: Sequence[Sequence[str]]) -> str:
    """BERT's input format: one sentence per line, a blank line between documents."""
    return "\n\n".join("\n".join(doc) for doc in documents if doc) + "\n"


def text_documents(text: str) -> list[list[str]]:
    """Parse BERT's input format back: documents split at blank lines, one sentence per line."""
    blocks = re.split(r"\n[ \t\r\f\v]*\n", text)
    documents = [[line.strip() for line in block.split("\n") if line.strip()] for block in blocks]
    return [doc for doc in documents if doc]


def pretraining_text(corpus: str | None = None, text_path: str | None = None) -> str:
    """The pre-training text of a corpus (or a file) in BERT's format (see the module docstring)."""
    if text_path:
        return format_documents(text_documents(load_corpus(None, text_path)))
    if corpus == "shakespeare":
        return format_documents(shakespeare_documents(load_corpus("shakespeare")))
    if corpus == "stdlib":
        return format_documents(docstring_documents())
    load_corpus(corpus)  # raises the corpus module's error naming the valid corpora
    raise CorpusError(f"pretraining_text: no document rule for corpus {corpus!r}; use --text PATH in BERT's format")


def split_documents(documents: list, fraction: float = 0.1, minimum: int = 2) -> tuple[list, list]:
    """(train, held-out): k = max(minimum, ceil(fraction * n)) documents spread evenly over the corpus,
    numbers floor((i + 1/2) n / k) for i < k, are held out (both lists keep the corpus order).

    Spread, not the last k: the standard library's last modules are siblings (xml.dom, xml.sax,
    xml.etree, ...), and a "random" B from a sibling reads like the true next one."""
    n_held = max(minimum, math.ceil(fraction * len(documents)))
    if len(documents) < n_held + 2:
        raise CorpusError(f"the text has {len(documents)} documents with two or more sentences; BERT "
                          f"pre-training needs at least {n_held + 2} ({n_held} held out, and two to train on, "
                          "so a random B can come from another document); separate documents by blank lines")
    held = {int((i + 0.5) * len(documents) / n_held) for i in range(n_held)}  # distinct: the spacing is >= 1
    return ([doc for i, doc in enumerate(documents) if i not in held],
            [doc for i, doc in enumerate(documents) if i in held])


def encode_documents(documents, tokenizer) -> list[list[np.ndarray]]:
    """Token ids of every sentence; empty sentences and documents left with < 2 sentences dropped."""
    encoded = [[ids for ids in (tokenizer.encode(s) for s in doc) if len(ids)] for doc in documents]
    return [doc for doc in encoded if len(doc) >= 2]


def truncate_pair(a: list[int], b: list[int], budget: int) -> tuple[list[int], list[int]]:
    """Longest-first: drop the last token of the longer segment (B on a tie) until both fit ``budget``."""
    n_a, n_b = len(a), len(b)
    while n_a + n_b > budget:
        if n_a > n_b:
            n_a -= 1
        else:
            n_b -= 1
    return a[:n_a], b[:n_b]


class PretrainingData:
    """NSP pairs and MLM masks over encoded documents (lists of sentence id arrays).

    ``tokenizer`` supplies the special ids and the vocabulary (for ``##`` continuations);
    ``max_length`` counts [CLS] and both [SEP]s. Every random choice uses the ``rng`` passed in.
    """

    def __init__(self, documents, tokenizer, max_length: int, mask_prob: float = 0.15,
                 whole_word_mask: bool = False):
        if max_length < 5:
            raise ValueError(f"PretrainingData: max_length={max_length} leaves no room for two segments; use >= 5")
        if len(documents) < 2:
            raise ValueError(f"PretrainingData: {len(documents)} documents; a random B needs at least 2")
        self.documents, self.max_length = documents, max_length
        self.mask_prob, self.whole_word_mask = mask_prob, whole_word_mask
        self.pad_id, self.cls_id, self.sep_id, self.mask_id = (tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id,
                                                               tokenizer.mask_id)
        vocab = tokenizer.vocabulary
        self.special = np.zeros(len(vocab), dtype=bool)  # (V,) True for the five special tokens
        self.special[[tokenizer.pad_id, tokenizer.unk_id, tokenizer.cls_id, tokenizer.sep_id, tokenizer.mask_id]] = True
        self.ordinary_ids = np.flatnonzero(~self.special)  # what a random replacement draws from
        self.continuation = np.array([token.startswith("##") for token in vocab])  # (V,)
        # a start sentence (document, index) with a sentence after it, drawn uniformly
        self.starts = [(d, i) for d, doc in enumerate(documents) for i in range(len(doc) - 1)]

    def _run(self, document, start, budget):
        """Sentences from ``start`` until ``budget`` tokens are reached or the document ends."""
        run, total = [], 0
        for sentence in self.documents[document][start:]:
            run.append(sentence)
            total += len(sentence)
            if total >= budget:
                break
        return run

    def make_pair(self, rng) -> tuple[np.ndarray, np.ndarray, int, int]:
        """(ids (T,), token types (T,), nsp label, source document of B) before padding and masking."""
        budget = self.max_length - 3
        document, start = self.starts[rng.integers(len(self.starts))]
        run = self._run(document, start, budget)
        if len(run) == 1:  # one sentence fills the budget: still keep its successor as the true B
            run.append(self.documents[document][start + 1])
        cut = int(rng.integers(1, len(run)))  # A = run[:cut]
        a = [int(t) for s in run[:cut] for t in s]
        label = IS_NEXT if rng.random() < 0.5 else NOT_NEXT
        if label == IS_NEXT:
            source, b_run = document, run[cut:]
        else:
            source = int(rng.integers(len(self.documents) - 1))
            source += source >= document  # any document but this one
            b_run = self._run(source, int(rng.integers(len(self.documents[source]))), budget - len(a))
        b = [int(t) for s in b_run for t in s]
        a, b = truncate_pair(a, b, budget)
        ids = np.array([self.cls_id, *a, self.sep_id, *b, self.sep_id], dtype=np.int64)
        types = np.array([0] * (len(a) + 2) + [1] * (len(b) + 1), dtype=np.int64)
        return ids, types, label, source

    def _chosen(self, ids, candidates, rng):
        """Positions to predict: n tokens, or whole words of at most n tokens in total."""
        n = max(1, int(self.mask_prob * len(candidates) + rng.random()))  # rounded at random: mean p * count
        if not self.whole_word_mask:
            return np.sort(rng.permutation(candidates)[:n])
        words = []  # lists of positions: a piece and the ## pieces right after it
        for position in candidates:
            if words and self.continuation[ids[position]] and words[-1][-1] == position - 1:
                words[-1].append(position)
            else:
                words.append([position])
        chosen = []
        for index in rng.permutation(len(words)):
            if len(chosen) + len(words[index]) <= n:
                chosen += words[index]
        if not chosen:  # every word is longer than n: take the shortest one whole
            chosen = min(words, key=len)
        return np.sort(np.array(chosen, dtype=np.int64))

    def mask_tokens(self, ids: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
        """(masked ids, labels), both int64 like ``ids`` (T,); the module docstring's recipe."""
        candidates = np.flatnonzero(~self.special[ids])
        labels = np.full(ids.shape, IGNORE_INDEX, dtype=np.int64)
        masked = ids.copy()
        if not len(candidates):
            return masked, labels
        chosen = self._chosen(ids, candidates, rng)
        labels[chosen] = ids[chosen]
        action = rng.random(len(chosen))  # < 0.8: [MASK]; < 0.9: a random token; else unchanged
        masked[chosen[action < 0.8]] = self.mask_id
        swap = chosen[(action >= 0.8) & (action < 0.9)]
        masked[swap] = rng.choice(self.ordinary_ids, size=len(swap))
        return masked, labels

    def next_batch(self, batch_size: int, rng) -> dict[str, np.ndarray]:
        """``batch_size`` fresh pairs: int64 input_ids, token_type_ids, attention_mask, mlm_labels
        (B, T) with T = max_length, and nsp_labels (B,)."""
        T = self.max_length
        batch = {name: np.zeros((batch_size, T), dtype=np.int64)
                 for name in ("input_ids", "token_type_ids", "attention_mask")}
        batch["input_ids"][:] = self.pad_id
        batch["mlm_labels"] = np.full((batch_size, T), IGNORE_INDEX, dtype=np.int64)
        batch["nsp_labels"] = np.zeros(batch_size, dtype=np.int64)
        for row in range(batch_size):
            ids, types, label, _ = self.make_pair(rng)
            masked, labels = self.mask_tokens(ids, rng)
            n = len(ids)
            batch["input_ids"][row, :n], batch["token_type_ids"][row, :n] = masked, types
            batch["attention_mask"][row, :n], batch["mlm_labels"][row, :n] = 1, labels
            batch["nsp_labels"][row] = label
        return batch

    def heldout_set(self, n_pairs: int, batch_size: int, seed) -> list[dict[str, np.ndarray]]:
        """A fixed evaluation set: ``n_pairs`` pairs (masks included) in batches, from ``seed``."""
        rng = np.random.default_rng(seed)
        sizes = [batch_size] * (n_pairs // batch_size) + ([n_pairs % batch_size] if n_pairs % batch_size else [])
        return [self.next_batch(size, rng) for size in sizes]
