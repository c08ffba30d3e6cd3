#!/usr/bin/env python3
"""Official LiteMedSAM outputs on cases beyond the two oracle cases, as test fixtures.

Runs the organisers' CVPR24_LiteMedSAM_infer.py (from a bowang-lab/MedSAM git mirror, branch
LiteMedSAM, extracted to a temp folder; torch venv as for tools/bench_sam.py) on the synthetic
challenge cases of ../shared/oracles/medsam/out/cases/imgs (US, X-ray, colour endoscopy 2D; CT,
MR, PET 3D of other sizes) and writes tests/fixtures/sam/official/{imgs,segs}/ + manifest.json
(SHA-256 of each file). Boxes the official script cannot run (z_min == z_max: it asserts) are
dropped from the input given to it and recorded in the manifest; medseg's own rule for them is
unit-tested separately.

    python tools/make_sam_fixtures.py --official-python /tmp/torchvenv/bin/python --medsam-git DIR
"""
import argparse, glob, hashlib, json, os, shutil, subprocess, sys, tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from bench_sam import prepare_official  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--official-python", required=True)
    ap.add_argument("--medsam-git", required=True)
    ap.add_argument("--cases", default=os.path.join(ROOT, "..", "shared", "oracles", "medsam", "out", "cases", "imgs"))
    ap.add_argument("--wheel-dir", default=None)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "sam", "official"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="sam_fix_")
    try:
        code, ckpt = prepare_official(work, a.medsam_git, a.wheel_dir)
        inp = os.path.join(work, "in"); outp = os.path.join(work, "out")
        os.makedirs(inp)
        dropped = {}
        for f in sorted(glob.glob(os.path.join(a.cases, "*.npz"))):
            z = dict(np.load(f))
            name = os.path.basename(f)
            if name.startswith("3D"):
                keep = z["boxes"][:, 2] < z["boxes"][:, 5]
                if not keep.all():
                    dropped[name] = z["boxes"][~keep].tolist()
                    z["boxes"] = z["boxes"][keep]
            z.pop("gts", None)
            np.savez_compressed(os.path.join(inp, name), **z)
        env = dict(os.environ, OMP_NUM_THREADS="2")
        subprocess.check_call([a.official_python, "CVPR24_LiteMedSAM_infer.py", "-i", inp, "-o", outp,
                               "-lite_medsam_checkpoint_path", ckpt, "-device", "cpu",
                               "-png_save_dir", os.path.join(work, "png")], cwd=code, env=env)
        for sub in ("imgs", "segs"):
            os.makedirs(os.path.join(a.out, sub), exist_ok=True)
        man = {"made_by": "tools/make_sam_fixtures.py", "official": "CVPR24_LiteMedSAM_infer.py (MedSAM branch LiteMedSAM)",
               "dropped_boxes": dropped, "files": {}}
        for f in sorted(os.listdir(inp)):
            shutil.copy(os.path.join(inp, f), os.path.join(a.out, "imgs", f))
            shutil.copy(os.path.join(outp, f), os.path.join(a.out, "segs", f))
        for sub in ("imgs", "segs"):
            for f in sorted(os.listdir(os.path.join(a.out, sub))):
                p = os.path.join(a.out, sub, f)
                man["files"][f"{sub}/{f}"] = hashlib.sha256(open(p, "rb").read()).hexdigest()
        with open(os.path.join(a.out, "manifest.json"), "w") as f:
            json.dump(man, f, indent=1)
        print(json.dumps(man, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
