#!/usr/bin/env python3
"""SimpleITK reads what `medseg convert` writes exactly as it reads the original file.

For every NIfTI/Analyze conformance fixture that SimpleITK can open, run
`medseg convert FILE out.nii` (and `out.nii.gz`) and check that SimpleITK's reading of the
output has the same pixel type, size, components, identical voxels, and the same spacing,
origin and direction (1e-5) as its reading of FILE. Run from the repository root with the venv
(SimpleITK, numpy); MEDSEG_BIN names the binary (default target/debug/medseg).
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "conformance"
BIN = os.environ.get("MEDSEG_BIN", str(ROOT / "target" / "debug" / "medseg"))
EXTS = (".nii", ".nii.gz", ".hdr", ".img", ".img.gz", ".hdr.gz")


def read(path):
    try:
        return sitk.ReadImage(str(path))
    except RuntimeError:
        return None


def same(a, b, name, out):
    errs = []
    if a.GetPixelIDValue() != b.GetPixelIDValue():
        errs.append(f"pixel type {a.GetPixelIDTypeAsString()} vs {b.GetPixelIDTypeAsString()}")
    if a.GetSize() != b.GetSize() or a.GetNumberOfComponentsPerPixel() != b.GetNumberOfComponentsPerPixel():
        errs.append(f"size {a.GetSize()}x{a.GetNumberOfComponentsPerPixel()} vs "
                    f"{b.GetSize()}x{b.GetNumberOfComponentsPerPixel()}")
    else:
        va, vb = sitk.GetArrayViewFromImage(a), sitk.GetArrayViewFromImage(b)
        if not np.array_equal(va, vb, equal_nan=True):
            errs.append("voxels differ")
    if a.GetDimension() != b.GetDimension():
        errs.append(f"dimension {a.GetDimension()} vs {b.GetDimension()}")
        return [f"{name} -> {out}: {e}" for e in errs]
    # Spatial geometry (the first three axes); a time axis' spacing/origin is not carried.
    n = min(a.GetDimension(), 3)
    da = np.asarray(a.GetDirection()).reshape(a.GetDimension(), -1)[:n, :n]
    db = np.asarray(b.GetDirection()).reshape(b.GetDimension(), -1)[:n, :n]
    for what, x, y in (("spacing", a.GetSpacing()[:n], b.GetSpacing()[:n]),
                       ("origin", a.GetOrigin()[:n], b.GetOrigin()[:n]),
                       ("direction", da.ravel(), db.ravel())):
        if not np.allclose(np.asarray(x), np.asarray(y), rtol=0, atol=1e-5):
            errs.append(f"{what} {tuple(x)} vs {tuple(y)}")
    return [f"{name} -> {out}: {e}" for e in errs]


def main():
    files = sorted(p for p in FIX.rglob("*") if p.name.lower().endswith(EXTS)
                   and not p.name.lower().endswith((".img", ".img.gz")))
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as td:
        for f in files:
            ref = read(f)
            if ref is None:
                continue  # SimpleITK cannot open it (NIfTI-2, header-only): nothing to compare
            for ext in ("nii", "nii.gz"):
                out = Path(td) / f"out.{ext}"
                r = subprocess.run([BIN, "convert", "--scaled", str(f), str(out)],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    failures.append(f"{f.name}: medseg convert failed: {r.stderr.strip()}")
                    continue
                back = read(out)
                if back is None:
                    failures.append(f"{f.name}: SimpleITK cannot read medseg's {out.name}")
                    continue
                failures += same(ref, back, f.relative_to(FIX), out.name)
            checked += 1
    for line in failures:
        print("FAIL", line)
    print(f"sitk_roundtrip: {checked} files, {len(failures)} failures")
    if checked < 20:
        print("FAIL too few files checked")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
