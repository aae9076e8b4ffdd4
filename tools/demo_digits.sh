#!/usr/bin/env bash
# End-to-end demo on a fresh machine, CPU only, a few minutes:
#   1. set up .venv (tools/setup_env.sh),
#   2. build the digits dataset (scikit-learn's 8x8 digits, written as 64x64
#      images in ImageNet layout) under data/digits,
#   3. train the small PReLU-net (configs/prelu_net_tiny_1xb64_digits.py),
#   4. test the last checkpoint: centre crop, then the paper's dense
#      multi-scale protocol (§5.1),
#   5. classify validation images the mmpretrain way (demo/image_demo.py on
#      one, demo/prediction_grid.py on all: a PNG grid of predictions).
# Extra arguments go to tools/train.py, e.g. a quicker run:
#   bash tools/demo_digits.sh --cfg-options train_cfg.max_epochs=2
# The run is seeded and uses one intra-op thread (OMP_NUM_THREADS=1 unless
# set): the two dataloader workers take the other core of a 2-core machine,
# and a fixed thread count gives the same figures on every rerun.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cfg=configs/prelu_net_tiny_1xb64_digits.py
data=data/digits
work=work_dirs/demo_digits
t0=$SECONDS
stage() { echo; echo "[demo] ===== $* ====="; }
elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

stage "1/5 environment"
bash "$root/tools/setup_env.sh"
cd "$root"
py="$root/.venv/bin/python"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
t_setup=$((SECONDS - t0))

stage "2/5 dataset -> $data"
t=$SECONDS
"$py" tools/dataset_converters/digits2imagenet.py "$data" --size 64
t_data=$((SECONDS - t))

stage "3/5 training ($cfg) -> $work"
t=$SECONDS
rm -f "$work/last_checkpoint"   # never test a checkpoint from an older run
"$py" tools/train.py "$cfg" --work-dir "$work" "$@"
t_train=$((SECONDS - t))
[[ -s "$work/last_checkpoint" ]] \
    || { echo "[demo] ERROR: training wrote no $work/last_checkpoint" >&2; exit 1; }
ckpt="$(head -n1 "$work/last_checkpoint")"

stage "4/5 testing $ckpt"
t=$SECONDS
log="$work/demo_test.log"
"$py" tools/test.py "$cfg" "$ckpt" --work-dir "$work" 2>&1 | tee "$log"
# the paper's protocol (§5.1): dense windows at 3 scales (64, 72, 80; no
# flips for digits, see the config)
dense_log="$work/demo_test_dense.log"
"$py" tools/test.py "$cfg" "$ckpt" --work-dir "$work" --protocol dense 2>&1 \
    | tee "$dense_log"
t_test=$((SECONDS - t))

stage "5/5 classifying validation images (mmpretrain's inferencer)"
t=$SECONDS
first="$(head -n1 "$data/meta/val.txt" | cut -d' ' -f1)"
"$py" demo/image_demo.py "$data/val/$first" "$cfg" "$ckpt" \
    --show-dir "$work/vis"
grid="$work/predictions.png"
"$py" demo/prediction_grid.py "$cfg" "$ckpt" --out "$grid"
t_infer=$((SECONDS - t))

# mmengine's closing line reads "Epoch(test) [n/n]    accuracy/top1: 97.5000 ..."
top1_of() { grep -oE 'accuracy/top1: [0-9.]+' "$1" | tail -n1 | awk '{print $2}'; }
top1="$(top1_of "$log")"
dense_top1="$(top1_of "$dense_log")"
if [[ -z "$top1" || -z "$dense_top1" ]]; then
    echo "[demo] ERROR: no 'accuracy/top1' in the test output ($log, $dense_log)" >&2
    exit 1
fi
echo
echo "================================================================"
printf ' Digits demo: top-1 accuracy = %.2f %% (centre crop)\n' "$top1"
printf '              top-1 accuracy = %.2f %% (dense, 3 scales)\n' \
    "$dense_top1"
echo " config:     $cfg"
echo " checkpoint: $ckpt"
echo " predictions: $grid"
echo " time:       $(elapsed $((SECONDS - t0))) (setup $(elapsed $t_setup)," \
     "data $(elapsed $t_data), train $(elapsed $t_train), test $(elapsed $t_test)," \
     "inference $(elapsed $t_infer))"
echo "================================================================"
