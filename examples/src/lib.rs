//! Runnable examples for mlops-rs: one module per topic, each a `demo` that prints
//! what it does, and [`quickstart`], which composes them into the whole loop.

pub mod features;
pub mod governance;
pub mod monitor;
pub mod registry;
pub mod tracking;

/// The error type of the demos.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The quickstart (`cargo run -p examples --example quickstart`), everything under `root`:
///
/// 1. tracking: a training run with params, a metric curve and an artifact;
/// 2. features: a point-in-time-correct training set, materialized and read online;
/// 3. monitor: a drift report and a fairness report, turned into promotion gates;
/// 4. registry: the run's model registered with lineage, gates attached, two approvals,
///    promoted to staging, and the GitOps manifest exported;
/// 5. governance: a policy with two principals, a refused action, and the verified
///    audit trail.
///
/// # Errors
/// Whatever step fails first.
#[allow(clippy::print_stdout)] // the quickstart prints what it did
pub async fn quickstart(root: &std::path::Path) -> Result<(), BoxError> {
    println!(
        "mlops-rs quickstart: everything goes under {}",
        root.display()
    );

    println!("\n== 1. tracking");
    let run = tracking::demo(root).await?;

    println!("\n== 2. features");
    let views = features::demo(root).await?;
    println!("feature views used for training: {}", views.join(", "));

    println!("\n== 3. monitor");
    let gates = monitor::demo()?;

    println!("\n== 4. registry and promotion");
    let manifest = registry::demo(root, Some(run), gates).await?;
    println!("(manifest: {} bytes of YAML)", manifest.len());

    println!("\n== 5. governance");
    governance::demo(root).await?;

    println!("\nquickstart finished: see {}", root.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The README's main job runs end to end on one root, as `cargo run` runs it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn quickstart_runs_end_to_end() {
        let root = tempfile::tempdir().unwrap();
        super::quickstart(root.path()).await.unwrap();
        for sub in ["tracking", "registry", "ledger", "governance/audit"] {
            assert!(root.path().join(sub).is_dir(), "{sub} was not written");
        }
    }
}
