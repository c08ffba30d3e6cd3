//! TotalSpineSeg: the non-neural half of the two-step spine pipeline (spec
//! `specs/totalspineseg.md`), voxel-identical to totalspineseg 20260807.
//!
//! | utility | function |
//! |---|---|
//! | largest component (binarize + dilate) | [`largest_component`] |
//! | iterative labeling (§3) | [`iterative_label`] with [`IterativeLabelParams`] |
//! | fill canal | [`fill_canal`] |
//! | odd discs | [`extract_alternate`] |
//!
//! The algorithms work in voxel indices on label buffers laid out like medseg images (x
//! fastest, see [`Dims`]); wherever numpy/scipy's C order decides a tie it is reproduced.

pub mod fitpack;
pub mod iterative;
pub mod levels;
pub mod npz;
pub mod ops;
pub mod pipeline;
pub mod preview;
pub mod resample;
pub mod utils;
pub mod vol;

pub use iterative::{IterativeLabelParams, L5sRule, iterative_label};
pub use levels::{LevelsParams, extract_levels};
pub use utils::{crop_box, extract_alternate, extract_soft, fill_canal, largest_component};
pub use vol::Dims;
