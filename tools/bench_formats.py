#!/usr/bin/env python3
"""NRRD / MetaImage / NIfTI-gz read benchmark: medseg vs SimpleITK vs pynrrd (vs nibabel for .nii.gz).

Input: the peer harness's CT (512x512x300 int16), written by SimpleITK as one gzip member (.nrrd,
.nii.gz) and one zlib stream (.mha):
    cd ../shared/bench && BENCH_DATA=/dev/shm/bench python gen_data.py --only ct
Usage (repository root):
    cargo build --release --example bench_read
    /tmp/benchvenv/bin/python tools/bench_formats.py [/dev/shm/bench] [rounds]

Every tool reads the file `rounds` times in one process (medseg: `examples/bench_read.rs`, the
library call `medseg::io::read`; SimpleITK: `ReadImage` + a NumPy view; pynrrd: `nrrd.read`;
nibabel: `get_fdata` is not used, `np.asanyarray(img.dataobj)` is), the median read is reported.
The tools take turns, three passes, and the median of the pass medians is kept.
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

PEER = r"""
import sys, time, statistics
tool, path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
if tool == "sitk":
    import SimpleITK as sitk
    def read():
        return sitk.GetArrayViewFromImage(sitk.ReadImage(path))
elif tool == "pynrrd":
    import nrrd
    def read():
        return nrrd.read(path)[0]
else:
    import nibabel as nib, numpy as np
    def read():
        return np.asanyarray(nib.load(path).dataobj)
ts = []
for _ in range(rounds):
    t = time.perf_counter(); a = read(); ts.append(time.perf_counter() - t); del a
print(statistics.median(ts))
"""


def medseg(path, rounds):
    exe = os.path.join(ROOT, "target", "release", "examples", "bench_read")
    out = subprocess.run([exe, path, str(rounds)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["median_s"]


def peer(tool, path, rounds):
    out = subprocess.run([sys.executable, "-c", PEER, tool, path, str(rounds)], check=True,
                         capture_output=True, text=True)
    return float(out.stdout.strip())


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "/dev/shm/bench"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    cases = [("ct.nrrd", ["sitk", "pynrrd"]), ("ct.mha", ["sitk"]), ("ct.nii.gz", ["sitk", "nibabel"])]
    print(f"| file | medseg | {' | '.join(['SimpleITK', 'pynrrd', 'nibabel'])} | medseg / best peer |")
    print("|---|---|---|---|---|---|")
    for name, peers in cases:
        path = os.path.join(data, name)
        passes = {t: [] for t in ["medseg"] + peers}
        for _ in range(3):
            passes["medseg"].append(medseg(path, rounds))
            for t in peers:
                passes[t].append(peer(t, path, rounds))
        med = {t: statistics.median(v) for t, v in passes.items()}
        cell = lambda t: f"{med[t]:.3f} s" if t in med else "–"
        best = min(med[t] for t in peers)
        print(f"| {name} | {cell('medseg')} | {cell('sitk')} | {cell('pynrrd')} | {cell('nibabel')} "
              f"| {med['medseg'] / best:.2f} |")


if __name__ == "__main__":
    main()
