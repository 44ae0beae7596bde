//! # mlops-tracking
//!
//! Experiment tracking for mlops-rs: the place where every team's training metadata
//! lands. One trait, [`Tracker`], with MLflow's semantics (experiments, runs, params,
//! metrics, tags, artifacts, search with MLflow's filter syntax) and pluggable
//! backends:
//!
//! | backend | type | feature |
//! |---|---|---|
//! | embedded, over any object store URL (`file://` default, `memory://` for tests, `s3://`...) | [`EmbeddedTracker`] | always |
#![cfg_attr(
    feature = "mlflow",
    doc = "| MLflow tracking server (REST) | [`MlflowTracker`] | `mlflow` |"
)]
#![cfg_attr(
    not(feature = "mlflow"),
    doc = "| MLflow tracking server (REST) | `MlflowTracker` | `mlflow` |"
)]
//!
//! [`parse_url`] opens either from a URL (`file:///srv/mlruns`, `http://mlflow:5000`).
//!
//! Around the trait: [`RunLogger`] (non-blocking, batched logging for training
//! loops), [`parse`] (the filter parser) and, with the `conformance` feature,
//! `conformance` (the checks every backend passes).
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `mlflow` | `MlflowTracker` over mlops-core's MLflow wire client |
//! | `s3`, `gcs`, `azure` | cloud object stores for the embedded backend |
//! | `conformance` | the public conformance suite |
//!
//! ## A tour on `memory://`
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_tracking::Result<()> {
//! use mlops_tracking::{Batch, CreateRun, EmbeddedTracker, Metric, SearchRuns, Tracker, TrackerExt};
//! let t = EmbeddedTracker::builder().with_url("memory://").build()?;
//! let exp = t.create_experiment("fraud", &[]).await?;
//! for (lr, loss) in [("0.01", 0.3), ("0.1", 0.9)] {
//!     let run = t.create_run(&CreateRun::new(&exp)).await?;
//!     t.log_batch(run.id(), &Batch::new().param("lr", lr).metric(Metric::new("loss", loss, 0))).await?;
//! }
//! let best = t
//!     .search_runs(&SearchRuns::new([&exp]).with_filter("metrics.loss < 0.5").with_order_by("metrics.loss"))
//!     .await?;
//! assert_eq!(best.items[0].data.params["lr"], "0.01");
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod embedded;
pub mod error;
pub mod layers;
pub mod logger;
#[cfg(feature = "mlflow")]
pub mod mlflow;
pub mod parse;
pub mod tracker;
pub mod types;
pub mod url;

pub use embedded::{EmbeddedTracker, EmbeddedTrackerBuilder};
pub use error::{Error, Result};
pub use logger::{RunLogger, RunLoggerOptions};
#[cfg(feature = "mlflow")]
pub use mlflow::{MlflowTracker, MlflowTrackerBuilder};
pub use tracker::{Tracker, TrackerExt};
pub use types::{
    ArtifactEntry, Batch, Capabilities, CreateRun, Experiment, LifecycleStage, LoggedArtifact,
    Metric, Page, Param, Run, RunData, RunInfo, RunStatus, SearchExperiments, SearchRuns, Tag,
    ViewType,
};
pub use url::{TrackerScheme, parse_url, parse_url_opts};

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn public_types_are_send_sync() {
        assert_send_sync::<crate::Error>();
        assert_send_sync::<crate::EmbeddedTracker>();
        assert_send_sync::<crate::RunLogger>();
        assert_send_sync::<std::sync::Arc<dyn crate::Tracker>>();
        assert_send_sync::<crate::Run>();
    }
}
