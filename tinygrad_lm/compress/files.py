"""Quantize a run's weights into a new run directory that ``sample``, ``eval`` and ``classify`` read.

    quantize_run(src, out, scheme) -> report dict

reads the best weights of the run directory (or checkpoint file) ``src``, quantizes every
Linear and Embedding (``quantize.quantize_model``), and writes ``out/best.safetensors``: the
same safe format (safetensors + checksummed JSON metadata, role "best", no pickle), the
source's metadata plus ``"quantization": {"scheme": ...}``, and the arrays of
``quantize.quantized_state``. Nothing resumable is copied (optimizer moments, sampler, RNG):
the output is for inference only.

Refused with a QuantizationError: a source already quantized (quantizing twice compounds the
rounding), ``out`` equal to the source directory, an ``out`` that already holds weights.
"""

from pathlib import Path

from ..train import load_model, save_checkpoint
from ..train.rundir import BEST, weights_file
from .quantize import (
    QuantizationError,
    check_scheme,
    quantize_model,
    quantized_state,
    weight_bytes,
)

RESUMABLE_ONLY = ("optimizer", "sampler", "model_rng")


def quantize_run(src, out, scheme="int8-channel"):
    """Write the quantized weights of run ``src`` to ``out/best.safetensors``; returns
    {"source", "out", "scheme", "source_bytes", "out_bytes", "ratio", "weight_bytes_before", "weight_bytes_after"}."""
    check_scheme(scheme)
    source = weights_file(src, "train first with tinygrad-lm train")
    out = Path(out)
    if out.resolve() == source.parent.resolve():
        raise QuantizationError(f"--out {out} is the source run's directory; give a new directory")
    if (out / BEST).exists():
        raise QuantizationError(f"{out / BEST} already exists; give a new --out (or delete it)")
    model, _, meta = load_model(source)
    if "quantization" in meta:
        raise QuantizationError(f"{source} is already quantized ({meta['quantization']['scheme']}); quantize the "
                                f"float checkpoint it came from instead of quantizing twice")
    before = weight_bytes(model)
    quantize_model(model, scheme)
    arrays = {f"model.{name}": array for name, array in quantized_state(model).items()}
    kept = {key: value for key, value in meta.items() if key not in RESUMABLE_ONLY}
    kept.setdefault("val_loss", meta["best_val_loss"])
    save_checkpoint(out / BEST, arrays, {**kept, "quantization": {"scheme": scheme}}, role="best")
    source_bytes, out_bytes = source.stat().st_size, (out / BEST).stat().st_size
    return {"source": str(source), "out": str(out / BEST), "scheme": scheme, "source_bytes": source_bytes,
            "out_bytes": out_bytes, "ratio": source_bytes / out_bytes, "weight_bytes_before": before,
            "weight_bytes_after": weight_bytes(model)}
