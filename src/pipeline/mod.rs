//! Pipelines: a model folder of any supported kind behind one interface, and the sequences of
//! steps that bring its products back onto the input grid.
//!
//! * [`Model`] = a plain nnU-Net model ([`NnUnetModel`]) or the two-step TotalSpineSeg pipeline
//!   ([`spine::SpineModel`]); [`Model::load`] tells them apart ([`PipelineKind::Auto`]: a
//!   folder with `step1/` and `step2/`, or a `medseg.json` of kind `totalspineseg`, is a spine
//!   model), [`Model::predict`] returns the final label map on the first image's grid and
//!   [`Model::labels`] its label values, names and colours. The C API, the ITK filter and the
//!   Slicer CLI call exactly these.
//! * [`spine`]: `totalspineseg/inference.py` in memory (spec `totalspineseg.md` §2).
//!
//! ```no_run
//! use medseg::inference::predict::PredictConfig;
//! use medseg::pipeline::{Model, PipelineKind};
//! # fn main() -> medseg::Result<()> {
//! let model = Model::load(std::path::Path::new("models/totalspineseg"), PipelineKind::Auto)?;
//! let img = medseg::io::read(std::path::Path::new("t2.nii.gz"), &Default::default())?;
//! let labels = model.predict(&[img], &PredictConfig::default(), &mut |f, stage| {
//!     eprintln!("{:3.0}% {stage}", f * 100.0);
//!     true // false cancels (ErrorKind::Cancelled, nothing returned)
//! })?;
//! for (value, name, rgb) in model.labels() {
//!     println!("{value} {name} {rgb:?}");
//! }
//! # let _ = labels; Ok(()) }
//! ```

pub mod spine;

use crate::error::{Error, ErrorKind, Result};
use crate::image::DynImage;
use crate::inference::Progress;
use crate::inference::predict::{NnUnetModel, PredictConfig};
use std::path::Path;

pub use spine::{SpineConfig, SpineModel, SpineOutputs};

/// Which kind of model folder [`Model::load`] expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PipelineKind {
    /// Decide from the folder: a spine model when `step1/` and `step2/` exist or the manifest
    /// says `"kind": "totalspineseg"`, else an nnU-Net model.
    #[default]
    Auto,
    /// A single nnU-Net model folder.
    NnUnet,
    /// A TotalSpineSeg model folder (`step1/` + `step2/`).
    Spine,
}

impl std::str::FromStr for PipelineKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(PipelineKind::Auto),
            "nnunet" => Ok(PipelineKind::NnUnet),
            "spine" | "totalspineseg" => Ok(PipelineKind::Spine),
            other => Err(Error::invalid_argument(format!(
                "pipeline kind '{other}' (expected auto, nnunet or spine)"
            ))),
        }
    }
}

/// A loaded model of any supported kind.
// Models are loaded once per run and moved rarely; the variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Model {
    NnUnet(NnUnetModel),
    Spine(SpineModel),
}

impl Model {
    /// Load `dir` as `kind`.
    pub fn load(dir: &Path, kind: PipelineKind) -> Result<Model> {
        let kind = match kind {
            PipelineKind::Auto => {
                if SpineModel::is_spine_folder(dir) {
                    PipelineKind::Spine
                } else {
                    PipelineKind::NnUnet
                }
            }
            k => k,
        };
        Ok(match kind {
            PipelineKind::Spine => Model::Spine(SpineModel::load(dir)?),
            _ => Model::NnUnet(NnUnetModel::load(dir)?),
        })
    }

    /// The kind that was loaded (never `Auto`).
    pub fn kind(&self) -> PipelineKind {
        match self {
            Model::NnUnet(_) => PipelineKind::NnUnet,
            Model::Spine(_) => PipelineKind::Spine,
        }
    }

    /// Input images (channels) [`Model::predict`] takes.
    pub fn in_channels(&self) -> usize {
        match self {
            Model::NnUnet(m) => m.manifest.in_channels,
            Model::Spine(_) => 1,
        }
    }

    /// The final label map on the first image's grid: the nnU-Net segmentation, or
    /// TotalSpineSeg's `step2_output` (spec §5.1 values) with `cfg` used for both networks.
    /// Cancelling through `progress` returns [`ErrorKind::Cancelled`].
    pub fn predict(
        &self,
        images: &[DynImage],
        cfg: &PredictConfig,
        progress: Progress<'_>,
    ) -> Result<DynImage> {
        match self {
            Model::NnUnet(m) => Ok(m.predict_images(images, cfg, progress)?.labels),
            Model::Spine(m) => {
                let [image] = images else {
                    return Err(Error::mismatch(format!(
                        "the TotalSpineSeg pipeline takes 1 input image, got {}",
                        images.len()
                    )));
                };
                let sc = SpineConfig {
                    predict: cfg.clone(),
                    ..Default::default()
                };
                let out = m.run(image, &sc, progress)?;
                match out.step2_output {
                    Some(o) => Ok(o),
                    None => Err(out
                        .errors
                        .into_iter()
                        .map(|(_, e)| e)
                        .next()
                        .unwrap_or_else(|| {
                            Error::new(ErrorKind::Internal, "step 2 produced no output")
                        })),
                }
            }
        }
    }

    /// `(value, name, colour)` of every non-background label [`Model::predict`] can write.
    pub fn labels(&self) -> Vec<(u32, String, [u8; 3])> {
        match self {
            Model::NnUnet(m) => m
                .manifest
                .labels
                .iter()
                .filter(|l| l.value > 0)
                .map(|l| (l.value as u32, l.name.clone(), l.color))
                .collect(),
            Model::Spine(_) => spine::final_labels(),
        }
    }
}
