//! [`MlflowRegistryBuilder`].

use super::MlflowRegistry;
use crate::error::Result;
use mlops_core::Secret;
use mlops_core::mlflow::{MlflowClient, MlflowConfig};

/// The environment variables [`MlflowRegistryBuilder::from_env`] reads.
pub const ENV_VARS: [&str; 5] = [
    "MLFLOW_TRACKING_URI",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_INSECURE_TLS",
];

/// The experiment holding registry-owned runs by default.
pub const DEFAULT_EXPERIMENT: &str = "mlops-registry";

/// Builds an [`MlflowRegistry`]. Credentials are kept as `Secret`s and never
/// shown in `Debug`.
///
/// ```
/// use mlops_registry::mlflow::MlflowRegistryBuilder;
/// let reg = MlflowRegistryBuilder::new()
///     .with_url("http://127.0.0.1:5000")
///     .with_token("s3cret")
///     .build()?;
/// assert!(!format!("{reg:?}").contains("s3cret"));
/// # Ok::<(), mlops_registry::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MlflowRegistryBuilder {
    url: Option<String>,
    token: Option<Secret<String>>,
    username: Option<String>,
    password: Option<Secret<String>>,
    insecure_tls: bool,
    experiment: Option<String>,
    client: Option<MlflowClient>,
}

impl MlflowRegistryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder from `MLFLOW_TRACKING_URI`, `_TOKEN`, `_USERNAME`, `_PASSWORD`
    /// and `_INSECURE_TLS` (empty variables are ignored).
    #[allow(clippy::disallowed_methods)] // builders are where configuration comes from the environment
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut b = Self::new();
        b.url = var(ENV_VARS[0]);
        b.token = var(ENV_VARS[1]).map(Secret::new);
        b.username = var(ENV_VARS[2]);
        b.password = var(ENV_VARS[3]).map(Secret::new);
        b.insecure_tls = var(ENV_VARS[4])
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
        b
    }

    /// The server URL, e.g. `http://127.0.0.1:5000`.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// A bearer token.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token.into()));
        self
    }

    /// Basic-auth credentials.
    pub fn with_basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(user.into());
        self.password = Some(Secret::new(password.into()));
        self
    }

    /// Skips TLS certificate checks (testing only).
    pub fn with_insecure_tls(mut self, on: bool) -> Self {
        self.insecure_tls = on;
        self
    }

    /// The experiment that holds registry-owned runs (versions without an MLflow
    /// run of their own); default [`DEFAULT_EXPERIMENT`].
    pub fn with_experiment(mut self, name: impl Into<String>) -> Self {
        self.experiment = Some(name.into());
        self
    }

    /// A ready wire client (tests, custom transports); the URL and credentials
    /// above are then ignored.
    pub fn with_client(mut self, client: MlflowClient) -> Self {
        self.client = Some(client);
        self
    }

    /// Validates and builds; nothing is sent.
    ///
    /// # Errors
    /// `InvalidArgument` without a URL or with a non-HTTP one.
    pub fn build(self) -> Result<MlflowRegistry> {
        let client = match self.client {
            Some(c) => c,
            None => {
                let url = self.url.ok_or_else(|| {
                    mlops_core::Error::invalid(
                        "mlflow tracking uri",
                        "",
                        "set MLFLOW_TRACKING_URI or call with_url",
                    )
                })?;
                let mut cfg = MlflowConfig::new(url);
                cfg.token = self.token;
                cfg.username = self.username;
                cfg.password = self.password;
                cfg.insecure_tls = self.insecure_tls;
                MlflowClient::new(cfg)?
            }
        };
        Ok(MlflowRegistry::new(
            client,
            self.experiment.unwrap_or_else(|| DEFAULT_EXPERIMENT.into()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_needs_an_http_url() {
        let e = MlflowRegistryBuilder::new().build().unwrap_err();
        assert!(e.to_string().contains("MLFLOW_TRACKING_URI"), "{e}");
        let e = MlflowRegistryBuilder::new()
            .with_url("ftp://x")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), mlops_core::ErrorKind::InvalidArgument);
        let reg = MlflowRegistryBuilder::new()
            .with_url("http://127.0.0.1:5000/")
            .with_basic_auth("bob", "hunter2")
            .build()
            .unwrap();
        assert_eq!(mlops_registry_uri(&reg), "http://127.0.0.1:5000");
        assert!(!format!("{reg:?}").contains("hunter2"));
    }

    fn mlops_registry_uri(reg: &MlflowRegistry) -> String {
        use crate::ModelRegistry;
        reg.uri()
    }
}
