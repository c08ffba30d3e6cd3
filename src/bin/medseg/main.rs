//! The `medseg` command line: parse arguments, call the library, print. No behaviour of its own.
//!
//! Each area of the library has one file here with `commands()` (its clap sub-commands) and
//! `run()` (dispatch by sub-command name).

mod cmd_dicom;
mod cmd_io;
mod cmd_model;
mod cmd_post;
mod cmd_process;
mod cmd_sam;
mod cmd_spine;
mod common;

use clap::Command;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut app = Command::new("medseg")
        .version(medseg::VERSION)
        .about(
            "Native medical-image segmentation: formats with geometry, processing, ONNX inference",
        )
        .subcommand_required(true)
        .arg_required_else_help(true);
    let groups = [
        cmd_io::commands(),
        cmd_dicom::commands(),
        cmd_process::commands(),
        cmd_post::commands(),
        cmd_model::commands(),
        cmd_spine::commands(),
        cmd_sam::commands(),
    ];
    for c in groups.into_iter().flatten() {
        app = app.subcommand(c);
    }
    let matches = app.get_matches();
    let Some((name, sub)) = matches.subcommand() else {
        return ExitCode::from(2);
    };
    let result = cmd_io::run(name, sub)
        .or_else(|| cmd_dicom::run(name, sub))
        .or_else(|| cmd_process::run(name, sub))
        .or_else(|| cmd_post::run(name, sub))
        .or_else(|| cmd_model::run(name, sub))
        .or_else(|| cmd_spine::run(name, sub))
        .or_else(|| cmd_sam::run(name, sub))
        .unwrap_or_else(|| {
            Err(medseg::Error::internal(format!(
                "sub-command '{name}' has no handler"
            )))
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("medseg {name}: error ({}): {}", e.kind().name(), e.chain());
            ExitCode::from(common::exit_code(&e))
        }
    }
}
