#!/usr/bin/env bash
# `make demo`: the main job on the shipped default input.
# Reads the sample CT phantom (written by nibabel, oblique), describes it, converts it,
# and writes preview pictures to demo_out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/medseg
in=data/sample/ct_phantom.nii.gz
out=demo_out
mkdir -p "$out"
echo "== medseg info $in"
"$bin" info "$in"
echo "== medseg convert $in $out/ct_phantom.nii"
"$bin" convert "$in" "$out/ct_phantom.nii"
"$bin" info --json "$out/ct_phantom.nii"
if "$bin" preview --help >/dev/null 2>&1; then
  echo "== medseg preview"
  "$bin" preview "$in" "$out/ct_axial.png" --axis axial --window 40,400 \
    --labels data/sample/ct_phantom_labels.nii.gz
  "$bin" preview "$in" "$out/ct_triplanar.png" --triplanar --window 40,400
  echo "demo: pictures in $out/ (ct_axial.png, ct_triplanar.png)"
fi
echo "demo: done; outputs in $out/"
