"""Build the ONNX graph of an nnU-Net PlainConvUNet straight from its checkpoint, without torch.

`export_nnunet_onnx.py` uses this when torch is not installed (or with `--backend onnx`). Only
numpy and the `onnx` package are needed (both small), so `medseg model import-nnunet` works on a
machine without PyTorch's multi-gigabyte wheels, and the importer's test runs in CI.

Two parts:

* `load_checkpoint(path)`: reads a `torch.save` zip archive (`<name>/data.pkl` + `<name>/data/<key>`
  raw storages) with a restricted unpickler. Tensors become numpy arrays (storage, offset, size,
  stride as recorded); numpy objects are rebuilt by numpy; every other global becomes an inert
  placeholder, so no code from the file is ever run.
* `build_plain_unet(...)`: the eval-mode forward pass of dynamic_network_architectures'
  `PlainConvUNet` (deep supervision off) as ONNX nodes:

      encoder stage s: n_conv_per_stage[s] x (Conv(k_s, stride: strides[s] on the first, pad (k-1)//2)
                       -> InstanceNormalization(eps) -> LeakyRelu(slope)); its output is skip s
      decoder stage s: ConvTranspose(kernel = stride = strides[-(s+1)]) of the previous output,
                       Concat(upsampled, skip[-(s+2)]) on channels, n_conv_per_stage_decoder[s]
                       x (Conv -> InstanceNorm -> LeakyRelu) with the encoder's kernel of that level
      output:          1x1 Conv seg_layers[-1] on the last decoder stage -> logits

  The state-dict names (`encoder.stages.{s}.0.convs.{c}.conv.weight`, `.norm.weight`,
  `decoder.transpconvs.{s}.weight`, `decoder.stages.{s}.convs.{c}...`,
  `decoder.seg_layers.{s}.weight`) are those of dynamic_network_architectures 0.4.x.

Other architectures (ResidualEncoderUNet, BatchNorm, dropout in eval is a no-op) raise
`Unsupported` with a hint to install torch.
"""
import collections
import io
import pickle
import zipfile

import numpy as np

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16",
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class Unsupported(Exception):
    pass


class _Inert:
    """Stands for any class or function the checkpoint names that is not needed here."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Inert()

    def __setstate__(self, state):
        pass


class _StorageType:
    def __init__(self, name):
        self.name = name


def _rebuild_tensor(storage, offset, size, stride, *rest):
    item = storage.itemsize
    if len(size) == 0:
        return storage[offset].copy()
    return np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * item for s in stride)
    ).copy()


def _rebuild_parameter(data, *rest):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, data, archive, prefix, byteorder):
        super().__init__(io.BytesIO(data))
        self.archive = archive
        self.prefix = prefix
        self.order = "<" if byteorder == "little" else ">"
        self.cache = {}

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray") and name in (
            "dtype",
            "ndarray",
            "scalar",
            "_reconstruct",
        ):
            return super().find_class(module, name)
        if module == "builtins" and name in ("set", "frozenset", "slice", "complex"):
            return super().find_class(module, name)
        return _Inert

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel)
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise Unsupported(f"unknown persistent id {pid!r}")
        stype, key = pid[1], str(pid[2])
        if key in self.cache:
            return self.cache[key]
        name = stype.name if isinstance(stype, _StorageType) else "FloatStorage"
        raw = self.archive.read(f"{self.prefix}data/{key}")
        dt = _STORAGE_DTYPES.get(name)
        if dt == "bfloat16":
            u = np.frombuffer(raw, dtype=self.order + "u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        elif dt is None:
            raise Unsupported(f"storage type {name} is not supported")
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder(self.order)).astype(dt)
        self.cache[key] = arr
        return arr


def load_checkpoint(path):
    """A torch.save zip archive -> plain Python objects with numpy arrays for tensors."""
    if not zipfile.is_zipfile(path):
        raise Unsupported(
            f"{path}: not a zip-format torch checkpoint (legacy torch.save format needs torch)"
        )
    with zipfile.ZipFile(path) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise Unsupported(f"{path}: no data.pkl in the archive")
        prefix = pkl[0][: -len("data.pkl")]
        order = "little"
        if f"{prefix}byteorder" in z.namelist():
            order = z.read(f"{prefix}byteorder").decode().strip()
        return _Unpickler(z.read(pkl[0]), z, prefix, order).load()


def _short(name):
    return name.rsplit(".", 1)[-1]


def build_plain_unet(arch, n_in, n_out, weights, dynamic=True, patch=None, opset=17):
    """ONNX ModelProto of PlainConvUNet(arch['arch_kwargs']) with these weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    cls = _short(arch["network_class_name"])
    if cls != "PlainConvUNet":
        raise Unsupported(f"architecture {cls} needs torch (only PlainConvUNet is built without it)")
    kw = arch["arch_kwargs"]
    norm = _short(str(kw.get("norm_op") or ""))
    if norm not in ("InstanceNorm3d", "InstanceNorm2d", "InstanceNorm1d"):
        raise Unsupported(f"norm_op {kw.get('norm_op')} needs torch (only InstanceNorm is built without it)")
    nonlin = _short(str(kw.get("nonlin") or ""))
    if nonlin != "LeakyReLU":
        raise Unsupported(f"nonlin {kw.get('nonlin')} needs torch (only LeakyReLU is built without it)")
    conv = _short(str(kw.get("conv_op") or ""))
    nd = {"Conv3d": 3, "Conv2d": 2, "Conv1d": 1}.get(conv)
    if nd is None:
        raise Unsupported(f"conv_op {kw.get('conv_op')} is not a torch ConvNd")
    eps = float((kw.get("norm_op_kwargs") or {}).get("eps", 1e-5))
    slope = float((kw.get("nonlin_kwargs") or {}).get("negative_slope", 0.01))
    n_stages = int(kw["n_stages"])

    def per_stage(v):
        return [list(x) if isinstance(x, (list, tuple)) else [x] * nd for x in v]

    def as_list(v, n):
        return list(v) if isinstance(v, (list, tuple)) else [v] * n

    feats = as_list(kw["features_per_stage"], n_stages)
    kernels = per_stage(kw["kernel_sizes"])
    strides = per_stage(kw["strides"])
    n_conv = as_list(kw["n_conv_per_stage"], n_stages)
    n_conv_dec = as_list(kw["n_conv_per_stage_decoder"], n_stages - 1)

    w = {}
    for k, v in weights.items():
        for p in ("module.", "_orig_mod."):
            if k.startswith(p):
                k = k[len(p):]
        w[k] = np.asarray(v, dtype=np.float32)
    used = set()
    inits, nodes = [], []

    def init(key):
        if key not in w:
            raise Unsupported(f"checkpoint has no {key} (not a PlainConvUNet state dict?)")
        used.add(key)
        inits.append(numpy_helper.from_array(w[key], key))
        return key

    counter = [0]

    def fresh(tag):
        counter[0] += 1
        return f"{tag}_{counter[0]}"

    def conv_block(x, prefix, kernel, stride):
        wkey = f"{prefix}.conv.weight"
        inputs = [x, init(wkey)]
        if f"{prefix}.conv.bias" in w:
            inputs.append(init(f"{prefix}.conv.bias"))
        y = fresh("conv")
        nodes.append(
            helper.make_node(
                "Conv",
                inputs,
                [y],
                kernel_shape=kernel,
                strides=stride,
                pads=[(k - 1) // 2 for k in kernel] * 2,
                name=y,
            )
        )
        z = fresh("norm")
        nodes.append(
            helper.make_node(
                "InstanceNormalization",
                [y, init(f"{prefix}.norm.weight"), init(f"{prefix}.norm.bias")],
                [z],
                epsilon=eps,
                name=z,
            )
        )
        a = fresh("act")
        nodes.append(helper.make_node("LeakyRelu", [z], [a], alpha=slope, name=a))
        return a

    x = "input"
    skips = []
    for s in range(n_stages):
        for c in range(n_conv[s]):
            x = conv_block(
                x, f"encoder.stages.{s}.0.convs.{c}", kernels[s], strides[s] if c == 0 else [1] * nd
            )
        skips.append(x)
    lres = skips[-1]
    for s in range(n_stages - 1):
        st = strides[-(s + 1)]
        up = fresh("up")
        ins = [lres, init(f"decoder.transpconvs.{s}.weight")]
        if f"decoder.transpconvs.{s}.bias" in w:
            ins.append(init(f"decoder.transpconvs.{s}.bias"))
        nodes.append(helper.make_node("ConvTranspose", ins, [up], kernel_shape=st, strides=st, name=up))
        cat = fresh("cat")
        nodes.append(helper.make_node("Concat", [up, skips[-(s + 2)]], [cat], axis=1, name=cat))
        x = cat
        for c in range(n_conv_dec[s]):
            x = conv_block(x, f"decoder.stages.{s}.convs.{c}", kernels[-(s + 2)], [1] * nd)
        lres = x
    last = n_stages - 2
    seg_in = [lres, init(f"decoder.seg_layers.{last}.weight")]
    if f"decoder.seg_layers.{last}.bias" in w:
        seg_in.append(init(f"decoder.seg_layers.{last}.bias"))
    nodes.append(
        helper.make_node("Conv", seg_in, ["logits"], kernel_shape=[1] * nd, strides=[1] * nd, name="seg")
    )
    seg_w = w[f"decoder.seg_layers.{last}.weight"]
    if seg_w.shape[0] != n_out:
        raise Unsupported(f"segmentation layer has {seg_w.shape[0]} outputs, dataset.json gives {n_out}")
    first = w["encoder.stages.0.0.convs.0.conv.weight"]
    if first.shape[1] != n_in:
        raise Unsupported(f"first convolution takes {first.shape[1]} channels, dataset.json gives {n_in}")
    if dynamic:
        spatial = [f"dim{i}" for i in range(nd)]
        in_shape, out_shape = ["batch", n_in] + spatial, ["batch", n_out] + spatial
    else:
        in_shape, out_shape = [1, n_in] + list(patch), [1, n_out] + list(patch)
    graph = helper.make_graph(
        nodes,
        "nnunet_plain_conv_unet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, out_shape)],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="medseg"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    # Weights of the network that the graph does not use mean a layout this builder misreads.
    skipped = [
        k
        for k in w
        if k not in used
        and not k.startswith("decoder.encoder.")
        and ".all_modules." not in k
        and not k.startswith("decoder.seg_layers.")
    ]
    if skipped:
        raise Unsupported(f"checkpoint weights not placed in the graph: {skipped[:5]}")
    return model
