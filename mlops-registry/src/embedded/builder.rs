//! [`EmbeddedRegistryBuilder`].

use super::EmbeddedRegistry;
use crate::error::Result;
use mlops_core::Storage;
use mlops_core::seq::local::Durability;

/// The environment variable [`EmbeddedRegistryBuilder::from_env`] reads.
pub const ENV_URL: &str = "MLOPS_REGISTRY_URL";

/// Builds an [`EmbeddedRegistry`] over a storage URL or an existing [`Storage`].
///
/// ```
/// use mlops_registry::EmbeddedRegistryBuilder;
/// let reg = EmbeddedRegistryBuilder::new().with_url("memory://").build().unwrap();
/// assert_eq!(reg.to_string(), "EmbeddedRegistry(memory://)");
/// assert!(EmbeddedRegistryBuilder::new().build().is_err()); // no url
/// ```
#[derive(Debug, Default, Clone)]
pub struct EmbeddedRegistryBuilder {
    url: Option<String>,
    options: Vec<(String, String)>,
    storage: Option<Storage>,
    durability: Option<Durability>,
}

impl EmbeddedRegistryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder with the URL from `MLOPS_REGISTRY_URL`, if set.
    #[allow(clippy::disallowed_methods)] // builders are where configuration comes from the environment
    pub fn from_env() -> Self {
        Self {
            url: std::env::var(ENV_URL).ok().filter(|s| !s.is_empty()),
            ..Self::default()
        }
    }

    /// The storage URL: `file:///dir`, `memory://`, `s3://bucket/prefix`, ...
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// A storage option (object_store key names, e.g. `endpoint`, `region`; on
    /// `file://`, `fsync=false` or `durability` = `flush` | `deferred` |
    /// `deferred:<n>ms` | `off`, see [`with_durability`](Self::with_durability)).
    pub fn with_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((key.into(), value.into()));
        self
    }

    /// How durable a change is when its call returns, on a `file://` directory
    /// (other stores acknowledge a put once it is durable):
    ///
    /// - [`Durability::Flush`] (the default): flushed to the disk first, one flush
    ///   per change.
    /// - [`Durability::Deferred`]: visible to every process and safe from a killed
    ///   process at once; a background group commit flushes it within the window,
    ///   and [`EmbeddedRegistry::flush`] is the barrier. An OS crash or power loss
    ///   may lose the changes of the last window (never reorders them, never
    ///   reuses a version number), like PostgreSQL's `synchronous_commit = off`.
    ///   Needs ext4, XFS or btrfs, which commit names in order; elsewhere it
    ///   flushes per change.
    /// - [`Durability::Off`]: never flushed (`fsync=false`).
    ///
    /// The `durability` option, or `fsync=false`, takes precedence over this.
    ///
    /// ```
    /// use mlops_registry::EmbeddedRegistryBuilder;
    /// use mlops_core::seq::local::Durability;
    /// let dir = tempfile::tempdir().unwrap();
    /// let reg = EmbeddedRegistryBuilder::new()
    ///     .with_url(format!("file://{}", dir.path().display()))
    ///     .with_option("durability", "deferred:50ms")
    ///     .build().unwrap();
    /// assert!(reg.durability().is_some());
    /// assert!(EmbeddedRegistryBuilder::new().with_url("memory://")
    ///     .with_option("durability", "sometimes").build().is_err());
    /// ```
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = Some(durability);
        self
    }

    /// An existing storage (takes precedence over the URL).
    pub fn with_storage(mut self, storage: Storage) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Validates the configuration and builds the registry. No object is written
    /// before the first call.
    ///
    /// # Errors
    /// `InvalidArgument` without a URL or storage, or for a bad URL/option.
    pub fn build(self) -> Result<EmbeddedRegistry> {
        let durability = Durability::from_options(&self.options)?.or(self.durability);
        // `durability` is the registry's option; the store takes the rest (`fsync` too)
        let options: Vec<_> = self
            .options
            .into_iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("durability"))
            .collect();
        let storage = match (self.storage, self.url) {
            (Some(s), _) => s,
            (None, Some(url)) => Storage::from_url_opts(&url, options)?,
            (None, None) => {
                return Err(mlops_core::Error::invalid(
                    "registry url",
                    "",
                    "set with_url(..), with_storage(..) or MLOPS_REGISTRY_URL",
                )
                .into());
            }
        };
        Ok(EmbeddedRegistry::with_durability(
            storage,
            durability.unwrap_or(Durability::Flush),
        ))
    }
}
