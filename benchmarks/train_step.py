"""One full training step of a GPT: tinygrad_lm against PyTorch eager, on the CPU or a GPU.

    python benchmarks/train_step.py [--device cpu|cuda] [--threads default,1] [--runs 3] [--repeats 300]
                                    [--warmup 10] [--skip-compile-time] [--out DIR] [--quick]

writes DIR/train_step_<device>.json and .png: one table per thread setting, and on the CPU
the Numba table's compile time with a cold and a warm cache.

The step, the same for every contender (``tinygrad_lm.train.Trainer.train_step``'s):

    x, y = sampler.next_batch()         batch draw: B random windows of a token stream (NumPy),
                                        made tensors on the device
    logits, loss = model(x, y)          forward; loss = mean cross-entropy over B*T positions
    zero the grads; loss.backward()     backward
    clip_grad_norm_(params, 1.0)        one global norm over all gradients
    AdamW step                          lr 1e-3, betas (0.9, 0.99), eps 1e-8, weight decay 0.1
                                        on the >= 2-D weights (the preset's groups)
    loss.item()                         the loss back on the host (on a GPU: waits for the step)

The models (float32, vocabulary 65, tied head):

    --device cpu    the ``shakespeare-char`` preset: block 64, 4 layers, 4 heads, 128 wide,
                    biases, dropout 0, batch 12 (768 tokens a step)
    --device cuda   nanoGPT's GPU shakespeare-char: block 256, 6 layers, 6 heads, 384 wide,
                    no biases, dropout 0.2, batch 64 (16,384 tokens a step)

The token stream is 2^20 random ids (numpy default_rng(1337)); every contender draws its
batches with the same ``BatchSampler`` and seed, so all see the same batches.

Contenders:
    cpu:   tinygrad_lm/numba    tinygrad_lm.models.GPT + optim.AdamW under the "numba" kernel
                                table: the contender the targets are about
           tinygrad_lm/numpy    the same under the "numpy" reference table (for reference)
           pytorch              torch_gpt.py's model, torch.optim.AdamW (its default CPU
                                implementation), torch.nn.utils.clip_grad_norm_
    cuda:  tinygrad_lm/cupy     tinygrad_lm's GPT on the GPU (CuPy arrays, the "cupy" kernels)
           pytorch              PyTorch eager float32 with TF32 off (full float32 matmuls)
           pytorch/tf32         the same with TF32 matmuls and convolutions allowed

Method: whole runs, alternating. A run is one contender in a fresh process of its own: build
the model and optimizer, ``--warmup`` untimed steps (Numba loads its cached kernels), then
``--repeats`` timed steps (300), each timed in the process by ``time.perf_counter`` (and its
CPU time by ``time.process_time``); the run's statistic is its median step. Runs alternate:
round r runs every contender once, one after the other, starting at contender r mod n, for
``--runs`` rounds (3). A contender's median is the median of its run medians; its ratio to
PyTorch is that over PyTorch's, and each round's ratio (same round, neighbouring runs) is
recorded too. Only one process runs at a time, so no thread pool competes with another.

Threads (``--threads``, a comma list, each one table): ``default`` is what a user gets: the
thread-pool variables (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS,
NUMBA_NUM_THREADS) removed from the workers' environment, PyTorch's own choice; a number n
sets all four to n and calls torch.set_num_threads(n). Each run records the thread counts
its libraries really used (threadpoolctl where installed, numba.get_num_threads,
torch.get_num_threads). Run it on a quiet machine: with two threads on two cores, one core
busy with something else stalls every parallel region (benchmarks/README.md).

Compile time (CPU only, after the tables; ``--skip-compile-time`` skips it, ``--quick`` too):
two fresh processes share a new, empty NUMBA_CACHE_DIR, at default threads: the first
compiles every kernel the step needs, the second loads them from the cache. Each records
its CPU seconds from process start to its first step (interpreter, NumPy, Numba,
tinygrad_lm), the first step (wall and CPU seconds) and the median of the next five; first
step minus a steady step is what compiling (or loading) cost. The first step
is the one ``tinygrad-lm train --preset shakespeare-char`` takes on a fresh install.

Memory: every worker first calls ``tinygrad_lm.engine.memory.keep_freed_memory()``, as the
trainer does (``--default-malloc`` leaves glibc's settings alone); its resident-memory
high-water mark (VmHWM) is recorded after setup and after the run; on a GPU also the memory
the library's allocator holds, and the model FLOPs utilisation with nanoGPT's count
(6 N + 12 L H Q T per token, N the parameters without the position table) against the GPU's
peak float32 and TF32 rates where the GPU is in ``PEAK_TFLOPS``.

Honesty check on the CPU, recorded in the JSON (in a process of its own, 1 thread): the
PyTorch model loads tinygrad_lm's initial weights, both take two steps on the same batches,
and the losses and the gradient and weight differences are recorded (``equivalence_check``).

Left out: torch.compile (eager against eager), evaluation, and on the GPU the equivalence
check (dropout draws different masks in the two libraries) and CUDA graphs.
"""

import argparse
import contextlib
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import (
    BENCH_DIR,
    REPO_ROOT,
    RESULTS_DIR,
    THREAD_ENV_VARS,
    command_line,
    grouped_bar_chart,
    machine_info,
    markdown_table,
    summarize,
    write_json,
)
from torch_gpt import ATTENTION, torch_gpt

import tinygrad_lm as tg
from tinygrad_lm.backends import BACKENDS, load_kernels, use_kernels
from tinygrad_lm.data.batching import BatchSampler
from tinygrad_lm.engine.device import cuda_problem, to_device
from tinygrad_lm.engine.memory import keep_freed_memory
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.optim import AdamW, clip_grad_norm_, param_groups_for_weight_decay
from tinygrad_lm.train.config import preset


@dataclasses.dataclass(frozen=True)
class Setup:
    """What one --device runs: the model, the batch and the contenders."""

    device: str
    model: GPTConfig
    batch_size: int
    contenders: tuple


RUN = preset("shakespeare-char")
VOCAB = 65  # the character vocabulary of tiny Shakespeare
SETUPS = {
    "cpu": Setup("cpu", GPTConfig(vocab_size=VOCAB, block_size=RUN.block_size, n_layer=RUN.n_layer,
                                  n_head=RUN.n_head, n_embd=RUN.n_embd, dropout=RUN.dropout, bias=RUN.bias,
                                  seed=RUN.seed),
                 RUN.batch_size, ("tinygrad_lm/numba", "pytorch", "tinygrad_lm/numpy")),
    "cuda": Setup("cuda", GPTConfig(vocab_size=VOCAB, block_size=256, n_layer=6, n_head=6, n_embd=384,
                                    dropout=0.2, bias=False, seed=RUN.seed),
                  64, ("tinygrad_lm/cupy", "pytorch", "pytorch/tf32")),
}
LR, BETAS, EPS, WEIGHT_DECAY, CLIP = RUN.lr, (RUN.beta1, RUN.beta2), 1e-8, RUN.weight_decay, RUN.grad_clip
STREAM_TOKENS = 1 << 20  # length of the random token stream the batches are drawn from
# Dense peak TFLOP/s (float32 on CUDA cores, TF32 on tensor cores), NVIDIA's datasheets, by a
# substring of the name nvidia-smi prints.
PEAK_TFLOPS = {"H200": (67.0, 494.7), "H100 80GB HBM3": (67.0, 494.7), "H100 PCIe": (51.2, 378.0),
               "A100": (19.5, 156.0)}


class Unavailable(Exception):
    """A contender that cannot run here; the message says why and lands in the JSON."""


@dataclasses.dataclass
class Contender:
    """step(i) -> loss: one full training step (batch i, or a fresh draw); weights(), grads(): {name: NumPy copy}."""

    step: object
    weights: object
    grads: object


def make_batches(setup, count, seed):
    """``count`` fixed (x, y) pairs of int64 token ids (B, T); y is x shifted by one position."""
    shape = (count, setup.batch_size, setup.model.block_size + 1)
    ids = np.random.default_rng(seed).integers(0, VOCAB, size=shape)  # (count, B, T+1)
    return [(seq[:, :-1], seq[:, 1:]) for seq in ids]  # (B, T+1) -> (B, T), (B, T)


def make_sampler(setup, seed=RUN.seed):
    """The trainer's BatchSampler over a random token stream: every step draws a fresh batch."""
    stream = np.random.default_rng(seed).integers(0, VOCAB, size=STREAM_TOKENS)  # (N,)
    return BatchSampler(stream, setup.model.block_size, setup.batch_size, seed=seed)


def _drawer(batches):
    """batch(i) -> (x, y): batches[i mod len] from a list, else the sampler's next draw."""
    if isinstance(batches, BatchSampler):
        return lambda i: batches.next_batch()
    return lambda i: batches[i % len(batches)]


def build_tinygrad(setup, backend, batches, weights=None):
    """tinygrad_lm's GPT and AdamW; on the CPU under kernel table ``backend``, else on the GPU."""
    device = "cpu" if backend in ("numpy", "numba") else "cuda"
    if device == "cpu":
        if backend not in BACKENDS:
            raise Unavailable(f"no {backend!r} entry in tinygrad_lm.backends.BACKENDS (the table is not registered)")
        try:
            load_kernels(backend)
        except ImportError as error:
            raise Unavailable(f"load_kernels({backend!r}) failed: {error}") from None
    model = GPT(setup.model, dtype="float32")
    if weights is not None:
        model.load_state_dict(weights)
    model.to(device)
    groups = param_groups_for_weight_decay(model.named_parameters(), WEIGHT_DECAY)
    optimizer = AdamW(groups, lr=LR, betas=BETAS, eps=EPS)
    batch = _drawer(batches)

    def step(i):
        with use_kernels(backend) if device == "cpu" else contextlib.nullcontext():  # GPU arrays: cupy table
            x, y = batch(i)
            _, loss = model(tg.tensor(x, device=device), tg.tensor(y, device=device))
            optimizer.zero_grad()
            loss.backward()
            clip_grad_norm_(model.parameters(), CLIP)
            optimizer.step()
        return loss.item()

    return Contender(step, model.state_dict,  # state_dict(): host copies, from either device
                     lambda: {name: to_device(p.grad, "cpu").copy() for name, p in model.named_parameters()})


def build_torch(setup, threads, batches, weights=None, tf32=False):
    """The PyTorch contender (``threads`` None: PyTorch's default); ``weights`` replace its initial ones."""
    try:
        import torch
    except ImportError as error:
        raise Unavailable(f"PyTorch is not importable ({error}); pip install the 'bench' extra") from None
    device = setup.device
    if device == "cuda":
        if not torch.cuda.is_available():
            raise Unavailable("torch.cuda.is_available() is False (a CPU-only PyTorch build, or no GPU)")
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
    if threads is not None:
        torch.set_num_threads(threads)
    model = torch_gpt(torch, setup.model)
    if weights is not None:
        model.load_state_dict({name: torch.from_numpy(array.copy()) for name, array in weights.items()})
    model.to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    keep = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                                   {"params": keep, "weight_decay": 0.0}], lr=LR, betas=BETAS, eps=EPS)
    batch = _drawer(batches)

    def step(i):
        x, y = (torch.from_numpy(a).to(device) for a in batch(i))
        logits = model(x)  # (B, T, V)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, VOCAB), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        return loss.item()

    def as_numpy(use_grad):
        return {name: (p.grad if use_grad else p).detach().cpu().numpy().copy() for name, p in model.named_parameters()}

    return Contender(step, lambda: as_numpy(False), lambda: as_numpy(True))


# name -> build(setup, threads, batches, weights=None) -> Contender
BUILDERS = {
    "tinygrad_lm/numpy": lambda setup, threads, batches, weights=None: build_tinygrad(setup, "numpy", batches, weights),
    "tinygrad_lm/numba": lambda setup, threads, batches, weights=None: build_tinygrad(setup, "numba", batches, weights),
    "tinygrad_lm/cupy": lambda setup, threads, batches, weights=None: build_tinygrad(setup, "cupy", batches, weights),
    "pytorch": build_torch,
    "pytorch/tf32": lambda setup, threads, batches, weights=None: build_torch(setup, threads, batches, weights, True),
}


def equivalence_check(threads, batches):
    """Steps of tinygrad_lm/numpy and of PyTorch from the same weights on the same ``batches`` (CPU).

    Recorded: each step's loss for both, the largest gradient difference at the last step
    (relative to the parameter's largest gradient), and the weight differences after it: the
    largest one, which a few elements with gradients near 0 dominate (there AdamW's update
    g / (|g| + eps) is sensitive to rounding), and the largest per-parameter median, which a
    wrong hyperparameter (weight decay on a LayerNorm, another beta) would lift to ~1e-4.
    """
    setup = SETUPS["cpu"]
    reference = BUILDERS["tinygrad_lm/numpy"](setup, threads, batches)
    other = build_torch(setup, threads, batches, weights=reference.weights())
    losses = [(reference.step(i), other.step(i)) for i in range(len(batches))]
    grads, weights = (reference.grads(), other.grads()), (reference.weights(), other.weights())
    weight_gaps = {name: np.abs(w - weights[1][name]) for name, w in weights[0].items()}
    return {
        "steps": len(batches),
        "losses_tinygrad_lm": [a for a, _ in losses], "losses_pytorch": [b for _, b in losses],
        "max_relative_grad_difference": max(float(np.abs(g - grads[1][n]).max() / np.abs(grads[1][n]).max())
                                            for n, g in grads[0].items()),
        "max_weight_difference": max(float(gap.max()) for gap in weight_gaps.values()),
        "max_median_weight_difference": max(float(np.median(gap)) for gap in weight_gaps.values()),
    }


def _peak_rss_mib():
    """This process's resident-memory high-water mark in MiB (VmHWM on Linux, else ru_maxrss)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB -> MiB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _gpu_memory_mib(name):
    """What the contender's GPU allocator holds now, in MiB (CuPy's pool, PyTorch's peak reserved)."""
    if name.startswith("pytorch"):
        import torch

        return torch.cuda.max_memory_reserved() / 2**20
    import cupy

    return cupy.get_default_memory_pool().total_bytes() / 2**20


def threads_in_use():
    """{library: threads} as this process runs them: thread pools, Numba, PyTorch (loaded ones only)."""
    used = {}
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_info

        used.update({f"{p['internal_api']} ({p['user_api']})": p["num_threads"] for p in threadpool_info()})
    if "numba" in sys.modules:
        import numba

        used["numba"] = numba.get_num_threads()
        with contextlib.suppress(ValueError):  # no parallel kernel ran yet
            used["numba_threading_layer"] = numba.threading_layer()
    if "torch" in sys.modules:
        used["torch"] = sys.modules["torch"].get_num_threads()
    return used


def run_worker(device, name, threads, steps, warmup, keep_memory):
    """A run, in a process of its own: build ``name``, ``warmup`` untimed steps, ``steps`` timed
    ones; prints one JSON line (or {"status": "missing", "reason": ...})."""
    malloc = keep_freed_memory() if keep_memory else False
    setup = SETUPS[device]
    try:
        contender = BUILDERS[name](setup, threads, make_sampler(setup))
    except Unavailable as reason:
        print(json.dumps({"status": "missing", "reason": str(reason)}), flush=True)
        return
    rss_after_setup = _peak_rss_mib()
    for i in range(warmup):
        contender.step(i)
    wall, cpu = [], []
    for i in range(steps):
        start, start_cpu = time.perf_counter(), time.process_time()
        contender.step(i)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    result = {"status": "ok", "times_ms": [s * 1e3 for s in wall], "cpu_ms": [s * 1e3 for s in cpu],
              "rss_after_setup_mib": rss_after_setup, "peak_rss_mib": _peak_rss_mib(), "keep_freed_memory": malloc,
              "threads_in_use": threads_in_use(), "loadavg_after": os.getloadavg()}
    if device == "cuda":
        result["gpu_memory_mib"] = _gpu_memory_mib(name)
    print(json.dumps(result), flush=True)


def run_child(code, threads, env=None, timeout=1800):
    """Run ``code`` in a fresh interpreter (repo root and benchmarks/ importable) with the thread
    variables for ``threads`` ("default": removed; n: all set to n); return its last JSON line."""
    child_env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    if threads != "default":
        child_env.update({var: str(threads) for var in THREAD_ENV_VARS})
    child_env.update(env or {})
    preamble = f"import sys; sys.path[:0] = [{str(REPO_ROOT)!r}, {str(BENCH_DIR)!r}]\nimport train_step\n"
    result = subprocess.run([sys.executable, "-c", preamble + code], check=False, cwd=REPO_ROOT, env=child_env,
                            capture_output=True, text=True, timeout=timeout)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"worker exited with {result.returncode}: {result.stderr.strip()[-2000:]}")
    return json.loads(lines[-1])


def first_steps(steady_steps=5):
    """The compile-time worker: the Numba table's import, the first step and a steady step (JSON line)."""
    keep_freed_memory()
    start, start_cpu = time.perf_counter(), time.process_time()  # process_time: CPU since the process began
    load_kernels("numba")  # imports Numba and the table's modules; compiles nothing
    imported, imported_cpu = time.perf_counter(), time.process_time()
    contender = build_tinygrad(SETUPS["cpu"], "numba", make_sampler(SETUPS["cpu"]))
    built, built_cpu = time.perf_counter(), time.process_time()
    contender.step(0)
    first, first_cpu = time.perf_counter() - built, time.process_time() - built_cpu
    steady = []
    for i in range(steady_steps):
        begin, begin_cpu = time.perf_counter(), time.process_time()
        contender.step(i + 1)
        steady.append((time.perf_counter() - begin, time.process_time() - begin_cpu))
    wall, cpu = (float(np.median(column)) for column in zip(*steady))
    print(json.dumps({"startup_cpu_s": start_cpu, "import_s": imported - start, "import_cpu_s": imported_cpu - start_cpu,
                      "first_step_s": first, "first_step_cpu_s": first_cpu, "steady_step_s": wall,
                      "steady_step_cpu_s": cpu, "first_step_extra_s": first - wall,
                      "first_step_extra_cpu_s": first_cpu - cpu, "threads_in_use": threads_in_use(),
                      "loadavg_after": os.getloadavg()}), flush=True)


def compile_times():
    """{"cold": ..., "warm": ...}: ``first_steps`` in two fresh processes sharing a new, empty cache."""
    with tempfile.TemporaryDirectory(prefix="numba_cache_") as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = run_child("train_step.first_steps()", "default", env)
        warm = run_child("train_step.first_steps()", "default", env)
    return {"cold": cold, "warm": warm, "threads": "default",
            "method": "fresh NUMBA_CACHE_DIR; cold = the first process (compiles), warm = the second (loads); "
                      "first_step_extra = first step minus the median of the next 5"}


def run_table(setup, threads, args):
    """{contender: stats} for one thread setting: ``args.runs`` rounds of alternating whole runs."""
    names, runs = list(setup.contenders), {name: [] for name in setup.contenders}
    threads_arg = "None" if threads == "default" else threads
    for r in range(args.runs):
        for name in names[r % len(names):] + names[:r % len(names)]:
            code = (f"train_step.run_worker({setup.device!r}, {name!r}, {threads_arg}, {args.repeats}, "
                    f"{args.warmup}, {not args.default_malloc})")
            runs[name].append(run_child(code, threads))
            median = _run_median(runs[name][-1])
            print(f"  threads {threads}, round {r + 1}/{args.runs}: {name} "
                  + (f"{median:.1f} ms" if isinstance(median, float) else median), file=sys.stderr)
    results = {}
    for name, done in runs.items():
        if done[0]["status"] != "ok":
            results[name] = done[0]
            continue
        medians = [_run_median(run) for run in done]
        pooled = [t for run in done for t in run["times_ms"]]
        median = float(np.median(medians))
        results[name] = {"status": "ok", **summarize(np.asarray(pooled) / 1e3, "ms"), "median_ms": median,
                         "run_medians_ms": medians,
                         "cpu_median_ms": float(np.median([t for run in done for t in run["cpu_ms"]])),
                         "tokens_per_s": setup.batch_size * setup.model.block_size / (median / 1e3), "runs": done}
    torch = results.get("pytorch", {})
    for stats in results.values():
        if stats["status"] == "ok":
            ok = torch.get("status") == "ok"
            stats["time_vs_pytorch"] = stats["median_ms"] / torch["median_ms"] if ok else None
            stats["round_ratios_vs_pytorch"] = ([a / b for a, b in zip(stats["run_medians_ms"], torch["run_medians_ms"])]
                                                if ok else None)
    return results


def _run_median(run):
    return float(np.median(run["times_ms"])) if run["status"] == "ok" else run["status"]


def parameters_without_positions(config):
    """N in nanoGPT's FLOP count: every parameter except the position table (the head is tied)."""
    c, layers = config.n_embd, config.n_layer
    n = 12 * layers * c**2 + config.vocab_size * c + (2 * layers + 1) * c  # weights, wte, LayerNorm gains
    if config.bias:
        n += layers * 9 * c + (2 * layers + 1) * c  # Linear biases (3C + C + 4C + C a block), LayerNorm biases
    return n


def flops_per_step(setup):
    """nanoGPT's estimate: (6 N + 12 L H Q T) per token, times the tokens of one step."""
    config = setup.model
    n = parameters_without_positions(config)
    head_dim = config.n_embd // config.n_head
    per_token = 6 * n + 12 * config.n_layer * config.n_head * head_dim * config.block_size
    return per_token * setup.batch_size * config.block_size


def utilisation(setup, median_ms, gpu_name):
    """Model TFLOP/s of a step and its fraction of the GPU's float32 and TF32 peaks (None if unknown)."""
    tflops = flops_per_step(setup) / (median_ms / 1e3) / 1e12
    peak = next((p for key, p in PEAK_TFLOPS.items() if gpu_name and key in gpu_name), None)
    return {"model_tflops_per_s": tflops, "mfu_vs_fp32_peak": None if peak is None else tflops / peak[0],
            "mfu_vs_tf32_peak": None if peak is None else tflops / peak[1]}


def report(tables, compile_result, args, setup):
    """Markdown: one table per thread setting, then the compile time (printed; quoted by the READMEs)."""
    parts = [f"`{command_line()}` ({args.runs} alternating runs of {args.repeats} steps per contender)"]
    for threads, results in tables.items():
        rows = []
        for name, r in results.items():
            if r["status"] != "ok":
                rows.append([name, f"missing: {r['reason']}", "", "", "", "", ""])
                continue
            ratio = "n/a" if r["time_vs_pytorch"] is None else f"{r['time_vs_pytorch']:.2f}x"
            rounds = r["round_ratios_vs_pytorch"]
            spread = "" if not rounds else f"{min(rounds):.2f} - {max(rounds):.2f}"
            rss = f"{r['runs'][0]['rss_after_setup_mib']:.0f} -> {max(run['peak_rss_mib'] for run in r['runs']):.0f}"
            if setup.device == "cuda":
                mfu = r["mfu_vs_fp32_peak"]
                rss = f"{r['runs'][0]['gpu_memory_mib']:.0f} GPU; MFU fp32 {'n/a' if mfu is None else f'{100 * mfu:.1f}%'}"
            rows.append([name, f"{r['median_ms']:.1f}", f"{r['p10_ms']:.1f} - {r['p90_ms']:.1f}",
                         f"{r['cpu_median_ms']:.1f}", rss, ratio, spread])
        memory = "RSS MiB (setup -> peak)" if setup.device == "cpu" else "memory MiB; model FLOPs utilisation"
        headers = ["contender", "median ms/step", "p10 - p90 ms", "CPU ms/step", memory, "time vs pytorch",
                   "per-round ratios"]
        used = next((r["runs"][0]["threads_in_use"] for r in results.values() if r["status"] == "ok"), {})
        parts.append(f"threads: {threads} (in use, first run: {used})\n\n" + markdown_table(headers, rows))
    if "cold" in compile_result:
        rows = [[which, f"{r['startup_cpu_s']:.2f}", f"{r['first_step_s']:.2f} ({r['first_step_cpu_s']:.2f} CPU)",
                 f"{1e3 * r['steady_step_s']:.1f}", f"{r['first_step_extra_s']:.2f} ({r['first_step_extra_cpu_s']:.2f} CPU)"]
                for which, r in (("cold cache (compiles)", compile_result["cold"]),
                                 ("warm cache (loads)", compile_result["warm"]))]
        parts.append("Numba table, first training step in a fresh process\n\n" + markdown_table(
            ["cache", "CPU s to start (interpreter, imports)", "first step s", "steady step ms",
             "first minus steady s"], rows))
    return "\n\n".join(parts)


def settings(args, setup):
    """Everything the numbers depend on, for the JSON."""
    return {
        "device": setup.device, "model": setup.model.to_dict(), "batch_size": setup.batch_size,
        "tokens_per_step": setup.batch_size * setup.model.block_size, "dtype": "float32",
        "optimizer": {"name": "AdamW", "lr": LR, "betas": list(BETAS), "eps": EPS, "weight_decay": WEIGHT_DECAY,
                      "weight_decay_on": "parameters with ndim >= 2"},
        "grad_clip_norm": CLIP, "pytorch_attention": ATTENTION, "flops_per_step": flops_per_step(setup),
        "runs": args.runs, "repeats": args.repeats, "warmup": args.warmup, "quick": args.quick,
        "threads": args.threads, "keep_freed_memory": not args.default_malloc,
        "thread_method": "default: OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS removed from the worker's environment; "
                         "n: all four set to n and torch.set_num_threads(n)",
        "timing": "whole runs alternating (one fresh process per run, rotating order each round); the step "
                  "(batch draw included) timed in the worker with time.perf_counter; a contender's median "
                  "is the median of its run medians",
        "batches": f"BatchSampler over {STREAM_TOKENS} random ids, numpy default_rng({RUN.seed}), seed {RUN.seed}",
    }


def _thread_list(text):
    """--threads: a comma list of "default" and positive integers."""
    values = []
    for item in text.split(","):
        if item != "default" and not (item.isdigit() and int(item) > 0):
            raise argparse.ArgumentTypeError(f"--threads takes 'default' or positive integers, got {item!r}")
        values.append(item if item == "default" else int(item))
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=tuple(SETUPS), default="cpu")
    parser.add_argument("--threads", type=_thread_list, default=None,
                        help="thread settings, one table each (default 'default,1'; 'default' on a GPU)")
    parser.add_argument("--runs", type=int, default=None, help="alternating runs per contender (default 3; 1 with --quick)")
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per run (default 300; 3 with --quick)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps per run (default 10; 1 with --quick)")
    parser.add_argument("--skip-compile-time", action="store_true", help="do not time the Numba table's compilation")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's malloc settings alone in the workers (see the module docstring)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for the JSON and the PNG")
    parser.add_argument("--quick", action="store_true", help="tiny settings that only check the script runs")
    args = parser.parse_args()
    defaults = {"runs": (1, 3), "repeats": (3, 300), "warmup": (1, 10)}
    for field, (quick, full) in defaults.items():
        if getattr(args, field) is None:
            setattr(args, field, quick if args.quick else full)
        if getattr(args, field) < (0 if field == "warmup" else 1):
            parser.error(f"--{field} must be >= {0 if field == 'warmup' else 1}, got {getattr(args, field)}")
    args.threads = args.threads or (["default", 1] if args.device == "cpu" else ["default"])
    setup = SETUPS[args.device]
    if args.device == "cuda" and cuda_problem() is not None:
        parser.error(f"--device cuda: {cuda_problem()}; run with --device cpu")

    equivalence = None
    if args.device == "cpu":
        equivalence = run_child("import json; from train_step import *\n"
                                "try:\n print(json.dumps(equivalence_check(1, make_batches(SETUPS['cpu'], 2, RUN.seed))))\n"
                                "except Unavailable as reason:\n print(json.dumps({'missing': str(reason)}))", 1)
    tables = {str(threads): run_table(setup, threads, args) for threads in args.threads}
    skip = args.quick or args.skip_compile_time or args.device != "cpu"
    compile_result = {"skipped": "--quick or --skip-compile-time or a GPU run"} if skip else compile_times()
    machine = machine_info()
    if args.device == "cuda":
        for results in tables.values():
            for r in results.values():
                if r["status"] == "ok":
                    r.update(utilisation(setup, r["median_ms"], machine["gpu"]))
    table = report(tables, compile_result, args, setup)
    out_json = args.out / f"train_step_{args.device}.json"
    write_json(out_json, {"benchmark": "train_step", "command": command_line(), "machine": machine,
                          "settings": settings(args, setup), "tables": tables,
                          "equivalence_pytorch_vs_tinygrad_lm_numpy": equivalence,
                          "numba_compile_time": compile_result, "table_markdown": table})
    ran = [name for name in setup.contenders if any(t[name]["status"] == "ok" for t in tables.values())]
    series = {name: [t[name]["median_ms"] if t[name]["status"] == "ok" else None for t in tables.values()]
              for name in ran}
    where = machine["gpu"] if args.device == "cuda" else f"{machine['cpu']}, {machine['usable_cores']} cores"
    chart = grouped_bar_chart(args.out / f"train_step_{args.device}.png", [f"threads: {t}" for t in tables], series,
                              "median ms per training step (log scale)",
                              f"GPT ({setup.model.n_layer} layers, {setup.model.n_embd} wide), one training step, "
                              f"batch {setup.batch_size}x{setup.model.block_size}"
                              + (" [--quick: not a measurement]" if args.quick else "") + f"\n{where}")
    print(table)
    print(f"\nwrote {out_json}" + (f" and {chart}" if chart else " (no chart: matplotlib is not installed)"))


if __name__ == "__main__":
    main()
