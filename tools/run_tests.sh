#!/usr/bin/env bash
# Set up .venv (tools/setup_env.sh, fast when already done), then run the test
# suite with it. Extra arguments go to pytest:
#   bash tools/run_tests.sh                      # everything
#   bash tools/run_tests.sh tests/test_models -k prelu -x
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup_env.sh"
cd "$root"
echo "[run_tests] $root/.venv/bin/python -m pytest tests -q $*"
exec "$root/.venv/bin/python" -m pytest tests -q "$@"
