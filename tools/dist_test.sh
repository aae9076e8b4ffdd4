#!/usr/bin/env bash
# Test with GPUS processes per node (torchrun), e.g.
#   bash tools/dist_test.sh CONFIG CHECKPOINT 8 [tools/test.py args]
# Env: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500).
# Without CUDA the processes run on CPU over gloo (mmprelu/apis/launch.py).
set -e
. "$(dirname "$0")/_launch_common.sh"
need_args 3 "CONFIG CHECKPOINT GPUS [tools/test.py args]" "$@"
torchrun_defaults
run_torchrun "$3" test.py "$1" "$2" --launcher pytorch "${@:4}"
