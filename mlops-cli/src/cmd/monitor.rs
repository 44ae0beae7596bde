//! `mlops monitor ...`.

use crate::exit::CliResult;

/// `mlops monitor` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum MonitorCmd {}

/// Runs a `monitor` subcommand.
pub(crate) async fn run(cmd: MonitorCmd) -> CliResult {
    match cmd {}
}
