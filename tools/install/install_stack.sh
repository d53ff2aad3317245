#!/usr/bin/env bash
# Installs mmtat's stack into a virtual environment (called by `make install`).
#
#   tools/install/install_stack.sh PYTHON [EXTRAS]
#
# 1. torch + torchvision: an installed torch is never replaced (a GPU user
#    installs the build for their CUDA first).  With no torch, $TORCH_SPEC is
#    installed; with torch but no torchvision, the torchvision release made for
#    that torch is installed beside it, torch pinned to its installed version.
# 2. mmcv 2.1.0 with its compiled ops, built against the installed torch.  The
#    wheel is kept in $MMTAT_WHEEL_CACHE under a folder named after the torch
#    build (pip's own wheel cache keys mmcv by its version only and would hand
#    a wheel compiled for another torch to this one).
# 3. mmtat itself, editable, with the rest of the stack.
set -euo pipefail
PY=${1:?usage: install_stack.sh PYTHON [EXTRAS]}
EXTRAS=${2:-}
TORCH_SPEC=${TORCH_SPEC:-torch==2.14.1 torchvision==0.29.1}
MMCV_VERSION=2.1.0
MMTAT_WHEEL_CACHE=${MMTAT_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmtat/wheels}
PIP=("$PY" -m pip)

# --- 1. torch and torchvision -------------------------------------------------
if ! "$PY" -c "import torch" 2>/dev/null; then
    # shellcheck disable=SC2086
    "${PIP[@]}" install $TORCH_SPEC
elif ! "$PY" -c "import torchvision" 2>/dev/null; then
    torch_version=$("$PY" -c "import torch; print(torch.__version__)")
    vision=$("$PY" "$(dirname "$0")/matching_torchvision.py")
    if [ -z "$vision" ]; then
        echo "torch $torch_version is installed without torchvision, and no torchvision" \
             "release is known for it; install the torchvision made for it, then run make again." >&2
        exit 1
    fi
    echo "torch $torch_version is installed without torchvision: installing" \
         "torchvision==$vision beside it (torch stays $torch_version)."
    if ! "${PIP[@]}" install "torchvision==$vision" "torch==$torch_version"; then
        echo "Could not install torchvision==$vision for torch $torch_version without replacing torch." \
             "Install it from the index your torch came from, e.g." \
             "'$PY -m pip install torchvision==$vision --index-url https://download.pytorch.org/whl/<your CUDA>'," \
             "then run make again." >&2
        exit 1
    fi
fi
"$PY" -c "import torch, torchvision, torchvision.ops" || {
    echo "torchvision does not load beside the installed torch (a torchvision made for another" \
         "torch build); install the matching pair, e.g. '$PY -m pip install $TORCH_SPEC'." >&2
    exit 1; }

# --- 2. mmcv with its ops, compiled against this torch ------------------------
if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
    torch_tag=$("$PY" -c "import sys, torch; print(f'torch{torch.__version__}-py{sys.version_info[0]}{sys.version_info[1]}')")
    wheel_dir="$MMTAT_WHEEL_CACHE/$torch_tag"
    if ! ls "$wheel_dir"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
        "${PIP[@]}" install "setuptools<70" wheel ninja
        # mmcv 2.1.0's setup.py asks for C++17; torch >= 2.14's headers need C++20.
        shim_dir=$(mktemp -d)
        trap 'rm -rf "$shim_dir"' EXIT
        cxx_flag=$("$PY" -c "
import torch
major, minor = (int(p) for p in torch.__version__.split('+')[0].split('.')[:2])
print('c++20' if (major, minor) >= (2, 14) else '')")
        if [ -n "$cxx_flag" ]; then
            real_cxx=${CXX:-c++}
            cat > "$shim_dir/cxx" <<SHIM
#!/usr/bin/env bash
args=()
for a in "\$@"; do
    if [ "\$a" = -std=c++17 ]; then args+=(-std=$cxx_flag); else args+=("\$a"); fi
done
exec $real_cxx "\${args[@]}"
SHIM
            chmod +x "$shim_dir/cxx"
            export CXX="$shim_dir/cxx"
        fi
        echo "Compiling mmcv $MMCV_VERSION with its ops against $torch_tag" \
             "(about 10-20 minutes on 2 cores; the wheel is kept in $wheel_dir)."
        mkdir -p "$wheel_dir.partial"
        MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} "${PIP[@]}" wheel --no-deps --no-cache-dir \
            --no-build-isolation -w "$wheel_dir.partial" "mmcv==$MMCV_VERSION"
        rm -rf "$wheel_dir" && mv "$wheel_dir.partial" "$wheel_dir"
    fi
    "${PIP[@]}" install "$wheel_dir"/mmcv-"$MMCV_VERSION"-*.whl
fi

# --- 3. mmtat and the rest of the stack --------------------------------------
"${PIP[@]}" install -e ".${EXTRAS:+[$EXTRAS]}"
"$PY" -c "import mmtat, mmcv.ops, mmrazor.models, mmseg.models, mmpretrain.models; print('mmtat stack OK')"
