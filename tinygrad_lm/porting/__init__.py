"""The porting kit: golden bundles any language can read, and a checker that fails on mismatch.

    from tinygrad_lm.porting import make_bundle, check_port
    make_bundle("gpt", "tiny").write("golden/gpt-tiny")        # tinygrad-lm golden --what gpt
    report = check_port("golden/gpt-tiny", "my_port_output")    # tinygrad-lm check-port

    bundle.py        the format: manifest.json + safetensors, tolerances, reading and writing
    gpt_golden.py    GPT: ids, parameters, every activation, loss, gradients, 3 AdamW steps
    ops_golden.py    every op of the registry: inputs, outputs, upstream and input gradients
    small_golden.py  tokenizer cases (char, byte, WordPiece) and optimizer trajectories
    bert_golden.py   BERT: a padded batch of sentence pairs, activations, MLM + NSP losses, gradients
    golden.py        make_bundle(what, config): the dispatcher behind tinygrad-lm golden
    check.py         compare a port's tensors with a bundle, in the order they are computed

Left out: BPE cases (there is no BPE tokenizer yet), encoder-decoder models.
"""

from .bundle import (
           FORMAT,
           BundleWriter,
           PortingError,
           read_bundle,
           read_manifest,
           read_tensors,
)
from .check import check_port, format_report
from .golden import configs, make_bundle
from .gpt_golden import make_gpt_bundle

__all__ = ["FORMAT", "BundleWriter", "PortingError", "check_port", "configs", "format_report", "make_bundle",
           "make_gpt_bundle", "read_bundle", "read_manifest", "read_tensors"]
