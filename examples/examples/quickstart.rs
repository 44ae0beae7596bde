//! The mlops-rs quickstart: the whole loop, offline, on the embedded local-disk default.
//!
//! ```sh
//! cargo run -p examples --example quickstart            # writes into ./.mlops-quickstart
//! cargo run -p examples --example quickstart -- DIR     # or into DIR (wiped first)
//! ```
//!
//! 1. tracking: a training run with params, a metric curve and an artifact;
//! 2. features: a point-in-time-correct training set, materialized and read online;
//! 3. monitor: a drift report and a fairness report, turned into promotion gates;
//! 4. registry: the run's model registered with lineage, gates attached, two approvals,
//!    promoted to staging, and the GitOps manifest exported;
//! 5. governance: a policy with two principals, a refused action, and the verified audit trail.
#![allow(clippy::print_stdout)] // an example prints what it did

use std::path::PathBuf;

#[tokio::main]
async fn main() -> Result<(), examples::BoxError> {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".mlops-quickstart"));
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    std::fs::create_dir_all(&root)?;
    let root = std::fs::canonicalize(&root)?;
    examples::quickstart(&root).await
}
