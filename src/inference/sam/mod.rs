//! Promptable segmentation with SAM-family models (LiteMedSAM first): box prompts in 2D and 3D,
//! exactly as the CVPR 2024 "MedSAM on Laptop" baseline (`CVPR24_LiteMedSAM_infer.py`) runs them.
//!
//! Pipeline of one slice (medsam spec §3.1), every step a function here so it can be checked
//! against the oracle:
//!
//! 1. [`prepare_slice`]: grey → 3 channels (alpha dropped), longest side resized to T with
//!    OpenCV `INTER_AREA` on uint8 ([`crate::preprocess::cv_resize`], its upscaling branch
//!    included), min–max normalised over all pixels and channels in float64, zero-padded at the
//!    bottom and right, channels first.
//! 2. The encoder (one call per slice, batched over slices when the graph allows it).
//! 3. [`scale_box`]: each coordinate `trunc(c · T / max(H, W))`.
//! 4. The decoder: all boxes of one slice in one call; mask token 0.
//! 5. [`mask_from_logits`]: crop to the resized image, bilinear with half-pixel centres to H × W,
//!    foreground where `sigmoid(logit) > 0.5` in float32 (the baseline's test).
//!
//! 3D propagation, the embedding cache and the rules for degenerate boxes are in [`propagate`];
//! reading the challenge's npz files and medical images in [`challenge`] and [`input`].
//!
//! Everything that runs a network goes through the [`SamBackend`] trait: [`SamModel`] implements
//! it over two ONNX Runtime sessions ([`crate::inference::onnx`] is the only file that touches
//! the runtime); tests implement it with a stub decoder.

pub mod challenge;
pub mod input;
pub mod manifest;
pub mod propagate;

use crate::error::{Error, Result};
use crate::inference::onnx::{OnnxGraph, SessionConfig};
use crate::preprocess::cv_resize;
use manifest::SamManifest;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Low-resolution decoder output for N boxes.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// N × L × L logits (mask token already selected).
    pub logits: Vec<f32>,
    /// N predicted IoU values.
    pub iou: Vec<f32>,
}

/// What the engine needs from a SAM-family network.
pub trait SamBackend: Sync {
    /// T, the side of the square encoder input.
    fn input_size(&self) -> usize;
    /// L, the side of the low-resolution logits.
    fn lowres_size(&self) -> usize;
    /// Number of f32 values of one embedding.
    fn embedding_len(&self) -> usize;
    /// How many slices one encoder call may take.
    fn max_batch(&self) -> usize;
    /// Encode `n` inputs (`n × 3 × T × T`, C order) into `n` embeddings, concatenated.
    fn encode(&self, inputs: &[f32], n: usize) -> Result<Vec<f32>>;
    /// Decode `boxes` (x0, y0, x1, y1 in the T frame) against one embedding.
    fn decode(&self, embedding: &[f32], boxes: &[[f32; 4]]) -> Result<Decoded>;
    /// The propagation policy.
    fn propagation(&self) -> manifest::PropagationEntry {
        manifest::PropagationEntry::default()
    }
    /// Threshold on the logits (0: `sigmoid > 0.5`).
    fn threshold(&self) -> f32 {
        0.0
    }
}

/// A loaded SAM-family model: its manifest and two ONNX Runtime sessions. Immutable once loaded
/// and shareable between threads (each session is used by one thread at a time).
#[derive(Debug)]
pub struct SamModel {
    /// The manifest.
    pub manifest: SamManifest,
    /// The model folder.
    pub dir: PathBuf,
    encoder: Mutex<OnnxGraph>,
    decoder: Mutex<OnnxGraph>,
    max_batch: usize,
    dynamic_batch: bool,
    device: String,
    device_note: Option<String>,
}

/// Encoder calls take at most this many slices by default. The graph takes any batch, but on a
/// 2-core CPU batch 4 was no faster per slice than batch 1 (2.81 vs 2.88 s) and raised peak
/// memory to 1.7 GB, so the default is one slice per call; [`SamModel::set_max_batch`] raises it
/// (worth it on a GPU).
pub const DEFAULT_ENCODER_BATCH: usize = 1;

fn graph_mismatch(path: &Path, m: String) -> Error {
    Error::mismatch(format!("{}: {m}", path.display()))
}

impl SamModel {
    /// Load `dir` (`medseg.json` of kind `sam` + the ONNX files it names, SHA-256 checked).
    pub fn load(dir: &Path, cfg: &SessionConfig) -> Result<SamModel> {
        let manifest = SamManifest::load(dir)?;
        let ep = manifest.encoder_path(dir);
        let dp = manifest.decoder_path(dir);
        let encoder = OnnxGraph::open(&ep, cfg)?;
        let decoder = OnnxGraph::open(&dp, cfg)?;
        let t = manifest.input_size as i64;
        let d = encoder.input_dims(&manifest.encoder.input_name)?;
        if d.len() != 4 || d[1] != 3 || d[2] != t || d[3] != t {
            return Err(graph_mismatch(
                &ep,
                format!("encoder input {d:?}, the manifest says [B, 3, {t}, {t}]"),
            ));
        }
        let e = encoder.output_dims(&manifest.encoder.output_name)?;
        let es = manifest.encoder.embedding_shape;
        if e.len() != 4
            || e[1..]
                .iter()
                .zip(es)
                .any(|(&a, b)| a >= 0 && a as usize != b)
        {
            return Err(graph_mismatch(
                &ep,
                format!("encoder output {e:?}, the manifest says [B, {es:?}]"),
            ));
        }
        let dynamic = d[0] < 0 && manifest.encoder.dynamic_batch;
        let max_batch = if dynamic { DEFAULT_ENCODER_BATCH } else { 1 };
        decoder.input_dims(&manifest.decoder.embeddings_name)?;
        let b = decoder.input_dims(&manifest.decoder.boxes_name)?;
        if b.len() != 2 || b[1] != 4 {
            return Err(graph_mismatch(
                &dp,
                format!("decoder boxes input {b:?}, expected [N, 4]"),
            ));
        }
        decoder.output_dims(&manifest.decoder.masks_name)?;
        decoder.output_dims(&manifest.decoder.iou_name)?;
        let device = encoder.device_used().to_string();
        let device_note = encoder.device_note().map(String::from);
        Ok(SamModel {
            manifest,
            dir: dir.to_path_buf(),
            encoder: Mutex::new(encoder),
            decoder: Mutex::new(decoder),
            max_batch,
            dynamic_batch: dynamic,
            device,
            device_note,
        })
    }

    /// The device the sessions run on.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Why `auto` fell back to CPU, if it did.
    pub fn device_note(&self) -> Option<&str> {
        self.device_note.as_deref()
    }

    /// Slices per encoder call (1 = one slice per call); ignored when the graph has a fixed batch.
    pub fn set_max_batch(&mut self, n: usize) {
        if self.dynamic_batch {
            self.max_batch = n.max(1);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| Error::internal("SAM session lock poisoned"))
}

impl SamBackend for SamModel {
    fn input_size(&self) -> usize {
        self.manifest.input_size
    }
    fn lowres_size(&self) -> usize {
        self.manifest.decoder.lowres_size
    }
    fn embedding_len(&self) -> usize {
        self.manifest.encoder.embedding_shape.iter().product()
    }
    fn max_batch(&self) -> usize {
        self.max_batch
    }
    fn propagation(&self) -> manifest::PropagationEntry {
        self.manifest.propagation.clone()
    }
    fn threshold(&self) -> f32 {
        self.manifest.postprocess.threshold as f32
    }
    fn encode(&self, inputs: &[f32], n: usize) -> Result<Vec<f32>> {
        let t = self.input_size();
        let name = self.manifest.encoder.input_name.as_str();
        let out = self.manifest.encoder.output_name.as_str();
        let mut g = lock(&self.encoder)?;
        let r = g.run(&[(name, &[n, 3, t, t], inputs)], &[out])?;
        let e = &r[0];
        if e.data.len() != n * self.embedding_len() {
            return Err(Error::mismatch(format!(
                "encoder returned shape {:?} for {n} slices",
                e.shape
            )));
        }
        Ok(r.into_iter().next().map(|t| t.data).unwrap_or_default())
    }
    fn decode(&self, embedding: &[f32], boxes: &[[f32; 4]]) -> Result<Decoded> {
        let m = &self.manifest.decoder;
        let es = self.manifest.encoder.embedding_shape;
        let flat: Vec<f32> = boxes.iter().flatten().copied().collect();
        let n = boxes.len();
        let mut g = lock(&self.decoder)?;
        let r = g.run(
            &[
                (
                    m.embeddings_name.as_str(),
                    &[1, es[0], es[1], es[2]],
                    embedding,
                ),
                (m.boxes_name.as_str(), &[n, 4], &flat),
            ],
            &[m.masks_name.as_str(), m.iou_name.as_str()],
        )?;
        let l = m.lowres_size;
        let (masks, iou) = (&r[0], &r[1]);
        if masks.shape.len() != 4
            || masks.shape[0] != n
            || masks.shape[2] != l
            || masks.shape[3] != l
            || masks.shape[1] <= m.mask_token
        {
            return Err(Error::mismatch(format!(
                "decoder returned masks {:?} for {n} boxes, expected [{n}, >{}, {l}, {l}]",
                masks.shape, m.mask_token
            )));
        }
        let k = masks.shape[1];
        let mut logits = Vec::with_capacity(n * l * l);
        let mut ious = Vec::with_capacity(n);
        for b in 0..n {
            let off = (b * k + m.mask_token) * l * l;
            logits.extend_from_slice(&masks.data[off..off + l * l]);
            let ik = iou.data.len() / n.max(1);
            ious.push(
                iou.data
                    .get(b * ik + m.mask_token.min(ik.saturating_sub(1)))
                    .copied()
                    .unwrap_or(f32::NAN),
            );
        }
        Ok(Decoded { logits, iou: ious })
    }
}

/// `(new_h, new_w)` of the longest-side resize: `s = T / max(H, W)`, `int(x · s + 0.5)`.
pub fn resized_size(h: usize, w: usize, t: usize) -> (usize, usize) {
    let s = t as f64 / h.max(w) as f64;
    let nh = ((h as f64 * s + 0.5) as usize).max(1);
    let nw = ((w as f64 * s + 0.5) as usize).max(1);
    (nh, nw)
}

/// One slice ready for the encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// `3 × T × T` float32, channels first.
    pub input: Vec<f32>,
    /// Size of the resized image inside the padded square.
    pub new_hw: (usize, usize),
}

/// Preprocess one H × W slice with `channels` interleaved components (1: grey, replicated to 3;
/// 3: RGB; 4: RGBA, alpha dropped) into the encoder input (medsam spec §3.1 steps 2–4).
pub fn prepare_slice(
    pixels: &[u8],
    h: usize,
    w: usize,
    channels: usize,
    t: usize,
) -> Result<Prepared> {
    if pixels.len() != h * w * channels || h == 0 || w == 0 {
        return Err(Error::invalid_argument(format!(
            "slice of {h} x {w} x {channels} needs {} bytes, got {}",
            h * w * channels,
            pixels.len()
        )));
    }
    let rgb: std::borrow::Cow<'_, [u8]> = match channels {
        3 => pixels.into(),
        1 => pixels
            .iter()
            .flat_map(|&v| [v, v, v])
            .collect::<Vec<u8>>()
            .into(),
        4 => pixels
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect::<Vec<u8>>()
            .into(),
        c => {
            return Err(Error::unsupported(format!(
                "a slice with {c} channels (expected 1, 3 or 4)"
            )));
        }
    };
    let (nh, nw) = resized_size(h, w, t);
    let resized = cv_resize::resize_area_u8(&rgb, h, w, 3, nh, nw)?;
    let (mn, mx) = resized
        .iter()
        .fold((255u8, 0u8), |(a, b), &v| (a.min(v), b.max(v)));
    let (mn, range) = (mn as f64, (mx as f64 - mn as f64).max(1e-8));
    let mut input = vec![0f32; 3 * t * t];
    for y in 0..nh {
        for x in 0..nw {
            for c in 0..3 {
                let v = resized[(y * nw + x) * 3 + c] as f64;
                input[(c * t + y) * t + x] = ((v - mn) / range) as f32;
            }
        }
    }
    Ok(Prepared {
        input,
        new_hw: (nh, nw),
    })
}

/// A box `(x0, y0, x1, y1)` in original pixels scaled to the T frame the baseline's way:
/// `trunc(c · (T / max(H, W)))` per coordinate (float64, truncation toward zero).
pub fn scale_box(b: [f64; 4], h: usize, w: usize, t: usize) -> [f32; 4] {
    let r = t as f64 / h.max(w) as f64;
    b.map(|c| (c * r).trunc() as f32)
}

/// float32 logistic as torch computes it, so `> 0.5` flips exactly where the baseline's does.
fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Low-resolution logits (L × L) → H × W foreground: crop to the resized image, bilinear with
/// half-pixel centres to H × W, `sigmoid(logit) > sigmoid(threshold)`. With `L ≠ T` the logits
/// are first brought to T × T (SAM's order).
pub fn mask_from_logits(
    logits: &[f32],
    l: usize,
    t: usize,
    new_hw: (usize, usize),
    h: usize,
    w: usize,
    threshold: f32,
) -> Result<Vec<bool>> {
    let full;
    let (grid, side) = if l == t {
        (logits, l)
    } else {
        full = cv_resize::resize_bilinear_f32(logits, l, l, t, t)?;
        (&full[..], t)
    };
    let (nh, nw) = new_hw;
    let mut crop = Vec::with_capacity(nh * nw);
    for y in 0..nh {
        crop.extend_from_slice(&grid[y * side..y * side + nw]);
    }
    let up = cv_resize::resize_bilinear_f32(&crop, nh, nw, h, w)?;
    let cut = sigmoid_f32(threshold);
    Ok(up.iter().map(|&v| sigmoid_f32(v) > cut).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resized_sizes_match_the_oracle() {
        // oracles/medsam/out/preproc: 300x420 -> 183x256, 1000x333 -> 256x85, 64x80 -> 205x256.
        assert_eq!(resized_size(300, 420, 256), (183, 256));
        assert_eq!(resized_size(1000, 333, 256), (256, 85));
        assert_eq!(resized_size(64, 80, 256), (205, 256));
        assert_eq!(resized_size(97, 256, 256), (97, 256));
        assert_eq!(resized_size(977, 920, 256), (256, 241));
    }

    #[test]
    fn box_scaling_truncates() {
        // 300x420 case of the preproc oracle: [105, 100, 315, 250] -> [64, 60, 192, 152].
        assert_eq!(
            scale_box([105.0, 100.0, 315.0, 250.0], 300, 420, 256),
            [64.0, 60.0, 192.0, 152.0]
        );
        assert_eq!(
            scale_box([1.0, 2.0, 3.0, 5.0], 512, 512, 256),
            [0.0, 1.0, 1.0, 2.0]
        );
    }

    #[test]
    fn sigmoid_threshold_is_the_baselines() {
        assert!(sigmoid_f32(1e-3) > 0.5);
        // A logit this close to 0 rounds to exactly 0.5 in float32: background, as in torch.
        assert!(sigmoid_f32(5e-8) <= 0.5);
        assert!(sigmoid_f32(-1e-3) < 0.5);
    }
}
