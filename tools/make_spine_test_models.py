#!/usr/bin/env python3
"""Make the two tiny TotalSpineSeg-shaped nnU-Net models of tests/fixtures/spine_models/tss/.

Layout (an nnU-Net results folder per step, as `NnUnetModel::load` reads it):

    tss/step1/{dataset.json, plans.json, fold_0/{network.onnx, onnx_export.json}}
    tss/step2/{...}                                   (2 input channels)

The networks are not trained: they decode an *intensity-coded* image. A voxel value
v = s1 + 10 * s2 stands for "step-1 raw label s1, step-2 raw label s2" (spec
`totalspineseg.md` §5.2/§5.3); the step-1 net outputs the 9 region logits of s1 and the
step-2 net (channel 0 = the cropped coded image, channel 1 = odd-disc mask, ignored) the 11
region logits of s2. Both are region-based like the real Dataset101/102 models (sigmoid per
region, `regions_class_order`), with no intensity normalisation, 1 mm target spacing and no
mirroring. Graph per step: indicator_k = Relu(1 - |x - code_k|) for every code, then a
1x1x1 Conv mapping indicators to logits of +10 (region member) or -10. At integer voxel
values this is exact, so a coded image built from an oracle case reproduces that case's raw
step outputs through the real sliding window and ONNX Runtime.

Usage: .venv/bin/python tools/make_spine_test_models.py [OUT_DIR]
(default tests/fixtures/spine_models/tss). Needs numpy and onnx (1.23 used).

    .venv/bin/python tools/make_spine_test_models.py --coded ORACLE_CASE_DIR OUT.nii.gz

writes the coded image of an oracle case (`step1_raw/<case>.nii.gz` and
`step2_raw_full/<case>.nii.gz` on the 1 mm `input/` grid, e.g.
../shared/oracles/totalspineseg/out/cervical) as uint8 with the `input/` image's affine.
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# (s1, s2) pairs an anatomically plausible coded image may hold.
CODES = [
    (1, 1), (2, 2), (3, 3), (4, 4), (5, 5),  # discs, landmark discs
    (6, 6), (6, 7), (6, 8), (6, 9),  # vertebra: generic / odd / even / sacrum in step 2
    (7, 7),  # C1 (odd vertebra in step 2)
    (8, 10), (9, 11),  # canal, cord
]

STEP1_LABELS = [
    ("background", 0), ("disc", [1, 2, 3, 4, 5]), ("disc_C2_C3", 2), ("disc_C7_T1", 3),
    ("disc_T12_L1", 4), ("disc_L5_S", 5), ("vertebrae", [6, 7]), ("C1", 7),
    ("canal", [8, 9]), ("cord", 9),
]
STEP2_LABELS = [
    ("background", 0), ("disc", [1, 2, 3, 4, 5]), ("disc_C2_C3", 2), ("disc_C7_T1", 3),
    ("disc_T12_L1", 4), ("disc_L5_S", 5), ("vertebrae", [6, 7, 8, 9]), ("vertebrae_odd", 7),
    ("vertebrae_even", 8), ("sacrum", 9), ("canal", [10, 11]), ("cord", 11),
]
PATCH = [64, 64, 64]


def code_value(s1, s2):
    return s1 + 10 * s2


def region_sets(labels):
    out = []
    for name, v in labels:
        if name == "background":
            continue
        out.append(set(v) if isinstance(v, list) else {v})
    return out


def graph(step, in_ch, labels):
    regions = region_sets(labels)
    k = len(CODES)
    codes = np.array([code_value(*c) for c in CODES], np.float32).reshape(1, k, 1, 1, 1)
    w = np.zeros((len(regions), k, 1, 1, 1), np.float32)
    for r, members in enumerate(regions):
        for j, c in enumerate(CODES):
            s = c[0] if step == 1 else c[1]
            if s in members:
                w[r, j] = 20.0
    b = np.full((len(regions),), -10.0, np.float32)
    inits = [
        numpy_helper.from_array(codes, "codes"),
        numpy_helper.from_array(np.ones((1,), np.float32), "one"),
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(b, "b"),
    ]
    nodes = []
    x = "input"
    if in_ch > 1:
        sel = np.zeros((1, in_ch, 1, 1, 1), np.float32)
        sel[0, 0] = 1.0
        inits.append(numpy_helper.from_array(sel, "sel"))
        nodes.append(helper.make_node("Conv", ["input", "sel"], ["x0"], kernel_shape=[1, 1, 1]))
        x = "x0"
    nodes += [
        helper.make_node("Sub", [x, "codes"], ["d"]),
        helper.make_node("Abs", ["d"], ["a"]),
        helper.make_node("Sub", ["one", "a"], ["t"]),
        helper.make_node("Relu", ["t"], ["ind"]),
        helper.make_node("Conv", ["ind", "w", "b"], ["logits"], kernel_shape=[1, 1, 1]),
    ]
    dims = ["batch", "dim0", "dim1", "dim2"]
    g = helper.make_graph(
        nodes,
        f"tss_step{step}_decoder",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [dims[0], in_ch] + dims[1:])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [dims[0], len(regions)] + dims[1:])],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="medseg-tools")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m, len(regions)


def plans(step, in_ch):
    conf = {
        "data_identifier": "nnUNetPlans_3d_fullres",
        "preprocessor_name": "DefaultPreprocessor",
        "batch_size": 2,
        "patch_size": PATCH,
        "median_image_size_in_voxels": [287, 287, 70],
        "spacing": [1.0, 1.0, 1.0],
        "normalization_schemes": ["NoNormalization"] * in_ch,
        "use_mask_for_norm": [False] * in_ch,
        "resampling_fn_data": "resample_data_or_seg_to_shape",
        "resampling_fn_seg": "resample_data_or_seg_to_shape",
        "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
        "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
        "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
        "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None},
        "batch_dice": True,
    }
    props = {str(c): {"max": 119.0, "mean": 50.0, "median": 50.0, "min": 0.0,
                      "percentile_00_5": 0.0, "percentile_99_5": 119.0, "std": 30.0}
             for c in range(in_ch)}
    return {
        "dataset_name": f"Dataset10{step}_TinyTSS_step{step}",
        "plans_name": "nnUNetPlans",
        "original_median_spacing_after_transp": [1.0, 1.0, 1.0],
        "original_median_shape_after_transp": [287, 287, 70],
        "image_reader_writer": "SimpleITKIO",
        "transpose_forward": [0, 1, 2],
        "transpose_backward": [0, 1, 2],
        "configurations": {"3d_fullres": conf},
        "experiment_planner_used": "medseg tools/make_spine_test_models.py",
        "label_manager": "LabelManager",
        "foreground_intensity_properties_per_channel": props,
    }


def write_step(out, step, in_ch, labels, channel_names):
    d = os.path.join(out, f"step{step}")
    os.makedirs(os.path.join(d, "fold_0"), exist_ok=True)
    m, k = graph(step, in_ch, labels)
    onnx.save(m, os.path.join(d, "fold_0", "network.onnx"))
    ds = {
        "channel_names": {str(i): n for i, n in enumerate(channel_names)},
        "labels": {n: v for n, v in labels},
        "regions_class_order": list(range(1, k + 1)),
        "numTraining": 0,
        "file_ending": ".nii.gz",
    }
    with open(os.path.join(d, "dataset.json"), "w") as f:
        json.dump(ds, f, indent=2)
    with open(os.path.join(d, "plans.json"), "w") as f:
        json.dump(plans(step, in_ch), f, indent=2)
    side = {
        "format": "ONNX", "opset": 17, "input_name": "input", "output_name": "logits",
        "num_input_channels": in_ch, "num_output_channels": k, "patch_size": PATCH,
        "configuration": "3d_fullres", "trainer_name": "none (decoder of an intensity-coded image)",
        "fold": 0, "inference_allowed_mirroring_axes": None,
        "output_is": "raw logits (no softmax / sigmoid)",
    }
    with open(os.path.join(d, "fold_0", "onnx_export.json"), "w") as f:
        json.dump(side, f, indent=2)


def coded(case_dir, out):
    import nibabel as nib

    name = os.path.basename(os.path.normpath(case_dir))
    s1 = nib.load(os.path.join(case_dir, "step1_raw", f"{name}.nii.gz"))
    s2 = nib.load(os.path.join(case_dir, "step2_raw_full", f"{name}.nii.gz"))
    a = np.asanyarray(s1.dataobj).astype(np.int64)
    b = np.asanyarray(s2.dataobj).astype(np.int64)
    v = a + 10 * b
    known = {0} | {code_value(*c) for c in CODES}
    bad = sorted(set(np.unique(v).tolist()) - known)
    if bad:
        raise SystemExit(f"label pairs without a code: {bad}")
    img = nib.Nifti1Image(v.astype(np.uint8), s1.affine)
    img.set_qform(s1.affine, 1)
    img.set_sform(s1.affine, 1)
    nib.save(img, out)
    print(f"wrote {out} {v.shape}")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--coded":
        coded(sys.argv[2], sys.argv[3])
        return
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "fixtures", "spine_models", "tss")
    write_step(out, 1, 1, STEP1_LABELS, ["coded"])
    write_step(out, 2, 2, STEP2_LABELS, ["coded", "noNorm"])
    print(f"wrote {out}/step1, {out}/step2")


if __name__ == "__main__":
    main()
