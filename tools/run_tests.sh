#!/usr/bin/env bash
# Set up the venv (tools/setup_env.sh, fast when already done), print the
# stack it holds, then run the test suite with it. Extra arguments go to
# pytest; MMPRELU_STACK / MMPRELU_MMCV / MMPRELU_VENV pick the stack as for
# tools/setup_env.sh:
#   bash tools/run_tests.sh                      # everything, default stack
#   bash tools/run_tests.sh tests/test_models -k prelu -x
#   MMPRELU_STACK=oldest bash tools/run_tests.sh # the oldest supported stack
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup_env.sh"
venv="$(bash "$root/tools/setup_env.sh" --print-venv)"
cd "$root"
packages="$("$venv/bin/python" -m pip list --format=freeze 2>/dev/null \
    | grep -iE '^(torch|torchvision|numpy|opencv-python|mmcv|mmcv-lite|mmengine|mmpretrain|mmdet|mmsegmentation)==' \
    | tr '\n' ' ' || true)"
echo "[run_tests] stack: $("$venv/bin/python" --version 2>&1) ${packages}"
# `tests` unless the arguments name test paths themselves (pytest would
# otherwise collect the whole of tests/ next to them)
where=(tests)
for arg in "$@"; do
    if [[ "$arg" != -* && ( -e "${arg%%::*}" ) ]]; then where=(); break; fi
done
echo "[run_tests] $venv/bin/python -m pytest ${where[*]:-} -q $*"
exec "$venv/bin/python" -m pytest ${where[@]+"${where[@]}"} -q "$@"
