#!/usr/bin/env python3
"""Generate the extra NIfTI/Analyze conformance fixtures and their reference readings.

    .venv/bin/python tools/gen_nifti_fixtures.py [--oracle ../shared/bench/oracle_read.py]

Writes small files that exercise header paths the shared conformance set does not cover
(qform-only, sform-only, qform vs sform choice, no transform, scaling, big-endian, Analyze and
NIfTI pairs, 2-D, vector and RGB pixels, every integer/float type, units, left-handed qfac,
NIfTI-2 big-endian) into tests/fixtures/conformance/extra/, copies three more files from the
installed nibabel's test data, then runs the shared reader oracle (nibabel + SimpleITK) on each
and writes tests/fixtures/conformance/readings_extra.jsonl. Deterministic (seeded).
"""
import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "conformance" / "extra"


def rot(ax, az):
    cx, sx, cz, sz = np.cos(ax), np.sin(ax), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ rx


def affine(spacing, r, origin):
    a = np.eye(4)
    a[:3, :3] = r @ np.diag(spacing)
    a[:3, 3] = origin
    return a


def data(shape, dtype, rng, lo=-100, hi=1000):
    v = rng.uniform(lo, hi, size=shape)
    dt = np.dtype(dtype)
    if dt.kind in "ui":
        info = np.iinfo(dt)
        v = np.clip(np.round(v), info.min, info.max)
    return v.astype(dtype)


def finite(x):
    if isinstance(x, float) and not np.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [finite(v) for v in x]
    return x


def save(img, name):
    p = OUT / name
    nib.save(img, str(p))
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--oracle", default=str(ROOT.parent / "shared" / "bench" / "oracle_read.py"))
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261121)
    shape = (7, 6, 5)
    obl = affine([0.8, 0.9, 2.5], rot(0.21, 0.09), [-40.5, 22.25, -13.0])
    files = []

    # qform only (code 1), oblique.
    im = nib.Nifti1Image(data(shape, "int16", rng), None)
    im.set_qform(obl, code=1)
    im.set_sform(None, code=0)
    files.append(save(im, "qform_only.nii"))

    # sform only (code 2), oblique, gzip.
    im = nib.Nifti1Image(data(shape, "float32", rng), None)
    im.set_sform(obl, code=2)
    im.set_qform(None, code=0)
    files.append(save(im, "sform_only.nii.gz"))

    # qform and sform differ, sform code 2 (aligned): ITK keeps the qform, nibabel the sform.
    im = nib.Nifti1Image(data(shape, "int16", rng), None)
    im.set_qform(obl, code=1)
    other = obl.copy()
    other[:3, 3] += [5.0, -3.0, 7.0]
    im.set_sform(other, code=2)
    files.append(save(im, "qform_vs_sform_code2.nii"))

    # The same with sform code 1 (scanner): ITK takes the sform.
    im = nib.Nifti1Image(data(shape, "int16", rng), None)
    im.set_qform(obl, code=1)
    im.set_sform(other, code=1)
    files.append(save(im, "qform_vs_sform_code1.nii"))

    # No transform at all.
    im = nib.Nifti1Image(data(shape, "uint8", rng, 0, 255), None)
    im.header.set_zooms((2.0, 3.0, 4.0))
    im.set_qform(None, code=0)
    im.set_sform(None, code=0)
    files.append(save(im, "no_xform.nii"))

    # Scaled uint8 (SimpleITK returns float32).
    im = nib.Nifti1Image(data(shape, "uint8", rng, 0, 255), obl)
    im.header.set_slope_inter(0.5, 10.0)
    files.append(save(im, "scaled_u8.nii"))

    # Big-endian float64.
    hdr = nib.Nifti1Header(endianness=">")
    im = nib.Nifti1Image(data(shape, ">f8", rng), obl, hdr)
    im.set_data_dtype(">f8")
    files.append(save(im, "big_endian_f64.nii"))

    # Analyze 7.5 pair (nibabel writes its radiological default).
    im = nib.AnalyzeImage(data(shape, "int16", rng), np.diag([1.5, 2.0, 2.5, 1.0]))
    files.append(save(im, "analyze_pair.hdr"))

    # NIfTI-1 pair, uint16, gzip on both files.
    im = nib.Nifti1Pair(data(shape, "uint16", rng, 0, 4000), obl)
    files.append(save(im, "pair_u16.img.gz"))

    # 2-D float32.
    a2 = np.eye(4)
    a2[:2, :2] = rot(0.0, 0.3)[:2, :2] @ np.diag([0.7, 0.6])
    a2[:3, 3] = [10.0, -20.0, 5.0]
    im = nib.Nifti1Image(data((9, 8), "float32", rng), a2)
    files.append(save(im, "slice_2d.nii"))

    # Vector intent, 3 float32 components (dim[5]).
    v = data(shape + (1, 3), "float32", rng)
    im = nib.Nifti1Image(v, obl)
    im.header.set_intent("vector")
    files.append(save(im, "vector3.nii"))

    # RGB24.
    rgb = np.zeros(shape, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    for i, c in enumerate("RGB"):
        rgb[c] = data(shape, "uint8", rng, 0, 255) // (i + 1)
    im = nib.Nifti1Image(rgb, obl)
    files.append(save(im, "rgb24.nii"))

    # Every other type.
    for dt, lo, hi in [("int8", -100, 100), ("uint32", 0, 70000), ("int64", -10**6, 10**6),
                       ("uint64", 0, 10**6), ("int32", -70000, 70000), ("float64", -1, 1)]:
        im = nib.Nifti1Image(data(shape, dt, rng, lo, hi), obl, dtype=dt)
        files.append(save(im, f"type_{dt}.nii.gz"))

    # Metres as the space unit.
    im = nib.Nifti1Image(data(shape, "int16", rng), affine([0.001, 0.001, 0.002], np.eye(3), [0.01, 0.02, 0.03]))
    im.header.set_xyzt_units("meter", "sec")
    files.append(save(im, "units_meter.nii"))

    # Left-handed grid: qfac = -1.
    lh = affine([1.0, 1.25, 3.0], rot(0.1, -0.2) @ np.diag([1, 1, -1]), [3.0, 4.0, 5.0])
    im = nib.Nifti1Image(data(shape, "int16", rng), lh)
    im.set_sform(None, code=0)
    im.set_qform(lh, code=1)
    files.append(save(im, "qfac_negative.nii"))

    # NIfTI-2, big-endian, 4-D.
    hdr = nib.Nifti2Header(endianness=">")
    im = nib.Nifti2Image(data(shape + (3,), ">i2", rng), obl, hdr)
    im.set_data_dtype(">i2")
    files.append(save(im, "nifti2_big_endian_4d.nii"))

    # Three more real files from nibabel's own test data.
    src = Path(nib.__file__).parent / "tests" / "data"
    for n in ("functional.nii", "reoriented_anat_moved.nii", "resampled_anat_moved.nii"):
        shutil.copy(src / n, OUT / n)
        files.append(OUT / n)

    lines = []
    for f in files:
        r = subprocess.run([sys.executable, args.oracle, "--json", str(f)], check=True,
                           capture_output=True, text=True)
        for line in r.stdout.splitlines():
            if line.strip().startswith("{"):
                rec = json.loads(line)
                rec["file"] = "extra/" + f.name
                # NaN/Inf (nibabel's statistics of files holding NaN) are not JSON: write null.
                lines.append(json.dumps(finite(rec), sort_keys=True, allow_nan=False))
    (OUT.parent / "readings_extra.jsonl").write_text("\n".join(lines) + "\n")
    print(f"{len(files)} files, {len(lines)} readings")


if __name__ == "__main__":
    main()
