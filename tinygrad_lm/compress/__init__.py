"""Model compression: quantization, pruning and knowledge distillation, each measured.

    quantize.py   symmetric int8 weights (per output channel or per group of 64) or float16;
                  QuantizedLinear / QuantizedEmbedding dequantize on the fly; checkpoint arrays
    int8_gemm.py  an int8 x int8 -> int32 Numba GEMM with dynamic per-row activation quantization
    prune.py      magnitude masks (global or per layer) kept through training, iterative
                  prune + fine-tune, structured pruning of attention heads and MLP neurons
    distill.py    the distillation loss (soft targets at temperature T + hard labels), student
                  initialisation from a teacher's layers, a distillation loop
    distill_classifier.py  a classifier student from stored teacher logits and sentence vectors
    transfer.py   extra unlabelled in-domain text for distillation, with held-out texts kept out
    classifier_study.py    the MiniLM teacher -> 2-layer students, distilled or not, over seeds
    files.py      quantize a run's checkpoint into a new run directory (``tinygrad-lm quantize``)
    loop.py       a GPT run's data, a short AdamW loop with hooks, saving a compressed run
    study.py      the measured study of a trained GPT run (size, speed, quality of each technique)

Left out: quantization-aware training, sparse kernels (unstructured zeros are stored and
multiplied like any weight), low-rank factorisation.
"""

from .quantize import (
    SCHEMES,
    QuantizationError,
    QuantizedEmbedding,
    QuantizedLinear,
    load_quantized_state,
    quantization_scheme,
    quantize_model,
    quantized_state,
    require_float,
)

__all__ = ["SCHEMES", "QuantizationError", "QuantizedEmbedding", "QuantizedLinear", "load_quantized_state",
           "quantization_scheme", "quantize_model", "quantized_state", "require_float"]
