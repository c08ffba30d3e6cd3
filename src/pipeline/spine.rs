//! TotalSpineSeg end to end in memory: `totalspineseg/inference.py` (spec `totalspineseg.md`
//! §2, rows 4–33) with its two nnU-Net models run through ONNX Runtime.
//!
//! | stage | what | progress |
//! |---|---|---|
//! | preprocess | `average4d` → `reorient_canonical` → 1 mm resampling (TorchIO grid, linear, dtype kept) | 0–5 % |
//! | step 1 | nnU-Net step 1 with probabilities, then [`step1_postprocess`] (largest cluster, iterative labeling, fill canal, soft canal/cord, levels, step-2 input) | 5–55 % |
//! | step 2 | nnU-Net step 2 on (cropped image, odd discs), then [`step2_postprocess`] (un-cropped) | 55–95 % |
//! | native grid | every product onto the input grid (nearest / linear / label), unless `iso` | 95–100 % |
//!
//! A model folder holds `step1/` and `step2/`, each an nnU-Net model folder that
//! [`NnUnetModel::load`] accepts (a medseg manifest, or an nnU-Net results folder with
//! `fold_k/network.onnx`); a `medseg.json` with `"kind": "totalspineseg"` may name the two
//! sub-folders (`"step1"`, `"step2"`). Step 1 takes 1 channel and writes labels 1–9, step 2
//! takes 2 channels (image, odd discs) and writes labels 1–11 (spec §5.2, §5.3), as
//! region-based (9 / 11 regions) or softmax (10 / 12 classes) models.
//!
//! ```no_run
//! use medseg::pipeline::spine::{SpineConfig, SpineModel};
//! # fn main() -> medseg::Result<()> {
//! let model = SpineModel::load(std::path::Path::new("models/totalspineseg"))?;
//! let img = medseg::io::read(std::path::Path::new("t2.nii.gz"), &Default::default())?;
//! let out = model.run(&img, &SpineConfig::default(), &mut |_, _| true)?;
//! // out.step2_output: final labels (spec §5.1) on the input grid; out.step1_levels: disc points
//! # let _ = out; Ok(()) }
//! ```
//!
//! Differences from the reference: one image per call, nothing on disk; a step-1 failure
//! (e.g. no landmark) is an error ([`ErrorKind::Content`]) instead of a silently missing case;
//! failures of later optional stages are listed in [`SpineOutputs::errors`]; an input already
//! on its 1 mm grid is not resampled (TorchIO would interpolate it onto the same grid).

use crate::error::{Error, ErrorKind, Result};
use crate::image::{DynImage, Geometry};
use crate::inference::Progress;
use crate::inference::predict::{NnUnetModel, PredictConfig};
use crate::spine::pipeline::{
    CoreOptions, Product, SoftChannels, step1_postprocess, step2_postprocess,
};
use crate::spine::resample::{average4d, iso_grid, reorient_canonical, resample_iso};
use std::path::{Path, PathBuf};

/// Manifest kind of a TotalSpineSeg model folder.
pub const SPINE_KIND: &str = "totalspineseg";

fn model_err(m: impl Into<String>) -> Error {
    Error::new(ErrorKind::Model, m)
}

/// The two nnU-Net models of TotalSpineSeg.
#[derive(Debug, Clone)]
pub struct SpineModel {
    pub dir: PathBuf,
    /// Dataset101-like: 1 channel, labels 1..=9.
    pub step1: NnUnetModel,
    /// Dataset102-like: 2 channels (image, odd discs), labels 1..=11.
    pub step2: NnUnetModel,
}

/// How to run the pipeline.
#[derive(Debug, Clone, Default)]
pub struct SpineConfig {
    /// Folds, device, threads, TTA, step for both networks (TotalSpineSeg itself runs fold 0,
    /// step 0.5, no mirroring). Probabilities are always computed for step 1.
    pub predict: PredictConfig,
    /// Stop after step 1 (`--step1`): no step-2 output.
    pub step1_only: bool,
    /// Keep the products on the 1 mm canonical grid (`--iso`).
    pub iso: bool,
    /// Localizer segmentation (TotalSpineSeg output on another image of the subject, same
    /// physical space); switches the labeling to localizer mode (`--loc`).
    pub loc: Option<DynImage>,
    /// Fix the reference's anterior-refinement bug (output then differs from totalspineseg).
    pub fix_anterior_refinement: bool,
}

/// What a run makes. Products are on the input grid (on the 1 mm canonical grid with `iso`).
pub struct SpineOutputs {
    /// Step-1 labels: 1 cord, 2 canal, 11 C1, 50 any vertebra, 63–100 discs.
    pub step1_output: DynImage,
    /// Soft canal (float32 probabilities inside the dilated canal).
    pub step1_canal: Option<DynImage>,
    /// Soft cord.
    pub step1_cord: Option<DynImage>,
    /// Disc level points (1–25, spec §5.4).
    pub step1_levels: Option<DynImage>,
    /// Final labels (spec §5.1); `None` with `step1_only` or when step 2 failed (see `errors`).
    pub step2_output: Option<DynImage>,
    /// The preprocessed image (1 mm, canonical) the networks saw.
    pub image_1mm: DynImage,
    /// Step-1 network labels on the 1 mm grid.
    pub step1_raw: DynImage,
    /// Step-2 network labels on the cropped 1 mm grid.
    pub step2_raw: Option<DynImage>,
    /// Step-2 input channel 1 (odd discs) on the cropped 1 mm grid.
    pub step2_odd_discs: Option<DynImage>,
    /// Stages that failed without stopping the run (stage name, error).
    pub errors: Vec<(String, Error)>,
    /// Device the networks ran on.
    pub device: String,
    /// Notes from the runtime (e.g. why `auto` fell back to CPU).
    pub notes: Vec<String>,
}

impl std::fmt::Debug for SpineOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = |i: &DynImage| i.geometry().size;
        let og = |i: &Option<DynImage>| i.as_ref().map(|i| i.geometry().size);
        f.debug_struct("SpineOutputs")
            .field("step1_output", &g(&self.step1_output))
            .field("step1_canal", &og(&self.step1_canal))
            .field("step1_cord", &og(&self.step1_cord))
            .field("step1_levels", &og(&self.step1_levels))
            .field("step2_output", &og(&self.step2_output))
            .field("image_1mm", &g(&self.image_1mm))
            .field("step2_raw", &og(&self.step2_raw))
            .field("errors", &self.errors)
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

fn read_kind(dir: &Path) -> Result<Option<serde_json::Value>> {
    let p = dir.join(crate::inference::manifest::MANIFEST_FILE);
    if !p.is_file() {
        return Ok(None);
    }
    let t = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
    let v: serde_json::Value = serde_json::from_str(&t)
        .map_err(|e| model_err(format!("{}: invalid JSON: {e}", p.display())))?;
    Ok(Some(v))
}

fn labels_of(m: &NnUnetModel) -> Vec<i64> {
    match &m.manifest.regions_class_order {
        Some(o) => {
            let mut v = o.clone();
            v.sort_unstable();
            v.dedup();
            v
        }
        None => (1..m.manifest.out_channels as i64).collect(),
    }
}

fn check_step(m: &NnUnetModel, step: u8, channels: usize, max_label: i64) -> Result<()> {
    let what = format!("TotalSpineSeg step {step} model {}", m.dir.display());
    if m.manifest.in_channels != channels {
        return Err(model_err(format!(
            "{what}: takes {} input channel(s) ({}); step {step} needs {channels}",
            m.manifest.in_channels,
            m.manifest.channel_names.join(", ")
        )));
    }
    let got = labels_of(m);
    let want: Vec<i64> = (1..=max_label).collect();
    if got != want {
        return Err(model_err(format!(
            "{what}: writes labels {got:?}; step {step} must write 1..={max_label} (spec §5.{})",
            step + 1
        )));
    }
    Ok(())
}

/// Frame of the probabilities that holds label (region) `value`.
fn prob_frame(m: &NnUnetModel, value: i64) -> Result<usize> {
    match &m.manifest.regions_class_order {
        Some(o) => o.iter().position(|&v| v == value),
        None => Some(value as usize).filter(|&v| v < m.manifest.out_channels),
    }
    .ok_or_else(|| model_err(format!("step-1 model has no output for label {value}")))
}

fn cancelled() -> Error {
    Error::new(ErrorKind::Cancelled, "cancelled by the caller")
}

fn tick(p: &mut dyn FnMut(f64, &str) -> bool, f: f64, stage: &str) -> Result<()> {
    if p(f, stage) {
        Ok(())
    } else {
        Err(cancelled())
    }
}

/// Preprocessing rows 4–6: average4d, reorient canonical, 1 mm (dtype kept).
pub fn preprocess(image: &DynImage) -> Result<DynImage> {
    if image.components() != 1 {
        return Err(Error::unsupported(format!(
            "TotalSpineSeg takes a grey-level image ({} components per voxel found)",
            image.components()
        )));
    }
    let a = average4d(image)?;
    let c = reorient_canonical(&a)?;
    let g = iso_grid(c.geometry(), [1.0; 3])?;
    if g.same_grid(c.geometry(), 1e-6) {
        Ok(c)
    } else {
        resample_iso(&c, [1.0; 3])
    }
}

impl SpineModel {
    /// True when `dir` looks like a TotalSpineSeg model folder.
    pub fn is_spine_folder(dir: &Path) -> bool {
        if dir.join("step1").is_dir() && dir.join("step2").is_dir() {
            return true;
        }
        matches!(read_kind(dir), Ok(Some(v)) if v["kind"].as_str() == Some(SPINE_KIND))
    }

    /// Load `dir/step1` and `dir/step2` (or the folders a `medseg.json` of kind
    /// `totalspineseg` names) and check their channels and labels.
    pub fn load(dir: &Path) -> Result<SpineModel> {
        if !dir.is_dir() {
            return Err(model_err(format!(
                "{}: model folder not found",
                dir.display()
            )));
        }
        let (mut s1, mut s2) = ("step1".to_string(), "step2".to_string());
        if let Some(v) = read_kind(dir)? {
            let kind = v["kind"].as_str().unwrap_or("");
            if kind == SPINE_KIND {
                for (key, slot) in [("step1", &mut s1), ("step2", &mut s2)] {
                    match &v[key] {
                        serde_json::Value::Null => {}
                        serde_json::Value::String(s) => *slot = s.clone(),
                        _ => {
                            return Err(model_err(format!(
                                "{}: '{key}' must be a folder name",
                                dir.join(crate::inference::manifest::MANIFEST_FILE)
                                    .display()
                            )));
                        }
                    }
                }
            } else if !(dir.join("step1").is_dir() && dir.join("step2").is_dir()) {
                return Err(model_err(format!(
                    "{}: a '{kind}' model, not a TotalSpineSeg model (no step1/ and step2/)",
                    dir.display()
                )));
            }
        }
        let load = |name: &str, step: u8| -> Result<NnUnetModel> {
            let d = dir.join(name);
            if !d.is_dir() {
                return Err(model_err(format!(
                    "{}: TotalSpineSeg step-{step} model folder missing",
                    d.display()
                )));
            }
            NnUnetModel::load(&d).map_err(|e| e.context(format!("TotalSpineSeg step-{step} model")))
        };
        let step1 = load(&s1, 1)?;
        let step2 = load(&s2, 2)?;
        check_step(&step1, 1, 1, 9)?;
        check_step(&step2, 2, 2, 11)?;
        Ok(SpineModel {
            dir: dir.to_path_buf(),
            step1,
            step2,
        })
    }

    /// Run the whole inference flow on one image (3-D, or 4-D averaged over time).
    pub fn run(
        &self,
        image: &DynImage,
        cfg: &SpineConfig,
        progress: Progress<'_>,
    ) -> Result<SpineOutputs> {
        let (s1_end, post1_end, s2_end) = if cfg.step1_only {
            (0.8, 0.95, 0.95)
        } else {
            (0.45, 0.55, 0.9)
        };
        tick(progress, 0.0, "preprocess")?;
        let native: Geometry = *image.geometry();
        let img1 = preprocess(image)?;
        tick(progress, 0.05, "step 1: network")?;

        // Step 1 network (row 8), with probabilities.
        let mut c1 = cfg.predict.clone();
        c1.options.probabilities = true;
        let seg1 = {
            let mut sub =
                |f: f64, s: &str| progress(0.05 + (s1_end - 0.05) * f, &format!("step 1: {s}"));
            self.step1
                .predict_images(std::slice::from_ref(&img1), &c1, &mut sub)?
        };
        let device = seg1.device.clone();
        let mut notes = seg1.notes.clone();
        tick(progress, s1_end, "step 1: post-processing")?;
        let probs = seg1
            .probabilities
            .as_ref()
            .ok_or_else(|| Error::internal("step 1 returned no probabilities"))?;
        let vox = probs.geometry().voxel_count();
        let frame = |v: i64| -> Result<&[f32]> {
            let t = prob_frame(&self.step1, v)?;
            probs
                .data()
                .get(t * vox..(t + 1) * vox)
                .ok_or_else(|| Error::internal("probability frames too short"))
        };
        let soft = SoftChannels {
            canal: frame(8)?,
            cord: frame(9)?,
        };
        let opts = CoreOptions {
            loc_mode: cfg.loc.is_some(),
            fix_anterior_refinement: cfg.fix_anterior_refinement,
        };
        let p1 = step1_postprocess(
            &seg1.labels,
            Some(&img1),
            Some(soft),
            cfg.loc.as_ref(),
            &opts,
        )
        .map_err(|e| {
            let msg = format!(
                "step 1 failed to produce a valid segmentation: {}",
                e.message()
            );
            Error::new(e.kind(), msg).with_source(e)
        })?;
        let step1_raw = seg1.labels;
        drop(seg1.probabilities);
        let mut errors = p1.errors;

        // Step 2 (rows 21–31).
        let mut step2_raw = None;
        let mut step2_odd = None;
        let mut step2_output = None;
        if !cfg.step1_only {
            tick(progress, post1_end, "step 2: network")?;
            match p1.step2_input {
                None => errors.push((
                    "step 2".into(),
                    Error::new(
                        ErrorKind::Content,
                        "step 2 skipped: no step-2 input could be built",
                    ),
                )),
                Some(s2) => {
                    let odd = DynImage::U8(s2.odd_discs);
                    let inputs = [s2.image, odd];
                    let seg2 = {
                        let mut sub = |f: f64, s: &str| {
                            progress(
                                post1_end + (s2_end - post1_end) * f,
                                &format!("step 2: {s}"),
                            )
                        };
                        self.step2.predict_images(&inputs, &cfg.predict, &mut sub)?
                    };
                    for n in seg2.notes {
                        if !notes.contains(&n) {
                            notes.push(n);
                        }
                    }
                    tick(progress, s2_end, "step 2: post-processing")?;
                    match step2_postprocess(
                        &seg2.labels,
                        Some(img1.geometry()),
                        cfg.loc.as_ref(),
                        &opts,
                    ) {
                        Ok(o) => step2_output = Some(o),
                        Err(e) => errors.push(("step 2 post-processing".into(), e)),
                    }
                    step2_raw = Some(seg2.labels);
                    let [_, odd] = inputs;
                    step2_odd = Some(odd);
                }
            }
        }

        // Row 33: products onto the input grid.
        tick(progress, 0.95, "to the input grid")?;
        let back = |p: Product, img: Option<DynImage>| -> Result<Option<DynImage>> {
            match img {
                Some(i) if !cfg.iso => Ok(Some(p.to_grid(&i, &native)?)),
                other => Ok(other),
            }
        };
        let step1_output = back(Product::Step1Output, Some(p1.output))?
            .ok_or_else(|| Error::internal("step1_output lost"))?;
        let step1_cord = back(Product::Step1Cord, p1.cord)?;
        let step1_canal = back(Product::Step1Canal, p1.canal)?;
        let step1_levels = back(Product::Step1Levels, p1.levels)?;
        let step2_output = back(Product::Step2Output, step2_output)?;
        tick(progress, 1.0, "done")?;
        Ok(SpineOutputs {
            step1_output,
            step1_canal,
            step1_cord,
            step1_levels,
            step2_output,
            image_1mm: img1,
            step1_raw,
            step2_raw,
            step2_odd_discs: step2_odd,
            errors,
            device,
            notes,
        })
    }
}

fn hsv(h: f64, s: f64, v: f64) -> [u8; 3] {
    let h = (h.rem_euclid(360.0)) / 60.0;
    let c = v * s;
    let x = c * (1.0 - ((h % 2.0) - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    let q = |f: f64| ((f + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    [q(r), q(g), q(b)]
}

/// TotalSpineSeg's final labels (spec §5.1, plus 96 = L5-L6 which the labeling can produce)
/// with names and colours (vertebrae and discs shaded from cervical to sacral).
pub fn final_labels() -> Vec<(u32, String, [u8; 3])> {
    let mut out = vec![
        (1, "spinal cord".to_string(), [255, 255, 0]),
        (2, "spinal canal".to_string(), [0, 200, 255]),
    ];
    let mut verts: Vec<(u32, String)> = Vec::new();
    verts.extend((1..=7).map(|i| (10 + i, format!("C{i}"))));
    verts.extend((1..=12).map(|i| (20 + i, format!("T{i}"))));
    verts.extend((1..=6).map(|i| (40 + i, format!("L{i}"))));
    verts.push((50, "sacrum".into()));
    let nv = verts.len() as f64;
    for (k, (v, n)) in verts.into_iter().enumerate() {
        let shade = if k % 2 == 0 { 0.95 } else { 0.75 };
        out.push((v, n, hsv(300.0 * k as f64 / nv, 0.75, shade)));
    }
    let mut discs: Vec<(u32, String)> = Vec::new();
    let cerv = ["C2", "C3", "C4", "C5", "C6", "C7"];
    discs.extend((0..5).map(|i| (63 + i as u32, format!("{}-{}", cerv[i], cerv[i + 1]))));
    discs.push((71, "C7-T1".into()));
    discs.extend((1..=11).map(|i| (71 + i as u32, format!("T{i}-T{}", i + 1))));
    discs.push((91, "T12-L1".into()));
    discs.extend((1..=4).map(|i| (91 + i as u32, format!("L{i}-L{}", i + 1))));
    discs.push((96, "L5-L6".into()));
    discs.push((100, "L5-S".into()));
    let nd = discs.len() as f64;
    for (k, (v, n)) in discs.into_iter().enumerate() {
        out.push((
            v,
            format!("disc {n}"),
            hsv(300.0 * k as f64 / nd, 0.35, 1.0),
        ));
    }
    out
}
