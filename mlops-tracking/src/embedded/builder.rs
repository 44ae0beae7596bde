//! [`EmbeddedTrackerBuilder`]: opens the embedded tracker on a storage URL.

use super::EmbeddedTracker;
use crate::error::Result;
use mlops_core::Storage;

/// Builds an [`EmbeddedTracker`].
///
/// ```
/// use mlops_tracking::EmbeddedTracker;
/// let dir = tempfile::tempdir().unwrap();
/// let t = EmbeddedTracker::builder()
///     .with_url(format!("file://{}/tracking", dir.path().display()))
///     .build()
///     .unwrap();
/// assert!(t.to_string().starts_with("EmbeddedTracker(file://"));
/// ```
#[derive(Debug, Default, Clone)]
pub struct EmbeddedTrackerBuilder {
    url: Option<String>,
    options: Vec<(String, String)>,
    storage: Option<Storage>,
}

impl EmbeddedTrackerBuilder {
    /// A builder with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The storage URL: `file:///dir` (the default kind), `memory://`, `s3://bucket/prefix`...
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// A storage option passed to [`Storage::from_url_opts`] (e.g. `fsync`, `endpoint`).
    pub fn with_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((key.into(), value.into()));
        self
    }

    /// An already opened storage (wins over the URL).
    pub fn with_storage(mut self, storage: Storage) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Opens the storage. No object is written before the first call.
    ///
    /// # Errors
    /// `InvalidArgument` when neither a URL nor a storage is set, or for a bad URL.
    pub fn build(self) -> Result<EmbeddedTracker> {
        let storage = match (self.storage, self.url) {
            (Some(s), _) => return EmbeddedTracker::from_storage(s),
            (None, Some(url)) => Storage::from_url_opts(&url, self.options.iter().cloned())?,
            (None, None) => {
                return Err(mlops_core::Error::invalid(
                    "embedded tracker",
                    "",
                    "set a storage URL with with_url (file:///dir, memory://, s3://...)",
                )
                .into());
            }
        };
        let tracker = EmbeddedTracker::from_storage(storage)?;
        // A file:// storage opened here maps keys to files below its directory (no
        // prefix): metric segments can take the one-flush path (see `mlops_core::seq::local`).
        let root = tracker
            .storage()
            .local_dir()
            .map(std::path::Path::to_path_buf);
        Ok(match root {
            Some(root) => {
                // `fsync=false` → never flushed; otherwise one flush per segment
                let durability = mlops_core::seq::local::Durability::from_options(&self.options)?
                    .unwrap_or(mlops_core::seq::local::Durability::Flush);
                tracker.with_local_segments(root, durability)
            }
            None => tracker,
        })
    }
}
