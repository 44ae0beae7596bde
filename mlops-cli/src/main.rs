//! `mlops`: the command for CI/CD pipelines.
//!
//! Exit codes: 0 ok; 1 a check failed (drift found with `--fail-on-drift`, a gate
//! not met, audit verification failed); 2 a usage or input error.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a CLI prints by design

mod cmd;
mod exit;

use clap::Parser;

/// The mlops command line.
#[derive(Debug, Parser)]
#[command(
    name = "mlops",
    version,
    about = "MLOps primitives for CI/CD pipelines"
)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
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
    match rt.block_on(cmd::run(cli.command)) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("error: {e}");
            e.exit().into()
        }
    }
}
