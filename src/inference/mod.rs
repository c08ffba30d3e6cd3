//! Inference: runtime-agnostic predictors (sliding window, nnU-Net, SAM); `onnx.rs` is the only
//! file that touches ONNX Runtime.
//!
//! * [`Predictor`]: "a network" — a batch of `(N, C, d0, d1, d2)` tiles in, `(N, K, ...)` logits
//!   out. [`onnx::OnnxPredictor`] implements it over an ONNX Runtime session; tests implement it
//!   analytically (identity, ×2) so the sliding window is checked without a runtime.
//! * [`sliding_window`]: nnU-Net's tiling, Gaussian weighting, mirroring and float16 accumulation.
//! * [`nnunet`]: nnU-Net's preprocessing (transpose, crop, normalisation, resampling) and export
//!   (logit resampling, softmax / region painting, un-cropping) around the sliding window.
//! * [`manifest`]: `medseg.json` model manifests and nnU-Net results folders.
//! * [`runtime`]: where the ONNX Runtime library is found (no download, ever).
//!
//! Progress and cancellation: every long call takes a [`Progress`] callback
//! `FnMut(fraction, stage) -> bool`; returning `false` stops the work with
//! [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) and nothing is written.

pub mod import;
pub mod manifest;
pub mod nnunet;
pub mod nnunet_resample;
pub mod onnx;
pub mod predict;
pub mod runtime;
pub mod sam;
pub mod sliding_window;

use crate::error::Result;

/// A network evaluated on batches of tiles.
pub trait Predictor: Send {
    /// Input channels C the network takes.
    fn in_channels(&self) -> usize;
    /// Output channels K (logits) the network produces.
    fn out_channels(&self) -> usize;
    /// Evaluate `input` (C-order `shape = [N, C, d0, d1, d2]`, float32) into `output`
    /// (`[N, K, d0, d1, d2]`, float32, already sized by the caller).
    fn predict(&mut self, input: &[f32], shape: [usize; 5], output: &mut [f32]) -> Result<()>;
}

/// Progress callback: `(fraction in [0, 1], stage name) -> keep going`.
pub type Progress<'a> = &'a mut dyn FnMut(f64, &str) -> bool;

/// A progress callback that never cancels and reports nothing.
pub fn no_progress() -> impl FnMut(f64, &str) -> bool {
    |_, _| true
}
