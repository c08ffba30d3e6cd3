#!/usr/bin/env python3
"""Copy the nnU-Net oracle (../shared/oracles/nnunet/out) into small test fixtures.

Writes tests/fixtures/nnunet/:
  models/<Dataset>/nnUNetTrainer__nnUNetPlans__3d_fullres/{plans,dataset}.json,
      fold_k/{network.onnx, onnx_export.json, checkpoint_final.pth}
  <case>/case.json                 spacing (sz, sy, sx), shapes, bbox, strides used below
  <case>/input_<c>.npy.gz          float32 (z, y, x) per channel (as SimpleITK reads the NIfTI)
  <case>/preprocessed.npy.gz       float32 (C, d0, d1, d2), nnU-Net's preprocessing
  <case>/segmentation.npy.gz       uint8 (z, y, x), nnU-Net's label map
  <case>/probabilities_sub.npy     float32 (K, n): probabilities at every `prob_stride`-th voxel
Usage: .venv/bin/python tools/make_nnunet_fixtures.py [ORACLE_OUT] [DEST]
"""
import gzip, io, json, shutil, sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk

root = Path(__file__).resolve().parents[1]
src = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared/oracles/nnunet/out"
dst = Path(sys.argv[2]) if len(sys.argv) > 2 else root / "tests/fixtures/nnunet"
PROB_STRIDE = 13
CASES = {"ct": "Dataset900_TinyCT", "regions": "Dataset901_TinyRegions"}


def save_gz(path, arr):
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr))
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(buf.getvalue())


for case, ds in CASES.items():
    mdir = src / "models" / ds / "nnUNetTrainer__nnUNetPlans__3d_fullres"
    out_m = dst / "models" / ds / mdir.name
    out_m.mkdir(parents=True, exist_ok=True)
    for f in ("plans.json", "dataset.json"):
        shutil.copy(mdir / f, out_m / f)
    for fold in sorted(mdir.glob("fold_*")):
        (out_m / fold.name).mkdir(exist_ok=True)
        for f in ("network.onnx", "onnx_export.json", "checkpoint_final.pth"):
            shutil.copy(fold / f, out_m / fold.name / f)

    cdir = src / "cases" / case
    out_c = dst / case
    out_c.mkdir(parents=True, exist_ok=True)
    inputs = sorted((cdir / "input").glob("*.nii.gz"))
    imgs = [sitk.ReadImage(str(p)) for p in inputs]
    for c, img in enumerate(imgs):
        save_gz(out_c / f"input_{c}.npy.gz", sitk.GetArrayFromImage(img).astype(np.float32))
    props = json.loads((cdir / "stages/properties.json").read_text())
    pre = np.load(cdir / "stages/preprocessed.npy")
    save_gz(out_c / "preprocessed.npy.gz", pre.astype(np.float32))
    seg = np.load(cdir / "stages/segmentation.npy")
    save_gz(out_c / "segmentation.npy.gz", seg.astype(np.uint8))
    prob = np.load(cdir / "stages/probabilities.npy").astype(np.float32)
    k = prob.shape[0]
    np.save(out_c / "probabilities_sub.npy", np.ascontiguousarray(prob.reshape(k, -1)[:, ::PROB_STRIDE]))
    meta = {
        "spacing_zyx": [abs(s) for s in imgs[0].GetSpacing()[::-1]],
        "shape_zyx": list(seg.shape),
        "channels": len(imgs),
        "bbox": props["bbox_used_for_cropping"],
        "shape_after_cropping": props["shape_after_cropping_and_before_resampling"],
        "preprocessed_shape": list(pre.shape),
        "prob_stride": PROB_STRIDE,
        "model": f"models/{ds}/{mdir.name}",
        "source": "oracles/nnunet (nnU-Net 2.8.1 on CPU)",
    }
    (out_c / "case.json").write_text(json.dumps(meta, indent=2))
print("fixtures written to", dst)
