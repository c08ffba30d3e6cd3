//! `medseg spine <utility> ...`: TotalSpineSeg's console scripts, one file in → one file out,
//! defaulting to the parameters `totalspineseg/inference.py` passes; `postprocess-step1/2
//! CASE_DIR` chaining them on a TotalSpineSeg output folder; and `run --model DIR IN OUT_DIR`,
//! the whole inference with both networks (`medseg::pipeline::spine`).

use crate::common::{flag, opt_str, path};
use clap::{Arg, ArgAction, ArgMatches, Command};
use medseg::image::DynImage;
use medseg::io::{self, ReadOptions};
use medseg::spine::levels::LevelsParams;
use medseg::spine::ops;
use medseg::spine::pipeline::{self, PipelineOptions};
use medseg::spine::preview::{self, PreviewOptions};
use medseg::spine::resample::{self, Interp};
use medseg::spine::{IterativeLabelParams, L5sRule};
use medseg::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

fn io2(c: Command) -> Command {
    c.arg(Arg::new("input").required(true).help("input file"))
        .arg(
            Arg::new("output")
                .required(true)
                .help("output file (written atomically)"),
        )
}

fn list(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .num_args(1..)
        .action(ArgAction::Set)
        .help(help)
}

fn preset(values: &'static [&'static str], help: &'static str) -> Arg {
    Arg::new("preset")
        .long("preset")
        .value_parser(clap::builder::PossibleValuesParser::new(values))
        .help(help)
}

pub fn commands() -> Vec<Command> {
    let iter_lists: [(&'static str, &'static str); 14] = [
        (
            "selected-disc-landmarks",
            "raw landmark values, priority order",
        ),
        ("disc-labels", "raw disc values (ranges a-b allowed)"),
        ("disc-landmark-labels", "raw C2C3 C7T1 T12L1 L5S values"),
        (
            "disc-landmark-output-labels",
            "output labels of the 4 landmark discs",
        ),
        ("vertebrae-labels", "raw vertebra values"),
        (
            "vertebrae-landmark-output-labels",
            "output labels of C3 T1 L1 sacrum",
        ),
        ("vertebrae-extra-labels", "raw generic-vertebra values"),
        ("region-max-sizes", "4 region sizes (max)"),
        ("region-default-sizes", "4 region sizes (default)"),
        ("loc-disc-labels", "localizer disc labels"),
        ("canal-labels", "raw canal values"),
        ("cord-labels", "raw cord values"),
        ("sacrum-labels", "raw sacrum values"),
        ("map-input", "raw:output pairs applied last, e.g. 7:11"),
    ];
    let mut it = io2(Command::new("iterative-label"))
        .about("Iterative labeling of discs (and vertebrae in step 2); defaults = inference.py's step-1 parameters")
        .arg(preset(&["step1", "step2"], "parameter set of inference.py (default step1)"))
        .arg(Arg::new("loc").long("loc").help("localizer segmentation (TotalSpineSeg output on another image)"));
    for (n, h) in iter_lists {
        it = it.arg(list(n, h));
    }
    for (n, h) in [
        ("disc-output-step", "step between disc output labels"),
        (
            "vertebrae-output-step",
            "step between vertebra output labels",
        ),
        ("canal-output-label", "0 = not written"),
        ("cord-output-label", "0 = not written"),
        ("sacrum-output-label", "0 = not written"),
        (
            "dilation-size",
            "cross dilation before labeling (≤ 1 = one cross dilation)",
        ),
        (
            "default-superior-disc",
            "label of the top disc when no landmark anchors (0 = error)",
        ),
        (
            "min-component-size",
            "smallest component kept, and landmark size threshold (200)",
        ),
    ] {
        it = it.arg(Arg::new(n).long(n).help(h));
    }
    it = it
        .arg(
            Arg::new("l5s-rule")
                .long("l5s-rule")
                .value_parser(clap::builder::PossibleValuesParser::new(["20260807", "20260429"]))
                .help("L5-S sanity rule of that totalspineseg version (default 20260807)"),
        )
        .arg(
            Arg::new("fix-anterior-refinement")
                .long("fix-anterior-refinement")
                .action(ArgAction::SetTrue)
                .help("re-project every component on its anterior part (fixes a reference bug; output then differs from totalspineseg)"),
        );
    vec![Command::new("spine")
        .about("TotalSpineSeg: the whole inference (run) and its post-processing utilities (voxel-identical to totalspineseg 20260807)")
        .subcommand_required(true)
        .subcommand(run_command())
        .subcommand(
            io2(Command::new("largest-component"))
                .about("Keep the largest cluster (default: binarize, dilate 5 as inference.py)")
                .arg(Arg::new("dilate").long("dilate").help("L1 dilation radius before labeling (default 5)"))
                .arg(Arg::new("no-binarize").long("no-binarize").action(ArgAction::SetTrue).help("one component per label instead of one cluster"))
                .arg(preset(&["step1", "step2"], "same parameters for both steps")),
        )
        .subcommand(it)
        .subcommand(
            io2(Command::new("fill-canal"))
                .about("Fill the canal's axial hull (default canal 2, cord 1, largest canal and cord)")
                .arg(Arg::new("canal-label").long("canal-label"))
                .arg(Arg::new("cord-label").long("cord-label"))
                .arg(Arg::new("no-largest-canal").long("no-largest-canal").action(ArgAction::SetTrue))
                .arg(Arg::new("no-largest-cord").long("no-largest-cord").action(ArgAction::SetTrue)),
        )
        .subcommand(
            io2(Command::new("extract-alternate"))
                .about("Binary mask of every other present disc (default labels 63-100)")
                .arg(list("labels", "labels (ranges allowed)"))
                .arg(list("prioratize-labels", "start with the first present of these")),
        )
        .subcommand(
            io2(Command::new("extract-levels"))
                .about("Disc level points (defaults as inference.py)")
                .arg(list("canal-labels", "default 1 2"))
                .arg(list("disc-labels", "default 63-67 71-82 91-95 100"))
                .arg(Arg::new("c1-label").long("c1-label"))
                .arg(Arg::new("c2-label").long("c2-label")),
        )
        .subcommand(
            io2(Command::new("extract-soft"))
                .about("Soft canal/cord map from the step-1 probabilities npz")
                .arg(Arg::new("probabilities").long("probabilities").short('n').required(true).help("step1_raw/X.npz"))
                .arg(preset(&["canal", "cord"], "canal: label 8, seg labels 1 2; cord: label 9, seg label 1 (dilate 1)"))
                .arg(Arg::new("label").long("label"))
                .arg(list("seg-labels", "segmentation labels of the mask"))
                .arg(Arg::new("dilate").long("dilate"))
                .arg(Arg::new("largest").long("largest").action(ArgAction::SetTrue)),
        )
        .subcommand(
            io2(Command::new("crop-to-seg"))
                .about("Crop an image to a segmentation's bounding box (same grid)")
                .arg(Arg::new("seg").long("seg").short('s').required(true))
                .arg(Arg::new("margin").long("margin").short('m').help("voxels (default 10 as inference.py)")),
        )
        .subcommand(
            io2(Command::new("transform-to-image"))
                .about("Resample a segmentation onto an image's grid")
                .arg(Arg::new("image").long("image").short('i').required(true))
                .arg(
                    Arg::new("interpolation")
                        .long("interpolation")
                        .short('x')
                        .value_parser(clap::builder::PossibleValuesParser::new(["nearest", "linear", "label"]))
                        .help("default nearest"),
                ),
        )
        .subcommand(io2(Command::new("average4d")).about("Mean over the 4th axis (dtype kept)"))
        .subcommand(io2(Command::new("reorient-canonical")).about("Closest canonical (RAS+) orientation, no resampling"))
        .subcommand(
            io2(Command::new("resample-iso"))
                .about("Linear resampling to 1 mm (TorchIO ≥ 0.20.11 grid), dtype kept")
                .arg(Arg::new("mm").long("mm").short('m').num_args(1..=3).help("1 or 3 spacings (default 1)")),
        )
        .subcommand(
            io2(Command::new("preview"))
                .about("Sagittal preview JPEG (input = image, output = .jpg)")
                .arg(Arg::new("seg").long("seg"))
                .arg(Arg::new("levels").long("levels").action(ArgAction::SetTrue))
                .arg(Arg::new("tags").long("tags").action(ArgAction::SetTrue))
                .arg(Arg::new("sliceloc").long("sliceloc")),
        )
        .subcommand(
            Command::new("postprocess-step1")
                .about("inference.py rows 10-25 on CASE_DIR (step1_raw → step1_output, canal, cord, levels, step2_input)")
                .arg(Arg::new("case_dir").required(true))
                .arg(Arg::new("loc").long("loc").action(ArgAction::SetTrue).help("localizer mode (default: when CASE_DIR/localizers exists)"))
                .arg(Arg::new("preview").long("preview").action(ArgAction::SetTrue))
                .arg(Arg::new("fix-anterior-refinement").long("fix-anterior-refinement").action(ArgAction::SetTrue)),
        )
        .subcommand(
            Command::new("postprocess-step2")
                .about("inference.py rows 28-33 on CASE_DIR (step2_raw → step2_output; products to the native grid unless --iso)")
                .arg(Arg::new("case_dir").required(true))
                .arg(Arg::new("loc").long("loc").action(ArgAction::SetTrue))
                .arg(Arg::new("iso").long("iso").action(ArgAction::SetTrue))
                .arg(Arg::new("fix-anterior-refinement").long("fix-anterior-refinement").action(ArgAction::SetTrue)),
        )]
}

pub fn run(name: &str, m: &ArgMatches) -> Option<Result<()>> {
    if name != "spine" {
        return None;
    }
    let (sub, sm) = m.subcommand()?;
    Some(run_sub(sub, sm))
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

/// Integers with `a-b` ranges, e.g. `63-67 71`.
fn ints(m: &ArgMatches, name: &str) -> Result<Option<Vec<i64>>> {
    let Some(vals) = m.try_get_many::<String>(name).ok().flatten() else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for v in vals {
        let bad = || Error::invalid_argument(format!("--{name}: cannot parse '{v}'"));
        if let Some((a, b)) = v.split_once('-').filter(|(a, _)| !a.is_empty()) {
            let (a, b): (i64, i64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
            out.extend(a..=b);
        } else {
            out.push(v.parse().map_err(|_| bad())?);
        }
    }
    Ok(Some(out))
}

fn u8s(m: &ArgMatches, name: &str) -> Result<Option<Vec<u8>>> {
    ints(m, name)?
        .map(|v| {
            v.into_iter()
                .map(|x| {
                    u8::try_from(x).map_err(|_| {
                        Error::invalid_argument(format!("--{name}: {x} is not in 0..=255"))
                    })
                })
                .collect()
        })
        .transpose()
}

fn num<T: std::str::FromStr>(m: &ArgMatches, name: &str) -> Result<Option<T>> {
    opt_str(m, name)
        .map(|s| {
            s.parse::<T>()
                .map_err(|_| Error::invalid_argument(format!("--{name}: cannot parse '{s}'")))
        })
        .transpose()
}

fn write(p: &Path, img: DynImage) -> Result<()> {
    pipeline::write_image(p, &img)
}

fn iter_params(m: &ArgMatches, loc: bool) -> Result<IterativeLabelParams> {
    let mut p = match opt_str(m, "preset").unwrap_or("step1") {
        "step2" => IterativeLabelParams::step2(loc),
        _ => IterativeLabelParams::step1(loc),
    };
    macro_rules! set_u8s {
        ($f:ident, $n:literal) => {
            if let Some(v) = u8s(m, $n)? {
                p.$f = v;
            }
        };
    }
    set_u8s!(selected_disc_landmarks, "selected-disc-landmarks");
    set_u8s!(disc_labels, "disc-labels");
    set_u8s!(disc_landmark_labels, "disc-landmark-labels");
    set_u8s!(vertebrae_labels, "vertebrae-labels");
    set_u8s!(vertebrae_extra_labels, "vertebrae-extra-labels");
    set_u8s!(loc_disc_labels, "loc-disc-labels");
    set_u8s!(canal_labels, "canal-labels");
    set_u8s!(cord_labels, "cord-labels");
    set_u8s!(sacrum_labels, "sacrum-labels");
    if let Some(v) = ints(m, "disc-landmark-output-labels")? {
        p.disc_landmark_output_labels = v;
    }
    if let Some(v) = ints(m, "vertebrae-landmark-output-labels")? {
        p.vertebrae_landmark_output_labels = v;
    }
    for (n, f) in [
        ("region-max-sizes", &mut p.region_max_sizes),
        ("region-default-sizes", &mut p.region_default_sizes),
    ] {
        if let Some(v) = ints(m, n)? {
            *f = v
                .into_iter()
                .map(|x| {
                    usize::try_from(x).map_err(|_| Error::invalid_argument(format!("--{n}: {x}")))
                })
                .collect::<Result<_>>()?;
        }
    }
    if let Some(v) = m.try_get_many::<String>("map-input").ok().flatten() {
        p.map_input = v
            .map(|s| {
                let (a, b) = s.split_once(':').ok_or_else(|| {
                    Error::invalid_argument(format!("--map-input: '{s}' is not a:b"))
                })?;
                let pa = a
                    .parse::<u8>()
                    .map_err(|_| Error::invalid_argument(format!("--map-input: '{s}'")))?;
                let pb = b
                    .parse::<u8>()
                    .map_err(|_| Error::invalid_argument(format!("--map-input: '{s}'")))?;
                Ok((pa, pb))
            })
            .collect::<Result<_>>()?;
    }
    if let Some(v) = num(m, "disc-output-step")? {
        p.disc_output_step = v;
    }
    if let Some(v) = num(m, "vertebrae-output-step")? {
        p.vertebrae_output_step = v;
    }
    if let Some(v) = num(m, "canal-output-label")? {
        p.canal_output_label = v;
    }
    if let Some(v) = num(m, "cord-output-label")? {
        p.cord_output_label = v;
    }
    if let Some(v) = num(m, "sacrum-output-label")? {
        p.sacrum_output_label = v;
    }
    if let Some(v) = num(m, "dilation-size")? {
        p.dilation_size = v;
    }
    if let Some(v) = num(m, "default-superior-disc")? {
        p.default_superior_disc = v;
    }
    if let Some(v) = num(m, "min-component-size")? {
        p.min_component_size = v;
    }
    if opt_str(m, "l5s-rule") == Some("20260429") {
        p.l5s_rule = L5sRule::LastDisc;
    }
    p.fix_anterior_refinement = flag(m, "fix-anterior-refinement");
    Ok(p)
}

fn report(r: Result<Vec<pipeline::CaseReport>>) -> Result<()> {
    let text = pipeline::summarize(&r?)?;
    print!("{text}");
    Ok(())
}

fn run_command() -> Command {
    Command::new("run")
        .about("TotalSpineSeg inference with both nnU-Net steps; writes step1_output/, step1_canal/, step1_cord/, step1_levels/, step2_output/ (+ step1_raw/, step2_raw/, step2_input/) named after IN")
        .arg(Arg::new("model").long("model").short('m').required(true).value_name("DIR").help("TotalSpineSeg model folder: step1/ and step2/ nnU-Net model folders"))
        .arg(Arg::new("input").required(true).value_name("IN").help("image (3-D, or 4-D averaged over time)"))
        .arg(Arg::new("out_dir").required(true).value_name("OUT_DIR").help("output folder (created)"))
        .arg(Arg::new("device").long("device").value_name("DEV").default_value("cpu").help("cpu, cuda[:N], tensorrt[:N] or auto"))
        .arg(Arg::new("threads").long("threads").value_name("N").help("ONNX Runtime intra-op threads (default: one per core)"))
        .arg(Arg::new("folds").long("folds").value_name("LIST").help("folds to use, e.g. 0 (default: all)"))
        .arg(Arg::new("step1-only").long("step1-only").action(ArgAction::SetTrue).help("stop after step 1 (totalspineseg --step1)"))
        .arg(Arg::new("iso").long("iso").action(ArgAction::SetTrue).help("keep the outputs on the 1 mm canonical grid (also writes input/IN_0000)"))
        .arg(Arg::new("loc").long("loc").value_name("LOCALIZER").help("localizer segmentation (TotalSpineSeg output on another image of the subject)"))
        .arg(Arg::new("no-tta").long("no-tta").action(ArgAction::SetTrue).help("disable test-time mirroring (totalspineseg runs without)"))
        .arg(Arg::new("step").long("step").value_name("F").help("sliding-window step as a fraction of the patch (default: the model's, 0.5)"))
        .arg(Arg::new("fix-anterior-refinement").long("fix-anterior-refinement").action(ArgAction::SetTrue).help("fix the reference's anterior-refinement bug (output then differs from totalspineseg)"))
        .arg(Arg::new("ort-lib").long("ort-lib").value_name("PATH").help("ONNX Runtime library (file or folder)"))
        .arg(Arg::new("quiet").long("quiet").short('q').action(ArgAction::SetTrue).help("no progress output"))
}

/// `X.nii.gz` → `X` (also `.nii`, `.nrrd`, `.mha`, ... : the last extension).
fn stem(p: &Path) -> Result<String> {
    let name = p
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::invalid_argument(format!("{}: no file name", p.display())))?;
    let s = name
        .strip_suffix(".nii.gz")
        .or_else(|| name.rsplit_once('.').map(|(a, _)| a))
        .unwrap_or(name);
    Ok(s.to_string())
}

fn spine_run(m: &ArgMatches) -> Result<()> {
    use medseg::inference::onnx::{Device, SessionConfig};
    use medseg::pipeline::spine::{SpineConfig, SpineModel};
    let dir = path(m, "model")?;
    let input = path(m, "input")?;
    let out_dir = path(m, "out_dir")?;
    let quiet = flag(m, "quiet");
    let t0 = std::time::Instant::now();
    let model = SpineModel::load(&dir)?;
    let mut cfg = SpineConfig {
        step1_only: flag(m, "step1-only"),
        iso: flag(m, "iso"),
        fix_anterior_refinement: flag(m, "fix-anterior-refinement"),
        ..Default::default()
    };
    cfg.predict.folds = opt_str(m, "folds").map(|s| {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    });
    cfg.predict.options.tta = !flag(m, "no-tta");
    cfg.predict.options.step = num::<f64>(m, "step")?;
    let device: Device = opt_str(m, "device").unwrap_or("cpu").parse()?;
    cfg.predict.session = SessionConfig {
        device: Some(device),
        threads: num::<usize>(m, "threads")?,
        ort_lib: opt_str(m, "ort-lib").map(PathBuf::from),
    };
    cfg.loc = opt_str(m, "loc").map(|p| read(Path::new(p))).transpose()?;
    let name = stem(&input)?;
    // The image in its stored type (TotalSpineSeg casts back to the input dtype).
    let image = io::read(&input, &ReadOptions::default())?;
    let mut last_pct = -1i64;
    let mut last_stage = String::new();
    let mut progress = |f: f64, stage: &str| {
        if !quiet {
            let pct = (f * 100.0).floor() as i64;
            if pct != last_pct || stage != last_stage {
                let mut e = std::io::stderr();
                let _ = write!(
                    e,
                    "\r{stage:<32} [{:<40}] {pct:3}%",
                    "#".repeat((f * 40.0) as usize)
                );
                if f >= 1.0 {
                    let _ = writeln!(e);
                }
                last_pct = pct;
                last_stage = stage.to_string();
            }
        }
        true
    };
    let out = model.run(&image, &cfg, &mut progress)?;
    let mut written = 0usize;
    let mut put = |folder: &str, suffix: &str, img: &Option<DynImage>| -> Result<()> {
        if let Some(img) = img {
            let d = out_dir.join(folder);
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
            write(&d.join(format!("{name}{suffix}.nii.gz")), img.clone())?;
            written += 1;
        }
        Ok(())
    };
    put("step1_raw", "", &Some(out.step1_raw.clone()))?;
    put("step1_output", "", &Some(out.step1_output.clone()))?;
    put("step1_canal", "", &out.step1_canal)?;
    put("step1_cord", "", &out.step1_cord)?;
    put("step1_levels", "", &out.step1_levels)?;
    put("step2_input", "_0001", &out.step2_odd_discs)?;
    put("step2_raw", "", &out.step2_raw)?;
    put("step2_output", "", &out.step2_output)?;
    if cfg.iso {
        put("input", "_0000", &Some(out.image_1mm.clone()))?;
    }
    for n in &out.notes {
        eprintln!("note: {n}");
    }
    println!(
        "{name}: {written} file(s) written to {} ({} on {}, {:.2} s)",
        out_dir.display(),
        dir.display(),
        out.device,
        t0.elapsed().as_secs_f64()
    );
    if out.errors.is_empty() {
        return Ok(());
    }
    for (stage, e) in &out.errors {
        eprintln!("error: {stage}: {}", e.chain());
    }
    let (stage, e) = &out.errors[0];
    Err(Error::new(
        e.kind(),
        format!(
            "{} stage(s) failed, first: {stage}: {}",
            out.errors.len(),
            e.message()
        ),
    ))
}

fn run_sub(sub: &str, m: &ArgMatches) -> Result<()> {
    if sub == "run" {
        return spine_run(m);
    }
    if sub.starts_with("postprocess-") {
        let dir = path(m, "case_dir")?;
        let o = PipelineOptions {
            loc: flag(m, "loc").then_some(true),
            iso: flag(m, "iso"),
            fix_anterior_refinement: flag(m, "fix-anterior-refinement"),
            preview: flag(m, "preview"),
        };
        return report(if sub == "postprocess-step1" {
            pipeline::postprocess_step1(&dir, &o)
        } else {
            pipeline::postprocess_step2(&dir, &o)
        });
    }
    let input = path(m, "input")?;
    let output = path(m, "output")?;
    let img = read(&input)?;
    match sub {
        "largest-component" => {
            let dilate = num(m, "dilate")?.unwrap_or(5);
            write(
                &output,
                DynImage::U8(ops::largest_component(
                    &img,
                    !flag(m, "no-binarize"),
                    dilate,
                )?),
            )
        }
        "iterative-label" => {
            let loc = opt_str(m, "loc").map(|p| read(Path::new(p))).transpose()?;
            let p = iter_params(m, loc.is_some())?;
            write(
                &output,
                DynImage::U8(ops::iterative_label_image(&img, loc.as_ref(), &p)?),
            )
        }
        "fill-canal" => write(
            &output,
            DynImage::U8(ops::fill_canal(
                &img,
                num(m, "canal-label")?.unwrap_or(2),
                num(m, "cord-label")?.unwrap_or(1),
                !flag(m, "no-largest-canal"),
                !flag(m, "no-largest-cord"),
            )?),
        ),
        "extract-alternate" => {
            let labels = u8s(m, "labels")?.unwrap_or_else(|| (63..=100).collect());
            let prio = u8s(m, "prioratize-labels")?.unwrap_or_default();
            write(
                &output,
                DynImage::U8(ops::extract_alternate(&img, &labels, &prio)?),
            )
        }
        "extract-levels" => {
            let mut p = LevelsParams::default();
            if let Some(v) = u8s(m, "canal-labels")? {
                p.canal_labels = v;
            }
            if let Some(v) = u8s(m, "disc-labels")? {
                p.disc_labels = v;
            }
            if let Some(v) = num(m, "c1-label")? {
                p.c1_label = v;
            }
            if let Some(v) = num(m, "c2-label")? {
                p.c2_label = v;
            }
            write(&output, DynImage::U8(ops::extract_levels_image(&img, &p)?))
        }
        "extract-soft" => {
            let (dl, dseg): (usize, Vec<u8>) = match opt_str(m, "preset").unwrap_or("canal") {
                "cord" => (9, vec![1]),
                _ => (8, vec![1, 2]),
            };
            let label = num(m, "label")?.unwrap_or(dl);
            let seg_labels = u8s(m, "seg-labels")?.unwrap_or(dseg);
            let dilate = num(m, "dilate")?.unwrap_or(1);
            let npz = path(m, "probabilities")?;
            if label == 0 {
                return Err(Error::invalid_argument("--label must be ≥ 1"));
            }
            let (shape, prob) = medseg::spine::npz::read_channel(&npz, "probabilities", label - 1)?;
            let g = img.geometry();
            if shape.len() != 4 || shape[1..] != [g.size[2], g.size[1], g.size[0]] {
                return Err(Error::mismatch(format!(
                    "{}: probabilities of shape {shape:?} do not match the segmentation grid {:?}",
                    npz.display(),
                    g.size
                )));
            }
            write(
                &output,
                DynImage::F32(ops::extract_soft(
                    &prob,
                    &img,
                    &seg_labels,
                    dilate,
                    flag(m, "largest"),
                )?),
            )
        }
        "crop-to-seg" => {
            let seg = read(&path(m, "seg")?)?;
            let margin = num(m, "margin")?.unwrap_or(10);
            let raw = io::read(&input, &ReadOptions::default())?;
            write(&output, ops::crop_image_to_seg(&raw, &seg, margin)?)
        }
        "transform-to-image" => {
            let target = read(&path(m, "image")?)?;
            let interp: Interp = opt_str(m, "interpolation").unwrap_or("nearest").parse()?;
            write(
                &output,
                resample::transform_seg2image(target.geometry(), &img, interp)?,
            )
        }
        "average4d" => write(
            &output,
            resample::average4d(&io::read(&input, &ReadOptions::default())?)?,
        ),
        "reorient-canonical" => write(
            &output,
            resample::reorient_canonical(&io::read(&input, &ReadOptions::default())?)?,
        ),
        "resample-iso" => {
            let mm: Vec<f64> = match m.try_get_many::<String>("mm").ok().flatten() {
                None => vec![1.0],
                Some(v) => v
                    .map(|s| {
                        s.parse::<f64>()
                            .map_err(|_| Error::invalid_argument(format!("--mm: '{s}'")))
                    })
                    .collect::<Result<_>>()?,
            };
            let mm = match mm.as_slice() {
                [a] => [*a; 3],
                [a, b, c] => [*a, *b, *c],
                _ => return Err(Error::invalid_argument("--mm takes 1 or 3 values")),
            };
            write(
                &output,
                resample::resample_iso(&io::read(&input, &ReadOptions::default())?, mm)?,
            )
        }
        "preview" => {
            let seg = opt_str(m, "seg").map(|p| read(Path::new(p))).transpose()?;
            let o = PreviewOptions {
                sliceloc: num(m, "sliceloc")?.unwrap_or(0.5),
                levels: flag(m, "levels"),
                tags: flag(m, "tags"),
                ..Default::default()
            };
            preview::write_preview(&output, &img, seg.as_ref(), &o)
        }
        other => Err(Error::internal(format!("spine {other}: no handler"))),
    }
}
