//! Experiment tracking in a few lines: an embedded `file://` store, a run with params,
//! a metric curve logged through the non-blocking [`RunLogger`], and an artifact.

use mlops_core::{ErrorKind, RunRef};
use mlops_tracking::{
    CreateRun, EmbeddedTracker, RunLogger, RunLoggerOptions, RunStatus, Tag, Tracker, TrackerExt,
};
use std::sync::Arc;

/// Logs one run into `file://{root}/tracking` and prints what it did and where it went.
///
/// # Errors
/// Any tracking error (storage, validation).
#[allow(clippy::print_stdout)] // examples print what they do
pub async fn demo(
    root: &std::path::Path,
) -> Result<RunRef, Box<dyn std::error::Error + Send + Sync>> {
    let url = format!("file://{}/tracking", root.display());
    let tracker: Arc<dyn Tracker> = Arc::new(EmbeddedTracker::builder().with_url(&url).build()?);

    // One experiment per project; reuse it on the next run of the demo.
    let exp = match tracker.get_experiment_by_name("quickstart").await {
        Ok(e) => e.id,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            tracker
                .create_experiment("quickstart", &[Tag::new("owner", "examples")])
                .await?
        }
        Err(e) => return Err(e.into()),
    };
    let run = tracker
        .create_run(&CreateRun::new(&exp).with_name("quickstart-run"))
        .await?;
    let run_id = run.id().to_string();

    // Params are immutable once logged; metrics go through a background batcher.
    let log = RunLogger::new(tracker.clone(), &run_id, RunLoggerOptions::default());
    log.log_param("learning_rate", "0.01").await?;
    log.log_param("epochs", "100").await?;
    for step in 0..100 {
        let loss = (-(step as f64) / 25.0).exp() + 0.05;
        log.log_metric("loss", loss, step).await?;
    }
    log.close().await?; // returns once every point is durable

    let card = br#"{"model": "quickstart", "framework": "none", "note": "demo artifact"}"#;
    let art = tracker
        .log_artifact(&run_id, "model/card.json", bytes::Bytes::from_static(card))
        .await?;
    tracker.end_run(&run_id, RunStatus::Finished).await?;

    let history = tracker.metric_history(&run_id, "loss").await?;
    let last = history.last().map_or(f64::NAN, |m| m.value);
    println!("tracking: experiment 'quickstart' (id {exp}), run {run_id}");
    println!("  params: learning_rate=0.01, epochs=100");
    println!(
        "  metric 'loss': {} points, last value {last:.4}",
        history.len()
    );
    println!(
        "  artifact: {} ({} bytes, {})",
        art.path, art.size, art.digest
    );
    println!("  stored in {}", tracker.uri());
    Ok(tracker.run_ref(&run_id))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn demo_logs_a_run() {
        let root = std::env::temp_dir().join(format!("mlops-tracking-demo-{}", std::process::id()));
        let r = super::demo(&root).await.unwrap();
        assert_eq!(r.run_id.len(), 32);
        assert!(r.tracking_uri.starts_with("file://"));
        assert!(root.join("tracking/runs").join(&r.run_id).exists());
        let _ = std::fs::remove_dir_all(&root);
    }
}
