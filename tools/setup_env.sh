#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in <repo>/.venv.
#
#   bash tools/setup_env.sh        # set up, then use .venv/bin/python
#   . tools/setup_env.sh           # set up and activate .venv in this shell
#
# Idempotent: a stamp file in .venv records a hash of everything that decides
# what gets installed (this script, requirements/*.txt, setup.py, the Python
# version and the mmcv choice); when it matches, the script returns at once.
#
# mmcv choice (env var MMPRELU_MMCV):
#   auto (default) - the prebuilt full-mmcv wheel from ../shared/wheels when it
#                    exists and the venv runs CPython 3.11, else mmcv-lite
#   full           - require the prebuilt wheel (+ mmdet); fail if missing
#   lite           - mmcv-lite 2.2.0 (no mmcv.ops, no mmdet: classification
#                    only; tests needing them are skipped)
# Other knobs: MMPRELU_PYTHON=/path/to/python picks the interpreter that
# creates the venv; MMPRELU_SETUP_FORCE=1 reinstalls even if the stamp matches.

_mmprelu_setup() (
    set -euo pipefail

    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    venv="$root/.venv"
    stamp="$venv/.mmprelu-setup-stamp"
    wheel="$root/../shared/wheels/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl"
    torch_pins=(torch==2.14.1 torchvision==0.29.1)
    mm_pins=(mmengine==0.10.7 mmpretrain==1.2.0)
    lite_pin=mmcv-lite==2.2.0
    mmdet_pin=mmdet==3.3.0

    say() { echo "[setup_env] $*"; }
    die() { echo "[setup_env] ERROR: $*" >&2; exit 1; }

    # pip on some machines warns about every unreachable local index page;
    # drop those lines but keep everything else (errors included).
    quiet_pip() {
        "$venv/bin/python" -m pip -q "$@" 2>&1 \
            | { grep -v -e "^WARNING: Location '.*' is ignored" || true; }
    }

    # Pick the interpreter: python3.11 first, else python3 if >= 3.8.
    py_ok() {
        "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' \
            >/dev/null 2>&1
    }
    pick_python() {
        local cand
        if [[ -n "${MMPRELU_PYTHON:-}" ]]; then
            py_ok "$MMPRELU_PYTHON" \
                || die "MMPRELU_PYTHON=$MMPRELU_PYTHON is not a Python >= 3.8"
            echo "$MMPRELU_PYTHON"; return
        fi
        for cand in python3.11 python3; do
            if command -v "$cand" >/dev/null 2>&1 && py_ok "$cand"; then
                echo "$cand"; return
            fi
        done
        die "need python3.11 (or a python3 >= 3.8) on PATH; found none." \
            "Install Python 3.11 or set MMPRELU_PYTHON=/path/to/python."
    }

    # 1. The venv itself (kept if it exists and its python runs).
    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c '' 2>/dev/null; then
        py="$(pick_python)"
        say "creating $venv with $py ($("$py" --version 2>&1))"
        rm -rf "$venv"
        "$py" -m venv "$venv" || die "'$py -m venv' failed (Debian/Ubuntu: apt-get install python3-venv)"
    fi
    pyver="$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

    # 2. Which mmcv.
    choice="${MMPRELU_MMCV:-auto}"
    case "$choice" in
        auto)
            if [[ -f "$wheel" && "$pyver" == 3.11 ]]; then choice=full; else choice=lite; fi ;;
        full)
            [[ -f "$wheel" ]] || die "MMPRELU_MMCV=full but $wheel does not exist"
            [[ "$pyver" == 3.11 ]] || die "MMPRELU_MMCV=full needs Python 3.11 (the wheel is cp311), venv has $pyver" ;;
        lite) ;;
        *) die "MMPRELU_MMCV='$choice' is not valid; choose one of: auto, full, lite" ;;
    esac

    # 3. Skip everything when nothing changed since the last successful run.
    want="$(cd "$root" && cat tools/setup_env.sh setup.py requirements/*.txt \
            | sha256sum | cut -d' ' -f1) python=$pyver mmcv=$choice"
    if [[ "${MMPRELU_SETUP_FORCE:-0}" != 1 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        say "up to date ($choice mmcv, python $pyver): $venv"
        exit 0
    fi
    rm -f "$stamp"

    if [[ "$choice" == full ]]; then
        say "mmcv: FULL (prebuilt wheel with CPU ops, plus mmdet) from $wheel"
        mmcv_reqs=("$wheel" "$mmdet_pin")
        drop=(mmcv-lite)
    else
        say "mmcv: LITE ($lite_pin; no mmcv.ops, no mmdet - detection tests will be skipped)"
        mmcv_reqs=("$lite_pin")
        drop=(mmcv mmdet)
    fi
    # mmcv and mmcv-lite ship the same 'mmcv' package: remove the other one
    # first so the two never overwrite each other's files.
    installed="$("$venv/bin/python" -m pip list --format=freeze 2>/dev/null | cut -d= -f1)"
    reinstall=0
    for pkg in "${drop[@]}"; do
        if grep -qix "$pkg" <<<"$installed"; then
            say "uninstalling $pkg (switching mmcv flavour)"
            quiet_pip uninstall -y "$pkg"
            reinstall=1
        fi
    done

    # requirements/optional.txt pins mmdet, which only the full path can use.
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    if [[ "$choice" == full ]]; then
        cp "$root/requirements/optional.txt" "$tmp/optional.txt"
    else
        grep -viE '^[[:space:]]*mmdet([^a-z0-9_-]|$)' "$root/requirements/optional.txt" \
            >"$tmp/optional.txt" || true
    fi

    say "installing ${torch_pins[*]} (about a minute on a fresh venv)"
    quiet_pip install "${torch_pins[@]}"
    if [[ "$reinstall" == 1 ]]; then
        # an mmcv flavour left installed may have lost files shared with the
        # one just removed: put them back
        quiet_pip install --force-reinstall --no-deps "${mmcv_reqs[0]}"
    fi
    say "installing mmcv, ${mm_pins[*]} and requirements/{runtime,tests,optional}.txt"
    quiet_pip install "${torch_pins[@]}" "${mmcv_reqs[@]}" "${mm_pins[@]}" \
        -r "$root/requirements/runtime.txt" -r "$root/requirements/tests.txt" \
        -r "$tmp/optional.txt"
    say "installing mmprelu (editable, --no-deps)"
    quiet_pip install -e "$root" --no-deps

    "$venv/bin/python" -W ignore -c 'import torch, mmcv, mmengine, mmpretrain, mmprelu' \
        || die "installed packages do not import; see the errors above"
    # The fused PReLU CPU kernel is otherwise compiled on first use (~20 s):
    # do it now. Not fatal: without a compiler impl='fast' uses the Python
    # fallback (mmprelu/models/utils/prelu_ext.py).
    say "building the fused PReLU CPU kernel (about 20 s, cached)"
    "$venv/bin/python" -W ignore -m mmprelu.models.utils.prelu_ext \
        || say "WARNING: fused PReLU kernel not built; impl='fast' falls back to impl='python'"
    echo "$want" >"$stamp"
    say "done ($choice mmcv, python $pyver): $venv"
)

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    # Sourced: run the set-up in a child bash (so its 'set -e' really applies
    # and nothing leaks into the caller's shell), then activate the venv here.
    bash "${BASH_SOURCE[0]}" \
        && . "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv/bin/activate"
else
    _mmprelu_setup
fi
