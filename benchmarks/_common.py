"""Helpers shared by the benchmark scripts: threads, machine, timing, statistics, output.

    add_common_args(parser)   --repeats --threads --out --quick, the same in every script
    pin_threads(n)            every thread pool (BLAS/OpenMP, Numba, PyTorch) at n threads
    machine_info()            CPU model, cores, library versions, commit, date
    interleaved_times(...)    one sample of every contender per round, in rotating order
    Worker, serve             a contender in its own process, stepped from this one
    summarize(seconds, unit)  median, p10 and p90 of the samples
    run_python_json(code)     run a snippet in a fresh interpreter, read its JSON answer
    write_json, markdown_table, bar_chart, grouped_bar_chart

Why interleaved: on a shared machine the load changes over seconds. Timing contender A for a
minute and then B for a minute lets the load decide the ratio; taking one sample of each in
turn, with the order rotating every round, exposes them all to the same load, and the median
of the rounds ignores the few rounds where something else ran.

Why separate processes (``Worker``) and blocks: with more than one thread, contenders fight
even when they take turns. Each library keeps its own pool of threads (OpenBLAS, Numba's
OpenMP, PyTorch's OpenMP), and a pool that just finished spins for a while before it sleeps,
on the very cores the next contender needs: on 2 cores, interleaving one step at a time made
PyTorch's step 25 times slower than alone, in one process or in three. So each contender runs
in its own worker process (its pools are its own), and with more than one thread a turn is a
block of steps after a rest in which the other pools fall asleep (``interleaved_times``'s
``block`` and ``pause``). Each worker times its own step, so the pipe is not measured.

Left out: significance tests between contenders (the p10-p90 range is quoted instead), CUDA
events (a GPU step is timed by the wall clock around a step that ends by copying the loss to
the host, which waits for the GPU), and CPU-frequency pinning (the machine as it is is part
of the result, so it is recorded).
"""

import datetime
import importlib
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
if str(REPO_ROOT) not in sys.path:  # time this checkout's tinygrad_lm, whatever else is installed
    sys.path.insert(0, str(REPO_ROOT))

# Sizes of the thread pools that the libraries create when they load.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def add_common_args(parser, repeats, quick_repeats):
    """Add the options every benchmark script takes; ``repeats`` is the default round count."""
    parser.add_argument("--repeats", type=int, default=None,
                        help=f"timed rounds (default {repeats}; {quick_repeats} with --quick)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for every library: BLAS, OpenMP, Numba, PyTorch (default 1)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR,
                        help=f"folder for the JSON and the PNG (default {RESULTS_DIR.relative_to(REPO_ROOT)})")
    parser.add_argument("--quick", action="store_true",
                        help="tiny settings that only check the script runs (numbers are meaningless)")


def finish_args(parser, args, repeats, quick_repeats):
    """Fill the default round count and refuse nonsense, naming the option."""
    if args.repeats is None:
        args.repeats = quick_repeats if args.quick else repeats
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    return args


def pin_threads(n):
    """Make every thread pool use ``n`` threads; return how, for the JSON.

    BLAS and OpenMP pools are sized when their library loads. With ``threadpoolctl`` installed
    they are resized in place. Without it the only honest way is the environment variables in
    ``THREAD_ENV_VARS`` set before launch, so when any of them is not ``n`` this process
    replaces itself (``os.execv``, nothing measured yet) with the same command and them set.
    Numba and PyTorch are then told ``n`` too (``numba.set_num_threads``, and
    ``torch.set_num_threads`` where each script builds its PyTorch contender).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is None:
        if any(os.environ.get(name) != str(n) for name in THREAD_ENV_VARS):
            os.environ.update({name: str(n) for name in THREAD_ENV_VARS})
            os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
        method = f"environment variables {', '.join(THREAD_ENV_VARS)}={n}, set before launch"
    else:
        threadpool_limits(limits=n)
        method = f"threadpoolctl.threadpool_limits({n})"
    try:
        import numba
    except ImportError:
        return method
    if n > numba.config.NUMBA_NUM_THREADS:
        raise SystemExit(f"--threads {n} exceeds NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}; "
                         f"export NUMBA_NUM_THREADS={n} before launching")
    numba.set_num_threads(n)
    return method + f"; numba.set_num_threads({n})"


def _version(module_name):
    """The module's __version__, or why it cannot be imported."""
    try:
        return importlib.import_module(module_name).__version__
    except ImportError as error:
        return f"not importable ({error})"


def _numba_threading_layer():
    """The threading layer Numba's parallel kernels run on (omp, tbb, workqueue), once one ran."""
    try:
        import numba

        return numba.threading_layer()
    except ImportError as error:
        return f"not importable ({error})"
    except ValueError:
        return "not started (no parallel kernel ran)"


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _blas():
    """numpy's BLAS library as numpy reports it (name and version), or 'unknown'."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    except (TypeError, KeyError):
        return "unknown"


def _git(*args):
    result = subprocess.run(["git", *args], check=False, cwd=REPO_ROOT, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def _gpu():
    """The NVIDIA GPU's name from nvidia-smi, or None on a machine without one."""
    try:
        result = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                check=False, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def machine_info():
    """What a timing must be quoted with: hardware, software versions, commit, date.

    Call it after the timing: Numba's threading layer is only chosen when a parallel kernel runs.
    """
    commit = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "gpu": _gpu(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": _blas(),
        "numba": _version("numba"),
        "numba_threading_layer": _numba_threading_layer(),
        "torch": _version("torch"),
        "tinygrad_lm_commit": None if commit is None else commit + ("+local changes" if dirty else ""),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def command_line():
    """The command that started this process, as one shell line."""
    return shlex.join(["python", *sys.orig_argv[1:]])


def calls_per_sample(fn, min_seconds):
    """How many back-to-back calls of ``fn`` make one sample last at least ``min_seconds``.

    Short kernels (tens of microseconds) are timed in batches so that the timer's resolution
    and the loop's overhead stay small against what is measured.
    """
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    return max(1, math.ceil(min_seconds / max(once, 1e-9)))


def interleaved_times(contenders, repeats, warmup, calls=None, block=1, pause=0.0):
    """{name: [seconds per call, ``repeats`` of them]} for ``contenders`` {name: zero-argument callable}.

    First ``warmup`` untimed calls of each (JIT compilation, caches, allocator). Then rounds;
    round r times every contender in turn, starting at contender r mod n, so none always runs
    first or right after another. ``calls`` {name: k} times k back-to-back calls as one sample
    (default 1) and divides by k. A ``Worker`` is timed by its own process.

    With ``block`` > 1 a contender's turn is ``pause`` seconds of rest, one untimed call, then
    ``block`` timed ones: for multi-threaded contenders, whose idle thread pools keep spinning
    for a while after their turn (see the module docstring), the rest lets them fall asleep.
    """
    names = list(contenders)
    calls = calls or {}
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    times = {name: [] for name in names}
    for r in range(math.ceil(repeats / block)):
        first = r % len(names)
        for name in names[first:] + names[:first]:
            fn, count = contenders[name], calls.get(name, 1)
            if block > 1:
                time.sleep(pause)
                fn()
            for _ in range(min(block, repeats - len(times[name]))):
                times[name].append(_timed(fn, count))
    return times


def _timed(fn, count):
    """Seconds per call of ``count`` back-to-back calls of ``fn`` (a Worker times itself)."""
    if isinstance(fn, Worker):
        return sum(fn.timed_step() for _ in range(count)) / count
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - start) / count


class Worker:
    """A contender running in its own Python process, stepped on command from this one.

    ``code`` runs in a fresh interpreter (repo root and benchmarks/ importable, ``env`` added
    to the environment) and must end by calling ``serve``. The worker prints one JSON line
    when it is ready (``self.ready``), then for each "step" line it reads runs one step and
    answers with the seconds it took; "stop" makes it answer its final JSON (``close()``).
    Calling the worker steps it untimed (warm-up), ``timed_step()`` returns the seconds.
    """

    def __init__(self, code, env=None):
        preamble = f"import sys; sys.path[:0] = [{str(REPO_ROOT)!r}, {str(BENCH_DIR)!r}]\n"
        self.process = subprocess.Popen([sys.executable, "-u", "-c", preamble + code], cwd=REPO_ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env={**os.environ, **(env or {})})
        self.ready = self.receive()

    def send(self, command):
        """Write one command line; ``receive`` reads its answer (so several workers can run at once)."""
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def receive(self):
        """The worker's next JSON line; a worker that died raises with the end of its stderr."""
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=60)
            raise RuntimeError(f"worker exited with {self.process.returncode}: "
                               f"{self.process.stderr.read().strip()[-2000:]}")
        return json.loads(line)

    def _ask(self, command):
        self.send(command)
        return self.receive()

    def timed_step(self):
        return self._ask("step")["seconds"]

    def __call__(self):
        self.timed_step()

    def close(self):
        """The worker's final JSON; the process ends."""
        final = self._ask("stop")
        self.process.wait(timeout=60)
        return final


def serve(step, ready, finish):
    """The worker's side of ``Worker``: print ``ready`` (JSON), then step on "step" lines and
    answer {"seconds": ...}; on "stop" print ``finish()`` and return."""
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        if line.strip() == "stop":
            break
        start = time.perf_counter()
        step()
        print(json.dumps({"seconds": time.perf_counter() - start}), flush=True)
    print(json.dumps(finish()), flush=True)


def summarize(seconds, unit):
    """Median, 10th and 90th percentile of ``seconds`` in ``unit`` ("ms" or "us"), and the count."""
    scale = {"ms": 1e3, "us": 1e6}[unit]
    p10, median, p90 = np.percentile(np.asarray(seconds) * scale, [10, 50, 90])
    return {f"median_{unit}": float(median), f"p10_{unit}": float(p10), f"p90_{unit}": float(p90),
            "samples": len(seconds)}


def run_python_json(code, env=None, timeout=600):
    """Run ``code`` in a fresh interpreter (repo root and benchmarks/ importable) and return the
    JSON object it prints last. ``env`` adds environment variables. A failure raises
    RuntimeError with the end of the child's stderr.
    """
    preamble = f"import sys; sys.path[:0] = [{str(REPO_ROOT)!r}, {str(BENCH_DIR)!r}]\n"
    result = subprocess.run([sys.executable, "-c", preamble + code], check=False, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"subprocess exited with {result.returncode}: {result.stderr.strip()[-2000:]}")
    return json.loads(lines[-1])


def write_json(path, payload):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")


def markdown_table(headers, rows):
    """A GitHub-flavoured markdown table; every cell is already a string."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _pyplot():
    """matplotlib.pyplot on the file-only Agg backend, or None when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_chart(path, labels, medians, lows, highs, ylabel, title):
    """One bar per label at its median, whiskers from its p10 to its p90. Returns the path, or
    None when matplotlib is not installed."""
    plt = _pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    whiskers = [np.subtract(medians, lows), np.subtract(highs, medians)]  # (2, n): below, above
    bars = ax.bar(labels, medians, yerr=whiskers, capsize=8, color=plt.cm.tab10.colors[: len(labels)])
    ax.bar_label(bars, labels=[f"{m:.1f}" for m in medians], label_type="center", color="white")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def grouped_bar_chart(path, groups, series, ylabel, title):
    """Bars for each of ``groups`` (x axis), one per series {name: [value or None per group]},
    on a log scale; a None (missing contender) leaves a gap. Returns the path or None."""
    plt = _pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(groups)), 5))
    width = 0.8 / len(series)
    for k, (name, values) in enumerate(series.items()):
        xs = [g + (k - (len(series) - 1) / 2) * width for g, v in enumerate(values) if v is not None]
        ax.bar(xs, [v for v in values if v is not None], width, label=name)
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)), groups, rotation=40, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
