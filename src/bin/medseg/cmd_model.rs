//! Model sub-commands: `predict`, `doctor`, `model import-nnunet`.

use crate::common;
use clap::{Arg, ArgAction, ArgMatches, Command};
use medseg::inference::onnx::{self, Device, SessionConfig};
use medseg::inference::predict::{NnUnetModel, PredictConfig, predict_files};
use medseg::inference::{import, runtime};
use medseg::{Error, Result};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

pub fn commands() -> Vec<Command> {
    let ort_lib = Arg::new("ort-lib")
        .long("ort-lib")
        .value_name("PATH")
        .help("ONNX Runtime library (file or folder); default: MEDSEG_ORT_DYLIB, ORT_DYLIB_PATH, next to libmedseg.so when loaded as one, next to the executable, third_party/onnxruntime/lib");
    vec![
        Command::new("predict")
            .about("Segment an image with an nnU-Net model (medseg manifest folder or nnU-Net results folder with fold_k/network.onnx)")
            .arg(Arg::new("model").long("model").short('m').required(true).value_name("DIR").help("model folder"))
            .arg(Arg::new("input").required(true).value_name("IN").help("input image; several channels: comma-separated files, or NAME_0000.ext finds NAME_0001.ext ..."))
            .arg(Arg::new("output").required(true).value_name("OUT").help("label map to write"))
            .arg(Arg::new("device").long("device").value_name("DEV").default_value("cpu").help("cpu, cuda[:N], tensorrt[:N] or auto (GPU if usable, else CPU)"))
            .arg(Arg::new("folds").long("folds").value_name("LIST").help("folds to use, e.g. 0,1 (default: all)"))
            .arg(Arg::new("no-tta").long("no-tta").action(ArgAction::SetTrue).help("disable test-time mirroring"))
            .arg(Arg::new("step").long("step").value_name("F").help("sliding-window step as a fraction of the patch (default: the model's, 0.5)"))
            .arg(Arg::new("probabilities").long("probabilities").value_name("FILE").help("also write the class probabilities (one frame per output channel)"))
            .arg(Arg::new("parity").long("parity").action(ArgAction::SetTrue).help("nnU-Net's float16 accumulation (bit-level parity with nnU-Net); float32 otherwise"))
            .arg(Arg::new("threads").long("threads").value_name("N").help("ONNX Runtime intra-op threads (default: one per core)"))
            .arg(Arg::new("batch").long("batch").value_name("N").help("network inputs (tile x mirror) per ONNX Runtime call (default 1)"))
            .arg(Arg::new("quiet").long("quiet").short('q').action(ArgAction::SetTrue).help("no progress output"))
            .arg(ort_lib.clone()),
        Command::new("doctor")
            .about("Show the ONNX Runtime found (path, version), execution providers and visible GPUs")
            .arg(ort_lib.clone()),
        Command::new("model")
            .about("Model management")
            .subcommand_required(true)
            .subcommand(
                Command::new("import-nnunet")
                    .about("Turn an nnU-Net results folder into a medseg model: medseg.json + ONNX per fold (needs Python with torch, see tools/export_nnunet_onnx.py)")
                    .arg(Arg::new("results").required(true).value_name("RESULTS_DIR").help("nnU-Net folder Trainer__Plans__configuration"))
                    .arg(Arg::new("out").required(true).value_name("OUT_DIR").help("folder to create"))
                    .arg(Arg::new("folds").long("folds").value_name("LIST").help("folds, e.g. 0,1 (default: all fold_* with a checkpoint)"))
                    .arg(Arg::new("checkpoint").long("checkpoint").value_name("final|best").default_value("final"))
                    .arg(Arg::new("python").long("python").value_name("EXE").help("Python with numpy + onnx, or torch + dynamic_network_architectures (default: MEDSEG_PYTHON, .venv/bin/python, python3)"))
                    .arg(Arg::new("exporter").long("exporter").value_name("auto|torch|onnx").value_parser(["auto", "torch", "onnx"]).default_value("auto").help("torch: any architecture; onnx: PlainConvUNet without torch; auto: torch when importable")),
            ),
    ]
}

pub fn run(name: &str, m: &ArgMatches) -> Option<Result<()>> {
    match name {
        "predict" => Some(predict(m)),
        "doctor" => Some(doctor(m)),
        "model" => match m.subcommand() {
            Some(("import-nnunet", sub)) => Some(import_nnunet(sub)),
            _ => None,
        },
        _ => None,
    }
}

fn list(m: &ArgMatches, name: &str) -> Option<Vec<String>> {
    common::opt_str(m, name).map(|s| {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
}

fn predict(m: &ArgMatches) -> Result<()> {
    let dir = common::path(m, "model")?;
    let output = common::path(m, "output")?;
    let input =
        common::opt_str(m, "input").ok_or_else(|| Error::invalid_argument("missing <IN>"))?;
    let inputs: Vec<PathBuf> = input.split(',').map(PathBuf::from).collect();
    let device: Device = common::opt_str(m, "device").unwrap_or("cpu").parse()?;
    let quiet = common::flag(m, "quiet");
    let t0 = Instant::now();
    let model = NnUnetModel::load(&dir)?;
    let mut cfg = PredictConfig {
        folds: list(m, "folds"),
        ..Default::default()
    };
    cfg.options.tta = !common::flag(m, "no-tta");
    cfg.options.step = common::opt_parse::<f64>(m, "step")?;
    cfg.options.parity = common::flag(m, "parity");
    cfg.options.batch = common::opt_parse::<usize>(m, "batch")?.unwrap_or(1);
    cfg.session = SessionConfig {
        device: Some(device),
        threads: common::opt_parse::<usize>(m, "threads")?,
        ort_lib: common::opt_str(m, "ort-lib").map(PathBuf::from),
    };
    let probs = common::opt_str(m, "probabilities").map(PathBuf::from);
    let mut last_pct = -1i64;
    let mut last_stage = String::new();
    let mut progress = |f: f64, stage: &str| {
        if !quiet {
            let pct = (f * 100.0).floor() as i64;
            if pct != last_pct || stage != last_stage {
                let mut e = std::io::stderr();
                let _ = write!(
                    e,
                    "\r{stage:<20} [{:<40}] {pct:3}%",
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
    let seg = predict_files(
        &model,
        &inputs,
        &output,
        probs.as_deref(),
        &cfg,
        &mut progress,
    )?;
    for n in &seg.notes {
        eprintln!("note: {n}");
    }
    println!(
        "wrote {} ({} on {}, {:.2} s, ONNX Runtime {:.2} s)",
        output.display(),
        model.manifest.name,
        seg.device,
        t0.elapsed().as_secs_f64(),
        onnx::session_run_seconds()
    );
    Ok(())
}

fn doctor(m: &ArgMatches) -> Result<()> {
    let explicit = common::opt_str(m, "ort-lib").map(PathBuf::from);
    println!("medseg {}", medseg::VERSION);
    let gpus = runtime::visible_gpus();
    match onnx::init_runtime(explicit.as_deref()) {
        Ok(info) => {
            println!(
                "onnxruntime: {} (found via {})",
                info.path.display(),
                info.source
            );
            println!("version: {}", info.version);
            println!(
                "execution providers (runtime): {}",
                info.providers.join(", ")
            );
            println!(
                "execution providers (this build): {}",
                info.compiled_providers.join(", ")
            );
        }
        Err(e) => {
            println!("onnxruntime: NOT USABLE: {}", e.chain());
            print_gpus(&gpus);
            return Err(e);
        }
    }
    print_gpus(&gpus);
    Ok(())
}

fn print_gpus(gpus: &[String]) {
    if gpus.is_empty() {
        println!("visible GPUs: none");
    } else {
        println!("visible GPUs: {}", gpus.join("; "));
    }
}

fn import_nnunet(m: &ArgMatches) -> Result<()> {
    let results = common::path(m, "results")?;
    let out = common::path(m, "out")?;
    let opts = import::ImportOptions {
        folds: list(m, "folds"),
        checkpoint: common::opt_str(m, "checkpoint")
            .unwrap_or("final")
            .to_string(),
        python: common::opt_str(m, "python").map(PathBuf::from),
        backend: common::opt_str(m, "exporter").map(str::to_string),
        script: None,
    };
    let t0 = Instant::now();
    let manifest = import::import_nnunet(&results, &out, &opts)?;
    println!(
        "imported {} ({} fold(s), {} -> {} channels) into {} in {:.1} s",
        manifest.name,
        manifest.folds.len(),
        manifest.in_channels,
        manifest.out_channels,
        out.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
