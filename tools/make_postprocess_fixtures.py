#!/usr/bin/env python3
"""Generate the post-processing oracle fixtures in tests/fixtures/postprocess/oracle/.

Small random label volumes (seeded) and the outputs of independent implementations:
cc3d (connected components 4/8 in 2-D, 6/18/26 in 3-D, multi-label and binary; largest_k; dust),
fill_voids + scipy.ndimage.binary_fill_holes (must agree), scipy.ndimage binary dilation /
erosion with ball structuring elements, and DeepMind's surface-distance (DSC, robust HD95, NSD)
for an anisotropic gt/pred pair.

Arrays are written as .npy in numpy C order (the Rust side reads (D, H, W) as an image of size
[W, H, D]); component labels are renumbered by first appearance in C order.

    .venv/bin/pip install "numpy<2" scipy connected-components-3d fill-voids surface-distance absl-py
    .venv/bin/python tools/make_postprocess_fixtures.py
"""
import json
import os

import cc3d
import fill_voids
import numpy as np
import surface_distance as sd
from scipy import ndimage

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "postprocess", "oracle")


def renumber(lab):
    flat = lab.ravel()
    out = np.zeros_like(flat, dtype=np.uint32)
    mapping = {}
    nxt = 1
    for i, v in enumerate(flat):
        if v == 0:
            continue
        if v not in mapping:
            mapping[v] = nxt
            nxt += 1
        out[i] = mapping[v]
    return out.reshape(lab.shape)


def blobs(rng, shape, n_labels, sigma, thr):
    vol = np.zeros(shape, np.uint8)
    for lab in range(1, n_labels + 1):
        noise = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
        vol[(noise > thr * noise.std()) & (vol == 0)] = lab
    return vol


def ball(r, spacing):
    n = [int(np.floor(r / s)) for s in spacing]
    grid = np.mgrid[tuple(slice(-k, k + 1) for k in n)]
    d2 = sum((g * s) ** 2 for g, s in zip(grid, spacing))
    return d2 <= r * r


def save(name, arr, manifest):
    np.save(os.path.join(OUT, name + ".npy"), arr)
    manifest["arrays"][name] = {"shape": list(arr.shape), "dtype": str(arr.dtype)}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261121)
    m = {"generator": "tools/make_postprocess_fixtures.py", "arrays": {}, "tests": {}}

    # --- 3-D multi-label volume for components
    v3 = blobs(rng, (16, 20, 24), 3, 1.2, 0.9)
    save("vol3", v3, m)
    for c in (6, 18, 26):
        save(f"vol3_cc{c}", renumber(cc3d.connected_components(v3, connectivity=c)), m)
    save("vol3_cc26_binary", renumber(cc3d.connected_components(v3 > 0, connectivity=26)), m)
    save("vol3_largest_binary", (v3 * (cc3d.largest_k(v3 > 0, k=1, connectivity=26) > 0)).astype(np.uint8), m)
    save("vol3_dust10", cc3d.dust(v3, threshold=10, connectivity=26, in_place=False), m)
    # --- 2-D multi-label image
    v2 = blobs(rng, (30, 40), 2, 1.5, 0.8)
    save("vol2", v2, m)
    for c in (4, 8):
        save(f"vol2_cc{c}", renumber(cc3d.connected_components(v2, connectivity=c)), m)
    # --- hole filling: binary shell-like structures
    f3 = np.zeros((18, 22, 20), np.uint8)
    noise = ndimage.gaussian_filter(rng.standard_normal(f3.shape), 1.0)
    f3[np.abs(noise) > 0.9 * noise.std()] = 1
    f3[4:14, 5:17, 4:16] = 1
    f3[6:12, 7:15, 6:14] = 0
    f3[8:10, 9:12, 8:11] = 2  # an island inside the cavity
    filled = fill_voids.fill(f3 > 0, in_place=False)
    assert np.array_equal(filled, ndimage.binary_fill_holes(f3 > 0)), "fill_voids and scipy disagree"
    save("fill3", f3, m)
    save("fill3_filled", filled.astype(np.uint8), m)
    # --- morphology: one label, away from the border
    b3 = np.zeros((20, 22, 24), np.uint8)
    noise = ndimage.gaussian_filter(rng.standard_normal(b3.shape), 1.5)
    b3[5:15, 5:17, 5:19] = (noise[5:15, 5:17, 5:19] > 0).astype(np.uint8)
    save("morph3", b3, m)
    sp = (2.0, 1.0, 0.8)  # numpy axes (D, H, W)
    m["tests"]["morph_spacing_dhw"] = sp
    save("morph3_dilate_ball2vox", ndimage.binary_dilation(b3 > 0, structure=ball(2.0, (1, 1, 1))).astype(np.uint8), m)
    save("morph3_erode_ball1vox", ndimage.binary_erosion(b3 > 0, structure=ball(1.0, (1, 1, 1))).astype(np.uint8), m)
    save("morph3_dilate_ball2mm", ndimage.binary_dilation(b3 > 0, structure=ball(2.0, sp)).astype(np.uint8), m)
    save("morph3_erode_ball2mm", ndimage.binary_erosion(b3 > 0, structure=ball(2.0, sp)).astype(np.uint8), m)
    # --- metrics: gt / pred with two labels, anisotropic spacing
    gt = blobs(rng, (14, 26, 30), 2, 2.0, 0.7)
    pred = gt.copy()
    pred = np.roll(pred, 1, axis=2)
    pred[ndimage.binary_dilation(gt == 2) & (pred == 0)] = 2
    pred[3:5, 3:8, 3:9] = 1  # a false positive blob
    save("met_gt", gt, m)
    save("met_pred", pred, m)
    msp = (2.5, 0.9, 0.7)
    rows = []
    for k in (1, 2):
        g, p = gt == k, pred == k
        d = sd.compute_surface_distances(g, p, msp)
        rows.append({
            "label": k,
            "dsc": float(sd.compute_dice_coefficient(g, p)),
            "hd95": float(sd.compute_robust_hausdorff(d, 95)),
            "hd100": float(sd.compute_robust_hausdorff(d, 100)),
            "nsd_2": float(sd.compute_surface_dice_at_tolerance(d, 2.0)),
            "nsd_1": float(sd.compute_surface_dice_at_tolerance(d, 1.0)),
            "surfel_area_gt": float(np.sum(d["surfel_areas_gt"])),
            "surfel_area_pred": float(np.sum(d["surfel_areas_pred"])),
        })
    m["tests"]["metrics"] = {"spacing_dhw": msp, "per_label": rows}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(m, f, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
