#!/usr/bin/env python3
"""Cross-format check: SimpleITK reads medseg's .nrrd/.nhdr/.mha/.mhd with identical voxels and
geometry, and numpy reads medseg's .npy/.npz identically.

medseg writes the files (tests/formats.rs::write_outputs_for_simpleitk with MEDSEG_SITK_DIR set):
every pixel type plus a 3-component float image on an oblique grid, each beside an .npy of its
voxels and a .json of its geometry.  Run from the repository root (make test does):

    .venv/bin/python tests/py/sitk_formats.py
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import SimpleITK as sitk


def main():
    root = os.environ.get("MEDSEG_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    out = tempfile.mkdtemp(prefix="medseg-sitk-")
    env = dict(os.environ, MEDSEG_SITK_DIR=out)
    subprocess.run(["cargo", "test", "-q", "--test", "formats", "write_outputs_for_simpleitk", "--", "--exact"],
                   cwd=root, env=env, check=True)
    cases = sorted(glob.glob(os.path.join(out, "*.json")))
    if len(cases) < 11:
        sys.exit(f"only {len(cases)} cases written to {out}")
    failures, checked = [], 0
    for jpath in cases:
        tag = os.path.basename(jpath)[:-5]
        geo = json.load(open(jpath))
        want = np.load(os.path.join(out, tag + ".npy"))
        z = np.load(os.path.join(out, tag + ".npz"))
        if not np.array_equal(z["imgs"], want) or not np.allclose(z["spacing"], geo["spacing"], rtol=0, atol=0):
            failures.append(f"{tag}.npz: numpy reads different imgs/spacing")
        for ext in ["nrrd", "nhdr", "mha", "mhd"]:
            name = f"{tag}.{ext}"
            try:
                img = sitk.ReadImage(os.path.join(out, name))
            except RuntimeError as e:
                failures.append(f"{name}: SimpleITK cannot read it: {e}")
                continue
            arr = sitk.GetArrayFromImage(img)
            checks = {
                "voxels": arr.dtype == want.dtype and arr.shape == want.shape
                and np.array_equal(arr.view(np.uint8), want.view(np.uint8)),
                "size": list(img.GetSize()) == geo["size"],
                "components": img.GetNumberOfComponentsPerPixel() == geo["components"],
                "spacing": np.allclose(img.GetSpacing(), geo["spacing"], rtol=0, atol=1e-12),
                "origin": np.allclose(img.GetOrigin(), geo["origin"], rtol=0, atol=1e-12),
                "direction": np.allclose(img.GetDirection(), geo["direction"], rtol=0, atol=1e-12),
            }
            bad = [k for k, ok in checks.items() if not ok]
            if bad:
                failures.append(f"{name}: differs in {', '.join(bad)} (sitk {arr.dtype} {arr.shape} "
                                f"spacing {img.GetSpacing()} origin {img.GetOrigin()})")
            checked += 1
    print(f"sitk_formats: {checked} files checked with SimpleITK {sitk.Version_VersionString()}, "
          f"{len(cases)} npz with numpy {np.__version__}; {len(failures)} failures")
    for f in failures:
        print("  FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
