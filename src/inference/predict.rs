//! Images in, label map out: an nnU-Net model folder run through ONNX Runtime.
//!
//! ```no_run
//! use medseg::inference::predict::{NnUnetModel, PredictConfig};
//! let model = NnUnetModel::load(std::path::Path::new("models/my_model")).unwrap();
//! let img = medseg::io::read(std::path::Path::new("ct.nii.gz"), &Default::default()).unwrap();
//! let seg = model
//!     .predict_images(&[img], &PredictConfig::default(), &mut |_, _| true)
//!     .unwrap();
//! println!("{:?}", seg.labels.geometry().size);
//! ```

use super::manifest::Manifest;
use super::nnunet::{self, NnUnetOptions, Plan};
use super::onnx::{OnnxPredictor, SessionConfig};
use super::{Predictor, Progress};
use crate::error::{Error, ErrorKind, Result};
use crate::image::{DynImage, Geometry, Image};
use std::path::{Path, PathBuf};

/// A loaded nnU-Net model folder (manifest + plan); sessions are created per run.
#[derive(Debug, Clone)]
pub struct NnUnetModel {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub plan: Plan,
}

/// Everything a prediction run can be told.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PredictConfig {
    /// Folds by name (`None` = all in the manifest).
    pub folds: Option<Vec<String>>,
    /// Predictor options (TTA, step, parity, probabilities, batch).
    pub options: NnUnetOptions,
    /// Runtime / device / threads.
    pub session: SessionConfig,
}

/// Result on the input grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Segmentation {
    /// Label map (u8, or u16 when labels exceed 255) with the first input's geometry.
    pub labels: DynImage,
    /// `K` frames of float32 probabilities, when asked for.
    pub probabilities: Option<Image<f32>>,
    /// Device the sessions ran on.
    pub device: String,
    /// Notes (e.g. why `auto` fell back to CPU).
    pub notes: Vec<String>,
}

impl NnUnetModel {
    /// Load a medseg manifest folder or an nnU-Net results folder with exported ONNX folds.
    pub fn load(dir: &Path) -> Result<NnUnetModel> {
        let manifest = Manifest::load(dir)?;
        let plan = Plan::from_manifest(&manifest).map_err(|e| e.context(dir.display()))?;
        Ok(NnUnetModel {
            dir: dir.to_path_buf(),
            manifest,
            plan,
        })
    }

    /// Split the inputs into channel arrays (sitk order) and check they share a grid.
    fn channels(&self, images: &[DynImage]) -> Result<(Vec<Vec<f32>>, Geometry)> {
        let first = images
            .first()
            .ok_or_else(|| Error::invalid_argument("no input image"))?;
        let geom = *first.geometry();
        let mut chans = Vec::new();
        for (n, img) in images.iter().enumerate() {
            if img.components() != 1 {
                return Err(Error::unsupported(format!(
                    "input {n} has {} components per voxel; give one image per channel",
                    img.components()
                )));
            }
            let g = img.geometry();
            let sp_ok = (0..3)
                .all(|a| (g.spacing[a] - geom.spacing[a]).abs() <= 1e-5 * geom.spacing[a].abs());
            if g.size != geom.size || !sp_ok {
                return Err(Error::mismatch(format!(
                    "input {n} has size {:?} / spacing {:?}, input 0 has {:?} / {:?}; all channels must share a grid",
                    g.size, g.spacing, geom.size, geom.spacing
                )));
            }
            let f: Image<f32> = img.cast::<f32>();
            let (_, _, frames, data) = f.into_parts();
            let vox = geom.voxel_count();
            for t in 0..frames {
                chans.push(data[t * vox..(t + 1) * vox].to_vec());
            }
        }
        let want = self.manifest.in_channels;
        if chans.len() != want {
            return Err(Error::mismatch(format!(
                "model '{}' takes {want} input channel(s) ({}), got {} (from {} image(s))",
                self.manifest.name,
                self.manifest.channel_names.join(", "),
                chans.len(),
                images.len()
            )));
        }
        Ok((chans, geom))
    }

    /// Run the model on `images` (one per channel, or one multi-frame image).
    pub fn predict_images(
        &self,
        images: &[DynImage],
        cfg: &PredictConfig,
        progress: Progress<'_>,
    ) -> Result<Segmentation> {
        let (chans, geom) = self.channels(images)?;
        let refs: Vec<&[f32]> = chans.iter().map(|c| c.as_slice()).collect();
        let [ni, nj, nk] = geom.size;
        let shape = [nk, nj, ni];
        let spacing = [
            geom.spacing[2].abs(),
            geom.spacing[1].abs(),
            geom.spacing[0].abs(),
        ];
        let folds = self.manifest.select_folds(cfg.folds.as_deref())?;
        let mut device = String::from("cpu");
        let mut notes = Vec::new();
        let m = &self.manifest;
        let mut make = |i: usize| -> Result<Box<dyn Predictor>> {
            let f = folds
                .get(i)
                .ok_or_else(|| Error::internal(format!("fold index {i}")))?;
            let p = OnnxPredictor::open(
                &self.dir.join(&f.onnx),
                &f.input_name,
                &f.output_name,
                m.in_channels,
                m.out_channels,
                &cfg.session,
            )?;
            device = p.device_used().to_string();
            if let Some(n) = p.device_note()
                && !notes.iter().any(|x: &String| x == n)
            {
                notes.push(n.to_string());
            }
            Ok(Box::new(p))
        };
        let out = nnunet::predict_arrays(
            &self.plan,
            &refs,
            shape,
            spacing,
            folds.len(),
            &mut make,
            &cfg.options,
            progress,
        )?;
        let labels: DynImage = if out.max_label <= u8::MAX as u16 {
            Image::new(geom, out.labels.iter().map(|&v| v as u8).collect())?.into()
        } else {
            Image::new(geom, out.labels)?.into()
        };
        let probabilities = match out.probabilities {
            Some(p) => Some(Image::with_layout(geom, 1, m.out_channels, p)?),
            None => None,
        };
        Ok(Segmentation {
            labels,
            probabilities,
            device,
            notes,
        })
    }
}

/// Inputs for one channel each: `a_0000.nii.gz` alone expands to `a_0000, a_0001, ...` when the
/// model needs more channels and those files exist.
pub fn expand_channel_files(inputs: &[PathBuf], channels: usize) -> Vec<PathBuf> {
    if inputs.len() != 1 || channels <= 1 {
        return inputs.to_vec();
    }
    let p = &inputs[0];
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let Some(pos) = name.find("_0000.") else {
        return inputs.to_vec();
    };
    let mut out = vec![p.clone()];
    for c in 1..channels {
        let n = format!("{}_{c:04}{}", &name[..pos], &name[pos + 5..]);
        let q = p.with_file_name(n);
        if q.is_file() {
            out.push(q);
        } else {
            break;
        }
    }
    out
}

/// Read inputs, predict, write the label map (and probabilities) atomically. Nothing is written
/// when the run fails or is cancelled.
pub fn predict_files(
    model: &NnUnetModel,
    inputs: &[PathBuf],
    output: &Path,
    probabilities: Option<&Path>,
    cfg: &PredictConfig,
    progress: Progress<'_>,
) -> Result<Segmentation> {
    let files = expand_channel_files(inputs, model.manifest.in_channels);
    let ropts = crate::io::ReadOptions {
        apply_scaling: true,
        ..Default::default()
    };
    let mut images = Vec::new();
    for f in &files {
        let img = crate::io::read(f, &ropts)?;
        images.push(img);
    }
    let mut cfg = cfg.clone();
    cfg.options.probabilities = probabilities.is_some();
    let seg = model
        .predict_images(&images, &cfg, progress)
        .map_err(|e| match e.kind() {
            ErrorKind::Content | ErrorKind::Mismatch => e.context(
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            _ => e,
        })?;
    let wopts = crate::io::WriteOptions::default();
    crate::io::write(output, &seg.labels, &wopts)?;
    if let (Some(pp), Some(pimg)) = (probabilities, &seg.probabilities) {
        let d: DynImage = pimg.clone().into();
        if let Err(e) = crate::io::write(pp, &d, &wopts) {
            let _ = std::fs::remove_file(output);
            return Err(e);
        }
    }
    Ok(seg)
}
