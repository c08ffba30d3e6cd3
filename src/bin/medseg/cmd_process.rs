//! Preprocessing and picture sub-commands: `preview` (and the preprocessing steps as they land).

use crate::common::{flag, opt_parse, opt_str, path};
use clap::{Arg, ArgAction, ArgMatches, Command};
use medseg::DynImage;
use medseg::io::{ReadOptions, WriteOptions};
use medseg::preprocess::{Undo, crop_pad, intensity, orient, resample as rs};
use medseg::preview::{Axis, ColorTable, PreviewOptions, Window};
use medseg::{Error, Result};
use std::path::Path;
use std::time::Instant;

fn input(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name).required(true).help(help)
}

fn opt(name: &'static str, value: &'static str, help: &'static str) -> Arg {
    Arg::new(name).long(name).value_name(value).help(help)
}

fn switch(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .action(ArgAction::SetTrue)
        .help(help)
}

pub fn commands() -> Vec<Command> {
    vec![
        Command::new("preview")
            .about("Write a PNG/JPEG picture of a slice, a mosaic or a tri-planar view (radiological display)")
            .arg(input("IN", "input image"))
            .arg(input("OUT", "output picture (.png, .jpg)"))
            .arg(opt("axis", "AXIS", "axial (default), coronal or sagittal"))
            .arg(opt("slice", "N", "slice index along the display axis (default: middle)"))
            .arg(opt("window", "L,W", "window level and width").conflicts_with("auto"))
            .arg(switch("auto", "window from the 0.5–99.5th percentiles (default)"))
            .arg(opt("labels", "LABELMAP", "label map on the same grid, drawn as a colour overlay"))
            .arg(opt("alpha", "A", "overlay opacity (default 0.4)"))
            .arg(opt("colors", "JSON", "colour table: {\"1\": [255,0,0], \"2\": \"#00ff00\"}"))
            .arg(opt("mosaic", "N", "N slices in a grid"))
            .arg(switch("triplanar", "axial, coronal and sagittal side by side"))
            .arg(opt("tag", "TEXT", "text written in the top-left corner")),
        Command::new("reorient")
            .about("Reorient by axis permutation/flips to an axis code or the closest canonical (RAS) orientation")
            .arg(input("IN", "input image"))
            .arg(input("OUT", "output image"))
            .arg(opt("to", "CODE", "letters towards which i, j, k increase: RAS, LPS, LPI, PIR, …").required_unless_present("canonical"))
            .arg(switch("canonical", "nibabel's closest canonical orientation (RAS)").conflicts_with("to"))
            .arg(opt("undo-info", "JSON", "write the undo record here")),
        Command::new("resample")
            .about("Resample to a spacing, a reference grid or a size")
            .arg(input("IN", "input image"))
            .arg(input("OUT", "output image"))
            .arg(opt("spacing", "X[,Y,Z]", "target spacing in mm (one value = isotropic)"))
            .arg(opt("reference", "REF", "image whose grid is the target"))
            .arg(opt("size", "I,J,K", "target size (origin kept, spacing scaled)"))
            .group(clap::ArgGroup::new("target").args(["spacing", "reference", "size"]).required(true))
            .arg(opt("interp", "MODE", "nearest, linear (default), bspline or label"))
            .arg(opt("default", "V", "value outside the input (default 0)"))
            .arg(opt("grid", "RULE", "grid rule for --spacing: itk (default), torchio, torchio-legacy"))
            .arg(switch("truncate", "integer outputs truncate toward zero like ITK (default: round)"))
            .arg(opt("max-mem-gb", "G", "refuse outputs larger than this (default 8)"))
            .arg(opt("undo-info", "JSON", "write the undo record here")),
        Command::new("normalize")
            .about("Intensity normalisation: window, preset, percentile rescale, z-score, nnU-Net CT")
            .arg(input("IN", "input image"))
            .arg(input("OUT", "output image"))
            .arg(opt("window", "L,W", "window level and width"))
            .arg(opt("preset", "NAME", "CT window preset (brain, subdural, stroke, bone, lung, abdomen, liver, mediastinum, soft-tissue, temporal-bone)"))
            .arg(opt("percentile", "LO,HI", "clip to these percentiles and rescale").alias("percentiles"))
            .arg(switch("zscore", "z-score (float32, nnU-Net numerics)"))
            .arg(opt("nnunet-ct", "MEAN,STD,P005,P995", "nnU-Net CT normalisation"))
            .group(clap::ArgGroup::new("method").args(["window", "preset", "percentile", "zscore", "nnunet-ct"]).required(true))
            .arg(switch("nonzero", "percentiles over voxels > 0; zero voxels stay 0 (MedSAM MR/PET)"))
            .arg(switch("clipped-range", "window rescales the clipped volume's own min..max (MedSAM CT)"))
            .arg(opt("out-range", "255|1", "uint8 0..255 (default) or float32 0..1"))
            .arg(opt("mask", "MASK", "z-score over the voxels where MASK is non-zero")),
        Command::new("crop")
            .about("Crop to the non-zero (or labelled) bounding box with a margin")
            .arg(input("IN", "input image"))
            .arg(input("OUT", "output image"))
            .arg(opt("to-labels", "SEG", "label map on the same grid whose non-zero box is used"))
            .arg(opt("margin", "N", "margin in voxels (default 0)"))
            .arg(opt("margin-mm", "MM", "margin in millimetres (rounded up per axis)").conflicts_with("margin"))
            .arg(switch("labelled-slices", "keep only the k slices holding a label of --to-labels").requires("to-labels"))
            .arg(opt("undo-info", "JSON", "write the undo record here")),
        Command::new("pad")
            .about("Pad with a constant or the edge values, to a size or by margins")
            .arg(input("IN", "input image"))
            .arg(input("OUT", "output image"))
            .arg(opt("to-size", "I,J,K", "pad (centred) to at least this size"))
            .arg(opt("by", "I,J,K", "pad this many voxels on both sides of each axis"))
            .arg(opt("lo", "I,J,K", "voxels before each axis").requires("hi"))
            .arg(opt("hi", "I,J,K", "voxels after each axis").requires("lo"))
            .group(clap::ArgGroup::new("amount").args(["to-size", "by", "lo"]).required(true))
            .arg(opt("mode", "MODE", "constant (default) or edge"))
            .arg(opt("value", "V", "constant value (default 0)"))
            .arg(opt("undo-info", "JSON", "write the undo record here")),
    ]
}

pub fn run(name: &str, m: &ArgMatches) -> Option<Result<()>> {
    match name {
        "preview" => Some(preview(m)),
        "reorient" => Some(reorient(m)),
        "resample" => Some(resample(m)),
        "normalize" => Some(normalize(m)),
        "crop" => Some(crop(m)),
        "pad" => Some(pad(m)),
        _ => None,
    }
}

fn read(p: &Path) -> Result<DynImage> {
    medseg::io::read(p, &ReadOptions::default())
}

fn write(p: &Path, img: &DynImage) -> Result<()> {
    medseg::io::write(p, img, &WriteOptions::default())
}

/// Parse "a,b" into two numbers.
fn pair(s: &str, what: &str) -> Result<(f64, f64)> {
    let v = list(s, what)?;
    match v.as_slice() {
        [a, b] => Ok((*a, *b)),
        _ => Err(Error::invalid_argument(format!(
            "--{what}: expected two comma-separated numbers, got '{s}'"
        ))),
    }
}

/// Parse "a,b,c,…" into numbers.
fn list(s: &str, what: &str) -> Result<Vec<f64>> {
    s.split(',')
        .map(|t| {
            t.trim().parse::<f64>().map_err(|_| {
                Error::invalid_argument(format!("--{what}: '{t}' is not a number (in '{s}')"))
            })
        })
        .collect()
}

fn preview(m: &ArgMatches) -> Result<()> {
    let img = read(&path(m, "IN")?)?;
    let labels = opt_str(m, "labels")
        .map(|p| read(std::path::Path::new(p)))
        .transpose()?;
    let mut opts = PreviewOptions::default();
    if let Some(a) = opt_str(m, "axis") {
        opts.axis = Axis::parse(a)?;
    }
    opts.slice = opt_parse(m, "slice")?;
    if let Some(w) = opt_str(m, "window") {
        let (level, width) = pair(w, "window")?;
        opts.window = Window::LevelWidth { level, width };
    }
    if let Some(a) = opt_parse(m, "alpha")? {
        opts.alpha = a;
    }
    if let Some(c) = opt_str(m, "colors") {
        let p = std::path::Path::new(c);
        let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
        opts.colors = ColorTable::from_json(&text).map_err(|e| e.context(p.display()))?;
    }
    opts.mosaic = opt_parse(m, "mosaic")?;
    opts.triplanar = flag(m, "triplanar");
    opts.tag = opt_str(m, "tag").map(str::to_string);
    let pic = medseg::preview::render(&img, labels.as_ref(), &opts)?;
    pic.save(&path(m, "OUT")?)
}

/// Parse "a,b,c" into three numbers; one number is repeated.
fn triple(s: &str, what: &str) -> Result<[f64; 3]> {
    let v = list(s, what)?;
    match v.as_slice() {
        [a] => Ok([*a; 3]),
        [a, b, c] => Ok([*a, *b, *c]),
        _ => Err(Error::invalid_argument(format!(
            "--{what}: expected one or three comma-separated numbers, got '{s}'"
        ))),
    }
}

/// Parse "i,j,k" into three non-negative integers.
fn triple_usize(s: &str, what: &str) -> Result<[usize; 3]> {
    let v = triple(s, what)?;
    let mut out = [0usize; 3];
    for (o, x) in out.iter_mut().zip(v) {
        if !(x >= 0.0 && x.fract() == 0.0 && x < 1e15) {
            return Err(Error::invalid_argument(format!(
                "--{what}: '{s}' must hold non-negative integers"
            )));
        }
        *o = x as usize;
    }
    Ok(out)
}

/// Timing lines for the benchmark harness (`MEDSEG_BENCH=1`): load, op and save milliseconds.
struct Timer {
    op: &'static str,
    t: Instant,
    marks: Vec<(&'static str, f64)>,
}

impl Timer {
    fn new(op: &'static str) -> Timer {
        Timer {
            op,
            t: Instant::now(),
            marks: Vec::new(),
        }
    }
    fn mark(&mut self, what: &'static str) {
        self.marks
            .push((what, self.t.elapsed().as_secs_f64() * 1e3));
        self.t = Instant::now();
    }
    fn report(&self) {
        if std::env::var_os("MEDSEG_BENCH").is_some() {
            let parts: Vec<String> = self
                .marks
                .iter()
                .map(|(k, v)| format!("{k}_ms={v:.1}"))
                .collect();
            println!("BENCH tool=medseg op={} {}", self.op, parts.join(" "));
        }
    }
}

fn write_undo(m: &ArgMatches, undo: Undo) -> Result<()> {
    if let Some(p) = opt_str(m, "undo-info") {
        medseg::io::atomic_write(Path::new(p), undo.to_json().as_bytes())?;
    }
    Ok(())
}

fn finish(m: &ArgMatches, mut t: Timer, out: &DynImage, undo: Option<Undo>) -> Result<()> {
    write(&path(m, "OUT")?, out)?;
    if let Some(u) = undo {
        write_undo(m, u)?;
    }
    t.mark("save");
    t.report();
    Ok(())
}

fn reorient(m: &ArgMatches) -> Result<()> {
    let mut t = Timer::new("reorient");
    let img = read(&path(m, "IN")?)?;
    t.mark("load");
    let code = match opt_str(m, "to") {
        Some(c) => orient::AxisCode::parse(c)?,
        None => orient::AxisCode::canonical(),
    };
    let (out, undo) = orient::reorient_dyn(&img, &code)?;
    t.mark("op");
    finish(m, t, &out, Some(Undo::Reorient(undo)))
}

fn resample(m: &ArgMatches) -> Result<()> {
    let mut t = Timer::new("resample");
    let img = read(&path(m, "IN")?)?;
    t.mark("load");
    let target = if let Some(s) = opt_str(m, "spacing") {
        let s = triple(s, "spacing")?;
        match opt_str(m, "grid").unwrap_or("itk") {
            "itk" | "sitk" => rs::TargetGrid::Spacing(s),
            "torchio" => rs::TargetGrid::TorchIo(s),
            "torchio-legacy" => rs::TargetGrid::TorchIoLegacy(s),
            other => {
                return Err(Error::invalid_argument(format!(
                    "--grid '{other}' is not one of itk, torchio, torchio-legacy"
                )));
            }
        }
    } else if let Some(r) = opt_str(m, "reference") {
        rs::TargetGrid::Reference(*read(Path::new(r))?.geometry())
    } else if let Some(s) = opt_str(m, "size") {
        rs::TargetGrid::Size(triple_usize(s, "size")?)
    } else {
        return Err(Error::invalid_argument(
            "one of --spacing, --reference, --size is required",
        ));
    };
    let mut opts = rs::ResampleOptions::default();
    if let Some(i) = opt_str(m, "interp") {
        opts.interpolation = rs::Interpolation::parse(i)?;
    }
    if let Some(d) = opt_parse::<f64>(m, "default")? {
        opts.default_value = d;
    }
    if flag(m, "truncate") {
        opts.rounding = rs::Rounding::Truncate;
    }
    if let Some(g) = opt_parse::<f64>(m, "max-mem-gb")? {
        if !(g > 0.0 && g.is_finite()) {
            return Err(Error::invalid_argument(format!(
                "--max-mem-gb {g} must be positive"
            )));
        }
        opts.max_bytes = (g * (1u64 << 30) as f64) as u64;
    }
    let (out, undo) = rs::resample_dyn(&img, &target, &opts)?;
    t.mark("op");
    finish(m, t, &out, Some(Undo::Resample(undo)))
}

fn normalize(m: &ArgMatches) -> Result<()> {
    let mut t = Timer::new("normalize");
    let img = read(&path(m, "IN")?)?;
    t.mark("load");
    let out_range = match opt_str(m, "out-range").unwrap_or("255") {
        "255" => intensity::OutRange::U8,
        "1" => intensity::OutRange::Unit,
        other => {
            return Err(Error::invalid_argument(format!(
                "--out-range '{other}' is not 255 or 1"
            )));
        }
    };
    let scale = if flag(m, "clipped-range") {
        intensity::WindowScale::ClippedRange
    } else {
        intensity::WindowScale::Bounds
    };
    let out: DynImage = if let Some(w) = opt_str(m, "window") {
        let (l, w) = pair(w, "window")?;
        intensity::window_dyn(&img, l, w, scale, out_range)?.0
    } else if let Some(p) = opt_str(m, "preset") {
        let (l, w) = intensity::preset(p)?;
        intensity::window_dyn(&img, l, w, scale, out_range)?.0
    } else if let Some(p) = opt_str(m, "percentile") {
        let (lo, hi) = pair(p, "percentile")?;
        intensity::percentile_normalize_dyn(&img, lo, hi, flag(m, "nonzero"), out_range)?.0
    } else if flag(m, "zscore") {
        let mask = opt_str(m, "mask").map(|p| read(Path::new(p))).transpose()?;
        intensity::zscore_dyn(&img, mask.as_ref())?.into()
    } else if let Some(p) = opt_str(m, "nnunet-ct") {
        match list(p, "nnunet-ct")?.as_slice() {
            [mean, std, p005, p995] => {
                intensity::nnunet_ct_dyn(&img, *mean, *std, *p005, *p995)?.into()
            }
            _ => {
                return Err(Error::invalid_argument(format!(
                    "--nnunet-ct: expected mean,std,p005,p995, got '{p}'"
                )));
            }
        }
    } else {
        return Err(Error::invalid_argument("choose one normalisation method"));
    };
    t.mark("op");
    finish(m, t, &out, None)
}

fn crop(m: &ArgMatches) -> Result<()> {
    let mut t = Timer::new("crop");
    let img = read(&path(m, "IN")?)?;
    let labels = opt_str(m, "to-labels")
        .map(|p| read(Path::new(p)))
        .transpose()?;
    t.mark("load");
    if flag(m, "labelled-slices") {
        let lab: medseg::Image<f64> = labels
            .as_ref()
            .ok_or_else(|| Error::invalid_argument("--labelled-slices needs --to-labels"))?
            .cast();
        let (out, undo) = medseg::dispatch!(&img, i => crop_pad::keep_labelled_slices(i, &lab, 2)
            .map(|(o, u)| (DynImage::from(o), u)))?;
        t.mark("op");
        return finish(m, t, &out, Some(Undo::Slices(undo)));
    }
    let margin = if let Some(mm) = opt_str(m, "margin-mm") {
        crop_pad::Margin::Mm(triple(mm, "margin-mm")?)
    } else {
        crop_pad::Margin::Voxels(match opt_str(m, "margin") {
            Some(v) => triple_usize(v, "margin")?,
            None => [0; 3],
        })
    };
    if let Some(l) = &labels
        && !l.geometry().same_grid(img.geometry(), 1e-4)
    {
        return Err(Error::mismatch(
            "--to-labels: the label map is not on the image grid",
        ));
    }
    let (out, undo) = crop_pad::crop_to_nonzero_dyn(&img, labels.as_ref(), margin)?;
    t.mark("op");
    finish(m, t, &out, Some(Undo::Crop(undo)))
}

fn pad(m: &ArgMatches) -> Result<()> {
    let mut t = Timer::new("pad");
    let img = read(&path(m, "IN")?)?;
    t.mark("load");
    let mode = match opt_str(m, "mode").unwrap_or("constant") {
        "constant" => crop_pad::PadMode::Constant(opt_parse(m, "value")?.unwrap_or(0.0)),
        "edge" => crop_pad::PadMode::Edge,
        other => {
            return Err(Error::invalid_argument(format!(
                "--mode '{other}' is not constant or edge"
            )));
        }
    };
    let size = img.geometry().size;
    let (lo, hi) = if let Some(s) = opt_str(m, "to-size") {
        let want = triple_usize(s, "to-size")?;
        let mut lo = [0usize; 3];
        let mut hi = [0usize; 3];
        for a in 0..3 {
            let d = want[a].saturating_sub(size[a]);
            lo[a] = d / 2;
            hi[a] = d - lo[a];
        }
        (lo, hi)
    } else if let Some(b) = opt_str(m, "by") {
        let b = triple_usize(b, "by")?;
        (b, b)
    } else {
        let lo = triple_usize(opt_str(m, "lo").unwrap_or("0"), "lo")?;
        let hi = triple_usize(opt_str(m, "hi").unwrap_or("0"), "hi")?;
        (lo, hi)
    };
    let (out, undo) = crop_pad::pad_dyn(&img, lo, hi, mode, 16 << 30)?;
    t.mark("op");
    finish(m, t, &out, Some(Undo::Pad(undo)))
}
