//! `medseg info`, `medseg convert` (and, later, `medseg dicom`).

use crate::common::{flag, path};
use clap::{Arg, ArgAction, ArgMatches, Command};
use medseg::Result;
use medseg::io::{self, ReadOptions, WriteOptions};

pub fn commands() -> Vec<Command> {
    vec![
        Command::new("info")
            .about("Describe an image: size, spacing, origin, direction (LPS), pixel type, min/max/mean")
            .arg(Arg::new("file").required(true).help("image file (or DICOM folder)"))
            .arg(Arg::new("json").long("json").action(ArgAction::SetTrue).help("print one JSON object"))
            .arg(
                Arg::new("scaled")
                    .long("scaled")
                    .action(ArgAction::SetTrue)
                    .help("apply the file's intensity scaling (NIfTI scl_slope/scl_inter) before computing statistics"),
            ),
        Command::new("convert")
            .about("Convert between formats (chosen by extension); geometry is kept exactly")
            .long_about(
                "Convert between formats (chosen by extension); geometry is kept exactly. \
                 Intensity scaling stored in the input (NIfTI scl_slope/scl_inter) is applied, so \
                 the output holds the same values SimpleITK reads from the input (float32 when \
                 the scaling is not the identity); --raw keeps the stored values instead.",
            )
            .arg(Arg::new("input").required(true))
            .arg(Arg::new("output").required(true))
            .arg(
                Arg::new("raw")
                    .long("raw")
                    .action(ArgAction::SetTrue)
                    .help("keep the stored values and type, dropping the input's intensity scaling"),
            )
            .arg(
                Arg::new("scaled")
                    .long("scaled")
                    .action(ArgAction::SetTrue)
                    .conflicts_with("raw")
                    .hide(true)
                    .help("apply intensity scaling (the default)"),
            )
            .arg(Arg::new("level").long("level").help("compression level 1-12 for compressed outputs"))
            .arg(
                Arg::new("series")
                    .long("series")
                    .value_name("UID")
                    .help("DICOM input with several series: the one to convert (see `medseg dicom list`)"),
            ),
    ]
}

pub fn run(name: &str, m: &ArgMatches) -> Option<Result<()>> {
    match name {
        "info" => Some(info(m)),
        "convert" => Some(convert(m)),
        _ => None,
    }
}

fn read_opts(m: &ArgMatches) -> ReadOptions {
    ReadOptions {
        apply_scaling: flag(m, "scaled"),
        series: crate::common::opt_str(m, "series").map(str::to_string),
        ..Default::default()
    }
}

fn info(m: &ArgMatches) -> Result<()> {
    let file = path(m, "file")?;
    let img = io::read(&file, &read_opts(m))?;
    let info = medseg::image::ImageInfo::of(&img);
    if flag(m, "json") {
        println!("{}", info.to_json());
    } else {
        print!("{}", info.to_text(&file.display().to_string()));
    }
    Ok(())
}

fn convert(m: &ArgMatches) -> Result<()> {
    let input = path(m, "input")?;
    let output = path(m, "output")?;
    let read = ReadOptions {
        apply_scaling: !flag(m, "raw"),
        ..read_opts(m)
    };
    let opts = WriteOptions {
        compression_level: crate::common::opt_parse(m, "level")?,
    };
    io::convert(&input, &output, &read, &opts)
}
