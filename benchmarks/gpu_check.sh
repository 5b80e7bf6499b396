#!/usr/bin/env bash
# The GPU checks of tinygrad_lm in one command, for a machine with an NVIDIA GPU, CuPy and
# PyTorch (CUDA build) already installed. Run from the repository root:
#
#     bash benchmarks/gpu_check.sh [OUT_DIR]
#
# 1. the gpu-marked tests: every CuPy kernel against the NumPy reference, the op registry on
#    the cuda device, the 50-step tiny run against the CPU (tests/ -m gpu);
# 2. the GPU training-step benchmark (nanoGPT's GPU shakespeare-char model): tinygrad_lm on
#    CuPy against PyTorch eager, TF32 off and on (benchmarks/train_step.py --device cuda).
#
# Logs, the JUnit report and the benchmark's JSON and PNG go to OUT_DIR (default
# benchmarks/results). Each step has its own time limit so that a hung kernel cannot eat the
# whole session; the benchmark still runs when some tests fail, and the script's exit status
# is the tests' (0 only when every gpu test passed).
set -uo pipefail
OUT_DIR=${1:-benchmarks/results}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1
python -m pip install --quiet --no-deps -e . >"$OUT_DIR/gpu_install.log" 2>&1 || {
    echo "pip install -e . failed; see $OUT_DIR/gpu_install.log"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT_DIR/gpu_machine.txt"
python -c "import cupy, tinygrad_lm as tg; print('cupy', cupy.__version__, 'cuda_available', tg.cuda_available())" \
    | tee -a "$OUT_DIR/gpu_machine.txt"

timeout 420 python -m pytest -m gpu -q -p no:cacheprovider -x --junitxml="$OUT_DIR/gpu_tests.xml" tests \
    2>&1 | tee "$OUT_DIR/gpu_tests.log"
tests_status=${PIPESTATUS[0]}

timeout 300 python benchmarks/train_step.py --device cuda --repeats 30 --warmup 3 --out "$OUT_DIR" \
    2>&1 | tee "$OUT_DIR/gpu_benchmark.log"
exit "$tests_status"
