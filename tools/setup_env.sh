#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in <repo>/.venv.
#
#   bash tools/setup_env.sh        # set up, then use .venv/bin/python
#   . tools/setup_env.sh           # set up and activate .venv in this shell
#   MMPRELU_STACK=oldest bash tools/setup_env.sh   # the oldest stack, in
#                                  # .venv-oldest (CI's "oldest" leg)
#   bash tools/setup_env.sh --print-venv   # only print the venv folder
#
# Idempotent: a stamp file in the venv records a hash of everything that
# decides what gets installed (this script, requirements/*.txt, setup.py, the
# stack, the Python version and the mmcv choice); when it matches, the
# script returns at once.
#
# Stack (env var MMPRELU_STACK; docs/environments.md):
#   newest (default) - Python 3.11, torch 2.14.1 + torchvision 0.29.1; .venv
#   oldest           - Python 3.9, torch 2.1.2 + torchvision 0.16.2,
#                      numpy < 2, opencv-python < 4.11; .venv-oldest
#                      (with MMPRELU_MMCV=full: Python 3.11 and the torch 2.1
#                      mmcv wheel + mmdet, in .venv-oldest-full)
# mmcv choice (env var MMPRELU_MMCV):
#   auto (default) - the stack's prebuilt full-mmcv wheel from ../shared/wheels
#                    when it exists and the venv runs CPython 3.11, else
#                    mmcv-lite
#   full           - require the prebuilt wheel (+ mmdet, mmseg); fail if
#                    missing
#   lite           - mmcv-lite (2.2.0; 2.1.0 on the oldest stack): no
#                    mmcv.ops, no mmdet, no mmseg (classification only;
#                    tests needing them are skipped)
# Other knobs: MMPRELU_PYTHON=/path/to/python picks the interpreter that
# creates the venv; MMPRELU_VENV=DIR the venv folder; MMPRELU_SETUP_FORCE=1
# reinstalls even if the stamp matches.

# The venv folder for the current MMPRELU_STACK / MMPRELU_MMCV / MMPRELU_VENV.
_mmprelu_venv_dir() {
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    if [[ -n "${MMPRELU_VENV:-}" ]]; then
        case "$MMPRELU_VENV" in
            /*) echo "$MMPRELU_VENV" ;;
            *) echo "$root/$MMPRELU_VENV" ;;
        esac
    elif [[ "${MMPRELU_STACK:-newest}" == oldest ]]; then
        if [[ "${MMPRELU_MMCV:-auto}" == full ]]; then
            echo "$root/.venv-oldest-full"
        else
            echo "$root/.venv-oldest"
        fi
    else
        echo "$root/.venv"
    fi
}

_mmprelu_setup() (
    set -euo pipefail

    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    venv="$(_mmprelu_venv_dir)"
    stamp="$venv/.mmprelu-setup-stamp"
    wheels="$root/../shared/wheels"
    mm_pins=(mmengine==0.10.7 mmpretrain==1.2.0)
    mmdet_pin=mmdet==3.3.0
    # segmentation (docs/segmentation.md), full mmcv only: mmseg 1.2.2 wants
    # mmcv < 2.2; `import mmseg.models` needs ftfy and regex, undeclared
    mmseg_pins=(mmsegmentation==1.2.2 ftfy regex)
    # mmprelu is installed in develop mode (pip's legacy editable install,
    # `setup.py develop`: the checkout itself is the distribution's
    # location), so that stock OpenMMLab tools find mmprelu.configs:
    # mmengine 0.10.7 looks a package up at <distribution location>/mmprelu,
    # which a PEP 660 editable install leaves in site-packages. That mode
    # needs setuptools < 80 (from 80 on, develop runs a PEP 660 install) and
    # pip < 25.3 (which removed it); torch 2.14 needs setuptools >= 77.0.3.
    # wheel: the tests build mmprelu's wheel (`pip wheel --no-build-isolation`).
    build_pins=("setuptools>=64,<80" wheel "pip<25.3")

    say() { echo "[setup_env] $*"; }
    die() { echo "[setup_env] ERROR: $*" >&2; exit 1; }

    # Every version pin of a stack is here (the declared ranges are in
    # mmprelu/compat.py, setup.py and requirements/).
    stack="${MMPRELU_STACK:-newest}"
    case "$stack" in
        newest)
            torch_pins=(torch==2.14.1 torchvision==0.29.1)
            stack_pins=()
            wheel="$wheels/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl"
            lite_pin=mmcv-lite==2.2.0
            want_py=3.11 ;;
        oldest)
            # numpy 2 breaks torch 2.1's numpy bridge; opencv-python >= 4.11
            # needs numpy 2; setuptools < 82: see requirements/runtime.txt
            torch_pins=(torch==2.1.2 torchvision==0.16.2)
            stack_pins=("numpy<2" "opencv-python<4.11" "setuptools<82")
            wheel="$wheels/torch2.1/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl"
            lite_pin=mmcv-lite==2.1.0
            want_py=3.9
            if [[ "${MMPRELU_MMCV:-auto}" == full ]]; then
                want_py=3.11  # the torch 2.1 mmcv wheel is cp311
            fi ;;
        *) die "MMPRELU_STACK='$stack' is not valid; choose one of: newest, oldest" ;;
    esac

    # pip on some machines warns about every unreachable local index page;
    # drop those lines but keep everything else (errors included).
    quiet_pip() {
        "$venv/bin/python" -m pip -q "$@" 2>&1 \
            | { grep -v -e "^WARNING: Location '.*' is ignored" || true; }
    }

    # Pick the interpreter: python$want_py (also a pyenv-managed one, whose
    # bare shim stops unless that version is selected), else (newest stack
    # only) python3 if it is in the supported range 3.9-3.12.
    py_is() {  # py_is PYTHON MIN_MINOR MAX_MINOR: a python3.MIN..MAX?
        "$1" -c "import sys; sys.exit(0 if sys.version_info[0] == 3 and
$2 <= sys.version_info[1] <= $3 else 1)" >/dev/null 2>&1
    }
    pick_python() {
        local cand minor="${want_py#3.}"
        if [[ -n "${MMPRELU_PYTHON:-}" ]]; then
            py_is "$MMPRELU_PYTHON" 9 12 \
                || die "MMPRELU_PYTHON=$MMPRELU_PYTHON is not a Python 3.9-3.12"
            echo "$MMPRELU_PYTHON"; return
        fi
        if command -v "python$want_py" >/dev/null 2>&1 \
                && py_is "python$want_py" "$minor" "$minor"; then
            echo "python$want_py"; return
        fi
        if command -v pyenv >/dev/null 2>&1; then
            for cand in "$(pyenv root)/versions/$want_py".*/bin/"python$want_py"; do
                if [[ -x "$cand" ]] && py_is "$cand" "$minor" "$minor"; then
                    echo "$cand"; return
                fi
            done
        fi
        if [[ "$stack" == newest ]] && command -v python3 >/dev/null 2>&1 \
                && py_is python3 9 12; then
            echo python3; return
        fi
        die "the $stack stack needs python$want_py on PATH (or under pyenv);" \
            "found none. Install Python $want_py or set MMPRELU_PYTHON=/path/to/python."
    }

    # 1. The venv itself (kept if it exists and its python runs).
    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c '' 2>/dev/null; then
        py="$(pick_python)"
        say "creating $venv with $py ($("$py" --version 2>&1))"
        rm -rf "$venv"
        "$py" -m venv "$venv" || die "'$py -m venv' failed (Debian/Ubuntu: apt-get install python3-venv)"
    fi
    pyver="$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    if [[ -n "${MMPRELU_PYTHON:-}" ]]; then
        asked="$("$MMPRELU_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        [[ "$asked" == "$pyver" ]] || die "$venv has Python $pyver but" \
            "MMPRELU_PYTHON=$MMPRELU_PYTHON is $asked: remove the venv or set MMPRELU_VENV"
    fi

    # 2. Which mmcv.
    choice="${MMPRELU_MMCV:-auto}"
    case "$choice" in
        auto)
            if [[ -f "$wheel" && "$pyver" == 3.11 ]]; then choice=full; else choice=lite; fi ;;
        full)
            [[ -f "$wheel" ]] || die "MMPRELU_MMCV=full but $wheel ($stack stack) does not exist"
            [[ "$pyver" == 3.11 ]] || die "MMPRELU_MMCV=full needs Python 3.11 (the wheel is cp311), venv has $pyver" ;;
        lite) ;;
        *) die "MMPRELU_MMCV='$choice' is not valid; choose one of: auto, full, lite" ;;
    esac

    # 3. Skip everything when nothing changed since the last successful run.
    want="$(cd "$root" && cat tools/setup_env.sh setup.py requirements/*.txt \
            | sha256sum | cut -d' ' -f1) stack=$stack python=$pyver mmcv=$choice"
    if [[ "${MMPRELU_SETUP_FORCE:-0}" != 1 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        say "up to date ($stack stack, $choice mmcv, python $pyver): $venv"
        exit 0
    fi
    rm -f "$stamp"

    if [[ "$choice" == full ]]; then
        say "mmcv: FULL (prebuilt wheel with CPU ops, plus mmdet and mmseg) from $wheel"
        mmcv_reqs=("$wheel" "$mmdet_pin" "${mmseg_pins[@]}")
        drop=(mmcv-lite)
    else
        say "mmcv: LITE ($lite_pin; no mmcv.ops, no mmdet, no mmseg - detection and segmentation tests will be skipped)"
        mmcv_reqs=("$lite_pin")
        drop=(mmcv mmdet mmsegmentation)
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

    say "installing ${torch_pins[*]} ${stack_pins[*]} (minutes on a fresh venv)"
    quiet_pip install "${build_pins[@]}" "${torch_pins[@]}" ${stack_pins[@]+"${stack_pins[@]}"}
    if [[ "$reinstall" == 1 ]]; then
        # an mmcv flavour left installed may have lost files shared with the
        # one just removed: put them back
        quiet_pip install --force-reinstall --no-deps "${mmcv_reqs[0]}"
    fi
    say "installing mmcv, ${mm_pins[*]} and requirements/{runtime,tests,optional}.txt"
    quiet_pip install "${build_pins[@]}" "${torch_pins[@]}" ${stack_pins[@]+"${stack_pins[@]}"} "${mmcv_reqs[@]}" "${mm_pins[@]}" \
        -r "$root/requirements/runtime.txt" -r "$root/requirements/tests.txt" \
        -r "$tmp/optional.txt"
    say "installing mmprelu (develop mode, --no-deps)"
    quiet_pip install --no-deps --no-use-pep517 -e "$root"

    "$venv/bin/python" -W ignore -c 'import torch, mmcv, mmengine, mmpretrain, mmprelu' \
        || die "installed packages do not import; see the errors above"
    # what stock tools read `from mmprelu.configs... import *` with
    found="$("$venv/bin/python" -W ignore -c 'from mmengine.utils import get_installed_path
print(get_installed_path("mmprelu"))')"
    [[ "$(realpath -m "$found")" == "$(realpath "$root/mmprelu")" ]] || die "mmengine finds mmprelu at" \
        "'$found', not '$root/mmprelu': stock tools would not read its configs"
    echo "$want" >"$stamp"
    say "done ($stack stack, $choice mmcv, python $pyver): $venv"
)

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    # Sourced: run the set-up in a child bash (so its 'set -e' really applies
    # and nothing leaks into the caller's shell), then activate the venv here.
    bash "${BASH_SOURCE[0]}" && . "$(_mmprelu_venv_dir)/bin/activate"
elif [[ "${1:-}" == --print-venv ]]; then
    _mmprelu_venv_dir
else
    _mmprelu_setup
fi
