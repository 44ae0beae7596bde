//! [`VertexRegistryBuilder`].

use super::lro::LroOptions;
use super::token::{BearerSigner, MetadataServer, ServiceAccount, StaticToken, TokenProvider};
use super::{BACKEND, VertexRegistry, client::VertexClient};
use crate::artifacts::ArtifactStore;
use crate::error::Result;
use mlops_core::blob::BlobStore;
use mlops_core::http::{HttpClient, RetryConfig};
use mlops_core::profile::CredentialSource;
use mlops_core::{Error, Secret, Storage};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The environment variables [`VertexRegistryBuilder::from_env`] reads.
pub const ENV_VARS: &[&str] = &[
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_REGION",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GCE_METADATA_HOST",
    "MLOPS_VERTEX_ENDPOINT",
    "MLOPS_VERTEX_ARTIFACTS",
    "MLOPS_VERTEX_IMAGE",
];

/// Builds a [`VertexRegistry`]. No remote call happens before the first
/// registry call (a service-account key is parsed and checked by `build`).
///
/// Tokens, first match wins: [`with_token_provider`](Self::with_token_provider) /
/// [`with_static_token`](Self::with_static_token); a service-account key
/// (`GOOGLE_APPLICATION_CREDENTIALS` or [`with_service_account_file`](Self::with_service_account_file));
/// the metadata server (`GCE_METADATA_HOST`, else `metadata.google.internal`).
#[derive(Clone, Default)]
pub struct VertexRegistryBuilder {
    project: Option<String>,
    location: Option<String>,
    endpoint: Option<String>,
    env: BTreeMap<String, String>,
    provider: Option<Arc<dyn TokenProvider>>,
    key_file: Option<std::path::PathBuf>,
    artifact_url: Option<String>,
    storage: Option<Storage>,
    image: Option<String>,
    lro: LroOptions,
    retry: Option<RetryConfig>,
}

impl std::fmt::Debug for VertexRegistryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VertexRegistryBuilder")
            .field("project", &self.project)
            .field("location", &self.location)
            .field("endpoint", &self.endpoint)
            .field("provider", &self.provider)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

impl VertexRegistryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder over the process environment ([`ENV_VARS`]).
    #[allow(clippy::disallowed_methods)] // builders are where configuration comes from the environment
    pub fn from_env() -> Self {
        let env = ENV_VARS
            .iter()
            .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
            .collect();
        Self::new().with_env(env)
    }

    /// A builder over the given variables (as [`from_env`](Self::from_env) reads them).
    pub fn with_env(mut self, env: BTreeMap<String, String>) -> Self {
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        self.project = self.project.or(get("GOOGLE_CLOUD_PROJECT"));
        self.location = self.location.or(get("GOOGLE_CLOUD_REGION"));
        self.endpoint = self.endpoint.or(get("MLOPS_VERTEX_ENDPOINT"));
        self.artifact_url = self.artifact_url.or(get("MLOPS_VERTEX_ARTIFACTS"));
        self.image = self.image.or(get("MLOPS_VERTEX_IMAGE"));
        self.key_file = self
            .key_file
            .or(get("GOOGLE_APPLICATION_CREDENTIALS").map(Into::into));
        self.env = env;
        self
    }

    /// The Google Cloud project id.
    pub fn with_project(mut self, p: impl Into<String>) -> Self {
        self.project = Some(p.into());
        self
    }

    /// The region, e.g. `europe-west4`.
    pub fn with_location(mut self, l: impl Into<String>) -> Self {
        self.location = Some(l.into());
        self
    }

    /// Overrides the regional endpoint `https://{location}-aiplatform.googleapis.com/`.
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// A token provider.
    pub fn with_token_provider(mut self, p: Arc<dyn TokenProvider>) -> Self {
        self.provider = Some(p);
        self
    }

    /// A fixed bearer token.
    pub fn with_static_token(self, token: impl Into<String>) -> Self {
        self.with_token_provider(Arc::new(StaticToken(Secret::new(token.into()))))
    }

    /// A service-account key file.
    pub fn with_service_account_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.key_file = Some(path.into());
        self
    }

    /// Applies a profile credential source (`gcp_service_account`, `token_env`, `environment`).
    ///
    /// # Errors
    /// `Unsupported` for other clouds' sources; `Unauthenticated` for an unset token variable.
    pub fn with_credential_source(mut self, source: &CredentialSource) -> Result<Self> {
        match source {
            CredentialSource::Environment => {}
            CredentialSource::GcpServiceAccount { key_file } => {
                self.key_file = Some(key_file.clone());
            }
            CredentialSource::TokenEnv { .. } => {
                if let mlops_core::http::Credentials::Bearer(t) = source.http_credentials()? {
                    self.provider = Some(Arc::new(StaticToken(t)));
                }
            }
            other => {
                return Err(
                    Error::unsupported(format!("credential source {other:?}"), BACKEND).into(),
                );
            }
        }
        Ok(self)
    }

    /// Where artifacts go (`gs://bucket/prefix`; `memory://` in tests).
    pub fn with_artifact_url(mut self, url: impl Into<String>) -> Self {
        self.artifact_url = Some(url.into());
        self
    }

    /// An existing artifact storage (takes precedence over the URL).
    pub fn with_artifact_storage(mut self, storage: Storage) -> Self {
        self.storage = Some(storage);
        self
    }

    /// The serving container image of new versions (`containerSpec.imageUri`, required).
    pub fn with_image(mut self, image: impl Into<String>) -> Self {
        self.image = Some(image.into());
        self
    }

    /// How long-running operations are polled.
    pub fn with_lro_options(mut self, lro: LroOptions) -> Self {
        self.lro = lro;
        self
    }

    /// The HTTP retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Validates the configuration and builds the registry.
    ///
    /// # Errors
    /// `InvalidArgument` for a missing project, location, image or artifact
    /// location; errors of the service-account key.
    pub fn build(self) -> Result<VertexRegistry> {
        let need = |v: Option<String>, what: &str, how: &str| {
            v.ok_or_else(|| Error::invalid(what, "", format!("set {how}")))
        };
        let project = need(
            self.project,
            "vertex project",
            "with_project(..) or GOOGLE_CLOUD_PROJECT",
        )?;
        let location = need(
            self.location,
            "vertex location",
            "with_location(..) or GOOGLE_CLOUD_REGION",
        )?;
        let image = need(
            self.image,
            "vertex image",
            "with_image(..) or MLOPS_VERTEX_IMAGE",
        )?;
        for (what, v) in [("vertex project", &project), ("vertex location", &location)] {
            if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(
                    Error::invalid(what, v.as_str(), "letters, digits and hyphens only").into(),
                );
            }
        }
        let provider: Arc<dyn TokenProvider> = match (self.provider, self.key_file) {
            (Some(p), _) => p,
            (None, Some(f)) => Arc::new(ServiceAccount::from_file(&f)?),
            (None, None) => Arc::new(MetadataServer::new(
                self.env.get("GCE_METADATA_HOST").map(String::as_str),
            )?),
        };
        let endpoint = self
            .endpoint
            .unwrap_or_else(|| format!("https://{location}-aiplatform.googleapis.com/"));
        let mut http = HttpClient::builder()
            .with_backend(BACKEND)
            .with_signer(Arc::new(BearerSigner(provider)));
        if let Some(r) = self.retry {
            http = http.with_retry(r);
        }
        let storage = match (self.storage, self.artifact_url) {
            (Some(s), _) => s,
            (None, Some(url)) => Storage::from_url(&url)?,
            (None, None) => {
                return Err(Error::invalid(
                    "vertex artifact url",
                    "",
                    "set with_artifact_url(\"gs://bucket/prefix\") or MLOPS_VERTEX_ARTIFACTS",
                )
                .into());
            }
        };
        Ok(VertexRegistry {
            client: VertexClient::new(http.build()?, &endpoint, &project, &location),
            location,
            artifacts: ArtifactStore::new(storage.clone()),
            blobs: BlobStore::new(&storage),
            storage,
            image,
            lro: self.lro,
            create_lock: tokio::sync::Mutex::new(()),
        })
    }
}
