"""Word2Vec from scratch against gensim: the same corpus and settings, words/s and vector quality side by side.

    python benchmarks/word_vectors.py [--repeats 3] [--thread-counts 1,2] [--models sg,cbow] [--glove]
                                      [--out benchmarks/results] [--quick]

writes DIR/word_vectors.json and DIR/word_vectors.png.

Corpus: `tinygrad_lm.vectors.corpus.load_english_corpus()` (the KJV Bible and Shakespeare's 42
works: 1.7 million tokens) under `tinygrad_lm.vectors.vocab.tokenize`; words seen fewer than 5
times are removed first and the id stream is cut into 10,000-token sentences, and both libraries
get exactly those sentences (gensim with min_count=1, so its vocabulary is ours). Settings, both
sides: gensim 4.4's defaults (vector_size 100, window 5, negative 5, sample 1e-3, alpha 0.025 ->
0.0001, 5 epochs), skip-gram and CBOW (cbow_mean=1), seed 1. With the same vocabulary order and
seed both start from the same vectors (gensim 4.4's initialisation); their random draws differ.

Contenders, per model and thread count: ``tinygrad_lm`` (train_word2vec, ``threads=N`` Hogwild
Numba kernel) and ``gensim`` (Word2Vec with ``workers=N``). Each training runs in a fresh
process (no thread pool of one library spinning while the other runs), the processes
interleaved in rotating order, ``--repeats`` rounds. Timed: training only (gensim's
``build_vocab`` and our vocabulary pass are outside the clock); words/s = epochs x corpus tokens
/ seconds, the same count for both. Each trained model is scored by tinygrad_lm.vectors.evaluate
(gensim's conventions): Google analogies 3CosAdd and 3CosMul, WS-353 and SimLex-999 Spearman;
gensim's own ``evaluate_word_analogies`` and ``evaluate_word_pairs`` are run on gensim's vectors
too, a check that our evaluator reproduces it. ``words_kept`` (words left after subsampling, all
epochs: gensim's ``train`` return value, our ``words_kept_after_subsampling``) checks that both do
the same amount of training. Quality is the mean over the rounds; with one thread a
seed fixes a library's model, so ``--vary-seed`` (seed 1 + round) is what makes the rounds sample
training noise (the two libraries never draw the same random numbers); speed is the median.
``--glove`` adds one GloVe training (25 epochs, window 10; no gensim peer) scored the same way.
The load average (os.getloadavg) is recorded before and after every run: the machine is shared.

Left out: the C word2vec (not installable here), fastText, hierarchical softmax.
"""

import argparse
import json
import os
import statistics
import sys

from _common import (
    REPO_ROOT,
    add_common_args,
    command_line,
    finish_args,
    grouped_bar_chart,
    machine_info,
    markdown_table,
    run_python_json,
    write_json,
)

REPEATS, QUICK_REPEATS = 3, 1
QUICK_TOKENS = 60_000
SETTINGS = {"vector_size": 100, "window": 5, "negative": 5, "sample": 1e-3, "min_count": 5, "alpha": 0.025,
            "min_alpha": 0.0001, "epochs": 5, "seed": 1}
QUICK_SETTINGS = {**SETTINGS, "vector_size": 20, "epochs": 1, "min_count": 3}
GLOVE_SETTINGS = {"vector_size": 100, "window": 10, "min_count": 5, "epochs": 25, "seed": 1}
QUICK_GLOVE_SETTINGS = {**GLOVE_SETTINGS, "vector_size": 20, "epochs": 2, "min_count": 3}


def load_tokens(quick):
    """The benchmark's token list (quick: the first 60,000 tokens of the eight tragedies)."""
    from tinygrad_lm.data import load_corpus
    from tinygrad_lm.vectors.corpus import load_english_corpus
    from tinygrad_lm.vectors.vocab import tokenize

    if quick:
        return tokenize(load_corpus("shakespeare"))[:QUICK_TOKENS]
    return tokenize(load_english_corpus())


def scores(vectors, folder):
    """Our evaluator's numbers for a WordVectors."""
    from tinygrad_lm.vectors.eval_sets import ANALOGIES
    from tinygrad_lm.vectors.evaluate import evaluate_analogies, evaluate_similarity

    add, mul = (evaluate_analogies(vectors, folder / ANALOGIES, m) for m in ("3cosadd", "3cosmul"))
    ws, sl = (evaluate_similarity(vectors, folder / n) for n in ("wordsim353.tsv", "simlex999.txt"))
    return {"analogy_3cosadd": add["accuracy"], "analogy_3cosmul": mul["accuracy"], "analogy_total": add["total"],
            "analogy_coverage": add["coverage"], "ws353": ws["spearman"], "ws353_pairs": ws["pairs"],
            "simlex999": sl["spearman"], "simlex999_pairs": sl["pairs"]}


def child(library, model, threads, quick, seed):
    """Train one model in this process and print its JSON (run by run_python_json)."""
    import numpy as np

    from tinygrad_lm.vectors.eval_sets import ANALOGIES, fetch_eval_sets
    from tinygrad_lm.vectors.keyed import WordVectors
    from tinygrad_lm.vectors.vocab import Vocabulary, split_sentences

    settings = {**(QUICK_SETTINGS if quick else SETTINGS), "seed": seed}
    load_before = os.getloadavg()
    tokens = load_tokens(quick)
    folder = fetch_eval_sets()
    result = {"library": library, "model": model, "threads": threads, "seed": seed}
    if library == "tinygrad_lm":
        from tinygrad_lm.vectors.glove import GloveConfig, train_glove
        from tinygrad_lm.vectors.word2vec import Word2VecConfig, train_word2vec

        if model == "glove":
            glove = {**(QUICK_GLOVE_SETTINGS if quick else GLOVE_SETTINGS), "seed": seed}
            vectors = train_glove(tokens, GloveConfig(**glove, threads=threads), progress=False)
        else:
            config = Word2VecConfig(**settings, cbow=model == "cbow", threads=threads)
            vectors = train_word2vec(tokens, config, progress=False)
        result.update(seconds=vectors.info["seconds"], words=vectors.info["corpus_words"] * vectors.info["settings"]["epochs"],
                      words_kept=vectors.info.get("words_kept_after_subsampling"))
    else:
        import time

        from gensim.models import Word2Vec

        vocab = Vocabulary.build(tokens, settings["min_count"])
        ids = vocab.encode(tokens)
        starts = split_sentences(len(ids))
        sentences = [[vocab.words[i] for i in ids[a:b]] for a, b in zip(starts[:-1], starts[1:])]
        kwargs = {k: v for k, v in settings.items() if k != "min_count"}
        trained = Word2Vec(sg=int(model == "sg"), min_count=1, workers=threads, **kwargs)
        trained.build_vocab(sentences)
        start = time.perf_counter()
        kept, _ = trained.train(sentences, total_examples=len(sentences), epochs=settings["epochs"])
        result.update(seconds=time.perf_counter() - start, words=len(ids) * settings["epochs"], words_kept=kept)
        wv = trained.wv
        vectors = WordVectors(list(wv.index_to_key), np.asarray(wv.vectors))
        gensim_add, _ = wv.evaluate_word_analogies(str(folder / ANALOGIES))
        result["gensim_evaluator"] = {"analogy_3cosadd": gensim_add,
                                      "ws353": float(wv.evaluate_word_pairs(str(folder / "wordsim353.tsv"))[1][0]),
                                      "simlex999": float(wv.evaluate_word_pairs(str(folder / "simlex999.txt"))[1][0])}
    result.update(words_per_second=result["words"] / result["seconds"], vocabulary=len(vectors), **scores(vectors, folder),
                  load_before=load_before, load_after=os.getloadavg())
    print(json.dumps(result))


def run_one(library, model, threads, quick, seed):
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "NUMBA_NUM_THREADS": str(max(2, threads))}
    code = f"from word_vectors import child; child({library!r}, {model!r}, {threads}, {quick}, {seed})"
    print(f"  {library} {model} {threads} thread(s) ...", file=sys.stderr, flush=True)
    return run_python_json(code, env=env, timeout=3600)


def summary_rows(runs, keys):
    """{(model, threads, library): {key: mean or median over rounds}}."""
    grouped = {}
    for run in runs:
        grouped.setdefault((run["model"], run["threads"], run["library"]), []).append(run)
    table = {}
    for group, items in grouped.items():
        row = {k: statistics.fmean(r[k] for r in items) for k in keys
               if k != "words_per_second" and all(r.get(k) is not None for r in items)}  # GloVe keeps no count
        row["words_per_second"] = statistics.median(r["words_per_second"] for r in items)
        row["rounds"] = len(items)
        if "gensim_evaluator" in items[0]:
            row["gensim_evaluator"] = {k: statistics.fmean(r["gensim_evaluator"][k] for r in items)
                                       for k in items[0]["gensim_evaluator"]}
        table[group] = row
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=REPEATS, quick_repeats=QUICK_REPEATS)
    parser.add_argument("--thread-counts", default="1,2", help="thread counts to measure (default 1,2)")
    parser.add_argument("--models", default="sg,cbow", help="Word2Vec variants: sg, cbow (default both)")
    parser.add_argument("--glove", action="store_true", help="also train GloVe once per thread count")
    parser.add_argument("--vary-seed", action="store_true", help="seed 1 + round number instead of 1 in every round "
                        "(with one thread a seed fixes the result, so this is how rounds sample training noise)")
    args = finish_args(parser, parser.parse_args(), repeats=REPEATS, quick_repeats=QUICK_REPEATS)
    thread_counts = [int(t) for t in args.thread_counts.split(",")]
    models = args.models.split(",")
    try:
        import gensim

        libraries, gensim_version = ("tinygrad_lm", "gensim"), gensim.__version__
    except ImportError as error:
        libraries, gensim_version = ("tinygrad_lm",), f"not importable ({error})"
    contenders = [(lib, m, t) for m in models for t in thread_counts for lib in libraries]
    runs = []
    for r in range(args.repeats):
        first = r % len(contenders)
        for lib, model, threads in contenders[first:] + contenders[:first]:
            runs.append(run_one(lib, model, threads, args.quick, 1 + r if args.vary_seed else 1))
    if args.glove:
        runs += [run_one("tinygrad_lm", "glove", t, args.quick, 1) for t in thread_counts]
    keys = ["words_per_second", "words_kept", "analogy_3cosadd", "analogy_3cosmul", "analogy_coverage", "ws353",
            "simlex999"]
    table = summary_rows(runs, keys)
    rows = []
    for (model, threads, library), row in sorted(table.items()):
        peer = table.get((model, threads, "gensim"))
        ratio = f"{row['words_per_second'] / peer['words_per_second']:.2f}x" if peer else "-"
        rows.append([model, str(threads), library, f"{row['words_per_second'] / 1e3:.0f}k", ratio,
                     f"{100 * row['analogy_3cosadd']:.2f}", f"{100 * row['analogy_3cosmul']:.2f}",
                     f"{row['analogy_coverage']:.3f}", f"{row['ws353']:.3f}", f"{row['simlex999']:.3f}",
                     str(row["rounds"])])
    table_md = f"`{command_line()}`\n\n" + markdown_table(
        ["model", "threads", "library", "words/s (median)", "vs gensim", "analogy 3CosAdd %", "3CosMul %",
         "coverage", "WS-353 rho", "SimLex-999 rho", "rounds"], rows)
    machine = machine_info()
    settings = {"word2vec": QUICK_SETTINGS if args.quick else SETTINGS, "glove": (QUICK_GLOVE_SETTINGS if args.quick
                else GLOVE_SETTINGS) if args.glove else None, "repeats": args.repeats, "quick": args.quick,
                "threads": thread_counts, "models": models, "gensim": gensim_version,
                "seeds": "1 + round" if args.vary_seed else "1 in every round (one thread: the same model each round)",
                "timing": "training only, one fresh process per run, contenders in rotating order; words/s = "
                          "epochs x corpus tokens / seconds; quality = mean over rounds, speed = median", "output": str(args.out)}  # fmt: skip
    summary = [{"model": m, "threads": t, "library": lib, **row} for (m, t, lib), row in sorted(table.items())]
    out_json = args.out / "word_vectors.json"
    write_json(out_json, {"benchmark": "word_vectors", "command": command_line(), "machine": machine,
                          "settings": settings, "summary": summary, "runs": runs, "table_markdown": table_md})
    groups = [f"{m} {t}t" for m in models for t in thread_counts]
    series = {lib: [table.get((m, t, lib), {}).get("words_per_second") for m in models for t in thread_counts]
              for lib in libraries}
    chart = grouped_bar_chart(args.out / "word_vectors.png", groups, series, "words per second (median, log scale)",
                              f"Word2Vec training, {machine['cpu']}" + (" [--quick: not a measurement]" if args.quick
                                                                        else ""))  # fmt: skip
    print(table_md)
    print(f"\nwrote {out_json}" + (f" and {chart}" if chart else " (no chart: matplotlib is not installed)"))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))
    main()
