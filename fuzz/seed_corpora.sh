#!/usr/bin/env bash
# Seed fuzz/corpus/<target>/ from the test fixtures (the corpus folder is git-ignored).
set -euo pipefail
cd "$(dirname "$0")"
F=../tests/fixtures
mkdir -p corpus/{nrrd,metaimage,npy,npz,nifti,dicom,minc,pinflate}
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
# Parallel inflater: zlib streams of CT-like int16 data (dynamic blocks, cross-chunk references).
mkdir -p corpus/pinflate
python3 - <<'PY'
import math, random, zlib
random.seed(3)
for i, level in enumerate((6, 9, 4)):
    vals = []
    for k in range(60000):
        x, y = k % 200, (k // 200) % 150
        inside = (x - 100) ** 2 + (y - 75) ** 2 < 60 ** 2
        vals.append(int(40 + 30 * math.sin(x / 7) + random.randint(-6, 6)) if inside else -1024)
    raw = b"".join(v.to_bytes(2, "little", signed=True) for v in vals)
    open(f"corpus/pinflate/ct{i}.zlib", "wb").write(zlib.compress(raw, level))
PY
for d in corpus/*; do echo "$d: $(ls "$d" | wc -l) seeds"; done
