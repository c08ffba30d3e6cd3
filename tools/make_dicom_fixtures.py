#!/usr/bin/env python3
"""Generate the synthetic DICOM fixtures of tests/dicom.rs and record SimpleITK's reading of them.

Run from the repository root with the project venv (pydicom, numpy, SimpleITK):

    .venv/bin/python tools/make_dicom_fixtures.py

Writes under tests/fixtures/dicom/:
  oblique/      12 slices of 32x32, int16 stored + RescaleIntercept -1024, oblique IOP (rows/cols
                rotated 20 deg about x then 10 deg about z), shuffled file names, InstanceNumber
                reversed against the geometry, transfer syntaxes cycling through explicit LE,
                implicit LE, explicit BE, RLE and deflated explicit LE.
  two_series/   two small series (different UIDs), the second in a sub-folder (recursion).
  gap/          4 slices with one missing position (non-uniform spacing).
  mono1_u12.dcm one MONOCHROME1 slice, 12 bits stored in 16, unsigned.
  nonimage.dcm  a Basic Text SR object (no pixel data).
  enhanced_mr.dcm  an enhanced MR object (4 frames, functional groups, shuffled frame order).
  expected.json  SimpleITK 2.x reading of each: size, spacing, origin, direction (LPS, row-major,
                columns = axes), pixel type, min/max/mean and the CRC-32 of the little-endian voxels
                (i fastest) in SimpleITK's type.
"""
import json
import random
import shutil
import zlib
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    RLELossless,
    generate_uid,
)

ROOT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "dicom"
RNG = random.Random(7)


def rot(ax, deg):
    t = np.deg2rad(deg)
    c, s = np.cos(t), np.sin(t)
    if ax == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def base_ds(path, sop_class, ts, series_uid, study_uid, frame_uid):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ts
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = frame_uid
    ds.PatientName = "Synthetic^Oblique"
    ds.PatientID = "medseg-0001"
    return ds


def set_pixels(ds, arr, ts):
    """Store arr (rows, cols) as PixelData in transfer syntax ts."""
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = ds.get("PhotometricInterpretation", "MONOCHROME2")
    bits = arr.dtype.itemsize * 8
    ds.BitsAllocated = bits
    ds.BitsStored = ds.get("BitsStored", bits)
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
    if ts == RLELossless:
        ds.PixelData = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        ds.compress(RLELossless, arr, encoding_plugin="pydicom")
        return
    if ts == ExplicitVRBigEndian:
        ds.PixelData = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    else:
        ds.PixelData = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    ds["PixelData"].VR = "OW" if bits > 8 else "OB"


def save(ds, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    ts = ds.file_meta.TransferSyntaxUID
    pydicom.dcmwrite(str(path), ds, enforce_file_format=True,
                     little_endian=ts != ExplicitVRBigEndian, implicit_vr=ts == ImplicitVRLittleEndian)


def series(outdir, n, rows, cols, iop_rot, spacing, origin, ps, intercept, transfer_syntaxes,
           skip=(), series_uid=None, description="synthetic", seed=0):
    """Write a series; returns the list of paths."""
    study = generate_uid()
    fr = generate_uid()
    uid = series_uid or generate_uid()
    r = iop_rot[:, 0]
    c = iop_rot[:, 1]
    nrm = np.cross(r, c)
    names = [f"img_{RNG.randrange(10**6):06d}_{k}.dcm" for k in range(n)]
    RNG.shuffle(names)
    paths = []
    rng = np.random.default_rng(seed)
    for k in range(n):
        if k in skip:
            continue
        ts = transfer_syntaxes[k % len(transfer_syntaxes)]
        p = outdir / names[k]
        ds = base_ds(p, "1.2.840.10008.5.1.4.1.1.2", ts, uid, study, fr)
        ds.Modality = "CT"
        ds.SeriesDescription = description
        ds.InstanceNumber = n - k  # reversed against the geometry
        ipp = np.asarray(origin) + k * spacing * nrm
        ds.ImagePositionPatient = [f"{v:.6f}" for v in ipp]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in list(r) + list(c)]
        ds.PixelSpacing = [f"{ps[0]}", f"{ps[1]}"]
        ds.SliceThickness = "7.5"  # deliberately not the spacing
        ds.RescaleIntercept = str(intercept)
        ds.RescaleSlope = "1"
        ii, jj = np.meshgrid(np.arange(cols), np.arange(rows))
        arr = (ii * 13 + jj * 7 + k * 101).astype(np.int16) - 300
        arr += rng.integers(-50, 50, size=arr.shape).astype(np.int16)
        set_pixels(ds, arr, ts)
        save(ds, p)
        paths.append(p)
    return paths


def crc_of(img):
    a = sitk.GetArrayFromImage(img)  # (k, j, i) C order == i fastest
    a = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"))
    return f"{zlib.crc32(a.tobytes()):08x}"


def describe(img):
    a = sitk.GetArrayFromImage(img).astype(np.float64)
    size = list(img.GetSize())
    if len(size) == 2:
        size.append(1)
    return {
        "size": size,
        "spacing": list(img.GetSpacing()) + ([1.0] if img.GetDimension() == 2 else []),
        "origin": list(img.GetOrigin()) + ([0.0] if img.GetDimension() == 2 else []),
        "direction": list(img.GetDirection()),
        "pixel_type": img.GetPixelIDTypeAsString(),
        "dtype": sitk.GetArrayFromImage(img).dtype.name,
        "min": float(a.min()),
        "max": float(a.max()),
        "mean": float(a.sum() / a.size),
        "crc": crc_of(img),
    }


def read_series(folder):
    r = sitk.ImageSeriesReader()
    names = r.GetGDCMSeriesFileNames(str(folder))
    r.SetFileNames(names)
    return r.Execute()


def main():
    if ROOT.exists():
        for sub in ["oblique", "two_series", "gap"]:
            shutil.rmtree(ROOT / sub, ignore_errors=True)
    ROOT.mkdir(parents=True, exist_ok=True)
    expected = {}

    # 1. The oblique series.
    rotm = rot("z", 10) @ rot("x", 20)
    tss = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, RLELossless,
           DeflatedExplicitVRLittleEndian]
    series(ROOT / "oblique", 12, 32, 32, rotm, 2.5, [-40.0, -35.5, 12.25], [0.8, 0.9], -1024, tss,
           series_uid="1.2.826.0.1.3680043.8.498.1001", description="oblique", seed=1)
    expected["oblique"] = describe(read_series(ROOT / "oblique"))

    # 2. Two series in one folder tree.
    series(ROOT / "two_series", 3, 8, 8, np.eye(3), 3.0, [0, 0, 0], [1.0, 1.0], -1024,
           [ExplicitVRLittleEndian], series_uid="1.2.826.0.1.3680043.8.498.2001",
           description="first", seed=2)
    series(ROOT / "two_series" / "sub", 2, 6, 6, np.eye(3), 2.0, [5, 5, 5], [0.5, 0.5], 0,
           [ExplicitVRLittleEndian], series_uid="1.2.826.0.1.3680043.8.498.2002",
           description="second", seed=3)

    # 3. A series with a missing slice.
    series(ROOT / "gap", 5, 8, 8, np.eye(3), 2.0, [0, 0, 0], [1.0, 1.0], 0,
           [ExplicitVRLittleEndian], skip=(2,), series_uid="1.2.826.0.1.3680043.8.498.3001",
           seed=4)

    # 4. MONOCHROME1, unsigned 12 bits stored in 16.
    p = ROOT / "mono1_u12.dcm"
    # MR Image Storage: GDCM ignores PixelSpacing for CR objects, which is not what we test here.
    ds = base_ds(p, "1.2.840.10008.5.1.4.1.1.4", ExplicitVRLittleEndian, generate_uid(),
                 generate_uid(), generate_uid())
    ds.Modality = "MR"
    ds.ImagePositionPatient = ["1.5", "-2.5", "3"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.BitsStored = 12
    ds.PixelSpacing = ["0.2", "0.25"]
    arr = (np.arange(24 * 20).reshape(20, 24) * 8 % 4096).astype(np.uint16)
    set_pixels(ds, arr, ExplicitVRLittleEndian)
    save(ds, p)
    expected["mono1_u12.dcm"] = describe(sitk.ReadImage(str(p)))

    # 5. Enhanced MR, 4 frames stored out of spatial order.
    p = ROOT / "enhanced_mr.dcm"
    ds = base_ds(p, "1.2.840.10008.5.1.4.1.1.4.1", ExplicitVRLittleEndian, generate_uid(),
                 generate_uid(), generate_uid())
    ds.Modality = "MR"
    ds.NumberOfFrames = 4
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    iop = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]  # sagittal
    shared = Dataset()
    po = Dataset()
    po.ImageOrientationPatient = iop
    pm = Dataset()
    pm.PixelSpacing = ["0.75", "0.6"]
    pm.SliceThickness = "3"
    shared.PlaneOrientationSequence = Sequence([po])
    shared.PixelMeasuresSequence = Sequence([pm])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    order = [2, 0, 3, 1]
    per = []
    for z in order:
        f = Dataset()
        pp = Dataset()
        pp.ImagePositionPatient = [f"{-20.0 + 2.5 * z}", "-10", "30"]
        f.PlanePositionSequence = Sequence([pp])
        per.append(f)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per)
    frames = np.stack([(np.arange(10 * 12).reshape(10, 12) + 1000 * z).astype(np.uint16)
                       for z in order])
    ds.Rows, ds.Columns = 10, 12
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = frames.astype("<u2").tobytes()
    ds["PixelData"].VR = "OW"
    save(ds, p)
    try:
        expected["enhanced_mr.dcm"] = describe(sitk.ReadImage(str(p)))
    except RuntimeError as e:  # recorded, not fatal
        expected["enhanced_mr.dcm"] = {"error": str(e).splitlines()[0]}
    # SimpleITK 2.5 (GDCM) keeps the stored frame order and ignores the shared Pixel Measures of
    # this object (spacing 1, origin = first stored frame), so the expectation for medseg is
    # derived from the functional groups themselves: frames sorted along the normal
    # row x col = (-1, 0, 0), i.e. by decreasing x.
    nrm = np.cross(iop[:3], iop[3:])
    pos = {z: np.array([-20.0 + 2.5 * z, -10.0, 30.0]) for z in order}
    zs = sorted(order, key=lambda z: float(pos[z] @ nrm))
    vol = np.stack([(np.arange(10 * 12).reshape(10, 12) + 1000 * z).astype("<u2") for z in zs])
    expected["enhanced_mr.dcm"]["medseg"] = {
        "size": [12, 10, 4],
        "spacing": [0.6, 0.75, 2.5],
        "origin": [float(v) for v in pos[zs[0]]],
        "direction": [iop[0], iop[3], float(nrm[0]), iop[1], iop[4], float(nrm[1]), iop[2], iop[5],
                      float(nrm[2])],
        "dtype": "uint16",
        "crc": f"{zlib.crc32(vol.tobytes()):08x}",
    }

    # 6. A non-image object (Basic Text SR): no pixel data.
    p = ROOT / "nonimage.dcm"
    ds = base_ds(p, "1.2.840.10008.5.1.4.1.1.88.11", ExplicitVRLittleEndian, generate_uid(),
                 generate_uid(), generate_uid())
    ds.Modality = "SR"
    ds.ValueType = "CONTAINER"
    save(ds, p)

    (ROOT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main()
