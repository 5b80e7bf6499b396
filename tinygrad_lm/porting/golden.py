"""``make_bundle(what, config_name)``: the one entry point behind ``tinygrad-lm golden``.

Each ``what`` has a generator and a default config:

    gpt         tiny (committed in tests/golden), shakespeare-char (on demand)      gpt_golden.py
    bert        bert-tiny (on demand), all-MiniLM-L6-v2 (downloads; on demand)      bert_golden.py
    ops         float64, float32: every op of the registry (committed)               ops_golden.py
    tokenizers  char-byte, wordpiece (a small vocabulary trained here; committed),
                wordpiece-minilm (MiniLM's vocab.txt; downloads; on demand),
                bpe (a small byte-level BPE trained here; committed),
                bpe-gpt2 (GPT-2's files; downloads; on demand)                      small_golden.py
    optim       quadratic: SGD (momentum), Adam, AdamW for 10 steps (committed)      small_golden.py
    seq2seq     tiny: 2+2 post-LN layers, padded batch, 3 AdamW steps (committed)    seq2seq_golden.py

Left out: choosing batch sizes or seeds from the command line (a bundle is a fixed reference).
"""

from .bert_golden import BERT_CONFIGS, make_bert_bundle
from .bundle import PortingError
from .gpt_golden import BATCHES, make_gpt_bundle
from .ops_golden import OPS_CONFIGS, make_ops_bundle
from .seq2seq_golden import SEQ2SEQ_CONFIGS, make_seq2seq_bundle
from .small_golden import (
    OPTIM_CONFIGS,
    TOKENIZER_CONFIGS,
    make_optim_bundle,
    make_tokenizers_bundle,
)

GENERATORS = {
    "gpt": (make_gpt_bundle, tuple(BATCHES)),
    "bert": (make_bert_bundle, BERT_CONFIGS),
    "ops": (make_ops_bundle, OPS_CONFIGS),
    "tokenizers": (make_tokenizers_bundle, TOKENIZER_CONFIGS),
    "optim": (make_optim_bundle, OPTIM_CONFIGS),
    "seq2seq": (make_seq2seq_bundle, SEQ2SEQ_CONFIGS),
}


def configs(what):
    """The config names ``what`` accepts, the default first."""
    if what not in GENERATORS:
        raise PortingError(f"golden: unknown --what {what!r}; choose one of {', '.join(GENERATORS)}")
    return GENERATORS[what][1]


def make_bundle(what, config_name=None):
    """The ``BundleWriter`` of ``what`` in ``config_name`` (default: the first of ``configs(what)``)."""
    names = configs(what)
    name = names[0] if config_name is None else config_name
    if name not in names:
        raise PortingError(f"golden --what {what}: unknown --config {name!r}; choose one of {', '.join(names)}")
    return GENERATORS[what][0](name)
