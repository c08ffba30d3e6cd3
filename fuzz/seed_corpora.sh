#!/usr/bin/env bash
# Seed fuzz/corpus/<target>/ from the test fixtures (the corpus folder is git-ignored).
set -euo pipefail
cd "$(dirname "$0")"
F=../tests/fixtures
mkdir -p corpus/{nrrd,metaimage,npy,npz,nifti,dicom,minc}
cp $F/formats/*.nrrd corpus/nrrd/ 2>/dev/null || true
# Detached NRRD/MetaImage headers exercise the header parser (their data files are refused in memory).
cp $F/formats/*.nhdr corpus/nrrd/ 2>/dev/null || true
cp $F/formats/*.mha $F/formats/*.mhd corpus/metaimage/ 2>/dev/null || true
cp $F/formats/*.npy corpus/npy/
cp $F/formats/*.npz corpus/npz/
find $F -name '*.nii' -size -200k -exec cp {} corpus/nifti/ \; 2>/dev/null || true
find $F -name '*.nii.gz' -size -200k -exec cp {} corpus/nifti/ \; 2>/dev/null || true
find $F -name "*.dcm" -size -100k -exec cp {} corpus/dicom/ \; 2>/dev/null || true
find $F -name "*.mnc" -size -100k -exec cp {} corpus/minc/ \; 2>/dev/null || true
for d in corpus/*; do echo "$d: $(ls "$d" | wc -l) seeds"; done
