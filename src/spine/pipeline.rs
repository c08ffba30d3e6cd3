//! The post-processing chains of `totalspineseg/inference.py` (spec §2), as an in-memory core
//! and a folder shell over a TotalSpineSeg output folder, with the parameters inference.py uses.
//!
//! In memory (used by [`crate::pipeline::spine`]):
//!
//! * [`step1_postprocess`]: rows 10–25 — step-1 raw labels (+ the canal and cord probability
//!   channels) → [`Step1Products`]: step-1 output, soft canal/cord, levels, and the step-2
//!   input (image cropped to step 1 with margin 10 + odd-disc mask).
//! * [`step2_postprocess`]: rows 28–31 — step-2 raw labels (cropped grid) → step-2 output
//!   un-cropped onto the 1 mm image grid.
//! * [`Product::to_grid`]: row 33 — a product onto the native image grid with its interpolation.
//!
//! On a folder (read → core → write, same files as before the split):
//!
//! * [`postprocess_step1`]: `step1_raw/X` → `step1_output/X` (largest cluster,
//!   iterative labeling, fill canal, onto `input/X_0000`), `step1_canal/X`, `step1_cord/X` (from
//!   `step1_raw/X.npz`), `step1_levels/X`, and the step-2 input `step2_input/X_0000` (image
//!   cropped to step 1, margin 10) + `step2_input/X_0001` (odd discs).
//! * [`postprocess_step2`]: `step2_raw/X` → `step2_output/X` (largest cluster,
//!   iterative labeling, fill canal, un-crop onto `input/X_0000`), then unless `iso` every product
//!   resampled onto the native image `input_raw/X_0000`.
//!
//! ```no_run
//! use medseg::spine::pipeline::{step1_postprocess, step2_postprocess, CoreOptions, SoftChannels};
//! # fn main() -> medseg::Result<()> {
//! let rd = |p: &str| medseg::io::read(std::path::Path::new(p), &Default::default());
//! let (image, raw1) = (rd("input/X_0000.nii.gz")?, rd("step1_raw/X.nii.gz")?);
//! let s1 = step1_postprocess(&raw1, Some(&image), None, None, &CoreOptions::default())?;
//! let raw2 = rd("step2_raw/X.nii.gz")?;
//! let out = step2_postprocess(&raw2, Some(image.geometry()), None, &CoreOptions::default())?;
//! # let _ = (s1, out, SoftChannels { canal: &[], cord: &[] }); Ok(()) }
//! ```
//!
//! Differences from the reference, on purpose: a failing case is reported as a typed error
//! naming the case and the stage (the reference prints and deletes that output); outputs are
//! written atomically only after the stage succeeded, and nothing is ever deleted (the
//! reference deletes `step1_raw/*.npz`, `step2_input/*_0000`, `input_raw/`).

use super::iterative::IterativeLabelParams;
use super::levels::LevelsParams;
use super::ops;
use super::resample::{Interp, transform_seg2image};
use crate::error::{Error, ErrorKind, Result};
use crate::image::{DynImage, Geometry, Image};
use crate::io::{self, ReadOptions, WriteOptions};
use std::path::{Path, PathBuf};

/// Options of the chains.
#[derive(Debug, Clone, Default)]
pub struct PipelineOptions {
    /// Localizer mode: `None` = on when `CASE_DIR/localizers/` exists.
    pub loc: Option<bool>,
    /// Keep the products on the 1 mm grid (skip row 33).
    pub iso: bool,
    /// Apply the fix for the anterior-refinement bug (not the reference behaviour).
    pub fix_anterior_refinement: bool,
    /// Write TSS-style preview JPEGs into `preview/`.
    pub preview: bool,
}

/// What happened to one case.
#[derive(Debug)]
pub struct CaseReport {
    pub case: String,
    pub written: Vec<PathBuf>,
    /// Stage name and error, for every stage that failed (later stages that need its output
    /// are skipped).
    pub errors: Vec<(String, Error)>,
}

fn read(p: &Path) -> Result<DynImage> {
    io::read(
        p,
        &ReadOptions {
            apply_scaling: true,
            ..Default::default()
        },
    )
}

fn cases_in(dir: &Path) -> Result<Vec<String>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(|s| s.to_string()))
        .filter_map(|n| n.strip_suffix(".nii.gz").map(|s| s.to_string()))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::new(
            ErrorKind::Content,
            format!("{}: no .nii.gz case found", dir.display()),
        ));
    }
    Ok(names)
}

struct Ctx<'a> {
    dir: &'a Path,
    case: String,
    report: CaseReport,
}

impl Ctx<'_> {
    fn path(&self, folder: &str, suffix: &str) -> PathBuf {
        self.dir
            .join(folder)
            .join(format!("{}{suffix}.nii.gz", self.case))
    }
    fn write(&mut self, folder: &str, suffix: &str, img: &DynImage) -> Result<()> {
        let p = self.path(folder, suffix);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        io::write(&p, img, &WriteOptions::default())?;
        self.report.written.push(p);
        Ok(())
    }
    /// Run a stage; on error record it (naming the case and stage) and return None.
    fn stage<T>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> Result<T>) -> Option<T> {
        match f(self) {
            Ok(v) => Some(v),
            Err(e) => {
                let msg = format!("case {}: {name}: {}", self.case, e.message());
                let e2 = Error::new(e.kind(), msg).with_source(e);
                self.report.errors.push((name.to_string(), e2));
                None
            }
        }
    }
}

fn check_labels(img: &DynImage, max: u8, what: &str) -> Result<()> {
    let (_, s) = ops::labels_u8(img, what)?;
    let mut seen = [false; 256];
    for &v in &s {
        seen[v as usize] = true;
    }
    if let Some(bad) = (max as usize + 1..256).find(|&v| seen[v]) {
        return Err(Error::new(
            ErrorKind::Content,
            format!("{what}: label {bad} is outside the expected set 0..={max}"),
        ));
    }
    if !seen[1..].iter().any(|&b| b) {
        return Err(Error::new(
            ErrorKind::Content,
            format!("{what}: the segmentation is empty (every voxel is 0)"),
        ));
    }
    Ok(())
}

fn grid_of(p: &Path) -> Result<Option<Geometry>> {
    if p.exists() {
        Ok(Some(*read(p)?.geometry()))
    } else {
        Ok(None)
    }
}

fn loc_mode(dir: &Path, o: &PipelineOptions) -> bool {
    o.loc.unwrap_or_else(|| dir.join("localizers").is_dir())
}

fn localizer(ctx: &Ctx, on: bool) -> Result<Option<DynImage>> {
    if !on {
        return Ok(None);
    }
    let p = ctx.path("localizers", "");
    if p.exists() {
        Ok(Some(read(&p)?))
    } else {
        Ok(None)
    }
}

/// Options of the in-memory chains.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoreOptions {
    /// Localizer mode: iterative labeling with the localizer landmarks (`--loc`). On when a
    /// localizer is given, and also without one when the folder has a `localizers/` folder.
    pub loc_mode: bool,
    /// Apply the fix for the anterior-refinement bug (not the reference behaviour).
    pub fix_anterior_refinement: bool,
}

/// The step-1 probability channels `extract_soft` needs, on the step-1 raw grid (x fastest):
/// region 8 (canal + cord) and region 9 (cord), i.e. npz channels 7 and 8.
#[derive(Debug, Clone, Copy)]
pub struct SoftChannels<'a> {
    pub canal: &'a [f32],
    pub cord: &'a [f32],
}

/// The step-2 network input built from step 1 (rows 21–24).
#[derive(Debug, Clone)]
pub struct Step2Input {
    /// Channel 0: the 1 mm image cropped to step 1's bounding box + 10 voxels (stored type).
    pub image: DynImage,
    /// Channel 1: 0/1 mask of every other present disc (uint8), on the cropped grid.
    pub odd_discs: Image<u8>,
}

/// Everything step 1 post-processing makes (rows 10–25). Products whose stage failed are
/// `None` and their error is in `errors` (as the reference drops only that file).
#[derive(Debug)]
pub struct Step1Products {
    /// `step1_output` on the image grid (uint8).
    pub output: DynImage,
    /// `step1_canal` (float32), when probabilities were given.
    pub canal: Option<DynImage>,
    /// `step1_cord` (float32), when probabilities were given.
    pub cord: Option<DynImage>,
    /// `step1_levels` (uint8 points).
    pub levels: Option<DynImage>,
    /// The step-2 input, when an image was given.
    pub step2_input: Option<Step2Input>,
    /// Stage name and error of every stage that failed.
    pub errors: Vec<(String, Error)>,
}

/// Stage names (also used in the folder shell's reports).
pub mod stage {
    pub const LABEL1: &str = "largest_component/iterative_label/fill_canal";
    pub const LABEL2: &str = "largest_component/iterative_label/fill_canal";
    pub const CANAL: &str = "extract_soft step1_canal";
    pub const CORD: &str = "extract_soft step1_cord";
    pub const LEVELS: &str = "extract_levels";
    pub const STEP2_INPUT: &str = "step2 input (crop_image2seg, extract_alternate)";
}

fn label_chain(
    raw: &DynImage,
    loc: Option<&DynImage>,
    mut p: IterativeLabelParams,
    o: &CoreOptions,
) -> Result<DynImage> {
    let l = DynImage::U8(ops::largest_component(raw, true, 5)?);
    p.fix_anterior_refinement = o.fix_anterior_refinement;
    let it = DynImage::U8(ops::iterative_label_image(&l, loc, &p)?);
    Ok(DynImage::U8(ops::fill_canal(&it, 2, 1, true, true)?))
}

fn soft_len_check(soft: &SoftChannels, g: &Geometry) -> Result<()> {
    let n = g.voxel_count();
    if soft.canal.len() != n || soft.cord.len() != n {
        return Err(Error::mismatch(format!(
            "extract_soft: probability channels of {} / {} values do not match the segmentation grid {:?}",
            soft.canal.len(),
            soft.cord.len(),
            g.size
        )));
    }
    Ok(())
}

/// Rows 10–25 in memory: `raw` = step-1 network labels (values 0..=9) on the 1 mm canonical
/// grid; `image` = the 1 mm image (`input/X_0000`, stored type) on that grid; `soft` = the
/// canal/cord probability channels; `loc` = localizer segmentation (any grid).
///
/// Errors (the case is lost): labels outside 0..=9, an empty segmentation, and any failure of
/// the labeling chain, e.g. no landmark ([`ErrorKind::Content`]). Later stages that fail are
/// recorded in [`Step1Products::errors`].
pub fn step1_postprocess(
    raw: &DynImage,
    image: Option<&DynImage>,
    soft: Option<SoftChannels<'_>>,
    loc: Option<&DynImage>,
    o: &CoreOptions,
) -> Result<Step1Products> {
    check_labels(raw, 9, "step1_raw")?;
    let loc_on = o.loc_mode || loc.is_some();
    let f = label_chain(raw, loc, IterativeLabelParams::step1(loc_on), o)?;
    let output = match image {
        Some(i) => transform_seg2image(i.geometry(), &f, Interp::Nearest)?,
        None => f,
    };
    let mut errors = Vec::new();
    let mut keep = |name: &str, r: Result<DynImage>| match r {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push((name.to_string(), e));
            None
        }
    };
    let (mut canal, mut cord) = (None, None);
    if let Some(s) = soft {
        for (name, prob, seg_labels, slot) in [
            (stage::CANAL, s.canal, &[1u8, 2][..], &mut canal),
            (stage::CORD, s.cord, &[1][..], &mut cord),
        ] {
            *slot = keep(
                name,
                soft_len_check(&s, raw.geometry()).and_then(|_| {
                    Ok(DynImage::F32(ops::extract_soft(
                        prob, &output, seg_labels, 1, false,
                    )?))
                }),
            );
        }
    }
    let levels = keep(
        stage::LEVELS,
        ops::extract_levels_image(&output, &LevelsParams::default()).map(DynImage::U8),
    );
    let mut step2_input = None;
    if let Some(image) = image {
        let r = (|| {
            let cropped = ops::crop_image_to_seg(image, &output, 10)?;
            let t = transform_seg2image(cropped.geometry(), &output, Interp::Nearest)?;
            let odd = ops::extract_alternate(&t, &(63..=100).collect::<Vec<u8>>(), &[])?;
            Ok(Step2Input {
                image: cropped,
                odd_discs: odd,
            })
        })();
        match r {
            Ok(v) => step2_input = Some(v),
            Err(e) => errors.push((stage::STEP2_INPUT.to_string(), e)),
        }
    }
    Ok(Step1Products {
        output,
        canal,
        cord,
        levels,
        step2_input,
        errors,
    })
}

/// Rows 28–31 in memory: `raw` = step-2 network labels (values 0..=11) on the cropped 1 mm
/// grid → `step2_output` (uint8) un-cropped onto `image_grid` (the 1 mm image grid; `None` =
/// stay on the cropped grid).
pub fn step2_postprocess(
    raw: &DynImage,
    image_grid: Option<&Geometry>,
    loc: Option<&DynImage>,
    o: &CoreOptions,
) -> Result<DynImage> {
    check_labels(raw, 11, "step2_raw")?;
    let loc_on = o.loc_mode || loc.is_some();
    let f = label_chain(raw, loc, IterativeLabelParams::step2(loc_on), o)?;
    match image_grid {
        Some(g) => transform_seg2image(g, &f, Interp::Nearest),
        None => Ok(f),
    }
}

/// The five products of a run, with the interpolation row 33 uses to bring each onto the
/// native image grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Step1Output,
    Step1Cord,
    Step1Canal,
    Step1Levels,
    Step2Output,
}

impl Product {
    /// All products in the order row 33 visits them.
    pub const ALL: [Product; 5] = [
        Product::Step1Output,
        Product::Step1Cord,
        Product::Step1Canal,
        Product::Step1Levels,
        Product::Step2Output,
    ];
    /// Output folder name.
    pub fn folder(self) -> &'static str {
        match self {
            Product::Step1Output => "step1_output",
            Product::Step1Cord => "step1_cord",
            Product::Step1Canal => "step1_canal",
            Product::Step1Levels => "step1_levels",
            Product::Step2Output => "step2_output",
        }
    }
    /// Interpolation onto the native grid.
    pub fn interp(self) -> Interp {
        match self {
            Product::Step1Output | Product::Step2Output => Interp::Nearest,
            Product::Step1Cord | Product::Step1Canal => Interp::Linear,
            Product::Step1Levels => Interp::Label,
        }
    }
    /// `transform_seg2image(native, img, interp)`.
    pub fn to_grid(self, img: &DynImage, native: &Geometry) -> Result<DynImage> {
        transform_seg2image(native, img, self.interp())
    }
}

/// Rows 10–25 of inference.py for every case in `dir/step1_raw/`.
pub fn postprocess_step1(dir: &Path, o: &PipelineOptions) -> Result<Vec<CaseReport>> {
    let cases = cases_in(&dir.join("step1_raw"))?;
    let loc_on = loc_mode(dir, o);
    let mut reports = Vec::new();
    for case in cases {
        let mut ctx = Ctx {
            dir,
            case: case.clone(),
            report: CaseReport {
                case,
                written: vec![],
                errors: vec![],
            },
        };
        step1_case(&mut ctx, loc_on, o);
        reports.push(ctx.report);
    }
    Ok(reports)
}

fn core_opts(loc_on: bool, o: &PipelineOptions) -> CoreOptions {
    CoreOptions {
        loc_mode: loc_on,
        fix_anterior_refinement: o.fix_anterior_refinement,
    }
}

fn step1_case(ctx: &mut Ctx, loc_on: bool, o: &PipelineOptions) {
    let Some(raw) = ctx.stage("read step1_raw", |c| read(&c.path("step1_raw", ""))) else {
        return;
    };
    let Some((loc, image)) = ctx.stage("read input, localizer", |c| {
        let loc = localizer(c, loc_on)?;
        let p = c.path("input", "_0000");
        // the image in its stored type (crop_image2seg keeps the dtype)
        let image = if p.exists() {
            Some(io::read(&p, &ReadOptions::default())?)
        } else {
            None
        };
        Ok((loc, image))
    }) else {
        return;
    };
    let npz = ctx.dir.join("step1_raw").join(format!("{}.npz", ctx.case));
    let chans = if npz.exists() {
        ctx.stage("read step1_raw npz", |_| {
            let (shape, mut ch) = super::npz::read_channels(&npz, "probabilities", &[7, 8])?;
            let g = raw.geometry();
            if shape.len() != 4 || shape[1..] != [g.size[2], g.size[1], g.size[0]] {
                return Err(Error::mismatch(format!(
                    "{}: probabilities of shape {shape:?} do not match the segmentation grid {:?}",
                    npz.display(),
                    g.size
                )));
            }
            let cord = ch.pop().unwrap_or_default();
            let canal = ch.pop().unwrap_or_default();
            Ok([canal, cord])
        })
    } else {
        None
    };
    let soft = chans
        .as_ref()
        .map(|[canal, cord]| SoftChannels { canal, cord });
    let Some(p) = ctx.stage(stage::LABEL1, |_| {
        step1_postprocess(
            &raw,
            image.as_ref(),
            soft,
            loc.as_ref(),
            &core_opts(loc_on, o),
        )
    }) else {
        return;
    };
    drop(raw);
    drop(chans);
    let Step1Products {
        output: out,
        canal,
        cord,
        levels,
        step2_input,
        errors,
    } = p;
    ctx.stage("write step1_output", |c| c.write("step1_output", "", &out));
    for (folder, img) in [
        ("step1_canal", canal),
        ("step1_cord", cord),
        ("step1_levels", levels),
    ] {
        if let Some(img) = img {
            ctx.stage(&format!("write {folder}"), |c| c.write(folder, "", &img));
        }
    }
    if o.preview {
        ctx.stage("preview", |c| {
            let p = c
                .dir
                .join("preview")
                .join(format!("{}_sag_0.5_step1_output.jpg", c.case));
            if let Some(img) = &image {
                super::preview::write_preview(
                    &p,
                    img,
                    Some(&out),
                    &super::preview::PreviewOptions::default(),
                )?;
                c.report.written.push(p);
            }
            Ok(())
        });
    }
    // Rows 21–25: step-2 input.
    if let Some(s2) = step2_input {
        ctx.stage(stage::STEP2_INPUT, |c| {
            c.write("step2_input", "_0000", &s2.image)?;
            c.write("step2_input", "_0001", &DynImage::U8(s2.odd_discs))
        });
    }
    for (name, e) in errors {
        ctx.stage(&name, |_| Err::<(), _>(e));
    }
}

/// Rows 28–33 of inference.py for every case in `dir/step2_raw/`.
pub fn postprocess_step2(dir: &Path, o: &PipelineOptions) -> Result<Vec<CaseReport>> {
    let cases = cases_in(&dir.join("step2_raw"))?;
    let loc_on = loc_mode(dir, o);
    let mut reports = Vec::new();
    for case in cases {
        let mut ctx = Ctx {
            dir,
            case: case.clone(),
            report: CaseReport {
                case,
                written: vec![],
                errors: vec![],
            },
        };
        step2_case(&mut ctx, loc_on, o);
        reports.push(ctx.report);
    }
    Ok(reports)
}

fn step2_case(ctx: &mut Ctx, loc_on: bool, o: &PipelineOptions) {
    let Some(raw) = ctx.stage("read step2_raw", |c| read(&c.path("step2_raw", ""))) else {
        return;
    };
    let ok = ctx.stage(stage::LABEL2, |c| {
        let loc = localizer(c, loc_on)?;
        let g = grid_of(&c.path("input", "_0000"))?;
        let out = step2_postprocess(&raw, g.as_ref(), loc.as_ref(), &core_opts(loc_on, o))?;
        c.write("step2_output", "", &out)
    });
    drop(raw);
    if o.iso {
        return;
    }
    let native = ctx.path("input_raw", "_0000");
    let Some(Some(g)) = ctx.stage("read input_raw", |_| grid_of(&native)) else {
        return;
    };
    for product in Product::ALL {
        if product == Product::Step2Output && ok.is_none() {
            continue;
        }
        let folder = product.folder();
        let p = ctx.path(folder, "");
        if !p.exists() {
            continue;
        }
        ctx.stage(&format!("{folder} to the native grid"), |c| {
            let img = read(&p)?;
            if *img.geometry() == g {
                // Already on the native grid (a native 1 mm canonical image): resampling onto
                // the identical grid returns the same voxels, so the file stays as written.
                return Ok(());
            }
            let r = product.to_grid(&img, &g)?;
            c.write(folder, "", &r)
        });
    }
}

/// A one-line summary per case, and an error when any case failed.
pub fn summarize(reports: &[CaseReport]) -> Result<String> {
    let mut s = String::new();
    let mut failed = Vec::new();
    for r in reports {
        s.push_str(&format!("{}: {} file(s) written", r.case, r.written.len()));
        for (_, e) in &r.errors {
            s.push_str(&format!("; error: {}", e.message()));
            failed.push(e.message().to_string());
        }
        s.push('\n');
    }
    if failed.is_empty() {
        Ok(s)
    } else {
        Err(Error::new(
            ErrorKind::Content,
            format!(
                "{s}{} stage(s) failed:\n  {}",
                failed.len(),
                failed.join("\n  ")
            ),
        ))
    }
}

/// Image-typed convenience for the CLI: write one image atomically (format by extension).
pub fn write_image(path: &Path, img: &DynImage) -> Result<()> {
    io::write(path, img, &WriteOptions::default())
}

/// Image<u8> → DynImage helper.
pub fn dyn_u8(i: Image<u8>) -> DynImage {
    DynImage::U8(i)
}
