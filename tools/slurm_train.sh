#!/usr/bin/env bash
# Train on a Slurm cluster:
#   [GPUS=16] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [args]
# WORK_DIR may be left out (args then start with "--"): tools/train.py's
# default (./work_dirs/<config name>) applies.
# Restarts: a requeued job (sbatch --requeue after a node failure, or
# `scontrol requeue`) starts with SLURM_RESTART_COUNT > 0 and tools/train.py
# then resumes by itself from the newest complete checkpoint of the work dir
# (give the same WORK_DIR; docs/long_runs.md has an sbatch script that also
# requeues after a crashed rank, up to a limit).
set -x
if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [WORK_DIR] [tools/train.py args]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
if [ $# -ge 4 ] && [[ "$4" != -* ]]; then
    WORK_DIR_ARGS=("--work-dir=$4")
    PY_ARGS=("${@:5}")
else
    WORK_DIR_ARGS=()
    PY_ARGS=("${@:4}")
fi
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

PYTHONPATH="$ROOT":$PYTHONPATH \
srun -p ${PARTITION} \
    --job-name=${JOB_NAME} \
    --gres=gpu:${GPUS_PER_NODE} \
    --ntasks=${GPUS} \
    --ntasks-per-node=${GPUS_PER_NODE} \
    --cpus-per-task=${CPUS_PER_TASK} \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    python -u "$ROOT/tools/train.py" "$CONFIG" "${WORK_DIR_ARGS[@]}" \
    --launcher="slurm" "${PY_ARGS[@]}"
