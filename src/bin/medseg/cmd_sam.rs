//! `medseg sam run` (challenge npz files or folders) and `medseg sam segment` (any medical image
//! with box prompts): promptable segmentation with a SAM-family model, LiteMedSAM by default.

use crate::common;
use clap::{Arg, ArgAction, ArgMatches, Command};
use medseg::inference::onnx::{Device, SessionConfig};
use medseg::inference::sam::input::{BoxPrompt, Intensity, segment_image};
use medseg::inference::sam::manifest::default_model_dir;
use medseg::inference::sam::propagate::DEFAULT_CACHE_BYTES;
use medseg::inference::sam::{SamModel, challenge};
use medseg::io::{self, ReadOptions, WriteOptions};
use medseg::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn common_args(c: Command) -> Command {
    c.arg(
        Arg::new("model")
            .long("model")
            .short('m')
            .value_name("DIR")
            .help("SAM model folder (default: the shipped models/litemedsam)"),
    )
    .arg(
        Arg::new("device")
            .long("device")
            .value_name("DEV")
            .default_value("cpu")
            .help("cpu, cuda[:N], tensorrt[:N] or auto (GPU if usable, else CPU)"),
    )
    .arg(
        Arg::new("threads")
            .long("threads")
            .value_name("N")
            .help("ONNX Runtime intra-op threads (default: one per core)"),
    )
    .arg(
        Arg::new("encoder-batch")
            .long("encoder-batch")
            .value_name("N")
            .help("slices per encoder call (default 1; more can help on a GPU)"),
    )
    .arg(
        Arg::new("cache-mb")
            .long("cache-mb")
            .value_name("MB")
            .help("embedding cache budget in MiB (default 512; results do not depend on it)"),
    )
    .arg(
        Arg::new("quiet")
            .long("quiet")
            .short('q')
            .action(ArgAction::SetTrue)
            .help("no progress output"),
    )
    .arg(
        Arg::new("ort-lib")
            .long("ort-lib")
            .value_name("PATH")
            .help("ONNX Runtime library (file or folder)"),
    )
}

pub fn commands() -> Vec<Command> {
    vec![
        Command::new("sam")
            .about("Promptable segmentation with LiteMedSAM (box prompts in 2D and 3D)")
            .subcommand_required(true)
            .subcommand(common_args(
                Command::new("run")
                    .about("MedSAM-on-Laptop challenge files: IN.npz (imgs, boxes) -> OUT.npz (segs), or every *.npz of IN_DIR -> OUT_DIR with the same names")
                    .arg(Arg::new("input").required(true).value_name("IN").help("challenge .npz, or a folder of them"))
                    .arg(Arg::new("output").required(true).value_name("OUT").help("output .npz, or a folder (created)")),
            ))
            .subcommand(common_args(
                Command::new("segment")
                    .about("Segment a medical image (any format medseg reads, DICOM folder included) inside boxes; labels = box order")
                    .arg(Arg::new("input").required(true).value_name("IMAGE").help("input image"))
                    .arg(Arg::new("output").required(true).value_name("OUT").help("label image to write (format from the extension; the input's geometry)"))
                    .arg(Arg::new("box").long("box").value_name("I0,J0,K0,I1,J1,K1").action(ArgAction::Append).help("box in voxel indices, inclusive (4 values i0,j0,i1,j1 on a 2D image); repeat for more boxes"))
                    .arg(Arg::new("box-mm").long("box-mm").value_name("X0,Y0,Z0,X1,Y1,Z1").action(ArgAction::Append).allow_hyphen_values(true).help("box by two opposite corners in mm (LPS; RAS with --ras)"))
                    .arg(Arg::new("ras").long("ras").action(ArgAction::SetTrue).help("--box-mm corners are RAS (Slicer, NIfTI world) instead of LPS"))
                    .arg(Arg::new("window").long("window").value_name("NAME|L,W").allow_hyphen_values(true).help("intensity to 0..255: CT window preset (brain, lung, abdomen, bone, ...) or LEVEL,WIDTH; 'percentiles' for MR/PET; default auto (uint8 as is, CT-like → abdomen, else percentiles)"))
                    .arg(Arg::new("preview").long("preview").value_name("PNG").help("also write an overlay picture (mosaic through the segmented slices)")),
            )),
    ]
}

pub fn run(name: &str, m: &ArgMatches) -> Option<Result<()>> {
    if name != "sam" {
        return None;
    }
    Some(match m.subcommand() {
        Some(("run", s)) => sam_run(s),
        Some(("segment", s)) => sam_segment(s),
        _ => Err(Error::invalid_argument(
            "expected 'sam run' or 'sam segment'",
        )),
    })
}

fn load(m: &ArgMatches) -> Result<SamModel> {
    let dir = match common::opt_str(m, "model") {
        Some(d) => PathBuf::from(d),
        None => default_model_dir()?,
    };
    let device: Device = common::opt_str(m, "device").unwrap_or("cpu").parse()?;
    let cfg = SessionConfig {
        device: Some(device),
        threads: common::opt_parse::<usize>(m, "threads")?,
        ort_lib: common::opt_str(m, "ort-lib").map(PathBuf::from),
    };
    let mut model = SamModel::load(&dir, &cfg)?;
    if let Some(n) = common::opt_parse::<usize>(m, "encoder-batch")? {
        model.set_max_batch(n);
    }
    if let Some(n) = model.device_note() {
        eprintln!("note: {n}");
    }
    Ok(model)
}

fn cache_bytes(m: &ArgMatches) -> Result<usize> {
    Ok(common::opt_parse::<usize>(m, "cache-mb")?
        .map(|mb| mb << 20)
        .unwrap_or(DEFAULT_CACHE_BYTES))
}

fn sam_run(m: &ArgMatches) -> Result<()> {
    let input = common::path(m, "input")?;
    let output = common::path(m, "output")?;
    let quiet = common::flag(m, "quiet");
    let t0 = Instant::now();
    let model = load(m)?;
    let cache = cache_bytes(m)?;
    let load_s = t0.elapsed().as_secs_f64();
    let cases: Vec<(PathBuf, PathBuf)> = if input.is_dir() {
        std::fs::create_dir_all(&output).map_err(|e| Error::io(&output, e))?;
        challenge::list_cases(&input)?
            .into_iter()
            .map(|p| {
                let o = output.join(p.file_name().unwrap_or_default());
                (p, o)
            })
            .collect()
    } else {
        vec![(input.clone(), output.clone())]
    };
    if cases.is_empty() {
        return Err(Error::invalid_argument(format!(
            "{}: no .npz files",
            input.display()
        )));
    }
    let mut failed = 0usize;
    for (k, (i, o)) in cases.iter().enumerate() {
        let tc = Instant::now();
        let label = format!("[{}/{}] {}", k + 1, cases.len(), file_name(i));
        let mut bar = common::progress_bar(quiet, &label);
        match challenge::run_file(&model, i, o, cache, &mut bar) {
            Ok(out) => {
                for n in &out.notes {
                    eprintln!("note: {}: {n}", file_name(i));
                }
                let t = out.timings;
                println!(
                    "{}: {} calls, {:.2} s (encoder {:.2} s, decoder {:.2} s, pre/post {:.2} s) -> {}",
                    file_name(i),
                    out.calls.len(),
                    tc.elapsed().as_secs_f64(),
                    t.encoder,
                    t.decoder,
                    t.prepost,
                    o.display()
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!(
                    "medseg sam run: {}: error ({}): {}",
                    file_name(i),
                    e.kind().name(),
                    e.chain()
                );
                if cases.len() == 1 {
                    return Err(e);
                }
            }
        }
    }
    println!(
        "{} case(s), {} failed, {:.2} s (model load {:.2} s, {})",
        cases.len(),
        failed,
        t0.elapsed().as_secs_f64(),
        load_s,
        model.device()
    );
    if failed > 0 {
        return Err(Error::invalid_argument(format!(
            "{failed} of {} cases failed (see above)",
            cases.len()
        )));
    }
    Ok(())
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| p.display().to_string())
}

fn numbers(s: &str, what: &str) -> Result<Vec<f64>> {
    s.split(',')
        .map(|v| {
            v.trim().parse::<f64>().map_err(|_| {
                Error::invalid_argument(format!("{what} '{s}': expected comma-separated numbers"))
            })
        })
        .collect()
}

fn sam_segment(m: &ArgMatches) -> Result<()> {
    let input = common::path(m, "input")?;
    let output = common::path(m, "output")?;
    let quiet = common::flag(m, "quiet");
    let ras = common::flag(m, "ras");
    let mut boxes = Vec::new();
    for s in m.get_many::<String>("box").into_iter().flatten() {
        let v = numbers(s, "--box")?;
        boxes.push(match v.len() {
            4 => BoxPrompt::Voxel2d([v[0], v[1], v[2], v[3]]),
            6 => BoxPrompt::Voxel([v[0], v[1], v[2], v[3], v[4], v[5]]),
            n => {
                return Err(Error::invalid_argument(format!(
                    "--box '{s}' has {n} values; expected 6 (i0,j0,k0,i1,j1,k1) or 4 on a 2D image"
                )));
            }
        });
    }
    for s in m.get_many::<String>("box-mm").into_iter().flatten() {
        let v = numbers(s, "--box-mm")?;
        if v.len() != 6 {
            return Err(Error::invalid_argument(format!(
                "--box-mm '{s}' has {} values; expected 6 (x0,y0,z0,x1,y1,z1)",
                v.len()
            )));
        }
        boxes.push(BoxPrompt::Mm {
            a: [v[0], v[1], v[2]],
            b: [v[3], v[4], v[5]],
            ras,
        });
    }
    if boxes.is_empty() {
        return Err(Error::invalid_argument(
            "give at least one --box or --box-mm",
        ));
    }
    let rule: Intensity = common::opt_str(m, "window").unwrap_or("auto").parse()?;
    let t0 = Instant::now();
    let image = io::read(&input, &ReadOptions::default())?;
    let model = load(m)?;
    let mut bar = common::progress_bar(quiet, "segmenting");
    let seg = segment_image(&model, &image, &boxes, rule, cache_bytes(m)?, &mut bar)?;
    for n in &seg.notes {
        eprintln!("note: {n}");
    }
    let preview = common::opt_str(m, "preview").map(PathBuf::from);
    // Render first (the step that can fail on content), then write both.
    let picture = match &preview {
        Some(_) => {
            let opts = medseg::preview::PreviewOptions {
                mosaic: Some(12),
                ..Default::default()
            };
            Some(medseg::preview::render(&image, Some(&seg.labels), &opts)?)
        }
        None => None,
    };
    io::write(&output, &seg.labels, &WriteOptions::default())?;
    if let (Some(p), Some(pic)) = (&preview, &picture) {
        pic.save(p)?;
    }
    for (k, v) in seg.volumes_ml.iter().enumerate() {
        println!("label {}: {:.2} mL", k + 1, v);
    }
    let t = seg.outcome.timings;
    println!(
        "wrote {} ({} on {}, {} decoder calls, {:.2} s: encoder {:.2} s, decoder {:.2} s, pre/post {:.2} s)",
        output.display(),
        model.manifest.name,
        model.device(),
        seg.outcome.calls.len(),
        t0.elapsed().as_secs_f64(),
        t.encoder,
        t.decoder,
        t.prepost
    );
    if let Some(p) = preview {
        println!("wrote {}", p.display());
    }
    Ok(())
}
