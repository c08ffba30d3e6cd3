//! Pure preprocessing functions on images: orientation, resampling, crop/pad, intensity.
//! Each returns an undo record where the grid changes, so results map back exactly.
//!
//! | module | what |
//! |---|---|
//! | [`orient`] | reorient to an axis code or the closest canonical orientation (permutation/flip) |
//! | [`resample`] | nearest / linear / cubic B-spline / label-aware resampling onto a new grid |
//! | [`intensity`] | window level/width and CT presets, percentile rescale, z-score, nnU-Net CT |
//! | [`crop_pad`] | crop to a (labelled) bounding box, pad, keep labelled slices |
//!
//! Undo records carry the input grid verbatim, so applying one restores the input geometry bit
//! for bit. [`Undo`] collects them in one serialisable type (the CLI's `--undo-info` JSON).

pub mod crop_pad;
pub mod cv_resize;
pub mod intensity;
pub mod orient;
pub mod resample;

use crate::error::Result;
use crate::image::DynImage;
use serde::{Deserialize, Serialize};

/// One grid-changing step and how to reverse it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Undo {
    Reorient(orient::OrientUndo),
    Resample(resample::ResampleUndo),
    Crop(crop_pad::CropUndo),
    Pad(crop_pad::PadUndo),
    Slices(crop_pad::SlicesUndo),
}

impl Undo {
    /// Bring `img` (on this step's output grid) back to the step's input grid. `fill` is the value
    /// outside a crop; `interpolation` is used to undo a resampling (label/nearest for label maps).
    pub fn apply(
        &self,
        img: &DynImage,
        fill: f64,
        interpolation: resample::Interpolation,
    ) -> Result<DynImage> {
        match self {
            Undo::Reorient(u) => u.apply_dyn(img),
            Undo::Resample(u) => u.apply_dyn(
                img,
                &resample::ResampleOptions {
                    interpolation,
                    default_value: fill,
                    ..Default::default()
                },
            ),
            Undo::Crop(u) => u.apply_dyn(img, fill),
            Undo::Pad(u) => u.apply_dyn(img),
            Undo::Slices(u) => crate::dispatch!(img, i => u.apply(i, fill).map(DynImage::from)),
        }
    }

    /// The record as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// Parse a record written by [`Undo::to_json`].
    pub fn from_json(text: &str) -> Result<Undo> {
        serde_json::from_str(text)
            .map_err(|e| crate::Error::format(format!("undo record is not valid: {e}")))
    }
}
