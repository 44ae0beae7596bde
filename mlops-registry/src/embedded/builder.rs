//! [`EmbeddedRegistryBuilder`].

use super::EmbeddedRegistry;
use crate::error::Result;
use mlops_core::Storage;

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

    /// A storage option (object_store key names, e.g. `endpoint`, `region`).
    pub fn with_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((key.into(), value.into()));
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
        let storage = match (self.storage, self.url) {
            (Some(s), _) => s,
            (None, Some(url)) => Storage::from_url_opts(&url, self.options)?,
            (None, None) => {
                return Err(mlops_core::Error::invalid(
                    "registry url",
                    "",
                    "set with_url(..), with_storage(..) or MLOPS_REGISTRY_URL",
                )
                .into());
            }
        };
        Ok(EmbeddedRegistry::from_storage(storage))
    }
}
