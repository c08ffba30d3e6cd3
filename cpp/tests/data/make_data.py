"""Regenerates the ctest inputs in this folder (run with the project venv: numpy, pynrrd).

ct_oblique.nrrd: a 64x64x20 int16 crop of the nnU-Net oracle CT case (tests/fixtures/nnunet/ct,
input_0) on an oblique grid (30 degrees about z, then 10 about x), spacing 0.8 x 0.8 x 2.2 mm.
labels.nrrd: a 20x16x10 uint8 label map with three blobs (144 voxels of 1, 27 of 2, 8 of 1) on a
grid rotated 30 degrees about z, spacing 0.8 x 1.1 x 2.5 mm.
"""
import gzip
import io
import math
import os

import nrrd
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")


def rot_z(deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def rot_x(deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def write(path, array_zyx, nrrd_type, direction, spacing, origin):
    header = {
        "type": nrrd_type,
        "dimension": 3,
        "space": "left-posterior-superior",
        "space directions": (direction * np.array(spacing)).T.tolist(),
        "space origin": origin,
        "kinds": ["domain"] * 3,
        "encoding": "gzip",
    }
    nrrd.write(path, array_zyx, header, index_order="C")


ct_path = os.path.join(ROOT, "tests", "fixtures", "nnunet", "ct", "input_0.npy.gz")
ct = np.load(io.BytesIO(gzip.open(ct_path).read()))
write(os.path.join(HERE, "ct_oblique.nrrd"), ct[10:30, 40:104, 30:94].astype(np.int16), "int16",
      rot_z(30) @ rot_x(10), [0.8, 0.8, 2.2], [12.5, -40.25, 101.0])

labels = np.zeros((10, 16, 20), np.uint8)
for x0, y0, z0, nx, ny, nz, v in ((1, 1, 1, 6, 6, 4, 1), (10, 10, 5, 3, 3, 3, 2), (15, 2, 7, 2, 2, 2, 1)):
    labels[z0:z0 + nz, y0:y0 + ny, x0:x0 + nx] = v
write(os.path.join(HERE, "labels.nrrd"), labels, "uint8", rot_z(30), [0.8, 1.1, 2.5], [12.5, -40.25, 101.0])
