#!/usr/bin/env python3
"""Check the LiteMedSAM graphs of tools/litemedsam_onnx.py against the oracle, in onnxruntime.

Developer tool, not part of CI: needs the `onnxruntime` Python package (a scratch venv is fine:
`python3 -m venv /tmp/ortvenv && /tmp/ortvenv/bin/pip install numpy onnx==1.23.2 onnxruntime==1.31.*`)
and the LiteMedSAM oracle (../shared/oracles/medsam/litemedsam, outputs of the official PyTorch
script with the real weights).

    /tmp/ortvenv/bin/python tools/check_litemedsam_onnx.py [--model models/litemedsam] [--oracle DIR]

Checks, per case (tolerances from the oracle's README):
* encoder(encoder_input) vs embedding                          max |d| <= 1e-4
* decoder(embedding, call 0's box) vs lowres_logits0           max |d| <= 1e-3
  and its IoU vs call_iou[0]                                   |d| <= 1e-4
* 2D case (one embedding for every call): all calls' boxes in one batched call vs the stored
  float16 lowres_logits (|d| <= |ref| * 2^-11 + 1e-3) and call_iou (1e-4)
* all boxes of the case in one batched decoder call == one call per box (1e-4)
* image_pe / no_mask_embed initializers vs ref/constants.npz (1e-5)
* the encoder at batch 3 == batch 1 per item (1e-4)
and prints the time of one encoder call at batch 1 with 2 intra-op threads.
"""
import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "litemedsam"))
    ap.add_argument("--oracle", default=os.path.join(ROOT, "..", "shared", "oracles", "medsam", "litemedsam"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    enc = ort.InferenceSession(os.path.join(args.model, "encoder.onnx"), so, providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(os.path.join(args.model, "decoder.onnx"), so, providers=["CPUExecutionProvider"])

    failures = []

    def report(what, d, tol):
        ok = bool(np.isfinite(d) and d <= tol)
        print(f"{'PASS' if ok else 'FAIL'}  {what}: max |d| = {d:.3g} (tol {tol:g})")
        if not ok:
            failures.append(what)

    def decode(emb, boxes):
        m, iou = dec.run(None, {"image_embeddings": emb, "boxes": np.asarray(boxes, np.float32).reshape(-1, 4)})
        return m, iou

    ref_dir = os.path.join(args.oracle, "ref")
    cases = sorted(f[:-4] for f in os.listdir(ref_dir) if f.endswith(".npz") and f != "constants.npz")
    inputs = []
    for case in cases:
        r = np.load(os.path.join(ref_dir, case + ".npz"))
        x = r["encoder_input"].astype(np.float32)
        inputs.append(x)
        t0 = time.perf_counter()
        (emb,) = enc.run(None, {"image": x})
        dt = time.perf_counter() - t0
        report(f"{case} embedding", float(np.abs(emb - r["embedding"]).max()), 1e-4)
        ref_emb = r["embedding"].astype(np.float32)
        boxes = r["call_box256"].astype(np.float32)
        m, iou = decode(ref_emb, boxes[0])
        report(f"{case} lowres_logits0", float(np.abs(m[0, 0] - r["lowres_logits0"]).max()), 1e-3)
        report(f"{case} iou[0]", float(abs(iou[0, 0] - r["call_iou"][0])), 1e-4)
        if (r["call_z"] < 0).all():  # 2D: every call used this embedding
            mb, ib = decode(ref_emb, boxes)
            calls = r["lowres_calls"]
            ref16 = r["lowres_logits"].astype(np.float32)
            d = np.abs(mb[calls, 0] - ref16)
            ok = bool((d <= np.abs(ref16) * 2.0**-11 + 1e-3).all())
            print(
                f"{'PASS' if ok else 'FAIL'}  {case} lowres_logits (float16, all {len(calls)} calls, one "
                f"batched call): max |d| = {d.max():.3g} (tol |ref| * 2^-11 + 1e-3)"
            )
            if not ok:
                failures.append(f"{case} lowres_logits")
            report(f"{case} call_iou (all calls)", float(np.abs(ib[:, 0] - r["call_iou"]).max()), 1e-4)
        uniq = np.unique(boxes, axis=0)
        mb, ib = decode(ref_emb, uniq)
        dm = di = 0.0
        for j, b in enumerate(uniq):
            ms, is_ = decode(ref_emb, b)
            dm = max(dm, float(np.abs(ms[0] - mb[j]).max()))
            di = max(di, float(abs(is_[0, 0] - ib[j, 0])))
        report(f"{case} batched ({len(uniq)} boxes) vs single masks", dm, 1e-4)
        report(f"{case} batched vs single iou", di, 1e-4)
        print(f"      encoder call (batch 1, first run) {dt:.2f} s")

    const = np.load(os.path.join(ref_dir, "constants.npz"))
    model = onnx.load(os.path.join(args.model, "decoder.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    report("image_pe", float(np.abs(inits["image_pe"] - const["image_pe"]).max()), 1e-5)
    report(
        "no_mask_embed",
        float(np.abs(inits["no_mask_embed"].reshape(-1) - const["no_mask_embed"].reshape(-1)).max()),
        1e-5,
    )

    rng = np.random.default_rng(0)
    extra = rng.random((1, 3, 256, 256), dtype=np.float32)
    batch = np.concatenate([inputs[0], extra, inputs[-1]], axis=0)
    (eb,) = enc.run(None, {"image": batch})
    d = 0.0
    for i in range(3):
        (e1,) = enc.run(None, {"image": batch[i : i + 1]})
        d = max(d, float(np.abs(eb[i] - e1[0]).max()))
    report("encoder batch 3 vs batch 1", d, 1e-4)

    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        enc.run(None, {"image": inputs[0]})
        times.append(time.perf_counter() - t0)
    print(f"      encoder batch 1, {args.threads} threads: {min(times):.3f} s (best of 3; {', '.join(f'{t:.3f}' for t in times)})")
    emb = np.load(os.path.join(ref_dir, cases[0] + ".npz"))["embedding"]
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        decode(emb, [[10, 10, 100, 100]])
        times.append(time.perf_counter() - t0)
    print(f"      decoder 1 box, {args.threads} threads: {min(times):.3f} s (best of 3)")

    print("FAIL: " + ", ".join(failures) if failures else "ALL PASS")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
