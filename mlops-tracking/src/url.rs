//! Opening a tracker from a URL: `file://`, `memory://`, `s3://`, `gs://`, `az://`
//! give the embedded backend; `http://` and `https://` an MLflow server (feature
//! `mlflow`). A scheme whose feature is compiled out is refused with the feature's name.
//!
//! ```
//! let t = mlops_tracking::parse_url("memory://").unwrap();
//! assert!(t.to_string().starts_with("EmbeddedTracker(memory://"));
//! assert!(mlops_tracking::parse_url("ftp://x").is_err());
//! ```

use crate::embedded::EmbeddedTracker;
use crate::error::Result;
use crate::tracker::Tracker;
use std::sync::Arc;

/// The kinds of tracking URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrackerScheme {
    /// An object store URL (embedded backend).
    Store(mlops_core::Scheme),
    /// `http://` or `https://` (MLflow backend).
    Mlflow,
}

impl TrackerScheme {
    /// Classifies `url`.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown scheme.
    pub fn of(url: &str) -> Result<Self> {
        if url.starts_with("http://") || url.starts_with("https://") {
            return Ok(TrackerScheme::Mlflow);
        }
        Ok(TrackerScheme::Store(mlops_core::Scheme::of(url)?))
    }
}

/// Opens the tracker for `url` with default options.
///
/// # Errors
/// As [`parse_url_opts`].
pub fn parse_url(url: &str) -> Result<Arc<dyn Tracker>> {
    parse_url_opts(url, std::iter::empty::<(String, String)>())
}

/// Opens the tracker for `url`; `opts` are storage options (embedded) or
/// [`MlflowConfigKey`](crate::mlflow::MlflowConfigKey) names (MLflow).
///
/// # Errors
/// `InvalidArgument` for an unknown scheme, a bad option, or a scheme whose feature is
/// compiled out (the message names the feature).
pub fn parse_url_opts<I, K, V>(url: &str, opts: I) -> Result<Arc<dyn Tracker>>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: Into<String>,
{
    match TrackerScheme::of(url)? {
        TrackerScheme::Store(_) => {
            let storage = mlops_core::Storage::from_url_opts(url, opts)?;
            Ok(Arc::new(EmbeddedTracker::from_storage(storage)?))
        }
        TrackerScheme::Mlflow => open_mlflow(url, opts),
    }
}

#[cfg(feature = "mlflow")]
fn open_mlflow<I, K, V>(url: &str, opts: I) -> Result<Arc<dyn Tracker>>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: Into<String>,
{
    let mut b = crate::mlflow::MlflowTracker::builder().with_url(url);
    for (k, v) in opts {
        b = b.with_config(k.as_ref().parse()?, v);
    }
    Ok(Arc::new(b.build()?))
}

#[cfg(not(feature = "mlflow"))]
fn open_mlflow<I, K, V>(url: &str, _opts: I) -> Result<Arc<dyn Tracker>>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: Into<String>,
{
    Err(mlops_core::Error::invalid(
        "tracking url",
        url,
        "this build has no 'mlflow' feature; enable mlops-tracking/mlflow",
    )
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(
            TrackerScheme::of("http://h:5000").unwrap(),
            TrackerScheme::Mlflow
        );
        assert_eq!(
            TrackerScheme::of("file:///tmp/x").unwrap(),
            TrackerScheme::Store(mlops_core::Scheme::File)
        );
        let dir = tempfile::tempdir().unwrap();
        let t = parse_url_opts(
            &format!("file://{}/t", dir.path().display()),
            [("fsync", "false")],
        )
        .unwrap();
        assert!(t.uri().starts_with("file://"));
        #[cfg(not(feature = "mlflow"))]
        assert!(
            parse_url("http://h:5000")
                .unwrap_err()
                .to_string()
                .contains("mlflow")
        );
        #[cfg(feature = "mlflow")]
        assert_eq!(
            parse_url_opts("http://h:5000", [("token", "t")])
                .unwrap()
                .to_string(),
            "MlflowTracker(h:5000)"
        );
    }
}
