//! `mlops`: the command for CI/CD pipelines.
//!
//! The argument parser ([`Cli`]) is public so pipeline templates and tests can
//! check every `mlops` invocation with `Cli::try_parse_from`; [`run`] executes one.
//!
//! Exit codes: 0 ok; 1 a check failed (drift found with `--fail-on-drift`, a gate
//! not met, audit verification failed); 2 a usage or input error.
//!
//! ```
//! use clap::Parser;
//! let cli = mlops_cli::Cli::try_parse_from(["mlops", "--json", "models", "list"]);
//! assert!(cli.is_ok());
//! assert!(mlops_cli::Cli::try_parse_from(["mlops", "models", "frobnicate"]).is_err());
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)] // a CLI prints by design

mod cmd;
mod context;
mod exit;
mod output;

use clap::Parser;
use std::process::ExitCode;

/// The mlops command line.
#[derive(Debug, Parser)]
#[command(
    name = "mlops",
    version,
    about = "MLOps primitives for CI/CD pipelines",
    after_help = "Examples:\n  mlops models register fraud --artifact model.pkl --metric auc=0.91\n  mlops --json models list\n  mlops --profile staging models export-manifest --env staging --out deploy/staging.yaml\n\nExit codes: 0 ok; 1 a check failed; 2 usage or input error."
)]
pub struct Cli {
    #[command(flatten)]
    global: context::GlobalArgs,
    #[command(subcommand)]
    command: cmd::Command,
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    context::init_logging(&cli.global);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::Exit::Input.into();
        }
    };
    let name = cli.command.name();
    let started = std::time::Instant::now();
    let result = rt.block_on(cmd::run(cli.command, &cli.global));
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(code) => {
            tracing::info!(
                command = name,
                exit = exit::code(code),
                elapsed_ms,
                "command finished"
            );
            code.into()
        }
        Err(e) => {
            if cli.global.log_format == context::LogFormat::Json {
                // One JSON object per line on stderr, the error included (ELK/Loki).
                tracing::error!(
                    command = name,
                    exit = exit::code(e.exit()),
                    elapsed_ms,
                    error = %e,
                    "command failed"
                );
            } else {
                tracing::debug!(command = name, error = %e, "command failed");
                eprintln!("error: {e}");
            }
            e.exit().into()
        }
    }
}

/// Parses the process arguments and runs them (the binary's `main`).
pub fn main() -> ExitCode {
    run(Cli::parse())
}
