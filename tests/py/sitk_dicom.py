#!/usr/bin/env python3
"""`medseg convert DICOM out.nii` gives the voxels and geometry of SimpleITK's reading.

For every DICOM input under tests/fixtures/dicom that both SimpleITK and medseg read (the real
corpus files in conformance/ and the synthetic oblique series), run `medseg convert` to .nii, read
the result with SimpleITK and compare with SimpleITK's own reading of the DICOM: identical values
(compared as float64: medseg keeps int16 where GDCM widens to int32), size, spacing, origin and
direction (1e-5).  Files that only one of them can read are skipped (tests/dicom.rs asserts the
typed errors).  Run from the repository root (make test does, with MEDSEG_BIN set):

    MEDSEG_BIN=target/debug/medseg .venv/bin/python tests/py/sitk_dicom.py
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import SimpleITK as sitk

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(ROOT, "tests", "fixtures", "dicom")
# Where SimpleITK (GDCM) is not the reference: see tests/dicom.rs and src/io/dicom.rs.
SKIP = {"enhanced_mr.dcm"}  # GDCM keeps the stored frame order and ignores shared pixel measures


def sitk_read(path):
    if os.path.isdir(path):
        r = sitk.ImageSeriesReader()
        r.SetFileNames(r.GetGDCMSeriesFileNames(path))
        return r.Execute()
    return sitk.ReadImage(path)


def geometry(img):
    sp, org, d = list(img.GetSpacing()), list(img.GetOrigin()), list(img.GetDirection())
    if img.GetDimension() == 2:
        sp, org = sp + [1.0], org + [0.0]
        d = [d[0], d[1], 0.0, d[2], d[3], 0.0, 0.0, 0.0, 1.0]
    return np.array(sp), np.array(org), np.array(d)


def main():
    exe = os.environ.get("MEDSEG_BIN", os.path.join(ROOT, "target", "debug", "medseg"))
    inputs = [os.path.join(FIX, "conformance", f) for f in sorted(os.listdir(os.path.join(FIX, "conformance")))
              if f.endswith(".dcm")]
    inputs += [os.path.join(FIX, "oblique"), os.path.join(FIX, "mono1_u12.dcm")]
    out_dir = tempfile.mkdtemp(prefix="medseg-dicom-")
    failures, checked = [], 0
    for src in inputs:
        name = os.path.basename(src)
        if name in SKIP:
            continue
        try:
            ref = sitk_read(src)
        except RuntimeError:
            continue
        out = os.path.join(out_dir, name + ".nii")
        r = subprocess.run([exe, "convert", src, out], capture_output=True, text=True)
        if r.returncode != 0:
            # dicom-rs cannot decode everything GDCM does (12-bit JPEG, JPEG-LS without the feature).
            if "unsupported" in r.stderr:
                print(f"skip {name}: {r.stderr.strip()}")
                continue
            failures.append(f"{name}: medseg convert failed: {r.stderr.strip()}")
            continue
        got = sitk.ReadImage(out)
        a = sitk.GetArrayFromImage(ref).astype(np.float64).reshape(-1)
        b = sitk.GetArrayFromImage(got).astype(np.float64).reshape(-1)
        if a.shape != b.shape or not np.array_equal(a, b):
            failures.append(f"{name}: voxels differ ({a.shape} vs {b.shape})")
        for what, x, y in zip(["spacing", "origin", "direction"], geometry(ref), geometry(got)):
            if not np.allclose(x, y, rtol=0, atol=1e-5):
                failures.append(f"{name}: {what} {y.tolist()} vs SimpleITK {x.tolist()}")
        checked += 1
        print(f"ok {name}: {ref.GetSize()} {ref.GetPixelIDTypeAsString()} -> {got.GetPixelIDTypeAsString()}")
    if checked < 8:
        failures.append(f"only {checked} inputs checked")
    for f in failures:
        print("FAIL", f)
    print(f"{checked} DICOM inputs checked, {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
