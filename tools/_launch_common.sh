# Shared by tools/dist_train.sh, dist_test.sh, slurm_train.sh and
# slurm_test.sh (sourced, not run): the argument count check, the
# environment defaults and the torchrun / srun command lines. Each script
# keeps its own OpenMMLab command line.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# need_args MIN USAGE "$@": exit 2 with "usage: SCRIPT USAGE" when fewer
# than MIN arguments were given.
need_args() {
    local min=$1 usage=$2
    shift 2
    if [ $# -lt "$min" ]; then
        echo "usage: $0 $usage" >&2
        exit 2
    fi
}

# torchrun_defaults: NNODES (1), NODE_RANK (0), PORT (29500), MASTER_ADDR
# (127.0.0.1), PYTHON (python), and LAUNCH: torchrun's static rendezvous
# options (this node's rank, the master's address and port).
torchrun_defaults() {
    NNODES=${NNODES:-1}
    NODE_RANK=${NODE_RANK:-0}
    PORT=${PORT:-29500}
    MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
    PYTHON=${PYTHON:-python}
    LAUNCH=(--node_rank="$NODE_RANK"
            --master_addr="$MASTER_ADDR"
            --master_port="$PORT")
}

# run_torchrun NPROC TOOL ARGS...: replace this shell with torchrun running
# NPROC copies of tools/TOOL ARGS per node, with the options in LAUNCH.
run_torchrun() {
    local nproc=$1 tool=$2
    shift 2
    PYTHONPATH="$ROOT":$PYTHONPATH \
    exec "$PYTHON" -m torch.distributed.run \
        --nnodes="$NNODES" \
        "${LAUNCH[@]}" \
        --nproc_per_node="$nproc" \
        "$ROOT/tools/$tool" "$@"
}

# run_srun PARTITION JOB_NAME TOOL ARGS...: tools/TOOL ARGS as a Slurm job
# of GPUS (8) tasks, GPUS_PER_NODE (8) per node, CPUS_PER_TASK (5) CPUs
# each, plus SRUN_ARGS (split into words).
run_srun() {
    local partition=$1 job_name=$2 tool=$3
    shift 3
    GPUS=${GPUS:-8}
    GPUS_PER_NODE=${GPUS_PER_NODE:-8}
    CPUS_PER_TASK=${CPUS_PER_TASK:-5}
    SRUN_ARGS=${SRUN_ARGS:-""}
    PYTHONPATH="$ROOT":$PYTHONPATH \
    srun -p "$partition" \
        --job-name="$job_name" \
        --gres=gpu:"$GPUS_PER_NODE" \
        --ntasks="$GPUS" \
        --ntasks-per-node="$GPUS_PER_NODE" \
        --cpus-per-task="$CPUS_PER_TASK" \
        --kill-on-bad-exit=1 \
        ${SRUN_ARGS} \
        python -u "$ROOT/tools/$tool" "$@"
}
