#!/usr/bin/env python3
"""Generate the fixtures of tests/cv_resize.rs (tests/fixtures/cv_resize/).

Reference: real OpenCV (opencv-python-headless 4.11.0.86, x86-64 wheel) `cv2.resize(...,
interpolation=cv2.INTER_AREA)` on uint8 arrays; for the float32 bilinear resize a numpy float64
half-pixel reference (torch `align_corners=False` semantics), checked against cv2 INTER_LINEAR.

Everything goes into one compressed npz, `cv_resize.npz` (keys `<case>/in`, `<case>/out`), and
`manifest.json` lists the cases (group, shapes, keys), the library versions and the npz SHA-256.
The six cases of the MedSAM preprocessing oracle (preproc_reference.npz, made independently with
OpenCV 4.11) are copied in as group `oracle_<name>`; their `resized_u8` is re-checked against the
local cv2 first. Identity cases store their output only once (`out` names the `in` key).

    python3 -m venv /tmp/cvvenv
    /tmp/cvvenv/bin/pip install numpy opencv-python-headless==4.11.0.86
    /tmp/cvvenv/bin/python tools/make_cv_resize_fixtures.py [path/to/preproc_reference.npz]
"""
import hashlib
import io
import json
import os
import sys
import zipfile

import cv2
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "cv_resize")
ORACLE = os.path.join(ROOT, "..", "shared", "oracles", "medsam", "out", "preproc",
                      "preproc_reference.npz")

arrays = {}
cases = []


def area(img, new_h, new_w):
    out = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_AREA)
    return out.reshape(new_h, new_w, *img.shape[2:])


def add_u8(group, name, img, new_h, new_w):
    assert img.dtype == np.uint8 and img.ndim in (2, 3)
    out = area(img, new_h, new_w)
    key = f"{group}.{name}"
    arrays[key + "/in"] = img
    out_key = key + "/in" if out.shape == img.shape and np.array_equal(out, img) else key + "/out"
    if out_key.endswith("/out"):
        arrays[out_key] = out
    h, w = img.shape[:2]
    c = img.shape[2] if img.ndim == 3 else 1
    cases.append({"group": group, "name": name, "kind": "area_u8", "h": h, "w": w, "channels": c,
                  "new_h": new_h, "new_w": new_w, "in": key + "/in", "out": out_key})


def bilinear_ref(src, new_h, new_w):
    """Half-pixel bilinear with edge clamping (torch align_corners=False, no antialias), f64."""
    h, w = src.shape

    def taps(n_in, n_out):
        s = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
        i0 = np.minimum(np.floor(s).astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, s - i0

    y0, y1, ly = taps(h, new_h)
    x0, x1, lx = taps(w, new_w)
    s = src.astype(np.float64)
    top = s[y0][:, x0] * (1 - lx) + s[y0][:, x1] * lx
    bot = s[y1][:, x0] * (1 - lx) + s[y1][:, x1] * lx
    return (top * (1 - ly)[:, None] + bot * ly[:, None]).astype(np.float32)


def add_f32(name, src, new_h, new_w):
    ref = bilinear_ref(src, new_h, new_w)
    cv = cv2.resize(src, (new_w, new_h), interpolation=cv2.INTER_LINEAR).reshape(new_h, new_w)
    tol = 2e-6 * max(1.0, float(np.abs(src).max()) / 16)
    assert np.abs(cv - ref).max() <= tol, (name, np.abs(cv - ref).max())
    key = f"bilinear.{name}"
    arrays[key + "/in"] = src
    arrays[key + "/out"] = ref
    cases.append({"group": "bilinear", "name": name, "kind": "bilinear_f32", "h": src.shape[0],
                  "w": src.shape[1], "channels": 1, "new_h": new_h, "new_w": new_w,
                  "in": key + "/in", "out": key + "/out"})


def blobs(rng, h, w, labels):
    """A label mask of a few filled ellipses (values from `labels`), background 0."""
    m = np.zeros((h, w), np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(6):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.05, 0.4) * h + 1, rng.uniform(0.05, 0.4) * w + 1
        m[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = rng.choice(labels)
    return m


def main():
    oracle = sys.argv[1] if len(sys.argv) > 1 else ORACLE
    rng = np.random.default_rng(20250611)

    def rand(h, w, c):
        shape = (h, w) if c == 1 else (h, w, c)
        return rng.integers(0, 256, shape, dtype=np.uint8)

    # The MedSAM oracle cases (3 channels), re-checked against this cv2.
    z = np.load(oracle)
    names = sorted({k.split("/")[0] for k in z.files})
    for n in names:
        img, ref = z[n + "/image_u8"], z[n + "/resized_u8"]
        assert np.array_equal(area(img, *ref.shape[:2]), ref), n
        add_u8("oracle_" + n, n, img, *ref.shape[:2])

    # resizeAreaFast: integer factors (2x2 takes OpenCV's rounded-half-up kernel for 1/3/4
    # channels; other boxes and 2 channels round half to even).
    for c in (1, 2, 3, 4):
        add_u8("area_fast", f"2x2_66x46_c{c}", rand(66, 46, c), 33, 23)
    for c in (1, 3):
        add_u8("area_fast", f"3x3_30x45_c{c}", rand(30, 45, c), 10, 15)
        add_u8("area_fast", f"3x3_99x57_c{c}", rand(99, 57, c), 33, 19)
        add_u8("area_fast", f"4x4_40x36_c{c}", rand(40, 36, c), 10, 9)
        add_u8("area_fast", f"4x4_68x116_c{c}", rand(68, 116, c), 17, 29)
        add_u8("area_fast", f"1x2_31x62_c{c}", rand(31, 62, c), 31, 31)
        add_u8("area_fast", f"2x1_62x31_c{c}", rand(62, 31, c), 31, 31)
        add_u8("area_fast", f"3x2_33x50_c{c}", rand(33, 50, c), 11, 25)
        add_u8("area_fast", f"2x2_2x2_c{c}", rand(2, 2, c), 1, 1)
        add_u8("area_fast", f"row_1x700_c{c}", rand(1, 700, c), 1, 1)
    add_u8("area_fast", "4x4_64x64_c4", rand(64, 64, 4), 16, 16)

    # resizeArea_: non-integer downscales (float tables). 1/(1/49) != 49 in f64, so a factor of
    # 49 is not "integer" for OpenCV and lands here too.
    for c in (1, 3):
        add_u8("area_general", f"75x105_to_46x64_c{c}", rand(75, 105, c), 46, 64)
        add_u8("area_general", f"5x700_to_2x256_c{c}", rand(5, 700, c), 2, 256)
        add_u8("area_general", f"37x53_to_11x17_c{c}", rand(37, 53, c), 11, 17)
        add_u8("area_general", f"105x63_to_48x25_c{c}", rand(105, 63, c), 48, 25)
        add_u8("area_general", f"98x49_to_2x1_c{c}", rand(98, 49, c), 2, 1)
        add_u8("area_general", f"49x98_to_1x2_c{c}", rand(49, 98, c), 1, 2)
        add_u8("area_general", f"29x31_to_29x30_c{c}", rand(29, 31, c), 29, 30)
        add_u8("area_general", f"400x3_to_256x2_c{c}", rand(400, 3, c), 256, 2)
    add_u8("area_general", "125x166_to_32x43_c1", rand(125, 166, 1), 32, 43)
    add_u8("area_general", "211x127_to_97x50_c1", rand(211, 127, 1), 97, 50)
    add_u8("area_general", "50x60_to_33x41_c2", rand(50, 60, 2), 33, 41)
    add_u8("area_general", "50x60_to_33x41_c4", rand(50, 60, 4), 33, 41)

    # Upscaling (any scale < 1): the fixed-point linear resize with INTER_AREA coefficients. Row
    # widths new_w*c with every tail length modulo 16 (OpenCV's vector step).
    for c in (1, 3):
        add_u8("upscale", f"51x51_to_64x64_c{c}", rand(51, 51, c), 64, 64)
        add_u8("upscale", f"16x20_to_51x64_c{c}", rand(16, 20, c), 51, 64)
        add_u8("upscale", f"1x3_to_85x256_c{c}", rand(1, 3, c), 85, 256)
        add_u8("upscale", f"17x250_to_17x256_c{c}", rand(17, 250, c), 17, 256)
        add_u8("upscale", f"100x1_to_256x3_c{c}", rand(100, 1, c), 256, 3)
        add_u8("upscale", f"7x5_to_9x13_c{c}", rand(7, 5, c), 9, 13)
        add_u8("upscale", f"1x1_to_5x9_c{c}", rand(1, 1, c), 5, 9)
        for tail in range(16):
            add_u8("upscale", f"tail{tail}_c{c}", rand(5, 9, c), 6, 16 + tail)
    add_u8("upscale", "202x202_to_256x256_c1", rand(202, 202, 1), 256, 256)
    add_u8("upscale", "45x33_to_97x77_c2", rand(45, 33, 2), 97, 77)
    add_u8("upscale", "45x33_to_97x77_c4", rand(45, 33, 4), 97, 77)

    # One axis down, the other up: still the linear path, area coefficients on both axes.
    for c in (1, 3):
        add_u8("mixed", f"300x10_to_77x20_c{c}", rand(300, 10, c), 77, 20)
        add_u8("mixed", f"10x300_to_20x77_c{c}", rand(10, 300, c), 20, 77)
        add_u8("mixed", f"60x7_to_30x16_c{c}", rand(60, 7, c), 30, 16)
        add_u8("mixed", f"33x47_to_40x11_c{c}", rand(33, 47, c), 40, 11)

    for c in (1, 3):
        add_u8("identity", f"13x17_c{c}", rand(13, 17, c), 13, 17)

    # Label masks (0/1 and 0/3), as LiteMedSAM resizes its box-prompt masks.
    add_u8("masks", "977x920_to_256x241_01", blobs(rng, 977, 920, [1]), 256, 241)
    add_u8("masks", "1000x333_to_256x85_03", blobs(rng, 1000, 333, [3]), 256, 85)
    add_u8("masks", "512x512_to_256x256_01", blobs(rng, 512, 512, [1]), 256, 256)
    add_u8("masks", "300x420_to_183x256_03", blobs(rng, 300, 420, [3]), 183, 256)
    add_u8("masks", "64x80_to_205x256_01", blobs(rng, 64, 80, [1]), 205, 256)
    add_u8("masks", "97x256_to_256x256_03", blobs(rng, 97, 256, [3]), 256, 256)
    add_u8("masks", "120x90_to_40x30_03_c3", np.repeat(blobs(rng, 120, 90, [3])[..., None], 3, 2),
           40, 30)

    # Float32 bilinear (logits back to the slice).
    def smooth(h, w, amp):
        coarse = rng.normal(0, amp, (max(2, h // 8), max(2, w // 8))).astype(np.float32)
        up = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        return (up + rng.normal(0, amp / 10, (h, w))).astype(np.float32)

    add_f32("32x32_to_61x85", smooth(32, 32, 10.0), 61, 85)
    add_f32("40x50_to_97x61", smooth(40, 50, 20.0), 97, 61)
    add_f32("33x20_to_8x9", smooth(33, 20, 5.0), 8, 9)
    add_f32("1x5_to_3x17", smooth(1, 5, 3.0), 3, 17)
    add_f32("16x16_identity", smooth(16, 16, 3.0), 16, 16)
    add_f32("30x2_to_61x1", smooth(30, 2, 8.0), 61, 1)

    os.makedirs(OUT, exist_ok=True)
    npz_path = os.path.join(OUT, "cv_resize.npz")
    buf = io.BytesIO()
    # Fixed member timestamps so that the same inputs give the same bytes (and SHA-256).
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            mem = io.BytesIO()
            np.lib.format.write_array(mem, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            zf.writestr(info, mem.getvalue(), compresslevel=9)
    data = buf.getvalue()
    with open(npz_path, "wb") as f:
        f.write(data)
    manifest = {
        "generator": "tools/make_cv_resize_fixtures.py",
        "opencv_version": cv2.__version__,
        "opencv_package": "opencv-python-headless 4.11.0.86 (x86-64 wheel)",
        "numpy_version": np.__version__,
        "oracle_source": "shared/oracles/medsam/out/preproc/preproc_reference.npz",
        "npz": "cv_resize.npz",
        "npz_sha256": hashlib.sha256(data).hexdigest(),
        "npz_bytes": len(data),
        "cases": cases,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases, {len(arrays)} arrays, {len(data)} bytes")


if __name__ == "__main__":
    main()
