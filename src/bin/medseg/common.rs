//! Helpers shared by the CLI files: argument access and exit codes.

use clap::ArgMatches;
use medseg::{Error, ErrorKind, Result};
use std::path::PathBuf;

/// Exit status for an error: 1 for bad input/arguments, 3 for runtime/device, 4 cancelled,
/// 70 for internal errors.
pub fn exit_code(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::Runtime | ErrorKind::Device | ErrorKind::Model => 3,
        ErrorKind::Cancelled => 4,
        ErrorKind::Internal => 70,
        _ => 1,
    }
}

/// A required path argument.
pub fn path(m: &ArgMatches, name: &str) -> Result<PathBuf> {
    m.get_one::<String>(name)
        .map(PathBuf::from)
        .ok_or_else(|| Error::invalid_argument(format!("missing argument <{name}>")))
}

/// An optional string argument.
pub fn opt_str<'a>(m: &'a ArgMatches, name: &str) -> Option<&'a str> {
    m.try_get_one::<String>(name)
        .ok()
        .flatten()
        .map(|s| s.as_str())
}

/// Parse an optional argument with `FromStr`, naming it in the error.
pub fn opt_parse<T: std::str::FromStr>(m: &ArgMatches, name: &str) -> Result<Option<T>> {
    match opt_str(m, name) {
        None => Ok(None),
        Some(s) => s
            .parse::<T>()
            .map(Some)
            .map_err(|_| Error::invalid_argument(format!("--{name}: cannot parse '{s}'"))),
    }
}

/// A boolean flag.
pub fn flag(m: &ArgMatches, name: &str) -> bool {
    m.try_get_one::<bool>(name)
        .ok()
        .flatten()
        .copied()
        .unwrap_or(false)
}

/// A progress callback drawing a bar on stderr (nothing when `quiet`); never cancels.
pub fn progress_bar(quiet: bool, label: &str) -> impl FnMut(f64, &str) -> bool {
    use std::io::Write;
    let label = label.to_string();
    let mut last = -1i64;
    move |f: f64, _stage: &str| {
        if !quiet {
            let pct = (f * 100.0).floor() as i64;
            if pct != last {
                let mut e = std::io::stderr();
                let _ = write!(
                    e,
                    "\r{label:<30} [{:<40}] {pct:3}%",
                    "#".repeat((f.clamp(0.0, 1.0) * 40.0) as usize)
                );
                if f >= 1.0 {
                    let _ = writeln!(e);
                }
                last = pct;
            }
        }
        true
    }
}
