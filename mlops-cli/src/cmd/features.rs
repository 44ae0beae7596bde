//! `mlops features ...`.

use crate::exit::CliResult;

/// `mlops features` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum FeaturesCmd {}

/// Runs a `features` subcommand.
pub(crate) async fn run(cmd: FeaturesCmd) -> CliResult {
    match cmd {}
}
