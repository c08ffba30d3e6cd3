#!/usr/bin/env python3
"""DICOM series -> NIfTI benchmark: medseg vs SimpleITK (GDCM) vs dcm2niix.

Input: the 300-slice 512x512 CT series of the peer harness, generated with
    cd ../shared/bench && BENCH_DATA=/dev/shm/bench python gen_data.py --only dicom
Peer: dcm2niix from Debian (`apt-get install dcm2niix`, 1.0.20220720 on Debian 12).
Usage (repository root, after `cargo build --release --bin medseg`):
    .venv/bin/python tools/bench_dicom.py [/dev/shm/bench/dicom/ct] [repeats]

Each tool converts the series to an uncompressed .nii in /dev/shm (reading + sorting + decoding
+ writing); the best of `repeats` wall times is reported. medseg and dcm2niix are timed as whole
processes; SimpleITK in-process (import excluded), reading the series and also read-only. The
output folder is emptied (untimed) before each converting run.
"""
import os
import shutil
import subprocess
import sys
import time

import SimpleITK as sitk

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def best(fn, n, out=None):
    times = []
    for _ in range(n):
        if out:
            # Every tool writes into an empty folder: overwriting a 157 MB file costs the kernel
            # its freeing, and dcm2niix never overwrites (it adds a suffix: d2na.nii, ...).
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    if shutil.which("dcm2niix") is None:
        sys.exit("dcm2niix not found: install the peer with `apt-get install dcm2niix`")
    src = sys.argv[1] if len(sys.argv) > 1 else "/dev/shm/bench/dicom/ct"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    exe = os.path.join(ROOT, "target", "release", "medseg")
    out = "/dev/shm/medseg-bench-dicom"
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)

    def medseg_convert():
        subprocess.run([exe, "convert", src, f"{out}/medseg.nii"], check=True)

    def medseg_info():
        subprocess.run([exe, "info", src], check=True, stdout=subprocess.DEVNULL)

    def dcm2niix():
        subprocess.run(["dcm2niix", "-z", "n", "-b", "n", "-o", out, "-f", "d2n", src], check=True,
                       stdout=subprocess.DEVNULL)

    def sitk_read():
        r = sitk.ImageSeriesReader()
        r.SetFileNames(r.GetGDCMSeriesFileNames(src))
        return r.Execute()

    def sitk_convert():
        sitk.WriteImage(sitk_read(), f"{out}/sitk.nii")

    rows = [
        ("medseg convert -> .nii", best(medseg_convert, n, out)),
        ("dcm2niix -z n", best(dcm2niix, n, out)),
        ("SimpleITK read + write .nii", best(sitk_convert, n, out)),
        ("medseg info (read + stats)", best(medseg_info, n)),
        ("SimpleITK read only", best(sitk_read, n)),
    ]
    for name, t in rows:
        print(f"{name:32s} {t * 1000:8.0f} ms")
    peer = min(rows[1][1], rows[2][1])
    print(f"ratio medseg convert / best peer convert: {rows[0][1] / peer:.2f}")
    print(f"ratio medseg info / SimpleITK read only: {rows[3][1] / rows[4][1]:.2f}")
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
