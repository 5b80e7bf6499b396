"""One full training step of a GPT: tinygrad_lm against PyTorch eager, on the CPU or a GPU.

    python benchmarks/train_step.py [--device cpu|cuda] [--repeats 50] [--threads 1] [--out DIR] [--quick]

writes DIR/train_step_<device>.json and .png (train_step_cpu_<n>threads.* for n > 1 threads).

The step, the same for every contender (nanoGPT's, as ``tinygrad_lm.train.Trainer`` runs it):

    logits, loss = model(x, y)          forward; loss = mean cross-entropy over B*T positions
    zero the grads; loss.backward()     backward
    clip_grad_norm_(params, 1.0)        one global norm over all gradients
    AdamW step                          lr 1e-3, betas (0.9, 0.99), eps 1e-8, weight decay 0.1
                                        on the 2-D weights only (biases and LayerNorms: 0)
    loss.item()                         the loss back on the host (on a GPU: waits for the step)

The models (float32, vocabulary 65, tied head):

    --device cpu    the ``shakespeare-char`` preset: block 64, 4 layers, 4 heads, 128 wide,
                    biases, dropout 0, batch 12 (768 tokens a step)
    --device cuda   nanoGPT's GPU shakespeare-char: block 256, 6 layers, 6 heads, 384 wide,
                    no biases, dropout 0.2, batch 64 (16,384 tokens a step)

Batches are random token ids from a fixed seed, put on the device before timing: loading data
is not part of the step.

Contenders:
    cpu:   tinygrad_lm/numpy    tinygrad_lm.models.GPT + optim.AdamW, the "numpy" kernel table
           tinygrad_lm/numba    the same under the "numba" table
           pytorch              torch_gpt.py's model, torch.optim.AdamW (its default CPU
                                implementation), torch.nn.utils.clip_grad_norm_
    cuda:  tinygrad_lm/cupy     tinygrad_lm's GPT on the GPU (CuPy arrays, the "cupy" kernels)
           pytorch              PyTorch eager float32 with TF32 off (full float32 matmuls)
           pytorch/tf32         the same with TF32 matmuls and convolutions allowed

Each contender runs in its own worker process (``_common.Worker``), so the libraries' thread
pools never compete, and the parent steps them in interleaved rounds. The worker times its own
step. Peak memory: each worker's resident-memory high-water mark (VmHWM) once the model and
optimizer exist, and again when timing is over; on a GPU also the memory the library's
allocator holds. A GPU run also reports model FLOPs utilisation, with nanoGPT's count of
FLOPs per step (6 N + 12 L H Q T per token, N the parameters without the position table),
against the GPU's peak float32 and TF32 rates where the GPU is in ``PEAK_TFLOPS``.

Every worker first calls ``tinygrad_lm.engine.memory.keep_freed_memory()``, as the trainer
does (``--default-malloc`` leaves glibc's settings alone), so PyTorch's workers run with the
same malloc settings as tinygrad_lm's.

Honesty check on the CPU, recorded in the JSON: before timing, the PyTorch model loads
tinygrad_lm's initial weights, both take two steps on the same batches, and the losses and the
gradient and weight differences are recorded (``equivalence_check``).

Left out: torch.compile (eager against eager), data loading, evaluation, and on the GPU the
equivalence check (dropout draws different masks in the two libraries) and CUDA graphs.
"""

import argparse
import contextlib
import dataclasses
import json
import resource
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
from torch_gpt import ATTENTION, torch_gpt

import tinygrad_lm as tg
from tinygrad_lm.backends import BACKENDS, load_kernels, use_kernels
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
                 RUN.batch_size, ("tinygrad_lm/numpy", "tinygrad_lm/numba", "pytorch")),
    "cuda": Setup("cuda", GPTConfig(vocab_size=VOCAB, block_size=256, n_layer=6, n_head=6, n_embd=384,
                                    dropout=0.2, bias=False, seed=RUN.seed),
                  64, ("tinygrad_lm/cupy", "pytorch", "pytorch/tf32")),
}
LR, BETAS, EPS, WEIGHT_DECAY, CLIP = RUN.lr, (RUN.beta1, RUN.beta2), 1e-8, RUN.weight_decay, RUN.grad_clip
BATCHES = 8  # distinct batches, cycled
BLOCK, PAUSE_S = 5, 0.5  # with several threads: 5 timed steps a turn, after a 0.5 s rest
# Dense peak TFLOP/s (float32 on CUDA cores, TF32 on tensor cores), NVIDIA's datasheets, by a
# substring of the name nvidia-smi prints.
PEAK_TFLOPS = {"H200": (67.0, 494.7), "H100 80GB HBM3": (67.0, 494.7), "H100 PCIe": (51.2, 378.0),
               "A100": (19.5, 156.0)}


class Unavailable(Exception):
    """A contender that cannot run here; the message says why and lands in the JSON."""


@dataclasses.dataclass
class Contender:
    """step(i) -> loss: one full training step on batch i; weights() and grads(): {name: NumPy copy}."""

    step: object
    weights: object
    grads: object


def make_batches(setup, count, seed):
    """``count`` (x, y) pairs of int64 token ids (B, T); y is x shifted by one position."""
    shape = (count, setup.batch_size, setup.model.block_size + 1)
    ids = np.random.default_rng(seed).integers(0, VOCAB, size=shape)  # (count, B, T+1)
    return [(seq[:, :-1], seq[:, 1:]) for seq in ids]  # (B, T+1) -> (B, T), (B, T)


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
    on_device = [(tg.tensor(x, device=device), tg.tensor(y, device=device)) for x, y in batches]

    def step(i):
        with use_kernels(backend) if device == "cpu" else contextlib.nullcontext():  # GPU arrays: cupy table
            _, loss = model(*on_device[i % len(on_device)])
            optimizer.zero_grad()
            loss.backward()
            clip_grad_norm_(model.parameters(), CLIP)
            optimizer.step()
        return loss.item()

    return Contender(step, model.state_dict,  # state_dict(): host copies, from either device
                     lambda: {name: to_device(p.grad, "cpu").copy() for name, p in model.named_parameters()})


def build_torch(setup, threads, batches, weights=None, tf32=False):
    """The PyTorch contender; ``weights`` {name: array} replace its own initial weights."""
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
    torch.set_num_threads(threads)
    model = torch_gpt(torch, setup.model)
    if weights is not None:
        model.load_state_dict({name: torch.from_numpy(array.copy()) for name, array in weights.items()})
    model.to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    keep = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                                   {"params": keep, "weight_decay": 0.0}], lr=LR, betas=BETAS, eps=EPS)
    on_device = [(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)) for x, y in batches]

    def step(i):
        x, y = on_device[i % len(on_device)]
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


def worker(device, name, threads, keep_memory):
    """A worker process's body: build contender ``name``, then serve steps (``_common.serve``).

    Its thread pools were sized by the environment variables its parent set (``start_worker``);
    it never starts Numba's threads unless its contender uses Numba: Numba's OpenMP threads in
    a PyTorch process made PyTorch's 2-thread step 100 times slower here (benchmarks/README.md).
    """
    malloc = keep_freed_memory() if keep_memory else False
    setup = SETUPS[device]
    try:
        contender = BUILDERS[name](setup, threads, make_batches(setup, BATCHES, RUN.seed))
    except Unavailable as reason:
        print(json.dumps({"status": "missing", "reason": str(reason)}), flush=True)
        return
    position = [0]

    def step():
        contender.step(position[0])
        position[0] += 1

    def finish():
        final = {"peak_rss_mib": _peak_rss_mib()}
        if device == "cuda":
            final["gpu_memory_mib"] = _gpu_memory_mib(name)
        return final

    serve(step, {"status": "ok", "rss_after_setup_mib": _peak_rss_mib(), "keep_freed_memory": malloc}, finish)


def start_worker(device, name, args):
    """A Worker running ``worker(...)`` with every thread pool sized by environment variable."""
    code = f"import train_step\ntrain_step.worker({device!r}, {name!r}, {args.threads}, {not args.default_malloc})\n"
    return Worker(code, env={var: str(args.threads) for var in THREAD_ENV_VARS})


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


def report(results, args, setup):
    """The markdown table of the results (printed, and quoted by benchmarks/README.md)."""
    rows = []
    reference = "pytorch"
    for name, r in results.items():
        if r["status"] != "ok":
            rows.append([name, f"missing: {r['reason']}", "", "", "", ""])
            continue
        ratio = "n/a" if r["time_vs_pytorch"] is None else f"{r['time_vs_pytorch']:.2f}x"
        rss = f"{r['rss_after_setup_mib']:.0f} -> {r['peak_rss_mib']:.0f}"
        if setup.device == "cuda":
            mfu = r["mfu_vs_fp32_peak"]
            rss = f"{r['gpu_memory_mib']:.0f} GPU; MFU fp32 {'n/a' if mfu is None else f'{100 * mfu:.1f}%'}"
        rows.append([name, f"{r['median_ms']:.1f}", f"{r['p10_ms']:.1f} - {r['p90_ms']:.1f}",
                     f"{r['tokens_per_s']:,.0f}", rss, ratio])
    memory = "RSS MiB (setup -> peak)" if setup.device == "cpu" else "memory MiB; model FLOPs utilisation"
    headers = ["contender", "median ms/step", "p10 - p90 ms", "tokens/s", memory, f"time vs {reference}"]
    return f"`{command_line()}` ({args.threads} thread(s), {args.repeats} rounds)\n\n" + markdown_table(headers, rows)


def settings(args, setup, thread_method):
    """Everything the numbers depend on, for the JSON."""
    return {
        "device": setup.device, "model": setup.model.to_dict(), "batch_size": setup.batch_size,
        "tokens_per_step": setup.batch_size * setup.model.block_size, "dtype": "float32",
        "optimizer": {"name": "AdamW", "lr": LR, "betas": list(BETAS), "eps": EPS, "weight_decay": WEIGHT_DECAY,
                      "weight_decay_on": "parameters with ndim >= 2"},
        "grad_clip_norm": CLIP, "pytorch_attention": ATTENTION, "flops_per_step": flops_per_step(setup),
        "repeats": args.repeats, "warmup": args.warmup, "quick": args.quick, "threads": args.threads,
        "thread_method": thread_method, "keep_freed_memory": not args.default_malloc,
        "timing": "one worker process per contender; interleaved rounds, rotating order, one step per "
                  "contender per round, timed in the worker with time.perf_counter",
        "rss_method": "VmHWM of each worker after building model and optimizer, then after all its steps",
        "batches": f"{BATCHES} batches of random ids, numpy default_rng({RUN.seed}), cycled",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=50, quick_repeats=3)
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed steps per contender before timing (default 5; 1 with --quick)")
    parser.add_argument("--device", choices=tuple(SETUPS), default="cpu")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's malloc settings alone in the workers (see the module docstring)")
    args = finish_args(parser, parser.parse_args(), repeats=50, quick_repeats=3)
    setup = SETUPS[args.device]
    if args.device == "cuda" and cuda_problem() is not None:
        parser.error(f"--device cuda: {cuda_problem()}; run with --device cpu")
    args.warmup = (1 if args.quick else 5) if args.warmup is None else args.warmup
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0, got {args.warmup}")
    thread_method = f"environment variables {', '.join(THREAD_ENV_VARS)}={args.threads} for every worker"

    results, workers = {}, {}
    for name in setup.contenders:
        worker_process = start_worker(args.device, name, args)
        results[name] = dict(worker_process.ready)
        if results[name]["status"] == "ok":
            workers[name] = worker_process
    if args.device == "cpu" and "pytorch" in workers:
        results["pytorch"]["equivalence_with_tinygrad_lm_numpy"] = equivalence_check(
            args.threads, make_batches(setup, 2, RUN.seed))
    print(f"timing {', '.join(workers)}: {args.warmup} warm-up steps, {args.repeats} interleaved rounds",
          file=sys.stderr)
    block, pause = (1, 0.0) if args.threads == 1 else (BLOCK, PAUSE_S)  # see _common's docstring
    times = interleaved_times(workers, repeats=args.repeats, warmup=args.warmup, block=block, pause=pause)
    torch_ms = summarize(times["pytorch"], "ms")["median_ms"] if "pytorch" in times else None
    machine = machine_info()
    tokens = setup.batch_size * setup.model.block_size
    for name, seconds in times.items():
        stats = summarize(seconds, "ms")
        results[name].update(stats, tokens_per_s=tokens / (stats["median_ms"] / 1e3),
                             time_vs_pytorch=None if torch_ms is None else stats["median_ms"] / torch_ms,
                             times_ms=[s * 1e3 for s in seconds], **workers[name].close())
        if args.device == "cuda":
            results[name].update(utilisation(setup, stats["median_ms"], machine["gpu"]))

    table = report(results, args, setup)
    stem = f"train_step_{args.device}" + (f"_{args.threads}threads" if args.threads > 1 else "")
    out_json = args.out / f"{stem}.json"
    write_json(out_json, {"benchmark": "train_step", "command": command_line(), "machine": machine,
                          "settings": settings(args, setup, thread_method), "contenders": results,
                          "table_markdown": table})
    ran = list(times)
    where = machine["gpu"] if args.device == "cuda" else f"{machine['cpu']}, {args.threads} thread(s)"
    chart = bar_chart(args.out / f"{stem}.png", ran, [results[n]["median_ms"] for n in ran],
                      [results[n]["p10_ms"] for n in ran], [results[n]["p90_ms"] for n in ran],
                      "ms per training step (median, p10-p90)",
                      f"GPT ({setup.model.n_layer} layers, {setup.model.n_embd} wide), one training step, "
                      f"batch {setup.batch_size}x{setup.model.block_size}"
                      + (" [--quick: not a measurement]" if args.quick else "") + f"\n{where}")
    print(table)
    print(f"\nwrote {out_json}" + (f" and {chart}" if chart else " (no chart: matplotlib is not installed)"))


if __name__ == "__main__":
    main()
