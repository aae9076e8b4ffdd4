#!/usr/bin/env bash
# One command on a GPU machine (about 6 minutes, hard-capped under 8):
#   bash benchmarks/gpu_suite.sh [OUT_DIR] [extra benchmarks/gpu_bench.py args]
# 1. benchmarks/gpu_bench.py: models A and C (224x224, batch 64 / 32), train
#    step in fp32 / channels_last / bf16 autocast / bf16 + channels_last /
#    bf16 + channels_last + torch.compile, PReLU vs ReLU interleaved, and the
#    dense test (fp32, bf16); img/s and TFLOP/s. CUDA when available. Cases
#    start only while its --budget (240 s) lasts (compile cases run last) and
#    the whole step is killed after 420 s; its JSON is written after every
#    case, so a cut run keeps what it measured.
# 2. benchmarks/pipeline.py: the training data pipeline on one CPU core
#    (images/s per dataloader worker) against torchvision v2.
# Examples: bash benchmarks/gpu_suite.sh out --no-compile
#           bash benchmarks/gpu_suite.sh out --archs A --iters 40
# PYTHON selects the interpreter (default: python).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-work_dirs/gpu_suite}
[ $# -gt 0 ] && shift
PY=${PYTHON:-python}
mkdir -p "$OUT"

"$PY" -c 'import torch, mmprelu; print("torch", torch.__version__, "cuda",
torch.cuda.is_available(), torch.cuda.get_device_name() if
torch.cuda.is_available() else "")' || { echo "mmprelu not importable"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null

start=$SECONDS
echo "== gpu_bench (at most 420 s)"
timeout 420 "$PY" benchmarks/gpu_bench.py --budget 240 \
    --out "$OUT/gpu_bench.json" "$@" 2>"$OUT/gpu_bench.err" \
    | tee "$OUT/gpu_bench.txt"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 124 ] && echo "gpu_bench stopped at 420 s (results so far kept)"
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && tail -20 "$OUT/gpu_bench.err"

echo "== data pipeline, 1 CPU thread (at most 60 s)"
timeout 60 "$PY" benchmarks/pipeline.py --images 64 --repeats 3 \
    --out "$OUT/pipeline.json" 2>"$OUT/pipeline.err" | tee "$OUT/pipeline.txt"
echo "== done in $((SECONDS - start)) s; results in $OUT"
exit "$rc"
