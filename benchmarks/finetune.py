"""Fine-tuning MiniLM on Pang & Lee: tinygrad_lm's ``finetune`` recipe against the same recipe in PyTorch + transformers.

    python benchmarks/finetune.py [--repeats 1] [--threads 1] [--set key=value ...] [--out DIR] [--quick]

writes DIR/finetune.json and DIR/finetune.png (``finetune_quick.*`` with --quick).

One recipe, two implementations, each in its own worker process (``_common.Worker``), stepped
in turn one training step at a time (the order alternating every step), so both see the same
load on a shared machine; ``--together`` sends each step to both at once instead (each on its
own single thread: on a machine whose load is far above its cores this halves the wall time,
and both still share the same load). The JSON is rewritten after every evaluation
(``"complete": false``), so a run stopped early still says how far it got. The recipe is ``tinygrad-lm finetune --model all-MiniLM-L6-v2
--dataset pang-lee`` exactly (``cli_finetune.finetune_config``): 3 epochs of 100 steps,
batch 32, texts cut to 64 tokens, AdamW lr 5e-5 (betas 0.9, 0.999, eps 1e-8, weight decay
0.01 on matrices only, never on biases and LayerNorm weights), 10% linear warm-up then linear
decay to 0, gradient clipping at 1.0, dropout 0.1 (hidden, attention, head), mean pooling, a
Linear head; validation accuracy twice per epoch, the best weights kept, early stopping after
2 evaluations without a better one; the best weights scored on the test split.

What the two share, so that only the implementation differs:

    data        the fixed stratified split of ``load_classification_dataset("pang-lee")``
    tokens      our WordPiece ids (``tokenizer.encode_batch``, max_length 64), fed to both
    order       ``classifier_task.EpochSampler`` with the run's seed: the same batches, in order
    encoder     MiniLM's model.safetensors, into our BertModel and into transformers.BertModel
                (its BertConfig built by hand from our config; no hub access)
    head        the Linear our model was built with (seeded), copied into the PyTorch model
    schedule    ``optim.linear_decay`` gives both the lr of every step

Contenders:

    tinygrad_lm   the CLI's own Trainer (``Trainer.train_step``: the step the CLI times)
    pytorch       transformers.BertModel (eager autograd, its default attention) + the same
                  head, torch.optim.AdamW, torch.nn.utils.clip_grad_norm_

Not shared: dropout's random masks (each library draws its own), and float32 rounding. So the
accuracies differ by run-to-run noise; ``--repeats R`` runs the whole comparison R times with
seeds seed, seed + 1, ... (other batch orders, head inits and masks) to show that noise.
Honesty check in the JSON: both models' eval-mode logits on 16 validation texts before
training (``max_abs_diff_initial_logits``). Times are each worker's own clock around one
training step (tokenisation, forward, backward, clipping, update); evaluation is not timed.
Seconds per epoch = median step x steps per epoch (the CLI's ``epoch_s``); the sum of each
epoch's step times is recorded too.

Left out: the GPU, mixed precision, torch.compile, other models and datasets.
"""

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import (
    THREAD_ENV_VARS,
    Worker,
    add_common_args,
    bar_chart,
    command_line,
    finish_args,
    machine_info,
    markdown_table,
    summarize,
    write_json,
)

MODEL = "all-MiniLM-L6-v2"
CONTENDERS = ("tinygrad_lm", "pytorch")
CHECK_TEXTS = 16  # validation texts whose initial logits are compared
QUICK_TEXTS = 100  # --quick: this many Pang & Lee training sentences, split 80/10/10
QUICK_OVERRIDES = ["batch_size=8", "max_iters=4", "eval_interval=2", "eval_iters=1"]


class Unavailable(Exception):
    """A contender that cannot run here; the message says why and lands in the JSON."""




def ask_all(workers, names, command, together):
    """{name: answer} of ``command`` to each worker in ``names``: all at once (``together``) or in turn."""
    answers = {}
    for name in names:
        workers[name].send(command)
        if not together:
            answers[name] = workers[name].receive()
    return answers if not together else {name: workers[name].receive() for name in names}


# --- the worker side ------------------------------------------------------------------------------
class TinygradRun:
    """The CLI's Trainer on a scratch run directory, stepped from outside."""

    def __init__(self, config, threads):
        import numba

        from tinygrad_lm.train import Trainer
        from tinygrad_lm.train.classifier_task import predict_logits

        self.scratch = tempfile.TemporaryDirectory()
        self.trainer = Trainer(config, Path(self.scratch.name) / "run", progress=False)
        self.task, self.model, self._predict = self.trainer.task, self.trainer.model, predict_logits
        self.splits = self.task.splits
        numba.set_num_threads(threads)

    def train_step(self):
        return self.trainer.train_step()

    def split_metrics(self, split):
        return self.task.evaluate_split(split)

    def snapshot(self):
        return {name: array.copy() for name, array in self.model.state_dict().items()}

    def restore(self, state):
        self.model.load_state_dict(state)

    def logits(self, texts):
        return self._predict(self.model, self.task.tokenizer, texts, self.task.config.block_size)


class TorchRun:
    """The same recipe in PyTorch: transformers.BertModel from MiniLM's safetensors, our head's init."""

    def __init__(self, config, threads):
        try:
            import torch
            import transformers
            from safetensors.torch import load_file
        except ImportError as error:
            raise Unavailable(f"needs torch, transformers and safetensors: {error}") from None
        from tinygrad_lm.data.pretrained_files import fetch_pretrained
        from tinygrad_lm.optim import linear_decay
        from tinygrad_lm.train.classifier_task import ClassifierTask, EpochSampler

        torch.set_num_threads(threads)
        torch.manual_seed(config.seed)
        if config.lr_schedule != "linear" or config.layer_lr_decay != 1.0 or config.freeze_layers:
            raise Unavailable("the PyTorch peer implements the finetune preset only (linear schedule, no "
                              "layer_lr_decay, no freezing)")
        self.torch, self.config, self.lr_at = torch, config, linear_decay
        task = ClassifierTask(config)  # our splits, tokenizer and the head our run starts from
        task.build("cpu")
        self.splits, self.tokenizer, ours = task.splits, task.tokenizer, task.model
        c = ours.bert.config
        hf_config = transformers.BertConfig(
            vocab_size=c.vocab_size, hidden_size=c.hidden, num_hidden_layers=c.n_layers,
            num_attention_heads=c.n_heads, intermediate_size=c.intermediate, max_position_embeddings=c.max_position,
            type_vocab_size=c.type_vocab_size, layer_norm_eps=c.layer_norm_eps, hidden_act="gelu",
            hidden_dropout_prob=config.dropout, attention_probs_dropout_prob=config.dropout,
            initializer_range=c.initializer_range)
        self.bert = transformers.BertModel(hf_config, add_pooling_layer=False)
        directory = Path(config.pretrained) if Path(config.pretrained).is_dir() else fetch_pretrained(config.pretrained)
        state = {name.removeprefix("bert."): tensor for name, tensor in load_file(directory / "model.safetensors").items()
                 if not name.removeprefix("bert.").startswith("pooler.")}  # mean pooling: no pooler
        missing, unexpected = self.bert.load_state_dict(state, strict=False)
        unexpected = [name for name in unexpected if not name.startswith("embeddings.") or "_ids" not in name]
        if missing or unexpected:
            raise Unavailable(f"{directory}/model.safetensors does not fit transformers.BertModel: "
                              f"missing {missing[:5]}, unexpected {unexpected[:5]}")
        self.drop = torch.nn.Dropout(config.dropout)
        self.head = torch.nn.Linear(c.hidden, ours.n_classes)
        with torch.no_grad():
            self.head.weight.copy_(torch.from_numpy(ours.classifier.weight.numpy()))
            self.head.bias.copy_(torch.from_numpy(ours.classifier.bias.numpy()))
        del task, ours
        named = [*self.bert.named_parameters(), *(("classifier." + n, p) for n, p in self.head.named_parameters())]
        self.params = [p for _, p in named]
        groups = [{"params": [p for _, p in named if p.ndim >= 2], "weight_decay": config.weight_decay},
                  {"params": [p for _, p in named if p.ndim < 2], "weight_decay": 0.0}]  # biases, LayerNorm
        self.optimizer = torch.optim.AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2), eps=1e-8)
        self.sampler = EpochSampler(len(self.splits["train"].texts), config.batch_size, config.seed)
        self.step = 0

    def _logits(self, texts):
        torch = self.torch
        batch = self.tokenizer.encode_batch(list(texts), max_length=self.config.block_size)
        ids, types, mask = (torch.from_numpy(batch[k]) for k in ("input_ids", "token_type_ids", "attention_mask"))
        hidden = self.bert(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state  # (B, T, H)
        weights = mask[..., None].to(hidden.dtype)  # (B, T, 1)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)  # (B, H): our mean_pool
        return self.head(self.drop(pooled))  # (B, C)

    def _train_mode(self, on):
        self.bert.train(on)
        self.drop.train(on)

    def train_step(self):
        torch, c = self.torch, self.config
        self._train_mode(True)
        rows = self.sampler.next_rows()
        train = self.splits["train"]
        lr = self.lr_at(self.step, c.lr, c.lr_decay_iters, c.min_lr, c.warmup_iters)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss = torch.nn.functional.cross_entropy(self._logits([train.texts[i] for i in rows]),
                                                 torch.from_numpy(train.labels[rows]))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.params, c.grad_clip)
        self.optimizer.step()
        self.step += 1
        return float(loss.item())

    def logits(self, texts):
        """Eval-mode logits (N, C) as NumPy, in batches of 64 sorted by length (as ``predict_logits``)."""
        self._train_mode(False)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.head.out_features))
        with self.torch.no_grad():
            for start in range(0, len(order), 64):
                rows = order[start:start + 64]
                out[rows] = self._logits([texts[i] for i in rows]).numpy()
        return out

    def split_metrics(self, split):
        from tinygrad_lm.metrics import accuracy

        data = self.splits[split]
        logits = self.logits(data.texts)  # (N, C)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, C)
        return {f"{split}_loss": float(-log_probs[np.arange(len(data.labels)), data.labels].mean()),
                f"{split}_accuracy": float(accuracy(data.labels, logits.argmax(axis=1)))}

    def snapshot(self):
        return {k: v.detach().clone() for k, v in [*self.bert.state_dict().items(),
                                                    *(("head." + n, t) for n, t in self.head.state_dict().items())]}

    def restore(self, state):
        self.bert.load_state_dict({k: v for k, v in state.items() if not k.startswith("head.")})
        self.head.load_state_dict({k[len("head."):]: v for k, v in state.items() if k.startswith("head.")})


def worker(name, config_dict, threads):
    """A worker process's body: build contender ``name``; then per line "train" (one timed step),
    "eval" (validation metrics; the best weights are kept), "test" (the best weights on the test
    split), "stop"."""
    from tinygrad_lm.train.config import RunConfig

    config = RunConfig.from_dict(config_dict)
    try:
        run = TorchRun(config, threads) if name == "pytorch" else TinygradRun(config, threads)
    except Unavailable as reason:
        print(json.dumps({"status": "missing", "reason": str(reason)}), flush=True)
        return
    check = list(run.splits["val"].texts[:CHECK_TEXTS])
    print(json.dumps({"status": "ok", "initial_logits": run.logits(check).tolist()}), flush=True)
    best_accuracy, best = -1.0, None
    for line in sys.stdin:
        command = line.strip()
        if command == "stop":
            break
        if command == "train":
            start = time.perf_counter()
            loss = run.train_step()
            answer = {"seconds": time.perf_counter() - start, "loss": loss}
        elif command == "eval":
            answer = run.split_metrics("val")
            answer["improved"] = answer["val_accuracy"] > best_accuracy  # what early stopping counts
            if answer["val_accuracy"] >= best_accuracy:  # a tie takes the later weights, as best.safetensors does
                best_accuracy, best = answer["val_accuracy"], run.snapshot()
        else:  # "test"
            run.restore(best)
            answer = run.split_metrics("test")
        print(json.dumps(answer), flush=True)
    print(json.dumps({}), flush=True)


# --- the parent side ------------------------------------------------------------------------------
def run_config(args, seed, data_path):
    """The CLI's RunConfig for this comparison (``finetune_config``), and the steps per epoch."""
    from tinygrad_lm.cli_finetune import finetune_config

    overrides = [f"seed={seed}", *(QUICK_OVERRIDES if args.quick else []), *args.set]
    cli_args = argparse.Namespace(model=MODEL, dataset="pang-lee", data=data_path, freeze_layers=0,
                                  overrides=overrides)
    return finetune_config(cli_args)


def quick_data(folder):
    """A CSV of the first QUICK_TEXTS Pang & Lee training sentences (for --quick)."""
    from tinygrad_lm.data import load_classification_dataset

    train = load_classification_dataset("pang-lee")["train"]
    path = Path(folder) / "pang-lee-quick.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label"])
        writer.writerows((text, train.label_names[label]) for text, label in
                         zip(train.texts[:QUICK_TEXTS], train.labels[:QUICK_TEXTS].tolist()))
    return str(path)


def one_comparison(config, threads, together, progress):
    """Both contenders trained side by side with ``config``; {name: result dict}.

    ``together``: each command goes to both workers at once (each still times its own step);
    otherwise they take turns, the first alternating every step. ``progress(results)`` is
    called after every evaluation (to save what is known so far)."""
    results, workers = {}, {}
    for name in CONTENDERS:
        code = f"import finetune\nfinetune.worker({name!r}, {config.to_dict()!r}, {threads})\n"
        process = Worker(code, env={var: str(threads) for var in THREAD_ENV_VARS})
        results[name] = dict(process.ready)
        if results[name]["status"] == "ok":
            workers[name] = process
            results[name].update(step_s=[], losses=[], evals=[], stopped_at=None)
    active, best, stale = list(workers), dict.fromkeys(workers, -1.0), dict.fromkeys(workers, 0)

    def evaluate(step):
        for name, answer in ask_all(workers, list(active), "eval", together).items():
            metrics = {"step": step, **answer}
            results[name]["evals"].append(metrics)
            stale[name] = 0 if metrics.pop("improved") else stale[name] + 1
            if metrics["val_accuracy"] >= best[name]:
                best[name], results[name]["best_step"] = metrics["val_accuracy"], step
            if config.early_stopping_patience and stale[name] >= config.early_stopping_patience:
                active.remove(name)
                results[name]["stopped_at"] = step
                print(f"{name}: early stopping at step {step}", file=sys.stderr)
        progress(results)

    for step in range(config.max_iters):
        if step % config.eval_interval == 0:
            evaluate(step)
        turn = active if step % 2 == 0 else active[::-1]  # alternate who goes first
        for name, answer in ask_all(workers, turn, "train", together).items():
            results[name]["step_s"].append(answer["seconds"])
            results[name]["losses"].append(answer["loss"])
        if not active:
            break
        if step % 10 == 9:
            print(f"step {step + 1}: " + ", ".join(f"{n} {np.median(results[n]['step_s']):.2f} s/step"
                                                   for n in workers), file=sys.stderr)
    if active:
        evaluate(config.max_iters)
    for name, answer in ask_all(workers, list(workers), "test", together).items():
        results[name].update(answer)
        workers[name].close()
    if len(workers) == 2:
        first = {name: np.asarray(results[name].pop("initial_logits")) for name in workers}
        results["max_abs_diff_initial_logits"] = float(np.abs(first["tinygrad_lm"] - first["pytorch"]).max())
    return results


def summarize_round(results, steps_per_epoch):
    for name in CONTENDERS:
        r = results[name]
        if r["status"] != "ok":
            continue
        r.pop("initial_logits", None)
        r.update(summarize(r["step_s"], "ms"))
        r["epoch_s"] = r["median_ms"] * steps_per_epoch / 1e3
        r["epoch_sums_s"] = [float(np.sum(r["step_s"][i:i + steps_per_epoch]))
                             for i in range(0, len(r["step_s"]) - steps_per_epoch + 1, steps_per_epoch)]
    if all(results[name]["status"] == "ok" for name in CONTENDERS):
        results["time_ratio"] = results["tinygrad_lm"]["median_ms"] / results["pytorch"]["median_ms"]
        results["accuracy_gap"] = results["tinygrad_lm"]["test_accuracy"] - results["pytorch"]["test_accuracy"]
    return results


def report(rounds, seeds, steps_per_epoch):
    rows = []
    for seed, results in zip(seeds, rounds):
        for name in CONTENDERS:
            r = results[name]
            if r["status"] != "ok":
                rows.append([str(seed), name, f"missing: {r['reason']}", "", "", "", ""])
                continue
            ratio = f"{results['time_ratio']:.2f}x" if "time_ratio" in results and name == "tinygrad_lm" else ""
            step_s = f"{r['median_ms'] / 1e3:.2f} ({r['p10_ms'] / 1e3:.2f} - {r['p90_ms'] / 1e3:.2f})"
            rows.append([str(seed), name, step_s, f"{r['epoch_s']:.0f}", ratio,
                         f"{r['test_accuracy']:.4f}", f"{r['best_step']} / {len(r['step_s'])}"])
    headers = ["seed", "contender", "s / step, median (p10 - p90)", f"s / epoch ({steps_per_epoch} steps)",
               "time vs pytorch", "test accuracy", "best step / steps run"]
    return f"`{command_line()}`\n\n" + markdown_table(headers, rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=1, quick_repeats=1)
    parser.add_argument("--set", nargs="*", default=[], metavar="key=value",
                        help="RunConfig changes for both contenders (e.g. max_iters=50 for a timing-only run)")
    parser.add_argument("--together", action="store_true",
                        help="step both workers at the same time instead of in turn: twice the throughput on a "
                             "machine whose load is far above its cores (both still see the same load)")
    args = finish_args(parser, parser.parse_args(), repeats=1, quick_repeats=1)
    from tinygrad_lm.train import preset

    load = {"before": list(os.getloadavg())}
    stem = "finetune_quick" if args.quick else "finetune"
    seeds = [preset("finetune").seed + r for r in range(args.repeats)]
    settings = {"model": MODEL, "dataset": "pang-lee" if not args.quick else f"first {QUICK_TEXTS} pang-lee train "
                "sentences, split 80/10/10", "seeds": seeds, "threads": args.threads, "quick": args.quick,
                "loadavg_1_5_15": load, "turns": "together" if args.together else "alternating",
                "timing": "one worker process per contender, stepped " + ("at the same time" if args.together else
                          "in turn (alternating order)") + "; each worker times its own training step with "
                          "time.perf_counter; evaluation not timed"}
    rounds = []

    def save(partial=None):
        """The JSON so far (``partial``: the round in progress, raw), so a long run killed early still says something."""
        write_json(args.out / f"{stem}.json", {"benchmark": "finetune", "command": command_line(), "complete": False,
                                               "settings": settings, "rounds": rounds, "round_in_progress": partial})

    with tempfile.TemporaryDirectory() as scratch:
        data_path = quick_data(scratch) if args.quick else None
        for seed in seeds:
            config, steps_per_epoch = run_config(args, seed, data_path)
            settings.update(config=config.to_dict(), steps_per_epoch=steps_per_epoch)
            print(f"seed {seed}: {config.max_iters} steps, {steps_per_epoch} per epoch", file=sys.stderr)
            results = one_comparison(config, args.threads, args.together, save)
            rounds.append(summarize_round(results, steps_per_epoch))
    load["after"] = list(os.getloadavg())
    machine = machine_info()
    table = report(rounds, seeds, steps_per_epoch)
    write_json(args.out / f"{stem}.json", {"benchmark": "finetune", "command": command_line(), "complete": True,
                                           "machine": machine, "settings": settings, "rounds": rounds,
                                           "table_markdown": table})
    ran = [(seed, name) for seed, results in zip(seeds, rounds) for name in CONTENDERS
           if results[name]["status"] == "ok"]
    by = {(seed, name): results[name] for seed, results in zip(seeds, rounds) for name in CONTENDERS}
    chart = bar_chart(args.out / f"{stem}.png",
                      [f"{name}\nseed {seed}\ntest acc {by[seed, name]['test_accuracy']:.3f}" for seed, name in ran],
                      [by[k]["epoch_s"] for k in ran], [by[k]["p10_ms"] * steps_per_epoch / 1e3 for k in ran],
                      [by[k]["p90_ms"] * steps_per_epoch / 1e3 for k in ran],
                      f"seconds per epoch of {steps_per_epoch} steps (median step, p10-p90)",
                      f"fine-tuning {MODEL} on Pang & Lee, batch {config.batch_size}"
                      + (" [--quick: not a measurement]" if args.quick else "")
                      + f"\n{machine['cpu']}, {args.threads} thread(s), load {load['before'][0]:.1f}")
    print(table)
    print(f"\nwrote {args.out / f'{stem}.json'}" + (f" and {chart}" if chart else " (no chart: no matplotlib)"))


if __name__ == "__main__":
    main()
