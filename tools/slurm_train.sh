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
. "$(dirname "$0")/_launch_common.sh"
need_args 3 "PARTITION JOB_NAME CONFIG [WORK_DIR] [tools/train.py args]" "$@"
if [ $# -ge 4 ] && [[ "$4" != -* ]]; then
    WORK_DIR_ARGS=("--work-dir=$4")
    PY_ARGS=("${@:5}")
else
    WORK_DIR_ARGS=()
    PY_ARGS=("${@:4}")
fi
run_srun "$1" "$2" train.py "$3" "${WORK_DIR_ARGS[@]}" --launcher="slurm" \
    "${PY_ARGS[@]}"
