#!/usr/bin/env python3
"""Big single-stream compressed files, as ITK writes them, read exactly (the parallel inflater).

medseg inflates one gzip member / zlib stream of 16 MB or more in parallel chunks
(`src/io/pinflate.rs`). This writes a CT-like int16 volume of 26 MB with SimpleITK as `.nrrd`
(gzip), `.mha` (zlib) and `.nii.gz`, converts each with `medseg convert FILE out.nii`, and checks
that SimpleITK's reading of the output equals its reading of FILE: voxels identical, spacing,
origin and direction within 1e-5. A second copy with one byte garbled in the middle of the
compressed data must give an error naming the problem, and no output file.
Run from the repository root with the venv; MEDSEG_BIN names the binary.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("MEDSEG_BIN", str(ROOT / "target" / "debug" / "medseg"))


def ct_volume():
    rng = np.random.default_rng(7)
    z, y, x = np.mgrid[0:200, 0:256, 0:256].astype(np.float32)
    body = ((x - 128) ** 2 + (y - 120) ** 2) < (100 + 10 * np.sin(z / 20)) ** 2
    vol = np.where(body, 40 + 30 * np.sin(x / 9) * np.cos(y / 13), -1024)
    vol = vol + body * rng.normal(0, 12, vol.shape)
    img = sitk.GetImageFromArray(vol.astype(np.int16))
    img.SetSpacing((0.7, 0.7, 1.25))
    img.SetOrigin((-90.0, 12.5, -300.0))
    img.SetDirection((0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0))
    return img


def main():
    img = ct_volume()
    errors = []
    with tempfile.TemporaryDirectory(prefix="medseg-large-") as tmp:
        tmp = Path(tmp)
        for ext in (".nrrd", ".mha", ".nii.gz"):
            src = tmp / f"ct{ext}"
            sitk.WriteImage(img, str(src), True)
            want = sitk.ReadImage(str(src))
            out = tmp / f"out{ext.replace('.', '_')}.nii"
            r = subprocess.run([BIN, "convert", str(src), str(out)], capture_output=True, text=True)
            if r.returncode != 0:
                errors.append(f"{src.name}: convert failed: {r.stderr.strip()}")
                continue
            got = sitk.ReadImage(str(out))
            if not np.array_equal(sitk.GetArrayViewFromImage(want), sitk.GetArrayViewFromImage(got)):
                errors.append(f"{src.name}: voxels differ")
            for what, a, b in (("spacing", want.GetSpacing(), got.GetSpacing()),
                               ("origin", want.GetOrigin(), got.GetOrigin()),
                               ("direction", want.GetDirection(), got.GetDirection())):
                if not np.allclose(a, b, rtol=0, atol=1e-5):
                    errors.append(f"{src.name}: {what} {a} vs {b}")
            # Garbled in the middle of the compressed data: a typed error, no output.
            raw = bytearray(src.read_bytes())
            mid = len(raw) * 2 // 3
            raw[mid:mid + 4] = bytes(b ^ 0x5A for b in raw[mid:mid + 4])
            bad = tmp / f"bad{ext}"
            bad.write_bytes(bytes(raw))
            bad_out = tmp / f"bad_out{ext.replace('.', '_')}.nii"
            r = subprocess.run([BIN, "convert", str(bad), str(bad_out)], capture_output=True, text=True)
            if r.returncode == 0 or "panicked" in r.stderr or bad_out.exists():
                errors.append(f"{bad.name}: expected a clean error, got rc {r.returncode}: {r.stderr.strip()}")
            elif "corrupt" not in r.stderr and "truncated" not in r.stderr:
                errors.append(f"{bad.name}: error does not name the problem: {r.stderr.strip()}")
            print(f"ok {src.name} ({src.stat().st_size >> 20} MiB compressed); garbled copy: {r.stderr.strip()[:120]}")
    print("\n".join(f"FAIL {e}" for e in errors) or "3 large compressed files read exactly")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
