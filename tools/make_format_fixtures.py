#!/usr/bin/env python3
"""Generate the small NRRD / MetaImage / npy / npz fixtures of tests/formats.rs.

Writers are the reference tools (SimpleITK, pynrrd, numpy); the expected geometry and voxel
checksums are what SimpleITK (NRRD, MetaImage) or numpy (npy, npz) read back, written to
tests/fixtures/formats/expected.json.  Run from the repository root:

    .venv/bin/python tools/make_format_fixtures.py

Each file is a few kB.  Voxel checksum: zlib.crc32 of the little-endian voxel bytes in
ITK order (component fastest, then i, j, k, frame) = medseg's memory order.
"""
import json
import math
import os
import shutil
import zlib

import numpy as np
import nrrd
import SimpleITK as sitk

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "formats")
MEDSAM = "../shared/oracles/medsam/out/cases"


def rot(ax, ay, az):
    cx, sx, cy, sy, cz, sz = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def le_crc(arr):
    a = np.ascontiguousarray(arr)
    a = a.astype(a.dtype.newbyteorder("<"))
    return zlib.crc32(a.tobytes()) & 0xFFFFFFFF


PTYPE = {
    "uint8": "u8", "int8": "i8", "uint16": "u16", "int16": "i16", "uint32": "u32", "int32": "i32",
    "uint64": "u64", "int64": "i64", "float32": "f32", "float64": "f64",
}


def sitk_expect(path):
    img = sitk.ReadImage(path)
    arr = sitk.GetArrayViewFromImage(img)
    dim = img.GetDimension()
    size = list(img.GetSize()) + [1] * (3 - dim)
    spacing = list(img.GetSpacing()) + [1.0] * (3 - dim)
    origin = list(img.GetOrigin()) + [0.0] * (3 - dim)
    d = np.eye(3)
    d[:dim, :dim] = np.array(img.GetDirection()).reshape(dim, dim)
    return {
        "reader": "SimpleITK " + sitk.Version_VersionString(),
        "size": size, "spacing": spacing, "origin": origin, "direction": d.flatten().tolist(),
        "components": img.GetNumberOfComponentsPerPixel(),
        "pixel_type": PTYPE[str(arr.dtype)], "crc32": le_crc(arr),
        "min": float(arr.min()), "max": float(arr.max()),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(3)
    expected = {}

    # Oblique int16 volume written by SimpleITK in every NRRD/MetaImage flavour.
    vol = (rng.normal(0, 300, size=(5, 6, 7))).astype(np.int16)  # (z, y, x)
    img = sitk.GetImageFromArray(vol)
    img.SetSpacing((0.7, 0.8, 2.5))
    img.SetOrigin((-12.5, 30.25, 7.0))
    img.SetDirection(rot(0.3, -0.2, 0.5).flatten().tolist())
    for name, comp in [("sitk_oblique.nrrd", True), ("sitk_oblique.nhdr", False), ("sitk_oblique.mha", True),
                       ("sitk_oblique_m.mhd", False), ("sitk_oblique_z.mhd", True)]:
        sitk.WriteImage(img, os.path.join(OUT, name), comp)
    # Float64 2-D RGB-like vector image (3 components), uncompressed.
    v = rng.uniform(-1, 1, size=(4, 5, 3))
    vimg = sitk.GetImageFromArray(v, isVector=True)
    vimg.SetSpacing((0.3, 0.6))
    vimg.SetOrigin((1.0, -2.0))
    vimg.SetDirection((0.0, -1.0, 1.0, 0.0))
    sitk.WriteImage(vimg, os.path.join(OUT, "sitk_vector2d.nrrd"), False)
    sitk.WriteImage(vimg, os.path.join(OUT, "sitk_vector2d.mha"), False)
    # uint16 volume, compressed .nhdr (+ .raw.gz)
    u = rng.integers(0, 60000, size=(3, 4, 5)).astype(np.uint16)
    uimg = sitk.GetImageFromArray(u)
    uimg.SetSpacing((1.5, 1.25, 3.0))
    uimg.SetDirection(rot(0.0, 0.0, 1.2).flatten().tolist())
    sitk.WriteImage(uimg, os.path.join(OUT, "sitk_u16_gz.nhdr"), True)

    # pynrrd: RAS space, big endian raw float32, vector axis last (ITK moves it first).
    data = rng.uniform(-5, 5, size=(4, 3, 2, 2)).astype(">f4")  # Fortran-indexed (x, y, z, c), big endian
    hdr = {
        "space": "right-anterior-superior",
        "space directions": np.array([[0.0, 1.5, 0.0], [-2.0, 0.0, 0.0], [0.0, 0.0, 3.0], [np.nan] * 3]),
        "space origin": np.array([10.0, -20.0, 5.5]),
        "kinds": ["domain", "domain", "domain", "vector"],
        "endian": "big", "encoding": "raw",
    }
    nrrd.write(os.path.join(OUT, "pynrrd_ras_vector_last.nrrd"), data, hdr)
    # pynrrd: LAS, gzip, int32, 3-D with data file detached.
    di = rng.integers(-100000, 100000, size=(3, 4, 2)).astype(np.int32)
    hdr = {
        "space": "left-anterior-superior",
        "space directions": np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 1.0]]),
        "space origin": np.array([1.0, 2.0, 3.0]),
        "kinds": ["domain", "domain", "domain"],
        "encoding": "gzip",
    }
    nrrd.write(os.path.join(OUT, "pynrrd_las.nhdr"), di, hdr, detached_header=True)
    # pynrrd: ascii encoding, no space (spacings), 2-D double.
    da = rng.uniform(0, 1, size=(3, 2))
    nrrd.write(os.path.join(OUT, "pynrrd_ascii.nrrd"), da, {"encoding": "ascii", "spacings": [0.5, 0.25]})

    for name in sorted(os.listdir(OUT)):
        if name.endswith((".nrrd", ".nhdr", ".mha", ".mhd")):
            expected[name] = sitk_expect(os.path.join(OUT, name))

    # npy: every dtype / order / endianness numpy writes.
    grid = np.arange(2 * 3 * 5).reshape(2, 3, 5)
    for dt in ["<u1", "|i1", ">u2", "<i2", ">u4", "<i4", "<u8", ">i8", ">f4", "<f8"]:
        for order in ["C", "F"]:
            a = np.asarray(grid * 3 - 7, dtype=np.float64).astype(np.dtype(dt), order=order)
            if order == "F":
                a = np.asfortranarray(a)
            name = f"np_{dt.replace('<', 'le_').replace('>', 'be_').replace('|', '')}_{order}.npy"
            np.save(os.path.join(OUT, name), a)
            expected[name] = {
                "reader": "numpy " + np.__version__, "shape": list(a.shape),
                "size": [5, 3, 2], "pixel_type": PTYPE[str(a.dtype.newbyteorder("="))],
                "crc32": le_crc(a), "components": 1,
            }
    # npy format version 3.0 header (utf-8) written with the explicit API.
    a3 = np.arange(6, dtype="<i2").reshape(2, 3)
    with open(os.path.join(OUT, "np_v3.npy"), "wb") as f:
        np.lib.format.write_array(f, a3, version=(3, 0))
    expected["np_v3.npy"] = {"reader": "numpy", "shape": [2, 3], "size": [3, 2, 1], "pixel_type": "i16",
                             "crc32": le_crc(a3), "components": 1}
    # npz: stored and deflated.
    imgs = rng.integers(0, 255, size=(3, 4, 5)).astype(np.uint8)
    np.savez(os.path.join(OUT, "np_stored.npz"), imgs=imgs, spacing=np.array([0.5, 0.75, 2.0]))
    np.savez_compressed(os.path.join(OUT, "np_deflated.npz"), gts=imgs.astype(np.uint16),
                        boxes=np.array([[1, 2, 0, 3, 3, 2]]))
    expected["np_stored.npz"] = {"reader": "numpy", "names": ["imgs", "spacing"], "size": [5, 4, 3],
                                 "spacing": [0.5, 0.75, 2.0], "pixel_type": "u8", "crc32": le_crc(imgs),
                                 "components": 1}
    expected["np_deflated.npz"] = {"reader": "numpy", "names": ["gts", "boxes"], "size": [5, 4, 3],
                                   "pixel_type": "u16", "crc32": le_crc(imgs.astype(np.uint16)), "components": 1,
                                   "boxes": [1, 2, 0, 3, 3, 2]}
    # MedSAM challenge-layout cases from the oracle (small ones).
    for sub, case, key in [("imgs", "3DBox_PET_synth_0003", "imgs"), ("gts", "3DBox_CT_synth_0001", "gts"),
                           ("imgs", "2DBox_XRay_synth_0002", "imgs")]:
        src = os.path.join(MEDSAM, sub, case + ".npz")
        dst = f"medsam_{sub}_{case}.npz"
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(OUT, dst))
        z = np.load(os.path.join(OUT, dst))
        arr = z[key]
        e = {"reader": "numpy", "names": list(z.files), "key": key, "shape": list(arr.shape),
             "pixel_type": PTYPE[str(arr.dtype)], "crc32": le_crc(arr)}
        if arr.ndim == 3 and arr.shape[2] == 3:
            e.update(size=[arr.shape[1], arr.shape[0], 1], components=3)
        else:
            e.update(size=[arr.shape[2], arr.shape[1], arr.shape[0]], components=1)
        if "spacing" in z.files:
            e["spacing_stored"] = z["spacing"].tolist()
        if "boxes" in z.files:
            e["boxes"] = z["boxes"].flatten().tolist()
        expected[dst] = e

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"{len(os.listdir(OUT))} files, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
