#!/usr/bin/env python3
"""Export one fold of a trained nnU-Net v2 model to ONNX (used by `medseg model import-nnunet`).

Two backends (`--backend auto` picks torch when it can be imported, else onnx):

* torch: needs torch and dynamic_network_architectures (PyPI); nnunetv2 itself is NOT needed: the
  network is rebuilt from plans.json exactly as nnU-Net's `get_network_from_plans` does
  (architecture class + kwargs, the `_kw_requires_import` entries resolved to classes, deep
  supervision off), the checkpoint's `network_weights` are loaded, and the graph is exported.
* onnx: numpy + the `onnx` package only (tools/nnunet_onnx_graph.py): the checkpoint archive is
  read with a restricted unpickler and the PlainConvUNet graph is written node by node. Any other
  architecture is refused with a message asking for torch.

Both write opset 17, input `input` (N, C, d0, d1, d2) and output `logits` (N, K, d0, d1, d2),
dynamic batch and spatial axes.

Writes OUT (network.onnx) and, beside it, onnx_export.json with the configuration, the test-time
mirroring axes from the checkpoint, channel counts, patch size and I/O names.

    python tools/export_nnunet_onnx.py --results RESULTS_DIR --checkpoint RESULTS_DIR/fold_0/checkpoint_final.pth --out OUT/fold_0/network.onnx
"""
import argparse
import importlib
import json
import os
import sys

OPSET = 17


def locate(name):
    """'pkg.module.Class' -> the object (like pydoc.locate)."""
    mod, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError):
        # e.g. 'torch.nn.modules.conv.Conv3d' when the class is re-exported elsewhere
        parts = name.split(".")
        obj = importlib.import_module(parts[0])
        for p in parts[1:]:
            obj = getattr(obj, p)
        return obj


def resolve_configuration(plans, name):
    confs = plans["configurations"]
    chain, cur = [name], name
    while "inherits_from" in confs[cur]:
        cur = confs[cur]["inherits_from"]
        if cur in chain:
            sys.exit(f"configuration inheritance cycle: {chain} -> {cur}")
        chain.append(cur)
    out = {}
    for n in reversed(chain):
        out.update(confs[n])
    out.pop("inherits_from", None)
    return out


def count_outputs(dataset):
    labels = dataset["labels"]
    region_based = any(isinstance(v, (list, tuple)) and len(v) > 1 for v in labels.values())
    if region_based:
        regions = [v for k, v in labels.items()
                   if k != "ignore" and not (v == 0 or (isinstance(v, (list, tuple)) and all(x == 0 for x in v)))]
        return len(regions)
    return len([k for k in labels if k != "ignore"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", required=True, help="nnU-Net results folder (plans.json, dataset.json)")
    ap.add_argument("--checkpoint", required=True, help="fold_k/checkpoint_final.pth or checkpoint_best.pth")
    ap.add_argument("--out", required=True, help="ONNX file to write")
    ap.add_argument("--static", action="store_true", help="fixed (1, C, *patch) shapes instead of dynamic axes")
    ap.add_argument("--check", action="store_true", help="compare ONNX Runtime with torch on a random tile")
    ap.add_argument("--backend", choices=["auto", "torch", "onnx"], default="auto",
                    help="torch (any architecture) or onnx (PlainConvUNet, no torch needed)")
    a = ap.parse_args()

    backend = a.backend
    if backend == "auto":
        try:
            import torch  # noqa: F401
            backend = "torch"
        except ImportError:
            backend = "onnx"

    with open(os.path.join(a.results, "plans.json")) as f:
        plans = json.load(f)
    with open(os.path.join(a.results, "dataset.json")) as f:
        dataset = json.load(f)
    if backend == "onnx":
        return export_without_torch(a, plans, dataset)

    import torch

    ckpt = torch.load(a.checkpoint, map_location="cpu", weights_only=False)
    init_args = ckpt.get("init_args", {})
    configuration = init_args.get("configuration", "3d_fullres")
    conf = resolve_configuration(plans, configuration)
    arch = conf["architecture"]
    kwargs = dict(arch["arch_kwargs"])
    for k in arch.get("_kw_requires_import", []):
        if kwargs.get(k) is not None:
            kwargs[k] = locate(kwargs[k])
    n_in = len(dataset.get("channel_names", dataset.get("modality", {})))
    n_out = count_outputs(dataset)
    net_class = locate(arch["network_class_name"])
    net = net_class(input_channels=n_in, num_classes=n_out, deep_supervision=False, **kwargs)
    weights = ckpt["network_weights"]
    clean = {}
    for k, v in weights.items():
        for prefix in ("module.", "_orig_mod."):
            if k.startswith(prefix):
                k = k[len(prefix):]
        clean[k] = v
    net.load_state_dict(clean)
    net.eval()

    patch = list(conf["patch_size"])
    x = torch.randn(1, n_in, *patch)
    kw = dict(opset_version=OPSET, input_names=["input"], output_names=["logits"], do_constant_folding=True)
    if not a.static:
        axes = {0: "batch", 2: "dim0", 3: "dim1", 4: "dim2"} if len(patch) == 3 else {0: "batch", 2: "dim0", 3: "dim1"}
        kw["dynamic_axes"] = {"input": axes, "logits": axes}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    with torch.no_grad():
        # dynamo=False: the TorchScript exporter (the torch.export one needs onnxscript).
        torch.onnx.export(net, x, tmp, dynamo=False, **kw)
    os.replace(tmp, a.out)

    meta = sidecar(a, ckpt, conf, configuration, n_in, n_out, patch)
    meta["torch"] = torch.__version__
    if a.check:
        import numpy as np
        import onnxruntime as ort
        sess = ort.InferenceSession(a.out, providers=["CPUExecutionProvider"])
        with torch.no_grad():
            ref = net(x).numpy()
        got = sess.run(["logits"], {"input": x.numpy()})[0]
        meta["check_max_abs_diff"] = float(np.abs(ref - got).max())
    write_sidecar(a.out, meta)


def export_without_torch(a, plans, dataset):
    import onnx

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import nnunet_onnx_graph as g

    try:
        ckpt = g.load_checkpoint(a.checkpoint)
        if not isinstance(ckpt, dict) or "network_weights" not in ckpt:
            raise g.Unsupported(f"{a.checkpoint}: no network_weights in the checkpoint")
        init_args = ckpt.get("init_args") or {}
        configuration = init_args.get("configuration", "3d_fullres") if isinstance(init_args, dict) else "3d_fullres"
        conf = resolve_configuration(plans, configuration)
        n_in = len(dataset.get("channel_names", dataset.get("modality", {})))
        n_out = count_outputs(dataset)
        patch = list(conf["patch_size"])
        model = g.build_plain_unet(conf["architecture"], n_in, n_out, ckpt["network_weights"],
                                   dynamic=not a.static, patch=patch, opset=OPSET)
    except g.Unsupported as e:
        sys.exit(f"export without torch: {e}")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, a.out)
    meta = sidecar(a, ckpt, conf, configuration, n_in, n_out, patch)
    meta["torch"] = None
    meta["exporter_backend"] = "onnx (tools/nnunet_onnx_graph.py, onnx " + onnx.__version__ + ")"
    write_sidecar(a.out, meta)


def sidecar(a, ckpt, conf, configuration, n_in, n_out, patch):
    mirror = ckpt.get("inference_allowed_mirroring_axes")
    strides = conf["architecture"]["arch_kwargs"].get("strides", [])
    total = [1] * len(patch)
    for s in strides:
        s = s if isinstance(s, (list, tuple)) else [s] * len(patch)
        total = [t * int(v) for t, v in zip(total, s)]
    trainer = ckpt.get("trainer_name")
    return {
        "format": "ONNX",
        "opset": OPSET,
        "layout": "NCDHW (N, C, dim0, dim1, dim2) float32, nnU-Net axes after transpose_forward",
        "input_name": "input",
        "output_name": "logits",
        "num_input_channels": n_in,
        "num_output_channels": n_out,
        "patch_size": patch,
        "total_stride": total,
        "configuration": configuration,
        "trainer_name": trainer if isinstance(trainer, str) else None,
        "checkpoint": os.path.basename(a.checkpoint),
        "inference_allowed_mirroring_axes": list(mirror) if mirror is not None else None,
        "dynamic": not a.static,
        "output_is": "raw logits (no softmax / sigmoid)",
    }


def write_sidecar(out, meta):
    with open(os.path.join(os.path.dirname(os.path.abspath(out)), "onnx_export.json"), "w") as f:
        json.dump(meta, f, indent=2)


if __name__ == "__main__":
    main()
