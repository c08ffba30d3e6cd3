//! # medseg — native medical-image segmentation
//!
//! A pure Rust core with thin shells (CLI, C ABI, ITK filter, Slicer module):
//!
//! | module | what |
//! |---|---|
//! | [`error`] | one [`Error`] type (kind + message + source) |
//! | [`image`] | [`Image<T>`](image::Image) = voxels + [`Geometry`](image::Geometry) (LPS), [`DynImage`](image::DynImage), borrowed views |
//! | [`io`] | one file per format; detection, limits, atomic writes |
//! | [`preprocess`] | orientation, resampling, crop/pad, intensity (pure functions with undo records) |
//! | [`postprocess`] | components, morphology, hole filling, relabelling, metrics |
//! | [`inference`] | ONNX Runtime sessions, sliding window, nnU-Net and SAM predictors |
//! | [`spine`] | TotalSpineSeg post-processing |
//! | [`pipeline`] | sequencing with undo records back to the input grid |
//! | [`preview`] | PNG/JPEG pictures |
//! | [`ffi`] | the C ABI (`include/medseg.h`) |
//!
//! Dependency direction: `ffi` → `pipeline`, `spine` → `inference`, `preprocess`, `postprocess`,
//! `io`, `preview` → `image` → `error`. Nothing below calls upward.
//!
//! Conventions: index (i, j, k) with i fastest in memory; physical space LPS (RAS only at the
//! NIfTI/Slicer edges, through [`image::ras_lps_flip`]); `unsafe` only in `ffi/`,
//! `image/view.rs` and `image/buffer.rs` (one `madvise`).

#![deny(unsafe_code)]
#![warn(missing_debug_implementations)]
// Numeric kernels index several parallel arrays with one loop variable; iterator rewrites
// obscure them. `!(a < b)` comparisons are deliberate where NaN must take the other branch.
#![allow(clippy::needless_range_loop, clippy::neg_cmp_op_on_partial_ord)]

pub mod error;
pub mod image;
pub mod inference;
pub mod io;
pub mod pipeline;
pub mod postprocess;
pub mod preprocess;
pub mod preview;
pub mod spine;

#[allow(unsafe_code)]
pub mod ffi;

pub use error::{Error, ErrorKind, Result};
pub use image::{DynImage, Geometry, Image, Pixel, PixelType};

/// The crate version (from Cargo.toml).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
