//! [`SageMakerRegistryBuilder`] and [`SageMakerConfigKey`].

use super::credentials::{AssumeRole, AwsCredentials, Provider, load_profile, profile_paths};
use super::{BACKEND, CAPABILITIES, SageMakerRegistry, SigV4Signer, client};
use crate::artifacts::ArtifactStore;
use crate::error::Result;
use mlops_core::blob::BlobStore;
use mlops_core::http::{HttpClient, RetryConfig};
use mlops_core::profile::CredentialSource;
use mlops_core::{Error, Secret, Storage};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A configuration key of [`SageMakerRegistryBuilder::with_config`]: the
/// snake_case name or the environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SageMakerConfigKey {
    /// `region` / `AWS_REGION` (also `AWS_DEFAULT_REGION`).
    Region,
    /// `endpoint` / `MLOPS_SAGEMAKER_ENDPOINT`: overrides `https://api.sagemaker.<region>.amazonaws.com/`.
    Endpoint,
    /// `sts_endpoint` / `MLOPS_STS_ENDPOINT`: overrides `https://sts.<region>.amazonaws.com/`.
    StsEndpoint,
    /// `profile` / `AWS_PROFILE`.
    Profile,
    /// `role_arn` / `MLOPS_SAGEMAKER_ROLE_ARN`: a role to assume.
    RoleArn,
    /// `external_id` / `MLOPS_SAGEMAKER_EXTERNAL_ID`.
    ExternalId,
    /// `artifact_url` / `MLOPS_SAGEMAKER_ARTIFACTS`: where artifacts go (`s3://bucket/prefix`).
    ArtifactUrl,
    /// `image` / `MLOPS_SAGEMAKER_IMAGE`: the inference container image of new versions.
    Image,
}

const KEYS: &[(SageMakerConfigKey, &str, &str)] = &[
    (SageMakerConfigKey::Region, "region", "AWS_REGION"),
    (
        SageMakerConfigKey::Endpoint,
        "endpoint",
        "MLOPS_SAGEMAKER_ENDPOINT",
    ),
    (
        SageMakerConfigKey::StsEndpoint,
        "sts_endpoint",
        "MLOPS_STS_ENDPOINT",
    ),
    (SageMakerConfigKey::Profile, "profile", "AWS_PROFILE"),
    (
        SageMakerConfigKey::RoleArn,
        "role_arn",
        "MLOPS_SAGEMAKER_ROLE_ARN",
    ),
    (
        SageMakerConfigKey::ExternalId,
        "external_id",
        "MLOPS_SAGEMAKER_EXTERNAL_ID",
    ),
    (
        SageMakerConfigKey::ArtifactUrl,
        "artifact_url",
        "MLOPS_SAGEMAKER_ARTIFACTS",
    ),
    (SageMakerConfigKey::Image, "image", "MLOPS_SAGEMAKER_IMAGE"),
];

impl AsRef<str> for SageMakerConfigKey {
    fn as_ref(&self) -> &str {
        KEYS.iter()
            .find(|(k, _, _)| k == self)
            .map_or("", |(_, s, _)| s)
    }
}

impl std::str::FromStr for SageMakerConfigKey {
    type Err = Error;
    fn from_str(s: &str) -> std::result::Result<Self, Error> {
        KEYS.iter()
            .find(|(_, snake, var)| *snake == s || *var == s)
            .map(|(k, _, _)| *k)
            .ok_or_else(|| Error::invalid("sagemaker config key", s, "unknown key"))
    }
}

/// Builds a [`SageMakerRegistry`]. Nothing is called remotely before the first
/// registry call; profile files are read by `build`.
///
/// Credentials, first match wins: [`with_static_credentials`](Self::with_static_credentials);
/// a named profile (`AWS_PROFILE`; static keys or `role_arn` + `source_profile`);
/// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`; the `default`
/// profile. A role ([`with_assume_role`](Self::with_assume_role)) is then assumed
/// with those credentials through STS.
#[derive(Clone, Default)]
pub struct SageMakerRegistryBuilder {
    config: BTreeMap<SageMakerConfigKey, String>,
    env: BTreeMap<String, String>,
    static_creds: Option<AwsCredentials>,
    role: Option<AssumeRole>,
    storage: Option<Storage>,
    storage_options: Vec<(String, String)>,
    retry: Option<RetryConfig>,
    timeout: Option<Duration>,
    emulator_gaps: bool,
}

impl std::fmt::Debug for SageMakerRegistryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SageMakerRegistryBuilder")
            .field("config", &self.config)
            .field("static_credentials", &self.static_creds.is_some())
            .field("role", &self.role)
            .field("emulator_gaps", &self.emulator_gaps)
            .finish_non_exhaustive()
    }
}

/// The environment variables [`SageMakerRegistryBuilder::from_env`] reads.
pub const ENV_VARS: &[&str] = &[
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "HOME",
    "MLOPS_SAGEMAKER_ENDPOINT",
    "MLOPS_STS_ENDPOINT",
    "MLOPS_SAGEMAKER_ROLE_ARN",
    "MLOPS_SAGEMAKER_EXTERNAL_ID",
    "MLOPS_SAGEMAKER_ARTIFACTS",
    "MLOPS_SAGEMAKER_IMAGE",
];

impl SageMakerRegistryBuilder {
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
        for (k, _, var) in KEYS {
            if let Some(v) = env.get(*var).filter(|v| !v.is_empty()) {
                self.config.entry(*k).or_insert_with(|| v.clone());
            }
        }
        if let Some(r) = env.get("AWS_DEFAULT_REGION").filter(|v| !v.is_empty()) {
            self.config
                .entry(SageMakerConfigKey::Region)
                .or_insert_with(|| r.clone());
        }
        self.env = env;
        self
    }

    /// Sets one configuration value.
    pub fn with_config(mut self, key: SageMakerConfigKey, value: impl Into<String>) -> Self {
        self.config.insert(key, value.into());
        self
    }

    /// The AWS region (required).
    pub fn with_region(self, region: impl Into<String>) -> Self {
        self.with_config(SageMakerConfigKey::Region, region)
    }

    /// The SageMaker endpoint (e.g. moto's `http://127.0.0.1:5406`); STS defaults to it too.
    pub fn with_endpoint(self, url: impl Into<String>) -> Self {
        self.with_config(SageMakerConfigKey::Endpoint, url)
    }

    /// Static credentials.
    pub fn with_static_credentials(mut self, key_id: &str, secret: &str) -> Self {
        self.static_creds = Some(AwsCredentials::new(
            key_id,
            Secret::new(secret.to_string()),
            None,
        ));
        self
    }

    /// Credentials (e.g. with a session token).
    pub fn with_credentials(mut self, credentials: AwsCredentials) -> Self {
        self.static_creds = Some(credentials);
        self
    }

    /// A named profile of the shared files.
    pub fn with_profile(self, name: impl Into<String>) -> Self {
        self.with_config(SageMakerConfigKey::Profile, name)
    }

    /// Assume this role (cross-account) with the base credentials.
    pub fn with_assume_role(mut self, role: AssumeRole) -> Self {
        self.role = Some(role);
        self
    }

    /// Applies a profile's credential source (`aws_profile`, `aws_role`, `environment`).
    ///
    /// # Errors
    /// `Unsupported` for sources of other clouds.
    pub fn with_credential_source(mut self, source: &CredentialSource) -> Result<Self> {
        match source {
            CredentialSource::Environment => {}
            CredentialSource::AwsProfile { profile, region } => {
                self = self.with_profile(profile.clone());
                if let Some(r) = region {
                    self = self.with_region(r.clone());
                }
            }
            CredentialSource::AwsRole {
                role_arn,
                external_id,
                session_name,
                region,
                source_profile,
            } => {
                let mut role = AssumeRole::new(role_arn.clone());
                role.external_id = external_id.clone();
                if let Some(s) = session_name {
                    role.session_name = s.clone();
                }
                self.role = Some(role);
                if let Some(r) = region {
                    self = self.with_region(r.clone());
                }
                if let Some(p) = source_profile {
                    self = self.with_profile(p.clone());
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

    /// Where artifacts are stored (`s3://bucket/prefix`, or `memory://` in tests).
    pub fn with_artifact_url(self, url: impl Into<String>) -> Self {
        self.with_config(SageMakerConfigKey::ArtifactUrl, url)
    }

    /// An object-store option for the artifact URL (`endpoint`, `allow_http`, ...).
    pub fn with_artifact_option(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.storage_options.push((k.into(), v.into()));
        self
    }

    /// An existing artifact storage (takes precedence over the URL).
    pub fn with_artifact_storage(mut self, storage: Storage) -> Self {
        self.storage = Some(storage);
        self
    }

    /// The inference container image recorded with each new version.
    pub fn with_image(self, image: impl Into<String>) -> Self {
        self.with_config(SageMakerConfigKey::Image, image)
    }

    /// The retry policy of the HTTP client.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = Some(retry);
        self
    }

    /// The per-attempt timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Turns off the capabilities moto lacks ([`MOTO_GAPS`](super::MOTO_GAPS)):
    /// `delete_models` and `delete_versions` then answer `Unsupported`.
    pub fn with_emulator_gaps(mut self, on: bool) -> Self {
        self.emulator_gaps = on;
        self
    }

    fn env(&self, k: &str) -> Option<String> {
        self.env.get(k).cloned().filter(|v| !v.is_empty())
    }

    fn base_provider(&self) -> Result<Arc<Provider>> {
        if let Some(c) = &self.static_creds {
            return Ok(Arc::new(Provider::Static(c.clone())));
        }
        let lookup = |k: &str| self.env(k);
        let (cred_file, config_file): (PathBuf, PathBuf) = profile_paths(&lookup);
        if let Some(name) = self.config.get(&SageMakerConfigKey::Profile) {
            let p = load_profile(name, &cred_file, &config_file)?;
            if let Some(c) = p.static_credentials() {
                return Ok(Arc::new(Provider::Static(c)));
            }
            if let (Some(role), Some(src)) = (p.get("role_arn"), p.get("source_profile")) {
                let base = load_profile(src, &cred_file, &config_file)?
                    .static_credentials()
                    .ok_or_else(|| Error::Unauthenticated {
                        backend: BACKEND.into(),
                        message: format!("source profile {src} has no keys"),
                    })?;
                let mut r = AssumeRole::new(role);
                r.external_id = p.get("external_id").map(str::to_string);
                return Ok(Arc::new(self.assume(Arc::new(Provider::Static(base)), r)?));
            }
            return Err(Error::Unauthenticated {
                backend: BACKEND.into(),
                message: format!("profile {name} has neither keys nor role_arn + source_profile"),
            }
            .into());
        }
        if let Some(c) = AwsCredentials::from_env_vars(&lookup) {
            return Ok(Arc::new(Provider::Static(c)));
        }
        if let Ok(p) = load_profile("default", &cred_file, &config_file)
            && let Some(c) = p.static_credentials()
        {
            return Ok(Arc::new(Provider::Static(c)));
        }
        Err(Error::Unauthenticated {
            backend: BACKEND.into(),
            message: "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                      AWS_PROFILE, or a default profile in ~/.aws/credentials"
                .into(),
        }
        .into())
    }

    fn region(&self) -> Result<String> {
        self.config
            .get(&SageMakerConfigKey::Region)
            .cloned()
            .ok_or_else(|| {
                Error::invalid("sagemaker region", "", "set with_region(..) or AWS_REGION").into()
            })
    }

    fn assume(&self, base: Arc<Provider>, role: AssumeRole) -> Result<Provider> {
        let region = self.region()?;
        let sts_url = self
            .config
            .get(&SageMakerConfigKey::StsEndpoint)
            .or(self.config.get(&SageMakerConfigKey::Endpoint))
            .cloned()
            .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com/"));
        Ok(Provider::AssumeRole {
            base,
            role,
            sts_url,
            region,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// Validates the configuration and builds the registry.
    ///
    /// # Errors
    /// `InvalidArgument` without a region or artifact location; `Unauthenticated`
    /// without credentials; `NotFound` for an unknown profile.
    pub fn build(self) -> Result<SageMakerRegistry> {
        let region = self.region()?;
        let mut provider = self.base_provider()?;
        let explicit_role = self.role.clone().or_else(|| {
            self.config.get(&SageMakerConfigKey::RoleArn).map(|arn| {
                let mut r = AssumeRole::new(arn.clone());
                r.external_id = self.config.get(&SageMakerConfigKey::ExternalId).cloned();
                r
            })
        });
        if let Some(role) = explicit_role {
            provider = Arc::new(self.assume(provider, role)?);
        }
        let endpoint = self
            .config
            .get(&SageMakerConfigKey::Endpoint)
            .cloned()
            .unwrap_or_else(|| format!("https://api.sagemaker.{region}.amazonaws.com/"));
        let signer = SigV4Signer::new(provider.clone(), region.clone(), "sagemaker");
        let mut http = HttpClient::builder()
            .with_backend(BACKEND)
            .with_signer(Arc::new(signer))
            .with_classifier(client::classifier());
        if let Some(r) = self.retry {
            http = http.with_retry(r);
        }
        if let Some(t) = self.timeout {
            http = http.with_timeout(t);
        }
        let storage = match (
            self.storage,
            self.config.get(&SageMakerConfigKey::ArtifactUrl),
        ) {
            (Some(s), _) => s,
            // the bucket is signed with the API's credentials unless options name keys
            (None, Some(url))
                if url.starts_with("s3://")
                    && !self
                        .storage_options
                        .iter()
                        .any(|(k, _)| k.to_ascii_lowercase().contains("access_key_id")) =>
            {
                Storage::from_s3_with_credentials(
                    url,
                    self.storage_options,
                    Arc::new(super::credentials::S3Credentials(provider.clone())),
                )?
            }
            (None, Some(url)) => Storage::from_url_opts(url, self.storage_options)?,
            (None, None) => {
                return Err(Error::invalid(
                    "sagemaker artifact url",
                    "",
                    "set with_artifact_url(\"s3://bucket/prefix\") or MLOPS_SAGEMAKER_ARTIFACTS",
                )
                .into());
            }
        };
        let mut caps = CAPABILITIES;
        if self.emulator_gaps {
            caps.delete_models = false;
            caps.delete_versions = false;
        }
        Ok(SageMakerRegistry {
            client: client::SageMakerClient::new(http.build()?, endpoint),
            region,
            artifacts: ArtifactStore::new(storage.clone()),
            blobs: BlobStore::new(&storage),
            image: self.config.get(&SageMakerConfigKey::Image).cloned(),
            caps,
            create_lock: tokio::sync::Mutex::new(()),
        })
    }
}

/// Model tags become SageMaker group tags: values ≤ 256 characters from
/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]`.
pub(crate) fn check_tag_values(tags: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in tags {
        if !(v.is_empty() || super::wire::metadata_ok(v, 256)) {
            return Err(Error::invalid(
                "sagemaker tag value",
                format!("{k}={v}"),
                "SageMaker tag values are at most 256 letters, digits, spaces and _.:/=+-@",
            )
            .into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keys_and_env() {
        assert_eq!(
            "region".parse::<SageMakerConfigKey>().unwrap(),
            SageMakerConfigKey::Region
        );
        assert_eq!(
            "AWS_PROFILE".parse::<SageMakerConfigKey>().unwrap(),
            SageMakerConfigKey::Profile
        );
        assert!("bogus".parse::<SageMakerConfigKey>().is_err());
        assert_eq!(SageMakerConfigKey::ArtifactUrl.as_ref(), "artifact_url");
        let env: BTreeMap<String, String> = [
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "very-secret-env-key"),
            ("MLOPS_SAGEMAKER_ARTIFACTS", "memory://"),
            ("HOME", "/nonexistent"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let b = SageMakerRegistryBuilder::new().with_env(env);
        assert!(!format!("{b:?}").contains("very-secret-env-key"));
        let reg = b.build().unwrap();
        assert_eq!(reg.to_string(), "SageMakerRegistry(eu-west-1)");
        assert!(!format!("{reg:?}").contains("very-secret-env-key"));
        let e = SageMakerRegistryBuilder::new()
            .with_region("x")
            .with_artifact_url("memory://")
            .with_env([("HOME".to_string(), "/nonexistent".to_string())].into())
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), mlops_core::ErrorKind::Unauthenticated);
    }

    #[test]
    fn profile_credential_sources() {
        let src = CredentialSource::AwsRole {
            role_arn: "arn:aws:iam::123456789012:role/prod".into(),
            external_id: Some("x".into()),
            session_name: None,
            region: Some("eu-west-1".into()),
            source_profile: None,
        };
        let b = SageMakerRegistryBuilder::new()
            .with_static_credentials("AKIDBASE", "base")
            .with_artifact_url("memory://")
            .with_credential_source(&src)
            .unwrap();
        assert_eq!(b.role.as_ref().unwrap().external_id.as_deref(), Some("x"));
        let reg = b.build().unwrap();
        assert_eq!(reg.to_string(), "SageMakerRegistry(eu-west-1)");
        let gcp = CredentialSource::GcpServiceAccount {
            key_file: "k.json".into(),
        };
        let e = SageMakerRegistryBuilder::new()
            .with_credential_source(&gcp)
            .unwrap_err();
        assert_eq!(e.kind(), mlops_core::ErrorKind::Unsupported);
    }

    #[test]
    fn profiles_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        let config = dir.path().join("config");
        std::fs::write(
            &creds,
            "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = dev-secret-value\n",
        )
        .unwrap();
        std::fs::write(&config, "[profile prod]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = dev\nexternal_id = ext\n").unwrap();
        let env: BTreeMap<String, String> = [
            ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ("AWS_PROFILE", "prod"),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let b = SageMakerRegistryBuilder::new()
            .with_env(env.clone())
            .with_artifact_url("memory://");
        let p = b.base_provider().unwrap();
        assert!(
            matches!(&*p, Provider::AssumeRole { role, .. } if role.external_id.as_deref() == Some("ext"))
        );
        assert!(!format!("{p:?}").contains("dev-secret-value"));
        let e = SageMakerRegistryBuilder::new()
            .with_env(env)
            .with_profile("nope")
            .with_artifact_url("memory://")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), mlops_core::ErrorKind::NotFound);
    }
}
