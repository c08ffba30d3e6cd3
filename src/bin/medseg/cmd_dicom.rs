//! `medseg dicom list DIR [--json]`: the volumes in a DICOM folder, file or list of files.

use crate::common::flag;
use clap::{Arg, ArgAction, ArgMatches, Command};
use medseg::{Error, Result};

pub fn commands() -> Vec<Command> {
    let list = Command::new("list")
        .about("List the volumes (series) in a DICOM folder (scanned recursively), file or files")
        .arg(
            Arg::new("inputs")
                .required(true)
                .num_args(1..)
                .help("a folder, or one or more DICOM files"),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .help("print a JSON array"),
        );
    vec![
        Command::new("dicom")
            .about("DICOM series tools")
            .subcommand_required(true)
            .subcommand(list),
    ]
}

pub fn run(name: &str, m: &ArgMatches) -> Option<Result<()>> {
    if name != "dicom" {
        return None;
    }
    Some(match m.subcommand() {
        Some(("list", sub)) => list(sub),
        Some((other, _)) => Err(Error::invalid_argument(format!(
            "unknown dicom sub-command '{other}'"
        ))),
        None => Err(Error::invalid_argument("dicom: missing sub-command (list)")),
    })
}

#[cfg(feature = "dicom")]
fn list(m: &ArgMatches) -> Result<()> {
    use medseg::io::dicom;
    use std::path::PathBuf;
    let inputs: Vec<PathBuf> = m
        .get_many::<String>("inputs")
        .map(|v| v.map(PathBuf::from).collect())
        .unwrap_or_default();
    let series = match inputs.as_slice() {
        [one] => dicom::list(one)?,
        many => dicom::list_files(many)?,
    };
    if flag(m, "json") {
        let text = serde_json::to_string_pretty(&series)
            .map_err(|e| Error::internal(format!("JSON: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    for s in &series {
        let spacing = match s.spacing {
            Some(sp) => format!("{:.4} × {:.4} × {:.4} mm", sp[0], sp[1], sp[2]),
            None => "-".into(),
        };
        println!("{}", s.id);
        println!(
            "  modality {}  description {:?}  files {}",
            s.modality, s.description, s.files
        );
        println!(
            "  size {} × {} × {}  spacing {spacing}",
            s.size[0], s.size[1], s.size[2]
        );
        if let Some(p) = &s.problem {
            println!("  cannot be read: {p}");
        }
    }
    Ok(())
}

#[cfg(not(feature = "dicom"))]
fn list(m: &ArgMatches) -> Result<()> {
    let _ = flag(m, "json");
    Err(Error::unsupported(
        "this build has no DICOM support (cargo feature `dicom`)",
    ))
}
