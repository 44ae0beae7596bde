//! [`MlflowTrackerBuilder`] and [`MlflowConfigKey`].

use super::MlflowTracker;
use crate::error::Result;
use mlops_core::Secret;
use mlops_core::mlflow::{MlflowClient, MlflowConfig};

/// Configuration keys: the snake_case name or MLflow's environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MlflowConfigKey {
    /// `tracking_uri` / `MLFLOW_TRACKING_URI`.
    TrackingUri,
    /// `token` / `MLFLOW_TRACKING_TOKEN`.
    Token,
    /// `username` / `MLFLOW_TRACKING_USERNAME`.
    Username,
    /// `password` / `MLFLOW_TRACKING_PASSWORD`.
    Password,
    /// `insecure_tls` / `MLFLOW_TRACKING_INSECURE_TLS`.
    InsecureTls,
}

const KEYS: [(MlflowConfigKey, &str, &str); 5] = [
    (
        MlflowConfigKey::TrackingUri,
        "tracking_uri",
        "MLFLOW_TRACKING_URI",
    ),
    (MlflowConfigKey::Token, "token", "MLFLOW_TRACKING_TOKEN"),
    (
        MlflowConfigKey::Username,
        "username",
        "MLFLOW_TRACKING_USERNAME",
    ),
    (
        MlflowConfigKey::Password,
        "password",
        "MLFLOW_TRACKING_PASSWORD",
    ),
    (
        MlflowConfigKey::InsecureTls,
        "insecure_tls",
        "MLFLOW_TRACKING_INSECURE_TLS",
    ),
];

impl AsRef<str> for MlflowConfigKey {
    fn as_ref(&self) -> &str {
        KEYS.iter()
            .find(|(k, _, _)| k == self)
            .map_or("", |(_, name, _)| name)
    }
}

impl std::str::FromStr for MlflowConfigKey {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        KEYS.iter()
            .find(|(_, name, env)| *name == s || *env == s)
            .map(|(k, _, _)| *k)
            .ok_or_else(|| {
                mlops_core::Error::invalid(
                    "mlflow config key",
                    s,
                    "expected tracking_uri, token, username, password, insecure_tls or their MLFLOW_TRACKING_* names",
                )
                .into()
            })
    }
}

/// Builds an [`MlflowTracker`].
///
/// ```
/// use mlops_tracking::mlflow::{MlflowTracker, MlflowConfigKey};
/// let t = MlflowTracker::builder()
///     .with_url("http://127.0.0.1:5000")
///     .with_config(MlflowConfigKey::Token, "secret")
///     .build()
///     .unwrap();
/// assert_eq!(t.to_string(), "MlflowTracker(127.0.0.1:5000)");
/// assert!(!format!("{t:?}").contains("secret"));
/// ```
#[derive(Default, Clone)]
pub struct MlflowTrackerBuilder {
    url: Option<String>,
    token: Option<Secret<String>>,
    username: Option<String>,
    password: Option<Secret<String>>,
    insecure_tls: bool,
}

impl std::fmt::Debug for MlflowTrackerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlflowTrackerBuilder")
            .field("url", &self.url)
            .field("token", &self.token)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("insecure_tls", &self.insecure_tls)
            .finish_non_exhaustive()
    }
}

impl MlflowTrackerBuilder {
    /// Nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `MLFLOW_TRACKING_URI`, `_TOKEN`, `_USERNAME`, `_PASSWORD` and `_INSECURE_TLS`.
    #[allow(clippy::disallowed_methods)] // builders are where configuration is read from the environment
    pub fn from_env() -> Self {
        let mut b = Self::new();
        for (key, _, env) in KEYS {
            if let Ok(v) = std::env::var(env)
                && !v.is_empty()
            {
                b = b.with_config(key, v);
            }
        }
        b
    }

    /// The server URL, e.g. `http://127.0.0.1:5000`.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets one key.
    pub fn with_config(mut self, key: MlflowConfigKey, value: impl Into<String>) -> Self {
        let v = value.into();
        match key {
            MlflowConfigKey::TrackingUri => self.url = Some(v),
            MlflowConfigKey::Token => self.token = Some(Secret::new(v)),
            MlflowConfigKey::Username => self.username = Some(v),
            MlflowConfigKey::Password => self.password = Some(Secret::new(v)),
            MlflowConfigKey::InsecureTls => {
                self.insecure_tls = matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes");
            }
        }
        self
    }

    /// Validates and builds the client; nothing is sent.
    ///
    /// # Errors
    /// `InvalidArgument` without a URL or with a non-HTTP one.
    pub fn build(self) -> Result<MlflowTracker> {
        let url = self.url.ok_or_else(|| {
            mlops_core::Error::invalid(
                "mlflow tracking uri",
                "",
                "set with_url or MLFLOW_TRACKING_URI",
            )
        })?;
        let mut cfg = MlflowConfig::new(url);
        cfg.token = self.token;
        cfg.username = self.username;
        cfg.password = self.password;
        cfg.insecure_tls = self.insecure_tls;
        Ok(MlflowTracker::from_client(MlflowClient::new(cfg)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_accept_both_spellings() {
        for (k, name, env) in KEYS {
            assert_eq!(name.parse::<MlflowConfigKey>().unwrap(), k);
            assert_eq!(env.parse::<MlflowConfigKey>().unwrap(), k);
            assert_eq!(k.as_ref(), name);
        }
        assert!("nope".parse::<MlflowConfigKey>().is_err());
        assert!(MlflowTrackerBuilder::new().build().is_err());
        assert!(
            MlflowTrackerBuilder::new()
                .with_url("ftp://x")
                .build()
                .is_err()
        );
        let b = MlflowTrackerBuilder::new()
            .with_config(MlflowConfigKey::Password, "hunter2")
            .with_config(MlflowConfigKey::InsecureTls, "true");
        assert!(!format!("{b:?}").contains("hunter2"));
        assert!(b.insecure_tls);
    }
}
