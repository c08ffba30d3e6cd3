//! Sub-commands of this area (filled in as the library grows).

use clap::{ArgMatches, Command};
use medseg::Result;

pub fn commands() -> Vec<Command> {
    vec![]
}

pub fn run(_name: &str, _m: &ArgMatches) -> Option<Result<()>> {
    None
}
