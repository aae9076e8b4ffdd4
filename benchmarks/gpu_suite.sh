#!/usr/bin/env bash
# The one command to run first on a GPU machine (about 7 minutes, hard-capped
# at 8):
#   bash benchmarks/gpu_suite.sh [OUT_DIR] [extra benchmarks/gpu_bench.py args]
# 1. benchmarks/gpu_bench.py (at most 420 s): models A and C (224x224, batch
#    64 / 32), train step in fp32 / channels_last / fp16 / bf16 / bf16 +
#    channels_last, PReLU vs ReLU interleaved; the dense test in fp32 and
#    bf16 at 256x341 (24 windows, explicit windows) and 384x512 (209
#    windows, the conv path); then bf16 + channels_last + torch.compile, one
#    model per case. img/s and TFLOP/s. Cases start within a 240 s budget,
#    compile cases within 360 s; the JSON is written before and after every
#    case, so a run cut at 420 s keeps every row measured and names the case
#    it was in ("running").
# 2. benchmarks/pipeline.py (at most 60 s): the training data pipeline on one
#    CPU core (images/s per dataloader worker) against torchvision v2.
# Examples: bash benchmarks/gpu_suite.sh out --no-compile
#           bash benchmarks/gpu_suite.sh out --archs A --iters 40
#           bash benchmarks/gpu_suite.sh out --device cpu --tiny   # CPU check
# PYTHON selects the interpreter (default: python).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-work_dirs/gpu_suite}
[ $# -gt 0 ] && shift
PY=${PYTHON:-python}
mkdir -p "$OUT"
PIPELINE_ARGS=(--images 64 --repeats 3)
for arg in "$@"; do
    [ "$arg" = --tiny ] && PIPELINE_ARGS=(--images 3 --size 80 60 --repeats 1)
done

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null

start=$SECONDS
echo "== gpu_bench (at most 420 s)"
timeout 420 "$PY" benchmarks/gpu_bench.py --budget 240 --compile-budget 360 \
    --out "$OUT/gpu_bench.json" "$@" 2>"$OUT/gpu_bench.err" \
    | tee "$OUT/gpu_bench.txt"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 124 ] && echo "gpu_bench stopped at 420 s (results so far kept)"
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && tail -20 "$OUT/gpu_bench.err"

echo "== data pipeline, 1 CPU thread (at most 60 s)"
timeout 60 "$PY" benchmarks/pipeline.py "${PIPELINE_ARGS[@]}" \
    --out "$OUT/pipeline.json" 2>"$OUT/pipeline.err" | tee "$OUT/pipeline.txt"
echo "== done in $((SECONDS - start)) s; results in $OUT"
exit "$rc"
