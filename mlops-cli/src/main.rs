//! `mlops`: the command for CI/CD pipelines (see the `mlops_cli` library).

fn main() -> std::process::ExitCode {
    mlops_cli::main()
}
