"""GPT generation speed: tinygrad_lm against PyTorch eager, with and without the KV cache, and int8.

    python benchmarks/generation_speed.py [--repeats 15] [--threads 1] [--prompt 16] [--new 48]
                                          [--checkpoint DIR] [--out DIR] [--quick]

writes DIR/generation_speed.json and .png. The model is the ``shakespeare-char`` preset's
(4 layers, 4 heads, 128 wide, block 64, vocabulary 65, float32), seeded GPT-2 initialisation,
or the weights of ``--checkpoint`` (a trained run; speed does not depend on the values). The
PyTorch twin (``torch_gpt.py``) loads the same weights, name for name.

What is timed (batch 1, greedy, so every contender produces the same tokens):
    prefill       the prompt (P tokens) through the model into an empty KV cache: prompt processing
    generate      P prompt tokens + N new ones, one at a time; tokens/s = N / seconds
    per token     (generate - prefill) / N: the latency of one cached decoding step (approximate:
                  the first new token comes from the prefill's logits)
Contenders: tinygrad_lm cached (``GPT.generate(use_cache=True)``, which runs the graph-free
``models.gpt_decode.GPTDecoder``) and uncached (every step recomputes the whole window through
it); the same through the autograd modules (``fast_path=False``: ``GPT.forward`` with its
``KVCache``, the path the decoder replaced, kept to show what it cost); PyTorch cached (a
per-layer key/value cache written here over torch_gpt's modules: torch_gpt has no generation)
and uncached; and tinygrad_lm with int8 per-channel weights (``compress.quantize_model``: the
weights dequantized once per generate call by the decoder, and the Numba int8 GEMM path, run
per step). The target: cached tinygrad_lm within 1.2x of cached PyTorch (ratio of medians).

Method: one process, ``--threads`` threads for every library (default 1, so no thread pool
spins against another), ``_common.interleaved_times`` (every contender once per round, the
order rotating), medians and p10/p90 of the rounds. The load average is recorded before and
after. Also measured, interleaved the same way: one Linear of the model (128 -> 512) as float32
BLAS against the int8 GEMM (with the activation quantization) at decode (1 row) and prefill
(12 x 64 rows) sizes. The greedy outputs of all contenders are compared (``same_tokens``).

Left out: batched generation, sampling settings other than greedy, torch.compile, the GPU.
"""

import argparse
import os
import sys

import numpy as np
from _common import (
    add_common_args,
    bar_chart,
    command_line,
    finish_args,
    interleaved_times,
    machine_info,
    markdown_table,
    pin_threads,
    summarize,
    write_json,
)
from torch_gpt import torch_gpt

from tinygrad_lm.compress import quantize_model
from tinygrad_lm.compress.int8_gemm import int8_linear
from tinygrad_lm.compress.quantize import quantize_int8
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.train import load_model
from tinygrad_lm.train.config import preset
from tinygrad_lm.train.rundir import weights_file

RUN = preset("shakespeare-char")
VOCAB = 65


def torch_generate(torch, model, ids, new_tokens, n_head, use_cache):
    """Greedy continuation of ``ids`` (1, P) by ``new_tokens`` with torch_gpt's modules; returns (1, P + N) ids.

    With the cache, each layer keeps its keys and values (1, H, T, D) and a step feeds only the new token."""
    seq = torch.from_numpy(ids)
    cache = [None] * len(model.blocks)

    def cached_logits(fed, start):
        b, t = fed.shape
        x = model.wte(fed) + model.wpe(torch.arange(start, start + t))  # (1, t, C)
        for i, block in enumerate(model.blocks):
            q, k, v = block.attn.qkv(block.ln1(x)).split(x.shape[-1], dim=2)  # 3 x (1, t, C)
            q, k, v = (a.view(b, t, n_head, -1).transpose(1, 2) for a in (q, k, v))  # (1, t, C) -> (1, H, t, D)
            if cache[i] is not None:
                k, v = torch.cat([cache[i][0], k], dim=2), torch.cat([cache[i][1], v], dim=2)  # (1, H, T, D)
            cache[i] = (k, v)
            # the prompt is causal among itself; a single new token sees every cached key
            out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=start == 0 and t > 1)
            x = x + block.attn.proj(out.transpose(1, 2).reshape(b, t, -1))  # (1, H, t, D) -> (1, t, C)
            x = x + block.mlp(block.ln2(x))
        return torch.nn.functional.linear(model.ln_f(x), model.wte.weight)  # (1, t, V)

    with torch.no_grad():
        for _ in range(new_tokens):
            if use_cache:
                start = 0 if cache[0] is None else cache[0][0].shape[2]
                logits = cached_logits(seq[:, start:], start)
            else:
                logits = model(seq[:, -model.wpe.num_embeddings:])
            seq = torch.cat([seq, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return seq.numpy()


def _twin(model, **quantize):
    """A copy of ``model`` (in eval mode), int8-quantized when ``quantize`` holds quantize_model's settings."""
    twin = GPT(model.config)
    twin.load_state_dict(model.state_dict())
    return (quantize_model(twin, "int8-channel", **quantize) if quantize else twin).eval()


def build_calls(model, prompt, new_tokens, torch):
    """{name: zero-argument callable returning ids or logits}: what is timed."""
    int8, int8_gemm = _twin(model, gemm="dequant"), _twin(model, gemm="int8")
    calls = {
        "tinygrad_lm cached": lambda: model.generate(prompt, new_tokens, temperature=0),
        "tinygrad_lm uncached": lambda: model.generate(prompt, new_tokens, temperature=0, use_cache=False),
        "tinygrad_lm int8 cached": lambda: int8.generate(prompt, new_tokens, temperature=0),
        "tinygrad_lm int8-gemm cached": lambda: int8_gemm.generate(prompt, new_tokens, temperature=0),
        "tinygrad_lm prefill": lambda: model.generate(prompt, 1, temperature=0),
        "tinygrad_lm autograd cached": lambda: model.generate(prompt, new_tokens, temperature=0, fast_path=False),
        "tinygrad_lm autograd uncached": lambda: model.generate(prompt, new_tokens, temperature=0, use_cache=False,
                                                                fast_path=False),
        "tinygrad_lm autograd prefill": lambda: model.generate(prompt, 1, temperature=0, fast_path=False),
    }
    if torch is not None:
        twin = torch_gpt(torch, model.config).eval()
        twin.load_state_dict({name: torch.from_numpy(a.copy()) for name, a in model.state_dict().items()})
        H = model.config.n_head
        calls["pytorch cached"] = lambda: torch_generate(torch, twin, prompt, new_tokens, H, True)
        calls["pytorch uncached"] = lambda: torch_generate(torch, twin, prompt, new_tokens, H, False)
        calls["pytorch prefill"] = lambda: torch_generate(torch, twin, prompt, 1, H, True)
    return calls


def gemm_calls(rows, rng):
    """float32 BLAS against the int8 GEMM for one 128 -> 512 Linear on ``rows`` activation rows."""
    w = rng.standard_normal((4 * RUN.n_embd, RUN.n_embd)).astype(np.float32)  # (512, 128)
    x = rng.standard_normal((rows, RUN.n_embd)).astype(np.float32)
    q, s = quantize_int8(w)
    return {f"float32 BLAS {rows} rows": lambda: x @ w.T, f"int8 GEMM {rows} rows": lambda: int8_linear(x, q, s)}


def _import_torch(threads):
    try:
        import torch
    except ImportError as error:
        return None, f"PyTorch is not importable ({error})"
    torch.set_num_threads(threads)
    return torch, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=15, quick_repeats=2)
    parser.add_argument("--prompt", type=int, default=16, help="prompt tokens P (default 16)")
    parser.add_argument("--new", type=int, default=48, help="new tokens N (default 48: P + N = block 64)")
    parser.add_argument("--checkpoint", metavar="DIR", help="a trained shakespeare-char run (default: seeded init)")
    args = finish_args(parser, parser.parse_args(), repeats=15, quick_repeats=2)
    if args.quick:
        args.prompt, args.new = 4, 4
    threads = pin_threads(args.threads)
    torch, torch_missing = _import_torch(args.threads)
    if args.checkpoint:
        model = load_model(weights_file(args.checkpoint, "train first with tinygrad-lm train"))[0].eval()
    else:
        model = GPT(GPTConfig(vocab_size=VOCAB, block_size=RUN.block_size, n_layer=RUN.n_layer, n_head=RUN.n_head,
                              n_embd=RUN.n_embd, bias=RUN.bias, seed=RUN.seed)).eval()
    prompt = np.random.default_rng(0).integers(0, model.config.vocab_size, (1, args.prompt))  # (1, P)
    calls = build_calls(model, prompt, args.new, torch)
    outputs = {name: np.asarray(fn()) for name, fn in calls.items() if "prefill" not in name}
    reference = outputs["tinygrad_lm cached"]
    load_before = os.getloadavg()
    times = interleaved_times(calls, args.repeats, warmup=1)
    rng = np.random.default_rng(1)
    gemm = {**gemm_calls(1, rng), **gemm_calls(RUN.batch_size * RUN.block_size, rng)}
    gemm_times = interleaved_times(gemm, args.repeats * 4, warmup=2)
    load_after = os.getloadavg()
    stats = {name: {"status": "ok", **summarize(seconds, "ms")} for name, seconds in {**times, **gemm_times}.items()}
    for name in times:
        if "prefill" not in name:
            stats[name]["tokens_per_s"] = args.new / (stats[name]["median_ms"] / 1e3)
    for side in ("tinygrad_lm", "tinygrad_lm autograd", "pytorch"):
        if f"{side} prefill" in stats:
            stats[f"{side} cached"]["per_token_ms"] = ((stats[f"{side} cached"]["median_ms"]
                                                         - stats[f"{side} prefill"]["median_ms"]) / args.new)
    ratios = {}
    if torch is None:
        for name in ("pytorch cached", "pytorch uncached", "pytorch prefill"):
            stats[name] = {"status": "missing", "reason": torch_missing}
    else:
        for mode in ("cached", "uncached", "prefill"):
            ratios[f"{mode}: tinygrad_lm time / pytorch time"] = (stats[f"tinygrad_lm {mode}"]["median_ms"]
                                                                  / stats[f"pytorch {mode}"]["median_ms"])
            ratios[f"{mode} (autograd path): tinygrad_lm time / pytorch time"] = (
                stats[f"tinygrad_lm autograd {mode}"]["median_ms"] / stats[f"pytorch {mode}"]["median_ms"])
        for side in ("tinygrad_lm", "tinygrad_lm autograd"):
            ratios[f"per cached token{' (autograd path)' if 'autograd' in side else ''}: tinygrad_lm / pytorch"] = (
                stats[f"{side} cached"]["per_token_ms"] / stats["pytorch cached"]["per_token_ms"])
    for rows in (1, RUN.batch_size * RUN.block_size):
        ratios[f"int8 GEMM / float32 BLAS, {rows} rows"] = (stats[f"int8 GEMM {rows} rows"]["median_ms"]
                                                           / stats[f"float32 BLAS {rows} rows"]["median_ms"])
    table = markdown_table(["contender", "median ms", "p10-p90 ms", "tokens/s", "ms per cached token"], [
        [name, f"{st['median_ms']:.2f}", f"{st['p10_ms']:.2f}-{st['p90_ms']:.2f}",
         f"{st['tokens_per_s']:.0f}" if "tokens_per_s" in st else "-",
         f"{st['per_token_ms']:.3f}" if "per_token_ms" in st else "-"] if st["status"] == "ok"
        else [name, "missing", st["reason"], "-", "-"] for name, st in stats.items()])
    payload = {
        "benchmark": "generation_speed", "command": command_line(), "machine": machine_info(),
        "settings": {"threads": args.threads, "threads_method": threads, "quick": args.quick, "repeats": args.repeats,
                     "prompt_tokens": args.prompt, "new_tokens": args.new, "checkpoint": args.checkpoint,
                     "model": model.config.to_dict()},
        "load_average_before": load_before, "load_average_after": load_after,
        "same_tokens": {name: bool(np.array_equal(ids, reference)) for name, ids in outputs.items()},
        "results": stats, "ratios": ratios, "table_markdown": table,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "generation_speed.json", payload)
    shown = [name for name in times if "prefill" not in name]
    labels = [name.replace("tinygrad_lm", "ours").replace(" ", "\n") for name in shown]  # short enough for 8 bars
    bar_chart(args.out / "generation_speed.png", labels, [stats[n]["tokens_per_s"] for n in shown],
              [args.new / (stats[n]["p90_ms"] / 1e3) for n in shown], [args.new / (stats[n]["p10_ms"] / 1e3) for n in shown],
              "tokens / s (greedy, batch 1)", f"shakespeare-char GPT (ours: tinygrad_lm), {args.prompt} + {args.new} tokens, "
              f"{args.threads} thread(s), load {load_before[0]:.1f}")
    print(table)
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}")
    print(f"load average before {load_before}, after {load_after}; same tokens: {payload['same_tokens']}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
