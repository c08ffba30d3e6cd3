#!/usr/bin/env python3
"""Time nnU-Net's own predictor (nnunetv2 2.8.1, CPU) on the oracle's ct case, for
tools/bench_predict.sh (pass the printed seconds as NNUNET_SECONDS).

    python tools/bench_nnunet.py MODEL_DIR INPUT_0000.nii.gz [THREADS]
Needs nnunetv2==2.8.1 (+ torch); nothing is written outside a temporary folder.
"""
import os, sys, tempfile, time

os.environ.setdefault("nnUNet_raw", tempfile.gettempdir())
os.environ.setdefault("nnUNet_preprocessed", tempfile.gettempdir())
os.environ.setdefault("nnUNet_results", tempfile.gettempdir())
import torch
from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

model, inp = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
torch.set_num_threads(threads)
folds = tuple(int(d[5:]) for d in sorted(os.listdir(model)) if d.startswith("fold_") and d[5:].isdigit())
with tempfile.TemporaryDirectory() as out:
    t0 = time.perf_counter()
    p = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=True,
                        perform_everything_on_device=False, device=torch.device("cpu"), verbose=False,
                        verbose_preprocessing=False, allow_tqdm=False)
    p.initialize_from_trained_model_folder(model, use_folds=folds, checkpoint_name="checkpoint_final.pth")
    p.predict_from_files_sequential([[inp]], out, save_probabilities=False, overwrite=True)
    print(f"nnU-Net predict_from_files_sequential: {time.perf_counter() - t0:.2f} s (torch threads {threads})")
