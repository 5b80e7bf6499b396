"""Sentence embeddings with all-MiniLM-L6-v2: tinygrad_lm against PyTorch + transformers, on the CPU.

    python benchmarks/bert_embed.py [--repeats 30] [--threads 1] [--batches 8] [--out DIR] [--quick]

writes DIR/bert_embed.json and .png (bert_embed_<n>threads.* for n > 1 threads).

One step embeds a batch of 32 sentences from text to unit vectors, the whole pipeline a user
calls (sentence-transformers' recipe):

    tokenize (WordPiece, [CLS] ... [SEP], padded to the longest)   -> ids (32, T)
    MiniLM encoder (6 post-LN layers, 384 wide, 12 heads)          -> (32, T, 384)
    mean over the real tokens, then divide by the L2 norm          -> (32, 384)

The sentences are random words of MiniLM's vocabulary, 10 to 18 words each (every word one
WordPiece), so 12 to 20 tokens with [CLS] and [SEP], about 16 on average; ``--batches``
distinct batches are cycled. Contenders, each in its own worker process
(``_common.Worker``), interleaved:

    tinygrad_lm/numba   tinygrad_lm.data.pretrained.embed, the "numba" kernel table
    tinygrad_lm/numpy   the same under the "numpy" table
    pytorch             transformers.BertModel (eager, torch.inference_mode) on the same files,
                        its fast (Rust) tokenizer from tokenizer.json, mean pooling and
                        torch.nn.functional.normalize, as sentence-transformers computes them

Honesty check, recorded in the JSON: every contender's vectors for the first batch are
returned, and the largest absolute difference from PyTorch's is reported
(``max_abs_diff_vs_pytorch``). Sentences per second = 32 / median seconds per batch.

Left out: sentence-transformers itself (it would add nothing but its own overhead), ONNX or
quantised runtimes, and the GPU.
"""

import argparse
import json
import sys

import numpy as np
from _common import (
    THREAD_ENV_VARS,
    Worker,
    add_common_args,
    bar_chart,
    command_line,
    finish_args,
    interleaved_times,
    machine_info,
    markdown_table,
    serve,
    summarize,
    write_json,
)

from tinygrad_lm.data.pretrained_files import (
    PretrainedUnavailableError,
    fetch_pretrained,
)

BATCH = 32
CONTENDERS = ("tinygrad_lm/numba", "tinygrad_lm/numpy", "pytorch")
MODEL = "all-MiniLM-L6-v2"
SEED = 0


class Unavailable(Exception):
    """A contender that cannot run here; the message says why and lands in the JSON."""


def make_batches(vocab_path, count, seed=SEED):
    """``count`` batches of BATCH sentences of 10-18 whole-word tokens drawn from the vocabulary."""
    words = [w for w in vocab_path.read_text(encoding="utf-8").splitlines() if w.isalpha() and w.islower()]
    rng = np.random.default_rng(seed)
    return [[" ".join(rng.choice(words, rng.integers(10, 19))) for _ in range(BATCH)] for _ in range(count)]


def build_tinygrad(directory, backend):
    from tinygrad_lm.backends import BACKENDS, load_kernels, use_kernels
    from tinygrad_lm.data.pretrained import embed, load_pretrained

    if backend not in BACKENDS:
        raise Unavailable(f"no {backend!r} entry in tinygrad_lm.backends.BACKENDS")
    try:
        load_kernels(backend)
    except ImportError as error:
        raise Unavailable(f"load_kernels({backend!r}) failed: {error}") from None
    model, tokenizer = load_pretrained(directory)

    def run(texts):
        with use_kernels(backend):
            return embed(model, tokenizer, texts, batch_size=BATCH)

    return run


def build_torch(directory, threads):
    try:
        import torch
        import transformers
    except ImportError as error:
        raise Unavailable(f"needs torch and transformers: {error}") from None
    torch.set_num_threads(threads)
    model = transformers.BertModel.from_pretrained(str(directory), local_files_only=True).eval()
    tokenizer = transformers.BertTokenizerFast(tokenizer_file=str(directory / "tokenizer.json"),
                                               vocab_file=str(directory / "vocab.txt"))

    def run(texts):
        with torch.inference_mode():
            batch = tokenizer(texts, padding=True, return_tensors="pt")
            hidden = model(**batch).last_hidden_state  # (B, T, 384)
            mask = batch["attention_mask"][..., None].to(hidden.dtype)  # (B, T, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (B, 384)
            return torch.nn.functional.normalize(pooled, dim=1).numpy()

    return run


def worker(directory, name, threads, batches):
    """A worker process's body: build contender ``name``, then embed one batch per step."""
    from pathlib import Path

    directory = Path(directory)
    texts = make_batches(directory / "vocab.txt", batches)
    try:
        run = build_torch(directory, threads) if name == "pytorch" else build_tinygrad(directory, name.split("/")[1])
    except Unavailable as reason:
        print(json.dumps({"status": "missing", "reason": str(reason)}), flush=True)
        return
    position = [0]

    def step():
        run(texts[position[0] % len(texts)])
        position[0] += 1

    def finish():
        return {"first_batch_vectors": run(texts[0]).tolist()}

    serve(step, {"status": "ok"}, finish)


def start_worker(directory, name, args):
    code = f"import bert_embed\nbert_embed.worker({str(directory)!r}, {name!r}, {args.threads}, {args.batches})\n"
    return Worker(code, env={var: str(args.threads) for var in THREAD_ENV_VARS})


def report(results, args):
    rows = []
    for name, r in results.items():
        if r["status"] != "ok":
            rows.append([name, f"missing: {r['reason']}", "", "", "", ""])
            continue
        ratio = "n/a" if r["time_vs_pytorch"] is None else f"{r['time_vs_pytorch']:.2f}x"
        diff = "n/a" if r["max_abs_diff_vs_pytorch"] is None else f"{r['max_abs_diff_vs_pytorch']:.1e}"
        rows.append([name, f"{r['median_ms']:.1f}", f"{r['p10_ms']:.1f} - {r['p90_ms']:.1f}",
                     f"{r['sentences_per_s']:,.0f}", ratio, diff])
    headers = ["contender", f"median ms / batch of {BATCH}", "p10 - p90 ms", "sentences/s", "time vs pytorch",
               "max abs diff vs pytorch"]
    return f"`{command_line()}` ({args.threads} thread(s), {args.repeats} rounds)\n\n" + markdown_table(headers, rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=30, quick_repeats=3)
    parser.add_argument("--batches", type=int, default=8, help="distinct batches of 32 sentences, cycled (default 8)")
    args = finish_args(parser, parser.parse_args(), repeats=30, quick_repeats=3)
    if args.batches < 1:
        parser.error(f"--batches must be >= 1, got {args.batches}")
    try:
        directory = fetch_pretrained(MODEL)  # once, here, so the workers only read the cache
    except PretrainedUnavailableError as reason:
        raise SystemExit(f"bert_embed: {reason}") from None
    results, workers = {}, {}
    for name in CONTENDERS:
        process = start_worker(directory, name, args)
        results[name] = dict(process.ready)
        if results[name]["status"] == "ok":
            workers[name] = process
    warmup = 1 if args.quick else 3
    print(f"timing {', '.join(workers)}: {warmup} warm-up batches, {args.repeats} interleaved rounds", file=sys.stderr)
    block, pause = (1, 0.0) if args.threads == 1 else (5, 0.5)  # see _common's docstring
    times = interleaved_times(workers, repeats=args.repeats, warmup=warmup, block=block, pause=pause)
    vectors = {name: np.asarray(workers[name].close()["first_batch_vectors"]) for name in workers}
    torch_ms = summarize(times["pytorch"], "ms")["median_ms"] if "pytorch" in times else None
    for name, seconds in times.items():
        stats = summarize(seconds, "ms")
        diff = float(np.abs(vectors[name] - vectors["pytorch"]).max()) if "pytorch" in vectors else None
        results[name].update(stats, sentences_per_s=BATCH / (stats["median_ms"] / 1e3),
                             time_vs_pytorch=None if torch_ms is None else stats["median_ms"] / torch_ms,
                             max_abs_diff_vs_pytorch=diff, times_ms=[s * 1e3 for s in seconds])
    machine = machine_info()
    table = report(results, args)
    stem = "bert_embed" + (f"_{args.threads}threads" if args.threads > 1 else "")
    out_json = args.out / f"{stem}.json"
    settings = {"model": MODEL, "batch_size": BATCH, "batches": args.batches, "sentence_words": "10-18, seed 0",
                "repeats": args.repeats, "warmup": warmup, "threads": args.threads, "quick": args.quick,
                "timing": "one worker process per contender; interleaved rounds, rotating order; text to unit "
                          "vectors, tokenization included, timed in the worker with time.perf_counter"}
    write_json(out_json, {"benchmark": "bert_embed", "command": command_line(), "machine": machine,
                          "settings": settings, "contenders": results, "table_markdown": table})
    ran = list(times)
    chart = bar_chart(args.out / f"{stem}.png", ran, [results[n]["median_ms"] for n in ran],
                      [results[n]["p10_ms"] for n in ran], [results[n]["p90_ms"] for n in ran],
                      f"ms per batch of {BATCH} sentences (median, p10-p90)",
                      f"{MODEL} sentence embeddings, ~16 tokens per sentence"
                      + (" [--quick: not a measurement]" if args.quick else "")
                      + f"\n{machine['cpu']}, {args.threads} thread(s)")
    print(table)
    print(f"\nwrote {out_json}" + (f" and {chart}" if chart else " (no chart: matplotlib is not installed)"))


if __name__ == "__main__":
    main()
