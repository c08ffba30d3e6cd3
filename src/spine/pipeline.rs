//! The post-processing chains of `totalspineseg/inference.py` (spec §2) on a TotalSpineSeg
//! output folder, with the parameters inference.py uses.
//!
//! * [`postprocess_step1`]: rows 10–25 — `step1_raw/X` → `step1_output/X` (largest cluster,
//!   iterative labeling, fill canal, onto `input/X_0000`), `step1_canal/X`, `step1_cord/X` (from
//!   `step1_raw/X.npz`), `step1_levels/X`, and the step-2 input `step2_input/X_0000` (image
//!   cropped to step 1, margin 10) + `step2_input/X_0001` (odd discs).
//! * [`postprocess_step2`]: rows 28–33 — `step2_raw/X` → `step2_output/X` (largest cluster,
//!   iterative labeling, fill canal, un-crop onto `input/X_0000`), then unless `iso` every product
//!   resampled onto the native image `input_raw/X_0000`.
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

fn step1_case(ctx: &mut Ctx, loc_on: bool, o: &PipelineOptions) {
    let Some(raw) = ctx.stage("read step1_raw", |c| {
        let img = read(&c.path("step1_raw", ""))?;
        check_labels(&img, 9, "step1_raw")?;
        Ok(img)
    }) else {
        return;
    };
    let Some(out) = ctx.stage("largest_component/iterative_label/fill_canal", |c| {
        let l = DynImage::U8(ops::largest_component(&raw, true, 5)?);
        let loc = localizer(c, loc_on)?;
        let mut p = IterativeLabelParams::step1(loc_on);
        p.fix_anterior_refinement = o.fix_anterior_refinement;
        let it = DynImage::U8(ops::iterative_label_image(&l, loc.as_ref(), &p)?);
        let f = DynImage::U8(ops::fill_canal(&it, 2, 1, true, true)?);
        let image = {
            let p = c.path("input", "_0000");
            // the image in its stored type (crop_image2seg keeps the dtype)
            if p.exists() {
                Some(io::read(&p, &ReadOptions::default())?)
            } else {
                None
            }
        };
        let out = match &image {
            Some(i) => transform_seg2image(i.geometry(), &f, Interp::Nearest)?,
            None => f,
        };
        c.write("step1_output", "", &out)?;
        Ok((out, image))
    }) else {
        return;
    };
    let (out, image) = out;
    drop(raw);
    let npz = ctx.dir.join("step1_raw").join(format!("{}.npz", ctx.case));
    if npz.exists() {
        let chans = ctx.stage("read step1_raw npz", |_| {
            let (shape, mut ch) = super::npz::read_channels(&npz, "probabilities", &[7, 8])?;
            let g = out.geometry();
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
        });
        if let Some([canal, cord]) = chans {
            for (folder, prob, seg_labels) in [
                ("step1_canal", canal, &[1u8, 2][..]),
                ("step1_cord", cord, &[1][..]),
            ] {
                ctx.stage(&format!("extract_soft {folder}"), |c| {
                    let soft = ops::extract_soft(&prob, &out, seg_labels, 1, false)?;
                    c.write(folder, "", &DynImage::F32(soft))
                });
            }
        }
    }
    ctx.stage("extract_levels", |c| {
        let lv = ops::extract_levels_image(&out, &LevelsParams::default())?;
        c.write("step1_levels", "", &DynImage::U8(lv))
    });
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
    if let Some(image) = image {
        ctx.stage("step2 input (crop_image2seg, extract_alternate)", |c| {
            let cropped = ops::crop_image_to_seg(&image, &out, 10)?;
            let g = *cropped.geometry();
            c.write("step2_input", "_0000", &cropped)?;
            let t = transform_seg2image(&g, &out, Interp::Nearest)?;
            let odd = ops::extract_alternate(&t, &(63..=100).collect::<Vec<u8>>(), &[])?;
            c.write("step2_input", "_0001", &DynImage::U8(odd))
        });
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
    let Some(raw) = ctx.stage("read step2_raw", |c| {
        let img = read(&c.path("step2_raw", ""))?;
        check_labels(&img, 11, "step2_raw")?;
        Ok(img)
    }) else {
        return;
    };
    let ok = ctx.stage("largest_component/iterative_label/fill_canal", |c| {
        let l = DynImage::U8(ops::largest_component(&raw, true, 5)?);
        let loc = localizer(c, loc_on)?;
        let mut p = IterativeLabelParams::step2(loc_on);
        p.fix_anterior_refinement = o.fix_anterior_refinement;
        let it = DynImage::U8(ops::iterative_label_image(&l, loc.as_ref(), &p)?);
        let f = DynImage::U8(ops::fill_canal(&it, 2, 1, true, true)?);
        let out = match grid_of(&c.path("input", "_0000"))? {
            Some(g) => transform_seg2image(&g, &f, Interp::Nearest)?,
            None => f,
        };
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
    let mut products = vec![
        ("step1_output", Interp::Nearest),
        ("step1_cord", Interp::Linear),
        ("step1_canal", Interp::Linear),
        ("step1_levels", Interp::Label),
    ];
    if ok.is_some() {
        products.push(("step2_output", Interp::Nearest));
    }
    for (folder, interp) in products {
        let p = ctx.path(folder, "");
        if !p.exists() {
            continue;
        }
        ctx.stage(&format!("{folder} to the native grid"), |c| {
            let img = read(&p)?;
            let r = transform_seg2image(&g, &img, interp)?;
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
