#!/usr/bin/env bash
# Train with GPUS processes per node (torchrun), e.g.
#   bash tools/dist_train.sh CONFIG 8 [tools/train.py args]
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 \
#       bash tools/dist_train.sh CONFIG 8        # node 0 of 2
#   MAX_RESTARTS=3 bash tools/dist_train.sh CONFIG 8
# Env: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500),
# MAX_RESTARTS (0), RDZV_ID (mmprelu_$PORT; the same on every node).
# MAX_RESTARTS=N > 0: torchrun restarts the whole worker group up to N times
# after a rank fails, and the restarted ranks resume from the newest complete
# checkpoint by themselves (docs/long_runs.md). It uses the c10d rendezvous
# on MASTER_ADDR:PORT (node ranks are then assigned by the rendezvous, so
# NODE_RANK is not needed) and a fresh store per restart round
# (TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1, see mmprelu/apis/elastic.py;
# torch 2.1 does not know the switch and gives every round a fresh store
# anyway).
# Without CUDA the processes train on CPU over gloo (mmprelu/apis/launch.py).
set -e
. "$(dirname "$0")/_launch_common.sh"
need_args 2 "CONFIG GPUS [tools/train.py args]" "$@"
CONFIG=$1
GPUS=$2
torchrun_defaults
MAX_RESTARTS=${MAX_RESTARTS:-0}

if ! [[ "$MAX_RESTARTS" =~ ^[0-9]+$ ]]; then
    echo "$0: MAX_RESTARTS must be a whole number, got '$MAX_RESTARTS'" >&2
    exit 2
fi
if [ "$MAX_RESTARTS" -gt 0 ]; then
    export TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1
    LAUNCH=(--max-restarts="$MAX_RESTARTS"
            --rdzv-backend=c10d
            --rdzv-endpoint="$MASTER_ADDR:$PORT"
            --rdzv-id="${RDZV_ID:-mmprelu_$PORT}")
fi

run_torchrun "$GPUS" train.py "$CONFIG" --launcher pytorch "${@:3}"
