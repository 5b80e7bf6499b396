"""What the two tokenizer benchmarks (``bpe_speed.py``, ``wordpiece_speed.py``) share.

Both time four contenders on the same corpora, interleaved: ours with its word cache warm,
ours with the cache cleared before each pass ("cold"), Hugging Face's ``encode`` one text at a
time (the baseline) and its ``encode_batch``; both refuse to time tokenizers that disagree on
any text's ids. This module holds those pieces: the Shakespeare lines, the four contenders,
the per-corpus timing with its table rows, and the chart. What differs (the vocabulary, the
second corpus, BPE's training and long-word timings) stays in each script.

Left out: anything either script does alone.
"""

import sys

from _common import grouped_bar_chart, interleaved_times, summarize

BASELINE = "HF encode"
NAMES = ("tinygrad_lm", "tinygrad_lm cold", BASELINE, "HF encode_batch")
COLUMNS = ["corpus", "contender", "ms per pass: median (p10-p90)", "tokens/s", "texts/s",
           "time vs HF (encode; for training, its trainer)"]


def shakespeare_lines(script, quick):
    """Shakespeare's non-empty lines (the first 500 with ``quick``); a missing corpus ends ``script`` with its reason."""
    from tinygrad_lm.data.corpora import CorpusError, load_shakespeare

    try:
        lines = [line for line in load_shakespeare().split("\n") if line.strip()]
    except CorpusError as error:
        raise SystemExit(f"{script}: {error}") from None
    return lines[:500] if quick else lines


def encoders(script, texts, encode, clear_cache, hf, missing):
    """{name: zero-argument callable that encodes all ``texts``}: ours warm and cold, and, when ``hf`` is a
    ``tokenizers.Tokenizer`` (not an ImportError, whose reason goes to ``missing``), HF one by one and batched.
    ``encode(text)`` gives our ids; a text whose ids differ from HF's ends ``script``."""

    def cold():
        clear_cache()
        return [encode(t) for t in texts]

    found = {"tinygrad_lm": lambda: [encode(t) for t in texts], "tinygrad_lm cold": cold}
    if isinstance(hf, ImportError):
        missing.update({BASELINE: str(hf), "HF encode_batch": str(hf)})
        return found
    found[BASELINE] = lambda: [hf.encode(t, add_special_tokens=False) for t in texts]
    found["HF encode_batch"] = lambda: hf.encode_batch(texts, add_special_tokens=False)
    mine = [list(ids) for ids in found["tinygrad_lm"]()]
    differ = sum(a != b.ids for a, b in zip(mine, found["HF encode_batch"]()))
    if differ:
        raise SystemExit(f"{script}: {differ} of {len(texts)} texts encode differently; fix that first")
    return found


def time_corpora(texts_of, make_encoders, repeats):
    """Time ``make_encoders(texts, missing)`` on each corpus of ``texts_of`` ({name: texts}), interleaved with one
    warm-up pass: ({corpus: {texts, tokens, ids_identical, contenders: {name: stats}}}, markdown rows)."""
    results, rows = {}, []
    for corpus, texts in texts_of.items():
        missing = {}
        found = make_encoders(texts, missing)
        tokens = sum(len(ids) for ids in found["tinygrad_lm"]())
        print(f"timing {corpus}: {len(texts)} texts, {tokens} tokens", file=sys.stderr)
        times = interleaved_times(found, repeats, warmup=1)
        stats = {}
        for name in found:
            s = summarize(times[name], "ms")
            seconds = s["median_ms"] / 1e3
            stats[name] = {"status": "ok", **s, "tokens_per_s": tokens / seconds, "texts_per_s": len(texts) / seconds}
        stats |= {name: {"status": "missing", "reason": reason} for name, reason in missing.items()}
        base = stats.get(BASELINE, {}).get("median_ms")
        for name, s in stats.items():
            if s["status"] == "ok" and base:
                s["time_vs_hf_encode"] = s["median_ms"] / base
            rows.append([corpus, name] + ([f"{s['median_ms']:.1f} ({s['p10_ms']:.1f}-{s['p90_ms']:.1f})",
                         f"{s['tokens_per_s'] / 1e3:.0f}k", f"{s['texts_per_s'] / 1e3:.1f}k",
                         f"{s['time_vs_hf_encode']:.2f}x" if "time_vs_hf_encode" in s else "-"]
                         if s["status"] == "ok" else ["missing", "-", "-", "-"]))  # fmt: skip
        results[corpus] = {"texts": len(texts), "tokens": tokens, "ids_identical": BASELINE in found,
                           "contenders": stats}  # fmt: skip
    return results, rows


def tokens_chart(path, results, title, quick):
    """A grouped bar chart of each contender's tokens/s per corpus (None without matplotlib)."""
    series = {name: [results[c]["contenders"].get(name, {}).get("tokens_per_s") for c in results] for name in NAMES}
    return grouped_bar_chart(path, list(results), {n: v for n, v in series.items() if any(v)},
                             "tokens per second (median, log scale)",
                             title + (" [--quick: not a measurement]" if quick else ""))
