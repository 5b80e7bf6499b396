"""One full training step of the shakespeare-char GPT: tinygrad_lm against PyTorch eager, CPU.

    python benchmarks/train_step.py [--repeats 50] [--threads 1] [--out benchmarks/results] [--quick]

The step, the same for every contender (nanoGPT's, as ``tinygrad_lm.train.Trainer`` runs it):

    logits, loss = model(x, y)          forward; loss = mean cross-entropy over B*T positions
    zero the grads; loss.backward()     backward
    clip_grad_norm_(params, 1.0)        one global norm over all gradients
    AdamW step                          lr 1e-3, betas (0.9, 0.99), eps 1e-8, weight decay 0.1
                                        on the 2-D weights only (biases and LayerNorms: 0)

on the ``shakespeare-char`` preset's model: vocab 65, block 64, 4 layers, 4 heads, 128 wide,
biases, dropout 0, float32, batch 12 (768 tokens a step). Batches are random token ids from a
fixed seed, the same sequence for every contender: loading data is not part of the step.

Contenders:
    tinygrad_lm/numpy   tinygrad_lm.models.GPT + optim.AdamW, the "numpy" kernel table
    tinygrad_lm/numba   the same under the "numba" table (missing if it is not registered)
    pytorch             the model below, written with plain torch modules, torch.optim.AdamW
                        (PyTorch's default implementation for CPU tensors),
                        torch.nn.utils.clip_grad_norm_

The PyTorch model mirrors tinygrad_lm's GPT name for name (so weights load across): token and
position nn.Embedding, pre-LN blocks (LayerNorm, fused qkv Linear, causal attention through
F.scaled_dot_product_attention(is_causal=True), output Linear; LayerNorm, Linear 4C, exact
GELU, Linear C), final LayerNorm, head tied to the token embedding (F.linear with wte.weight),
GPT-2 initialisation (N(0, 0.02), residual projections N(0, 0.02 / sqrt(2 n_layer)), zero
biases). Dropout is 0, so it has no dropout modules.

Honesty checks recorded in the JSON: before timing, the PyTorch model loads tinygrad_lm's
initial weights, both take two steps on the same batches, and the losses and the gradient
and weight differences are recorded (``equivalence_check``). Every library runs on
--threads threads (see _common.pin_threads). Peak RSS: each contender runs alone in a fresh subprocess that
imports only what it needs; its peak resident memory (VmHWM) is read once the model and
optimizer exist and again after the warm-up and three steps.

Left out: dropout > 0 (the preset has none), torch.compile (eager against eager), data
loading, evaluation, and --device cuda, which stops with a message until the CuPy table exists.
"""

import argparse
import dataclasses
import math
import resource
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
    run_python_json,
    summarize,
    write_json,
)

from tinygrad_lm.backends import BACKENDS, load_kernels, use_kernels
from tinygrad_lm.models import GPT, GPTConfig
from tinygrad_lm.optim import AdamW, clip_grad_norm_, param_groups_for_weight_decay
from tinygrad_lm.train.config import preset

RUN = preset("shakespeare-char")
VOCAB = 65  # the character vocabulary of tiny Shakespeare
MODEL = GPTConfig(vocab_size=VOCAB, block_size=RUN.block_size, n_layer=RUN.n_layer, n_head=RUN.n_head,
                  n_embd=RUN.n_embd, dropout=RUN.dropout, bias=RUN.bias, seed=RUN.seed)
B, T = RUN.batch_size, RUN.block_size
LR, BETAS, EPS, WEIGHT_DECAY, CLIP = RUN.lr, (RUN.beta1, RUN.beta2), 1e-8, RUN.weight_decay, RUN.grad_clip
ATTENTION = "torch.nn.functional.scaled_dot_product_attention(is_causal=True)"
RSS_STEPS = 3


class Unavailable(Exception):
    """A contender that cannot run here; the message says why and lands in the JSON."""


@dataclasses.dataclass
class Contender:
    """step(x, y) -> loss: one full training step; weights() and grads(): {name: NumPy copy}."""

    step: object
    weights: object
    grads: object


def make_batches(count, seed):
    """``count`` (x, y) pairs of int64 token ids (B, T); y is x shifted by one position."""
    ids = np.random.default_rng(seed).integers(0, VOCAB, size=(count, B, T + 1))  # (count, B, T+1)
    return [(seq[:, :-1], seq[:, 1:]) for seq in ids]  # (B, T+1) -> (B, T), (B, T)


def build_tinygrad(backend, weights=None):
    """tinygrad_lm's GPT and AdamW, stepping under the kernel table ``backend``."""
    if backend not in BACKENDS:
        raise Unavailable(f"no {backend!r} entry in tinygrad_lm.backends.BACKENDS (the table is not registered)")
    try:
        load_kernels(backend)
    except ImportError as error:
        raise Unavailable(f"load_kernels({backend!r}) failed: {error}") from None
    model = GPT(MODEL, dtype="float32")
    if weights is not None:
        model.load_state_dict(weights)
    groups = param_groups_for_weight_decay(model.named_parameters(), WEIGHT_DECAY)
    optimizer = AdamW(groups, lr=LR, betas=BETAS, eps=EPS)

    def step(x, y):
        with use_kernels(backend):
            _, loss = model(x, y)
            optimizer.zero_grad()
            loss.backward()
            clip_grad_norm_(model.parameters(), CLIP)
            optimizer.step()
        return loss.item()

    return Contender(step, model.state_dict,
                     lambda: {name: p.grad.copy() for name, p in model.named_parameters()})


def torch_gpt(torch):
    """The PyTorch GPT of the module docstring, GPT-2-initialised from torch's seeded generator."""
    nn, F = torch.nn, torch.nn.functional
    C, H = MODEL.n_embd, MODEL.n_head

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv, self.proj = nn.Linear(C, 3 * C), nn.Linear(C, C)

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(x).split(C, dim=2)  # (B, T, 3C) -> 3 x (B, T, C)
            q, k, v = (a.view(b, t, H, C // H).transpose(1, 2) for a in (q, k, v))  # (B, T, C) -> (B, H, T, D)
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, D)
            return self.proj(out.transpose(1, 2).reshape(b, t, C))  # (B, H, T, D) -> (B, T, C)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

        def forward(self, x):
            return self.proj(F.gelu(self.fc(x), approximate="none"))  # (B, T, C) -> (B, T, 4C) -> (B, T, C)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.attn, self.ln2, self.mlp = nn.LayerNorm(C), Attention(), nn.LayerNorm(C), MLP()

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(VOCAB, C), nn.Embedding(MODEL.block_size, C)
            self.blocks = nn.ModuleList(Block() for _ in range(MODEL.n_layer))
            self.ln_f = nn.LayerNorm(C)

        def forward(self, idx):
            t = idx.shape[1]
            x = self.wte(idx) + self.wpe(torch.arange(t))  # (B, T, C) + (T, C) -> (B, T, C)
            for block in self.blocks:
                x = block(x)
            return F.linear(self.ln_f(x), self.wte.weight)  # (B, T, C) @ (C, V) -> (B, T, V)

    torch.manual_seed(MODEL.seed)
    model = TorchGPT()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.normal_(0.0, 0.02)
            if isinstance(module, nn.Linear):
                module.bias.zero_()
        for block in model.blocks:
            block.attn.proj.weight.normal_(0.0, 0.02 / math.sqrt(2 * MODEL.n_layer))
            block.mlp.proj.weight.normal_(0.0, 0.02 / math.sqrt(2 * MODEL.n_layer))
    return model


def build_torch(threads, weights=None):
    """The PyTorch contender; ``weights`` {name: array} replace its own initial weights."""
    try:
        import torch
    except ImportError as error:
        raise Unavailable(f"PyTorch is not importable ({error}); pip install the 'bench' extra") from None
    torch.set_num_threads(threads)
    model = torch_gpt(torch)
    if weights is not None:
        model.load_state_dict({name: torch.from_numpy(array.copy()) for name, array in weights.items()})
    decay = [p for p in model.parameters() if p.dim() >= 2]
    keep = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                                   {"params": keep, "weight_decay": 0.0}], lr=LR, betas=BETAS, eps=EPS)

    def step(x, y):
        logits = model(torch.from_numpy(x))  # (B, T, V)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, VOCAB), torch.from_numpy(y).reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        return loss.item()

    def as_numpy(use_grad):
        return {name: (p.grad if use_grad else p).detach().numpy().copy() for name, p in model.named_parameters()}

    return Contender(step, lambda: as_numpy(False), lambda: as_numpy(True))


# name -> build(threads, weights=None) -> Contender; tinygrad_lm's threads are set process-wide
# by pin_threads, PyTorch's by build_torch.
BUILDERS = {
    "tinygrad_lm/numpy": lambda threads, weights=None: build_tinygrad("numpy", weights),
    "tinygrad_lm/numba": lambda threads, weights=None: build_tinygrad("numba", weights),
    "pytorch": build_torch,
}


def equivalence_check(threads, batches):
    """Steps of tinygrad_lm/numpy and of PyTorch from the same weights on the same ``batches``.

    Recorded: each step's loss for both, the largest gradient difference at the last step
    (relative to the parameter's largest gradient), and the weight differences after it: the
    largest one, which a few elements with gradients near 0 dominate (there AdamW's update
    g / (|g| + eps) is sensitive to rounding), and the largest per-parameter median, which a
    wrong hyperparameter (weight decay on a LayerNorm, another beta) would lift to ~1e-4.
    """
    reference = BUILDERS["tinygrad_lm/numpy"](threads)
    other = build_torch(threads, weights=reference.weights())
    losses = [(reference.step(*batch), other.step(*batch)) for batch in batches]
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
    """This process's resident-memory high-water mark in MiB.

    VmHWM from /proc/self/status on Linux: unlike ru_maxrss, which a child started by
    fork + exec inherits from its parent, it belongs to this process's own memory map.
    Elsewhere ru_maxrss (bytes on macOS).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB -> MiB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def peak_rss(name, threads, warmup):
    """Run in a fresh subprocess: the contender alone, its memory high-water marks in MiB."""
    pin_threads(threads)
    contender = BUILDERS[name](threads)
    after_setup = _peak_rss_mib()
    batches = make_batches(4, RUN.seed)
    for i in range(warmup + RSS_STEPS):
        contender.step(*batches[i % len(batches)])
    return {"rss_after_setup_mib": after_setup, "peak_rss_mib": _peak_rss_mib()}


def stepper(contender, batches):
    """A zero-argument callable that steps ``contender`` on the next batch of ``batches``."""
    position = [0]

    def step():
        x, y = batches[position[0] % len(batches)]
        position[0] += 1
        return contender.step(x, y)

    return step


def report(results, args):
    """The markdown table of the results (printed, and quoted by benchmarks/README.md)."""
    rows = []
    for name, r in results.items():
        if r["status"] != "ok":
            rows.append([name, f"missing: {r['reason']}", "", "", "", ""])
            continue
        ratio = "n/a" if r["time_vs_pytorch"] is None else f"{r['time_vs_pytorch']:.2f}x"
        rss = "n/a" if "peak_rss_mib" not in r else f"{r['rss_after_setup_mib']:.0f} -> {r['peak_rss_mib']:.0f}"
        rows.append([name, f"{r['median_ms']:.1f}", f"{r['p10_ms']:.1f} - {r['p90_ms']:.1f}",
                     f"{r['tokens_per_s']:,.0f}", rss, ratio])
    headers = ["contender", "median ms/step", "p10 - p90 ms", "tokens/s", "RSS MiB (setup -> peak)",
               "time vs PyTorch"]
    return f"`{command_line()}` ({args.threads} thread(s), {args.repeats} rounds)\n\n" + markdown_table(headers, rows)


def measure_memory(name, args):
    """peak_rss of contender ``name`` in a fresh subprocess, or the error it ended with."""
    code = f"import json, train_step\nprint(json.dumps(train_step.peak_rss({name!r}, {args.threads}, {args.warmup})))"
    try:
        return run_python_json(code)
    except RuntimeError as error:
        return {"rss_error": str(error)}


def settings(args, thread_method):
    """Everything the numbers depend on, for the JSON."""
    return {
        "device": "cpu", "model": MODEL.to_dict(), "batch_size": B, "tokens_per_step": B * T, "dtype": "float32",
        "optimizer": {"name": "AdamW", "lr": LR, "betas": list(BETAS), "eps": EPS, "weight_decay": WEIGHT_DECAY,
                      "weight_decay_on": "parameters with ndim >= 2"},
        "grad_clip_norm": CLIP, "pytorch_attention": ATTENTION,
        "repeats": args.repeats, "warmup": args.warmup, "quick": args.quick, "threads": args.threads,
        "thread_method": thread_method,
        "timing": "interleaved rounds, rotating order, one step per contender per round; time.perf_counter",
        "rss_method": f"each contender alone in a fresh subprocess; peak RSS (VmHWM) after building model "
                      f"and optimizer, then after {args.warmup} warm-up + {RSS_STEPS} steps",
        "batches": f"8 batches of random ids, numpy default_rng({RUN.seed}), cycled",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=50, quick_repeats=3)
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed steps per contender before timing (default 5; 1 with --quick)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = finish_args(parser, parser.parse_args(), repeats=50, quick_repeats=3)
    if args.device == "cuda":
        parser.error("--device cuda needs the CuPy kernel table, which is not available yet (a later "
                     "issue adds it); run with --device cpu")
    args.warmup = (1 if args.quick else 5) if args.warmup is None else args.warmup
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0, got {args.warmup}")
    thread_method = pin_threads(args.threads)

    batches = make_batches(8, RUN.seed)
    contenders, results = {}, {}
    for name, build in BUILDERS.items():
        try:
            contenders[name] = build(args.threads)
            results[name] = {"status": "ok"}
        except Unavailable as reason:
            results[name] = {"status": "missing", "reason": str(reason)}
    if "pytorch" in contenders:
        results["pytorch"]["equivalence_with_tinygrad_lm_numpy"] = equivalence_check(args.threads, batches[:2])
    print(f"timing {', '.join(contenders)}: {args.warmup} warm-up steps, {args.repeats} interleaved rounds",
          file=sys.stderr)
    times = interleaved_times({name: stepper(c, batches) for name, c in contenders.items()},
                              repeats=args.repeats, warmup=args.warmup)
    torch_ms = summarize(times["pytorch"], "ms")["median_ms"] if "pytorch" in times else None
    for name, seconds in times.items():
        stats = summarize(seconds, "ms")
        results[name].update(stats, tokens_per_s=B * T / (stats["median_ms"] / 1e3),
                             time_vs_pytorch=None if torch_ms is None else stats["median_ms"] / torch_ms,
                             times_ms=[s * 1e3 for s in seconds], **measure_memory(name, args))

    table = report(results, args)
    out_json, machine = args.out / "train_step_cpu.json", machine_info()
    write_json(out_json, {"benchmark": "train_step", "command": command_line(), "machine": machine,
                          "settings": settings(args, thread_method), "contenders": results, "table_markdown": table})
    ran = list(times)
    chart = bar_chart(args.out / "train_step_cpu.png", ran, [results[n]["median_ms"] for n in ran],
                      [results[n]["p10_ms"] for n in ran], [results[n]["p90_ms"] for n in ran],
                      "ms per training step (median, p10-p90)",
                      f"shakespeare-char GPT, one training step, batch {B}x{T}"
                      + (" [--quick: not a measurement]" if args.quick else "")
                      + f"\n{machine['cpu']}, {args.threads} thread(s)")
    print(table)
    print(f"\nwrote {out_json}" + (f" and {chart}" if chart else " (no chart: matplotlib is not installed)"))


if __name__ == "__main__":
    main()
