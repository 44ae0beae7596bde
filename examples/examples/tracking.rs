//! Logs a run (params, a metric curve, an artifact) into an embedded `file://` store
//! and prints where it went. Offline. Usage: `cargo run -p examples --example tracking [DIR]`.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let root = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("mlops-quickstart"));
    let run = examples::tracking::demo(&root).await?;
    #[allow(clippy::print_stdout)]
    {
        println!("run ref: {} @ {}", run.run_id, run.tracking_uri);
    }
    Ok(())
}
