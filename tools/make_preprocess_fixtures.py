#!/usr/bin/env python3
"""Generate the oracle fixtures of tests/preprocess.rs (tests/fixtures/preprocess/).

Reference tools: SimpleITK 2.5.7 (DICOMOrient, ResampleImageFilter with linear, nearest and
cubic B-spline interpolators), nibabel 5.4.2 (as_closest_canonical), numpy 2.4.6 (percentiles,
the MedSAM preprocessing formulas, nnU-Net's float32 z-score / CT normalisation).

Every case is one entry of manifest.json with its inputs/outputs stored as little-endian raw
files (voxel order i fastest) and the geometry in LPS (ITK's GetSpacing/GetOrigin/GetDirection).
Exact reference numbers (percentiles) are stored as repr() strings so that no JSON float parser
can move them by an ulp.

    .venv/bin/python tools/make_preprocess_fixtures.py   # writes tests/fixtures/preprocess/
"""
import json
import math
import os
import sys

import nibabel as nib
import numpy as np
import SimpleITK as sitk

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "preprocess")
DT = {np.dtype("int16"): "i16", np.dtype("float32"): "f32", np.dtype("uint8"): "u8",
      np.dtype("float64"): "f64", np.dtype("int32"): "i32", np.dtype("uint16"): "u16"}
manifest = {"generator": "tools/make_preprocess_fixtures.py",
            "versions": {"SimpleITK": sitk.Version_VersionString(), "nibabel": nib.__version__,
                         "numpy": np.__version__},
            "images": {}, "cases": []}


def rot(axis, deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    if axis == "z":
        return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def save_array(name, arr_ijk):
    """arr_ijk: numpy array indexed [i, j, k]; stored i fastest."""
    path = os.path.join(OUT, name + ".raw")
    arr_ijk = np.asarray(arr_ijk)
    with open(path, "wb") as f:
        f.write(np.asfortranarray(arr_ijk).astype(arr_ijk.dtype.newbyteorder("<")).tobytes(order="F"))
    return name + ".raw"


def sitk_entry(name, img):
    arr = sitk.GetArrayFromImage(img).transpose(2, 1, 0)  # -> [i, j, k]
    manifest["images"][name] = {
        "file": save_array(name, arr), "dtype": DT[arr.dtype], "size": list(img.GetSize()),
        "spacing": list(img.GetSpacing()), "origin": list(img.GetOrigin()),
        "direction": list(img.GetDirection())}
    return name


def make_image(arr_ijk, spacing, origin, direction):
    img = sitk.GetImageFromArray(np.ascontiguousarray(arr_ijk.transpose(2, 1, 0)))
    img.SetSpacing(spacing)
    img.SetOrigin(origin)
    img.SetDirection(tuple(np.asarray(direction).ravel()))
    return img


def nib_entry(name, nimg):
    """Store a nibabel image (RAS affine) with its geometry converted to LPS."""
    arr = np.asanyarray(nimg.dataobj)
    aff = nimg.affine
    sp = np.sqrt((aff[:3, :3] ** 2).sum(axis=0))
    d = aff[:3, :3] / sp
    flip = np.diag([-1.0, -1.0, 1.0])
    manifest["images"][name] = {
        "file": save_array(name, arr), "dtype": DT[arr.dtype], "size": list(arr.shape),
        "spacing": sp.tolist(), "origin": (flip @ aff[:3, 3]).tolist(),
        "direction": (flip @ d).ravel().tolist()}
    return name


def to_nib(img):
    arr = sitk.GetArrayFromImage(img).transpose(2, 1, 0)
    d = np.array(img.GetDirection()).reshape(3, 3)
    aff = np.eye(4)
    aff[:3, :3] = d * np.array(img.GetSpacing())
    aff[:3, 3] = img.GetOrigin()
    aff = np.diag([-1.0, -1.0, 1.0, 1.0]) @ aff
    return nib.Nifti1Image(arr, aff)


rng = np.random.default_rng(20261121)

# --- inputs ---------------------------------------------------------------------------------
# CT-like int16, oblique like the benchmark CT: direction Rz(5°)·Rx(12°), closest LPS.
ct_arr = (rng.normal(40, 300, size=(9, 8, 6))).astype(np.int16)
ct_arr[0, 0, 0] = -3024
ct = make_image(ct_arr, (0.7, 0.8, 2.5), (-175.0, -210.0, -330.0), rot("z", 5) @ rot("x", 12))
sitk_entry("ct", ct)
# MR-like float32, oblique sagittal (closest PIR), as the benchmark MR.
pir = np.array([[0, 0, -1], [1, 0, 0], [0, -1, 0]], dtype=float)  # columns: i->P, j->I, k->R
mr_dir = rot("x", 8) @ pir
mr_arr = (np.abs(rng.normal(200, 80, size=(7, 6, 5)))).astype(np.float32)
mr_arr[:, :, 0] = 0.0
mr = make_image(mr_arr, (0.5, 0.6, 3.0), (10.0, -20.0, 30.0), mr_dir)
sitk_entry("mr", mr)
# Labels on the CT grid.
lab_arr = np.zeros((9, 8, 6), dtype=np.uint8)
lab_arr[2:6, 3:7, 1:4] = 1
lab_arr[5:8, 1:3, 2:5] = 2
lab = make_image(lab_arr, ct.GetSpacing(), ct.GetOrigin(), ct.GetDirection())
sitk_entry("labels", lab)

# --- reorientation ----------------------------------------------------------------------------
for src_name, src in [("ct", ct), ("mr", mr)]:
    for code in ["RAS", "LPI", "PIR", "LPS"]:
        out = sitk.DICOMOrient(src, code)
        name = sitk_entry(f"{src_name}_orient_{code}", out)
        manifest["cases"].append({"kind": "reorient", "input": src_name, "code": code,
                                  "expected": name, "tool": "SimpleITK DICOMOrient"})
    can = nib.as_closest_canonical(to_nib(src))
    name = nib_entry(f"{src_name}_canonical_nib", can)
    manifest["cases"].append({"kind": "canonical", "input": src_name, "expected": name,
                              "tool": "nibabel as_closest_canonical"})


# --- resampling -------------------------------------------------------------------------------
def sitk_resample(img, size, spacing, origin, direction, interp, out_type=None):
    f = sitk.ResampleImageFilter()
    f.SetSize([int(v) for v in size])
    f.SetOutputSpacing(spacing)
    f.SetOutputOrigin(origin)
    f.SetOutputDirection(direction)
    f.SetTransform(sitk.Transform())
    f.SetDefaultPixelValue(0)
    f.SetInterpolator(interp)
    f.SetOutputPixelType(out_type if out_type is not None else img.GetPixelID())
    return f.Execute(img)


INTERP = {"linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor, "bspline": sitk.sitkBSpline}
ctf = sitk.Cast(ct, sitk.sitkFloat32)
sitk_entry("ct_f32", ctf)
for mm in [1.0, 0.45]:
    size = [int(round(n * s / mm)) for n, s in zip(ct.GetSize(), ct.GetSpacing())]
    for interp in ["linear", "nearest", "bspline"]:
        out = sitk_resample(ctf, size, (mm,) * 3, ct.GetOrigin(), ct.GetDirection(), INTERP[interp])
        name = sitk_entry(f"ct_f32_{interp}_{mm}", out)
        manifest["cases"].append({"kind": "resample_spacing", "input": "ct_f32", "spacing": [mm] * 3,
                                  "interp": interp, "expected": name, "tool": "SimpleITK ResampleImageFilter"})
    # int16 output: ITK truncates toward zero
    out = sitk_resample(ct, size, (mm,) * 3, ct.GetOrigin(), ct.GetDirection(), sitk.sitkLinear)
    name = sitk_entry(f"ct_i16_linear_trunc_{mm}", out)
    manifest["cases"].append({"kind": "resample_spacing", "input": "ct", "spacing": [mm] * 3,
                              "interp": "linear", "truncate": True, "expected": name,
                              "tool": "SimpleITK ResampleImageFilter (int16 output)"})
# A rotated, shifted reference grid (general, non-axis-aligned path).
ref_dir = rot("z", 20) @ rot("x", -7)
ref = sitk.Image([10, 9, 7], sitk.sitkUInt8)
ref.SetSpacing((0.9, 0.75, 1.6))
ref.SetOrigin((-176.0, -209.0, -331.5))
ref.SetDirection(tuple(ref_dir.ravel()))
sitk_entry("ref_grid", ref)
for interp in ["linear", "nearest", "bspline"]:
    out = sitk_resample(ctf, ref.GetSize(), ref.GetSpacing(), ref.GetOrigin(), ref.GetDirection(), INTERP[interp])
    name = sitk_entry(f"ct_f32_{interp}_ref", out)
    manifest["cases"].append({"kind": "resample_reference", "input": "ct_f32", "reference": "ref_grid",
                              "interp": interp, "expected": name, "tool": "SimpleITK ResampleImageFilter"})
out = sitk_resample(lab, ref.GetSize(), ref.GetSpacing(), ref.GetOrigin(), ref.GetDirection(), sitk.sitkNearestNeighbor)
name = sitk_entry("labels_nearest_ref", out)
manifest["cases"].append({"kind": "resample_reference", "input": "labels", "reference": "ref_grid",
                          "interp": "nearest", "expected": name, "tool": "SimpleITK ResampleImageFilter"})


# --- intensity --------------------------------------------------------------------------------
def np_entry(name, arr_ijk, like):
    arr_ijk = np.asarray(arr_ijk)
    manifest["images"][name] = {
        "file": save_array(name, arr_ijk), "dtype": DT[arr_ijk.dtype], "size": list(like.GetSize()),
        "spacing": list(like.GetSpacing()), "origin": list(like.GetOrigin()),
        "direction": list(like.GetDirection())}
    return name


for src_name, src in [("ct", ct), ("mr", mr)]:
    x = sitk.GetArrayFromImage(src).transpose(2, 1, 0)
    qs = [0.0, 0.5, 2.5, 50.0, 97.3, 99.5, 100.0]
    p = np.percentile(x, qs)          # list q -> float64 (benchmark numpy peer)
    manifest["cases"].append({"kind": "percentiles", "input": src_name, "q": qs, "values": [repr(float(v)) for v in p],
                              "tool": "numpy.percentile (linear)"})
    pz = np.percentile(x[x > 0], qs)
    manifest["cases"].append({"kind": "percentiles_positive", "input": src_name, "q": qs,
                              "values": [repr(float(v)) for v in pz], "tool": "numpy.percentile over x > 0"})
    # Benchmark peer: uint8((clip(x, lo, hi) - lo) / (hi - lo) * 255)
    lo, hi = np.percentile(x, [0.5, 99.5])
    u8 = ((np.clip(x, lo, hi) - lo) / (hi - lo) * 255.0).astype(np.uint8)
    name = np_entry(f"{src_name}_norm_p05_995", u8, src)
    manifest["cases"].append({"kind": "percentile_norm", "input": src_name, "q": [0.5, 99.5],
                              "nonzero": False, "expected": name, "tool": "numpy (bench numpy_peer norm)"})
    # MedSAM MR/PET: percentiles over x > 0, clipped min..max, zeros kept.
    lo, hi = np.percentile(x[x > 0], [0.5, 99.5])
    pre = np.clip(x, lo, hi)
    pre = (pre - np.min(pre)) / (np.max(pre) - np.min(pre)) * 255.0
    pre[x == 0] = 0
    name = np_entry(f"{src_name}_medsam_nonzero", np.uint8(pre), src)
    manifest["cases"].append({"kind": "percentile_norm", "input": src_name, "q": [0.5, 99.5],
                              "nonzero": True, "expected": name, "tool": "MedSAM pre_CT_MR.py formula (numpy, list q)"})

# MedSAM CT window 40/400 (clipped volume's own min..max).
x = sitk.GetArrayFromImage(ct).transpose(2, 1, 0)
pre = np.clip(x, 40 - 200, 40 + 200)
pre = (pre - np.min(pre)) / (np.max(pre) - np.min(pre)) * 255.0
name = np_entry("ct_medsam_window", np.uint8(pre), ct)
manifest["cases"].append({"kind": "window", "input": "ct", "level": 40, "width": 400, "clipped_range": True,
                          "expected": name, "tool": "MedSAM pre_CT_MR.py CT branch"})
# nnU-Net z-score and CT normalisation (float32).
xf = x.astype(np.float32)
z = (xf - xf.mean()) / max(xf.std(), 1e-8)
name = np_entry("ct_zscore", z.astype(np.float32), ct)
manifest["cases"].append({"kind": "zscore", "input": "ct", "expected": name, "tool": "nnU-Net ZScoreNormalization (numpy float32)"})
mask = lab_arr > 0
zm = xf.copy()
mean, std = xf[mask].mean(), xf[mask].std()
zm[mask] = (xf[mask] - mean) / max(std, 1e-8)
name = np_entry("ct_zscore_masked", zm, ct)
manifest["cases"].append({"kind": "zscore", "input": "ct", "mask": "labels", "expected": name,
                          "tool": "nnU-Net ZScoreNormalization use_mask_for_norm (numpy float32)"})
props = {"mean": 87.25, "std": 143.5, "percentile_00_5": -120.0, "percentile_99_5": 410.0}
c = np.clip(xf, np.float32(props["percentile_00_5"]), np.float32(props["percentile_99_5"]))
c = (c - np.float32(props["mean"])) / max(np.float32(props["std"]), 1e-8)
name = np_entry("ct_nnunet_ct", c.astype(np.float32), ct)
manifest["cases"].append({"kind": "nnunet_ct", "input": "ct", "props": props, "expected": name,
                          "tool": "nnU-Net CTNormalization (numpy float32)"})

with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
print(f"wrote {len(manifest['cases'])} cases, {len(manifest['images'])} images, {total} bytes to {OUT}")
