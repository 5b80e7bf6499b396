"""Every fused kernel at the shakespeare-char GPT's shapes: NumPy table, Numba table, PyTorch CPU.

    python benchmarks/kernels.py [--repeats 50] [--threads 1] [--out benchmarks/results] [--quick]
                                 [--skip-compile-time]

Shapes (B=12, T=64, C=128, H=4, D=32, V=65, the ``shakespeare-char`` preset):

    softmax          (B*H*T, T) = (3072, 64)   attention-score rows
    log_softmax      (B*T, V)   = (768, 65)    logits rows
    cross_entropy    (768, 65), int64 targets, class weights 1, no smoothing
    layer_norm       (B*T, C)   = (768, 128)
    gelu             (B*T, 4C)  = (768, 512), exact (erf) and tanh forms
    dropout, mse,    (B*T, C)   = (768, 128), dropout p = 0.1, kl_div against probabilities
    kl_div
    attention        (B*H, T, D) = (48, 64, 32), causal, scale 1/sqrt(D); PyTorch gets the same
                     data as (B, H, T, D) = (12, 4, 64, 32), the layout its fused kernel wants
    adamw_step       one (128, 512) weight, step 10
    embedding_bwd    ids (768,), grad (768, 128) into a (65, 128) table (token embedding)

What each column times: ours calls the table's kernel function directly on NumPy arrays (the
Numba table's Python wrapper, which allocates outputs, included); PyTorch calls its public
operator on tensors (a few microseconds of dispatch included). PyTorch has no public
backward operators, so its backward rows time ``torch.autograd.grad`` through a forward graph
built once and kept (``retain_graph=True``): the backward kernel plus the autograd engine's
overhead. Its adamw_step row is ``torch._fused_adamw_`` on one tensor, the fused kernel behind
``torch.optim.AdamW(fused=True)``. Samples are interleaved rounds (``_common``); each sample
repeats a call until it lasts >= 5 ms and reports the time per call.

Compile time: the Numba table compiles each kernel on its first call and caches the machine
code on disk. Two fresh subprocesses import the table and make the first call of every case
with ``NUMBA_CACHE_DIR`` set to one new, empty folder: the first pays the compilation (cold),
the second loads the cache it left (warm).

Left out: other shapes (see the README for how to add a case), float64, and the functional
layer's own overhead (``tinygrad_lm.functional`` reshapes and validates around each kernel).
"""

import argparse
import dataclasses
import math
import sys
import tempfile
import time

import numpy as np
from _common import (
    add_common_args,
    calls_per_sample,
    command_line,
    finish_args,
    grouped_bar_chart,
    interleaved_times,
    machine_info,
    markdown_table,
    pin_threads,
    run_python_json,
    summarize,
    write_json,
)

from tinygrad_lm.backends import BACKENDS, KERNEL_NAMES, load_kernels
from tinygrad_lm.train.config import preset

RUN = preset("shakespeare-char")
B, T, C, H, V = RUN.batch_size, RUN.block_size, RUN.n_embd, RUN.n_head, 65
D = C // H
N = B * T  # rows of every (B*T, features) activation
EPS, SCALE, IGNORE = 1e-5, 1 / math.sqrt(D), -100
ADAMW = {"lr": 1e-3, "beta1": RUN.beta1, "beta2": RUN.beta2, "eps": 1e-8, "weight_decay": RUN.weight_decay}
ADAMW_STEP = 10
MIN_SAMPLE_SECONDS = 0.005


class Unavailable(Exception):
    """A contender that cannot run a case here; the message says why and lands in the JSON."""


@dataclasses.dataclass(frozen=True)
class Case:
    """One row of the results. ``inputs()`` -> {name: array}; ``ours(table, a)`` and
    ``theirs(torch, t)`` -> a zero-argument callable doing the work once, where ``a`` is a
    fresh copy of the inputs and ``t`` the same values as torch tensors."""

    label: str
    shape: str
    kernels: tuple
    inputs: object
    ours: object
    theirs: object
    torch_op: str


def _normal(rng, *shape):
    return rng.standard_normal(shape, dtype=np.float32)


def _grad_of(torch, forward, wrt, grad):
    """A callable running autograd.grad(forward(*wrt), wrt, grad) on a graph built once."""
    wrt = [w.requires_grad_() for w in wrt]
    out = forward(*wrt)
    return lambda: torch.autograd.grad(out, wrt, grad, retain_graph=True)


def _row_cases(rng, ref):
    """softmax, log_softmax, cross_entropy, layer_norm: forward and backward."""
    scores, logits = _normal(rng, B * H * T, T), _normal(rng, N, V)  # (3072, 64), (768, 65)
    targets = rng.integers(0, V, N)  # (768,)
    ce_weight = np.ones(V, np.float32)  # (65,)
    ce_grad = np.full(N, 1 / N, np.float32)  # (768,): d(mean)/d(loss_i)
    lse = ref["cross_entropy_fwd"](logits, targets, ce_weight, IGNORE, 0.0)[1]  # (768,)
    x, w, b, gy = _normal(rng, N, C), _normal(rng, C), _normal(rng, C), _normal(rng, N, C)
    mean, rstd = ref["layer_norm_fwd"](x, w, b, EPS)[1:]  # (768,), (768,)
    rows = {"x": scores, "y": ref["softmax_fwd"](scores), "gy": _normal(rng, *scores.shape)}
    logrows = {"x": logits, "y": ref["log_softmax_fwd"](logits), "gy": _normal(rng, N, V)}
    ce = {"logits": logits, "targets": targets, "weight": ce_weight, "lse": lse, "g": ce_grad}
    ln = {"x": x, "w": w, "b": b, "mean": mean, "rstd": rstd, "gy": gy}
    NNF = "torch.nn.functional."
    return [
        Case("softmax_fwd", "(3072, 64)", ("softmax_fwd",), lambda: rows,
             lambda k, a: lambda: k["softmax_fwd"](a["x"]),
             lambda torch, t: lambda: torch.softmax(t["x"], 1), "torch.softmax(x, 1)"),
        Case("softmax_bwd", "(3072, 64)", ("softmax_bwd",), lambda: rows,
             lambda k, a: lambda: k["softmax_bwd"](a["y"], a["gy"]),
             lambda torch, t: _grad_of(torch, lambda x: torch.softmax(x, 1), [t["x"]], t["gy"]),
             "autograd.grad through torch.softmax"),
        Case("log_softmax_fwd", "(768, 65)", ("log_softmax_fwd",), lambda: logrows,
             lambda k, a: lambda: k["log_softmax_fwd"](a["x"]),
             lambda torch, t: lambda: torch.log_softmax(t["x"], 1), "torch.log_softmax(x, 1)"),
        Case("log_softmax_bwd", "(768, 65)", ("log_softmax_bwd",), lambda: logrows,
             lambda k, a: lambda: k["log_softmax_bwd"](a["y"], a["gy"]),
             lambda torch, t: _grad_of(torch, lambda x: torch.log_softmax(x, 1), [t["x"]], t["gy"]),
             "autograd.grad through torch.log_softmax"),
        Case("cross_entropy_fwd", "(768, 65)", ("cross_entropy_fwd",), lambda: ce,
             lambda k, a: lambda: k["cross_entropy_fwd"](a["logits"], a["targets"], a["weight"], IGNORE, 0.0),
             lambda torch, t: lambda: torch.nn.functional.cross_entropy(t["logits"], t["targets"], reduction="none"),
             NNF + "cross_entropy(reduction='none')"),
        Case("cross_entropy_bwd", "(768, 65)", ("cross_entropy_bwd",), lambda: ce,
             lambda k, a: lambda: k["cross_entropy_bwd"](a["logits"], a["targets"], a["weight"], a["lse"], a["g"],
                                                         IGNORE, 0.0),
             lambda torch, t: _grad_of(torch, lambda z: torch.nn.functional.cross_entropy(
                 z, t["targets"], reduction="none"), [t["logits"]], t["g"]),
             "autograd.grad through " + NNF + "cross_entropy"),
        Case("layer_norm_fwd", "(768, 128)", ("layer_norm_fwd",), lambda: ln,
             lambda k, a: lambda: k["layer_norm_fwd"](a["x"], a["w"], a["b"], EPS),
             lambda torch, t: lambda: torch.nn.functional.layer_norm(t["x"], (C,), t["w"], t["b"], EPS),
             NNF + "layer_norm"),
        Case("layer_norm_bwd", "(768, 128)", ("layer_norm_bwd",), lambda: ln,
             lambda k, a: lambda: k["layer_norm_bwd"](a["x"], a["w"], a["mean"], a["rstd"], a["gy"]),
             lambda torch, t: _grad_of(torch, lambda x, w, b: torch.nn.functional.layer_norm(x, (C,), w, b, EPS),
                                       [t["x"], t["w"], t["b"]], t["gy"]),
             "autograd.grad through " + NNF + "layer_norm (x, weight, bias)"),
    ]


def _gelu_cases(rng):
    """gelu forward and backward, both forms."""
    data = {"x": _normal(rng, N, 4 * C), "gy": _normal(rng, N, 4 * C)}  # (768, 512) each
    cases = []
    for form in ("none", "tanh"):
        def gelu(torch, x, form=form):
            return torch.nn.functional.gelu(x, approximate=form)

        cases += [
            Case(f"gelu_fwd {form}", "(768, 512)", ("gelu_fwd",), lambda: data,
                 lambda k, a, form=form: lambda: k["gelu_fwd"](a["x"], form),
                 lambda torch, t, gelu=gelu: lambda: gelu(torch, t["x"]),
                 f"torch.nn.functional.gelu(approximate={form!r})"),
            Case(f"gelu_bwd {form}", "(768, 512)", ("gelu_bwd",), lambda: data,
                 lambda k, a, form=form: lambda: k["gelu_bwd"](a["x"], a["gy"], form),
                 lambda torch, t, gelu=gelu: _grad_of(torch, lambda x: gelu(torch, x), [t["x"]], t["gy"]),
                 f"autograd.grad through torch.nn.functional.gelu(approximate={form!r})"),
        ]
    return cases


def _pointwise_cases(rng):
    """dropout, mse and kl_div forward and backward, on (B*T, C) activations."""
    x, y, g = (_normal(rng, N, C) for _ in range(3))  # (768, 128) each
    keep = ((rng.random((N, C)) >= 0.1) / 0.9).astype(np.float32)  # dropout p = 0.1
    teacher = np.abs(y) / np.abs(y).sum(axis=1, keepdims=True)  # (768, 128), rows of probabilities
    data = {"x": x, "y": y, "g": g, "keep": keep, "teacher": teacher}
    shape = "(768, 128)"

    def mse(torch, p, q):
        return torch.nn.functional.mse_loss(p, q, reduction="none")

    def kl(torch, s, t):
        return torch.nn.functional.kl_div(s, t, reduction="none")

    return [
        Case("dropout_fwd", shape, ("dropout_fwd",), lambda: data,
             lambda k, a: lambda: k["dropout_fwd"](a["x"], a["keep"]),
             lambda torch, t: lambda: t["x"] * t["keep"], "x * keep (torch's dropout draws its own mask)"),
        Case("dropout_bwd", shape, ("dropout_bwd",), lambda: data,
             lambda k, a: lambda: k["dropout_bwd"](a["keep"], a["g"]),
             lambda torch, t: lambda: t["g"] * t["keep"], "gy * keep"),
        Case("mse_fwd", shape, ("mse_fwd",), lambda: data,
             lambda k, a: lambda: k["mse_fwd"](a["x"], a["y"]),
             lambda torch, t: lambda: mse(torch, t["x"], t["y"]), "torch.nn.functional.mse_loss(reduction='none')"),
        Case("mse_bwd", shape, ("mse_bwd",), lambda: data,
             lambda k, a: lambda: k["mse_bwd"](a["x"], a["y"], a["g"]),
             lambda torch, t: _grad_of(torch, lambda p, q: mse(torch, p, q), [t["x"], t["y"]], t["g"]),
             "autograd.grad through mse_loss(reduction='none') (pred, target)"),
        Case("kl_div_fwd", shape, ("kl_div_fwd",), lambda: data,
             lambda k, a: lambda: k["kl_div_fwd"](a["x"], a["teacher"], False),
             lambda torch, t: lambda: kl(torch, t["x"], t["teacher"]), "torch.nn.functional.kl_div(reduction='none')"),
        Case("kl_div_bwd", shape, ("kl_div_bwd",), lambda: data,
             lambda k, a: lambda: k["kl_div_bwd"](a["x"], a["teacher"], a["g"], False),
             lambda torch, t: _grad_of(torch, lambda s, p: kl(torch, s, p), [t["x"], t["teacher"]], t["g"]),
             "autograd.grad through kl_div(reduction='none') (input, target)"),
    ]


def _heads(t):
    return t.view(B, H, T, D)  # (B*H, T, D) -> (B, H, T, D)


def _other_cases(rng, ref):
    """attention forward and backward, adamw_step, embedding_bwd."""
    q, k, v, gout = (_normal(rng, B * H, T, D) for _ in range(4))  # (48, 64, 32) each
    out, lse = ref["attention_fwd"](q, k, v, None, None, True, SCALE)  # (48, 64, 32), (48, 64)
    att = {"q": q, "k": k, "v": v, "out": out, "lse": lse, "gout": gout}
    g = 0.01 * _normal(rng, 128, 512)
    adam = {"param": 0.02 * _normal(rng, 128, 512), "grad": g, "m": 0.3 * g, "v": 0.05 * g * g}
    emb = {"ids": rng.integers(0, V, N), "grad": _normal(rng, N, C), "weight": _normal(rng, V, C)}

    def sdpa(torch, q, k, v):
        return torch.nn.functional.scaled_dot_product_attention(_heads(q), _heads(k), _heads(v), is_causal=True)

    def fused_adamw(torch, t):
        if not hasattr(torch, "_fused_adamw_"):
            raise Unavailable(f"torch {torch.__version__} has no torch._fused_adamw_")
        step = torch.tensor(float(ADAMW_STEP))
        return lambda: torch._fused_adamw_([t["param"]], [t["grad"]], [t["m"]], [t["v"]], [], [step],
                                           amsgrad=False, maximize=False, **ADAMW)

    return [
        Case("attention_fwd", "(48, 64, 32)", ("attention_fwd",), lambda: att,
             lambda kt, a: lambda: kt["attention_fwd"](a["q"], a["k"], a["v"], None, None, True, SCALE),
             lambda torch, t: lambda: sdpa(torch, t["q"], t["k"], t["v"]),
             "torch.nn.functional.scaled_dot_product_attention(is_causal=True)"),
        Case("attention_bwd", "(48, 64, 32)", ("attention_bwd",), lambda: att,
             lambda kt, a: lambda: kt["attention_bwd"](a["q"], a["k"], a["v"], None, None, a["out"], a["lse"],
                                                       a["gout"], True, SCALE),
             lambda torch, t: _grad_of(torch, lambda q, k, v: sdpa(torch, q, k, v), [t["q"], t["k"], t["v"]],
                                       _heads(t["gout"])),
             "autograd.grad through scaled_dot_product_attention (q, k, v)"),
        Case("adamw_step", "(128, 512)", ("adamw_step",), lambda: adam,
             lambda kt, a: lambda: kt["adamw_step"](a["param"], a["grad"], a["m"], a["v"], ADAMW["lr"],
                                                    ADAMW["beta1"], ADAMW["beta2"], ADAMW["eps"],
                                                    ADAMW["weight_decay"], ADAMW_STEP),
             fused_adamw, "torch._fused_adamw_ on one tensor"),
        Case("embedding_bwd", "(768,) x (768, 128) -> (65, 128)", ("embedding_bwd",), lambda: emb,
             lambda kt, a: lambda: kt["embedding_bwd"](a["ids"], a["grad"], V),
             lambda torch, t: _grad_of(torch, lambda w: torch.nn.functional.embedding(t["ids"], w), [t["weight"]],
                                       t["grad"]),
             "autograd.grad through torch.nn.functional.embedding"),
    ]


def cases():
    """Every case whose kernels all exist in ``KERNEL_NAMES``, inputs from a fixed seed."""
    rng, ref = np.random.default_rng(0), load_kernels("numpy")
    every = _row_cases(rng, ref) + _gelu_cases(rng) + _pointwise_cases(rng) + _other_cases(rng, ref)
    return [case for case in every if set(case.kernels) <= set(KERNEL_NAMES)]


def our_call(case, table):
    return case.ours(table, {name: array.copy() for name, array in case.inputs().items()})


def torch_call(case, torch):
    return case.theirs(torch, {name: torch.tensor(array) for name, array in case.inputs().items()})


def first_calls(threads):
    """Run in a fresh subprocess: seconds to import the Numba table's module (Numba itself is
    already imported by tinygrad_lm), then to make each case's first call."""
    pin_threads(threads)
    every = cases()  # inputs built (with the NumPy table) before the clock starts
    start = time.perf_counter()
    table = load_kernels("numba")
    seconds = {"import_s": time.perf_counter() - start, "first_call_s": {}}
    for case in every:
        call = our_call(case, table)
        start = time.perf_counter()
        call()
        seconds["first_call_s"][case.label] = time.perf_counter() - start
    seconds["total_s"] = seconds["import_s"] + sum(seconds["first_call_s"].values())
    return seconds


def compile_times(threads):
    """First-call times of the Numba table with a cold on-disk cache, then warm (same folder)."""
    code = f"import json, kernels\nprint(json.dumps(kernels.first_calls({threads})))"
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as folder:
        try:
            return {which: run_python_json(code, env={"NUMBA_CACHE_DIR": folder}) for which in ("cold", "warm")}
        except RuntimeError as error:
            return {"error": str(error)}


def contenders(threads):
    """{name: kernel table or torch module}, and {name: why missing}."""
    found, missing = {"numpy": load_kernels("numpy")}, {}
    if "numba" not in BACKENDS:
        missing["numba"] = "no 'numba' entry in tinygrad_lm.backends.BACKENDS (the table is not registered)"
    else:
        try:
            found["numba"] = load_kernels("numba")
        except ImportError as error:
            missing["numba"] = f"load_kernels('numba') failed: {error}"
    try:
        import torch

        torch.set_num_threads(threads)
        found["pytorch"] = torch
    except ImportError as error:
        missing["pytorch"] = f"PyTorch is not importable ({error}); pip install the 'bench' extra"
    return found, missing


def time_case(case, found, missing, args):
    """{contender: stats or {"status": "missing", "reason": ...}} for one case."""
    calls, results = {}, {name: {"status": "missing", "reason": why} for name, why in missing.items()}
    for name, impl in found.items():
        try:
            calls[name] = torch_call(case, impl) if name == "pytorch" else our_call(case, impl)
        except Unavailable as why:
            results[name] = {"status": "missing", "reason": str(why)}
    warmup = 1 if args.quick else 3
    for call in calls.values():
        for _ in range(warmup):  # compile, allocate, fill caches before calibrating
            call()
    counts = {name: 1 if args.quick else calls_per_sample(call, MIN_SAMPLE_SECONDS) for name, call in calls.items()}
    times = interleaved_times(calls, repeats=args.repeats, warmup=0, calls=counts)
    for name, seconds in times.items():
        results[name] = {"status": "ok", "calls_per_sample": counts[name], **summarize(seconds, "us")}
    return results


def _cell(result):
    return f"{result['median_us']:.1f}" if result["status"] == "ok" else "missing"


def _ratio(result, other):
    if result["status"] != "ok" or other["status"] != "ok":
        return "n/a"
    return f"{result['median_us'] / other['median_us']:.2f}x"


def report(rows, compile_result, args):
    """Markdown tables: the kernels, then the Numba table's compile time."""
    lines = [[r["case"], r["shape"], *(_cell(r["contenders"][n]) for n in ("numpy", "numba", "pytorch")),
              _ratio(r["contenders"]["numba"], r["contenders"]["numpy"]),
              _ratio(r["contenders"]["numba"], r["contenders"]["pytorch"])] for r in rows]
    headers = ["kernel", "shape", "numpy µs", "numba µs", "PyTorch µs", "numba / numpy time", "numba / PyTorch time"]
    text = (f"`{command_line()}` ({args.threads} thread(s), {args.repeats} rounds, median µs per call)\n\n"
            + markdown_table(headers, lines))
    if "cold" in compile_result:
        text += "\n\n" + markdown_table(
            ["Numba table, first calls of every case", "import s", "first calls s", "total s"],
            [[which, f"{r['import_s']:.2f}", f"{sum(r['first_call_s'].values()):.2f}", f"{r['total_s']:.2f}"]
             for which, r in (("cold cache (compiles)", compile_result["cold"]),
                              ("warm cache (loads)", compile_result["warm"]))])
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=50, quick_repeats=3)
    parser.add_argument("--skip-compile-time", action="store_true",
                        help="do not time the Numba table's first calls (two subprocesses; the cold one compiles "
                             "every kernel, tens of seconds)")
    args = finish_args(parser, parser.parse_args(), repeats=50, quick_repeats=3)
    thread_method = pin_threads(args.threads)
    found, missing = contenders(args.threads)
    rows = []
    for case in cases():
        print(f"timing {case.label} {case.shape}", file=sys.stderr)
        rows.append({"case": case.label, "shape": case.shape, "kernels": list(case.kernels),
                     "pytorch_op": case.torch_op, "contenders": time_case(case, found, missing, args)})
    covered = {name for row in rows for name in row["kernels"]}
    if args.skip_compile_time:
        compile_result = {"skipped": "--skip-compile-time"}
    elif "numba" in found:
        print("timing the Numba table's first calls, cold and warm cache", file=sys.stderr)
        compile_result = compile_times(args.threads)
    else:
        compile_result = {"skipped": missing["numba"]}
    table = report(rows, compile_result, args)
    settings = {"device": "cpu", "dtype": "float32", "repeats": args.repeats, "quick": args.quick,
                "threads": args.threads, "thread_method": thread_method,
                "min_sample_seconds": None if args.quick else MIN_SAMPLE_SECONDS,
                "timing": "interleaved rounds, rotating order; a sample repeats one call until it lasts "
                          "min_sample_seconds (1 call with --quick); time.perf_counter; median per call",
                "inputs": "standard normal float32 from numpy default_rng(0); forward outputs for the "
                          "backward cases from the numpy table"}
    out_json = args.out / "kernels_cpu.json"
    machine = machine_info()
    write_json(out_json, {"benchmark": "kernels", "command": command_line(), "machine": machine,
                          "settings": settings, "cases": rows,
                          "kernels_without_case": [k for k in KERNEL_NAMES if k not in covered],
                          "numba_compile_time": compile_result, "table_markdown": table})
    series = {name: [r["contenders"][name].get("median_us") for r in rows] for name in ("numpy", "numba", "pytorch")}
    chart = grouped_bar_chart(args.out / "kernels_cpu.png", [r["case"] for r in rows],
                              {name: values for name, values in series.items() if any(values)},
                              "µs per call (median, log scale)",
                              f"fused kernels at shakespeare-char shapes, {machine['cpu']}, {args.threads} thread(s)"
                              + (" [--quick: not a measurement]" if args.quick else ""))
    print(table)
    print(f"\nwrote {out_json}" + (f" and {chart}" if chart else " (no chart: matplotlib is not installed)"))


if __name__ == "__main__":
    main()
