#!/usr/bin/env bash
# `make demo`: medseg's main job on the shipped default — LiteMedSAM (the real MedSAM-on-Laptop
# weights, converted at set-up) segments the brain in a real head CT (TotalSegmentator's atlas,
# fetched at set-up) from one 3D box, and writes the label map, an overlay preview and the volume.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/medseg
ct=data/demo/ct_brain_atlas_1mm.nii.gz
out=demo_out
mkdir -p "$out"
echo "== medseg info $ct"
"$bin" info "$ct"
# The box (voxel indices i0,j0,k0,i1,j1,k1, inclusive) encloses the brain in slices 62..112 (51 of
# 1 mm, through the lateral ventricles; the whole brain, k 29..164, takes ~2.7x as long); --window brain maps
# HU to 0..255 as the MedSAM challenge's CT preprocessing does (level 40, width 80).
box=40,17,62,169,176,112
echo "== medseg sam segment $ct $out/brain_seg.nii.gz --box $box --window brain --preview $out/brain_overlay.png"
"$bin" sam segment "$ct" "$out/brain_seg.nii.gz" --box "$box" --window brain \
  --preview "$out/brain_overlay.png"
echo "demo: label map $out/brain_seg.nii.gz, overlay $out/brain_overlay.png"
echo "demo: prompt another box with --box i0,j0,k0,i1,j1,k1 (repeat --box for several structures),"
echo "      or by millimetres with --box-mm x0,y0,z0,x1,y1,z1 (LPS; --ras for RAS)"
