#!/usr/bin/env bash
# Test on a Slurm cluster:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [args]
set -x
. "$(dirname "$0")/_launch_common.sh"
need_args 4 "PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py args]" "$@"
run_srun "$1" "$2" test.py "$3" "$4" --launcher="slurm" "${@:5}"
