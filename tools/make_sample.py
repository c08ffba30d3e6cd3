"""Make the shipped sample volume used by `make demo`: a small synthetic CT phantom.

Written by nibabel (an independent NIfTI writer), with an oblique affine, so the demo
exercises geometry handling. Deterministic; re-running gives byte-identical files.

    .venv/bin/python tools/make_sample.py data/sample
"""
import sys
from pathlib import Path

import nibabel as nib
import numpy as np


def phantom(shape=(128, 112, 48), spacing=(1.6, 1.6, 4.0)):
    ni, nj, nk = shape
    i, j, k = np.meshgrid(np.arange(ni), np.arange(nj), np.arange(nk), indexing="ij")
    x = (i - ni / 2) * spacing[0]
    y = (j - nj / 2) * spacing[1]
    z = (k - nk / 2) * spacing[2]
    ct = np.full(shape, -1000, np.int16)  # air
    lab = np.zeros(shape, np.uint8)
    body = (x / 95) ** 2 + (y / 70) ** 2 <= 1
    ct[body] = 40  # soft tissue
    fat = body & ((x / 95) ** 2 + (y / 70) ** 2 > 0.8)
    ct[fat] = -90
    for cx in (-45, 45):  # lungs
        lung = ((x - cx) / 32) ** 2 + ((y + 5) / 40) ** 2 + (z / 110) ** 2 <= 1
        ct[lung] = -850
        lab[lung] = 2
    liver = ((x + 35) / 40) ** 2 + ((y + 10) / 30) ** 2 + ((z + 60) / 35) ** 2 <= 1
    ct[liver] = 60
    lab[liver] = 1
    spine = ((x) / 12) ** 2 + ((y + 45) / 12) ** 2 <= 1  # posterior (RAS y < 0)
    ct[spine & body] = 700
    lab[spine & body] = 3
    # Deterministic gentle texture (compresses well, not flat).
    ct = (ct + ((i * 7 + j * 13 + k * 3) % 11) - 5).astype(np.int16)
    return ct, lab


def affine(spacing=(1.6, 1.6, 4.0), angle_deg=8.0):
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    m = np.eye(4)
    m[:3, :3] = rot @ np.diag(spacing)
    m[:3, 3] = [-100.0, -90.0, -96.0]
    return m


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ct, lab = phantom()
    aff = affine()
    for name, data in (("ct_phantom.nii.gz", ct), ("ct_phantom_labels.nii.gz", lab)):
        img = nib.Nifti1Image(data, aff)
        img.set_qform(aff, code=1)
        img.set_sform(aff, code=1)
        img.header["descrip"] = b"medseg sample phantom"
        nib.save(img, out / name)
        print(out / name, data.shape, data.dtype)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/sample")
