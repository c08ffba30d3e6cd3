#!/usr/bin/env python3
"""A host that loads libmedseg.so from a folder of its own (as Slicer's panel does through ctypes)
gets the ONNX Runtime library that lies next to it, before the project-local copy.

The debug libmedseg.so and ONNX Runtime are hard-linked into a fresh folder under target/ (no
copies of ~350 MB); with MEDSEG_ORT_DYLIB and ORT_DYLIB_PATH unset, `medseg_model_load` on the
tiny nnU-Net fixture must succeed and the runtime mapped into this process must be the one in that
folder (the project's third_party copy stays unmapped). Run by `make test` (tools/test.sh).
"""
import ctypes
import glob
import os
import shutil
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def main():
    lib = os.path.join(ROOT, "target", "debug", "libmedseg.so")
    orts = sorted(glob.glob(os.path.join(ROOT, "third_party", "onnxruntime", "lib",
                                         "libonnxruntime.so.1.*")))
    if not os.path.isfile(lib) or not orts:
        sys.exit(f"missing {lib} or the project-local ONNX Runtime (run make setup and a build)")
    ort = orts[-1]
    host = os.path.join(ROOT, "target", "ort-next-to-library")
    shutil.rmtree(host, ignore_errors=True)
    os.makedirs(host)
    here_lib = os.path.join(host, "libmedseg.so")
    here_ort = os.path.join(host, os.path.basename(ort))
    os.link(lib, here_lib)
    os.link(ort, here_ort)
    for var in ("MEDSEG_ORT_DYLIB", "ORT_DYLIB_PATH"):
        os.environ.pop(var, None)

    m = ctypes.CDLL(here_lib)
    m.medseg_model_load.argtypes = [ctypes.c_char_p, ctypes.c_void_p,
                                    ctypes.POINTER(ctypes.c_void_p)]
    m.medseg_model_load.restype = ctypes.c_uint32
    m.medseg_last_error_message.restype = ctypes.c_char_p
    m.medseg_model_free.argtypes = [ctypes.c_void_p]
    model = os.path.join(ROOT, "tests", "fixtures", "nnunet", "models", "Dataset900_TinyCT",
                         "nnUNetTrainer__nnUNetPlans__3d_fullres")
    out = ctypes.c_void_p()
    status = m.medseg_model_load(model.encode(), None, ctypes.byref(out))
    if status != 0:
        sys.exit(f"medseg_model_load: status {status}: {m.medseg_last_error_message()!r}")
    mapped = {line.split(None, 5)[5].strip() for line in open("/proc/self/maps")
              if len(line.split(None, 5)) == 6 and "libonnxruntime.so" in line}
    m.medseg_model_free(out)
    shutil.rmtree(host, ignore_errors=True)
    if mapped != {here_ort}:
        sys.exit(f"ONNX Runtime mapped from {sorted(mapped)}, expected only {here_ort}")
    print(f"ok: libmedseg.so in {host} loaded the ONNX Runtime beside it")


if __name__ == "__main__":
    main()
