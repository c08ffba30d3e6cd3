#!/usr/bin/env bash
# Install the ONNX Runtime shared library (CPU build, 1.31.x, from PyPI) into a project-local
# folder: third_party/onnxruntime/lib/. Nothing is downloaded at run time; medseg finds this
# folder relative to its executable and to the source tree it was built from.
#
#   tools/setup_ort.sh            # CPU runtime (onnxruntime==1.31.*)
#   ORT_PACKAGE=onnxruntime-gpu tools/setup_ort.sh   # GPU build (needs CUDA 13 + cuDNN 9 libraries)
#
# Only `pip download` of one wheel is used (no venv needed); the library inside does not depend
# on Python, so any Python tag works.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkg="${ORT_PACKAGE:-onnxruntime}"
ver="${ORT_VERSION:-1.31.*}"
dest="$root/third_party/onnxruntime"
py="${PYTHON:-python3}"

if ls "$dest"/lib/libonnxruntime.so.1.31.* >/dev/null 2>&1 && [ -z "${ORT_FORCE:-}" ]; then
    echo "ONNX Runtime already installed: $(ls "$dest"/lib/libonnxruntime.so.1.31.*)"
    exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "$pkg==$ver"
wheel="$(ls "$tmp"/*.whl | head -n1)"
mkdir -p "$dest/lib.tmp"
"$py" - "$wheel" "$dest/lib.tmp" <<'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
n = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        if name.startswith("onnxruntime/capi/") and base.startswith("libonnxruntime"):
            with z.open(name) as src, open(os.path.join(out, base), "wb") as dst:
                dst.write(src.read())
            n += 1
if n == 0:
    sys.exit(f"no onnxruntime/capi/libonnxruntime* in {wheel}")
PY
rm -rf "$dest/lib"
mv "$dest/lib.tmp" "$dest/lib"
basename "$wheel" > "$dest/WHEEL"
echo "ONNX Runtime installed: $(ls "$dest"/lib/libonnxruntime.so.1.*)"
