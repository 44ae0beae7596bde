//! Profiles: the `mlops.toml` schema of named environments.
//!
//! One file describes every environment a model passes through — by default
//! `development`, `ci`, `qa`, `staging`, `monitoring` and `production`, but the
//! names and their number are the file's choice. Each environment names:
//!
//! * its backend URL per domain ([`Domain`]): `tracking`, `registry`,
//!   `feature_offline`, `feature_online` and `audit` (the audit log and promotion
//!   ledger), or a `root` storage URL from which the unset ones are derived
//!   (`<root>/tracking`, `<root>/registry`, `<root>/features/offline`,
//!   `<root>/features/online`, `<root>/audit`);
//! * a credential source ([`CredentialSource`]) — never a secret itself: tokens and
//!   passwords are named by the environment variable that holds them;
//! * store attributes ([`StoreAttributes`], e.g. `encrypted = true`);
//! * autoscaling for deployment manifests ([`Autoscaling`]; `min_replicas = 0`
//!   scales to zero).
//!
//! `promotion_order` lists the environments a model is promoted through, in order
//! (environments left out, such as `monitoring`, are not promotion targets); without
//! it the order is the file's. The environment in use is chosen by name
//! (`--profile`), else by `MLOPS_PROFILE`, else by `default_environment`, else the
//! first one ([`Profile::select`]).
//!
//! Relative local paths (`file://./.mlops/dev` or `./.mlops/dev`) are resolved
//! against the directory of the profile file. Every error names the key and the line,
//! and unknown keys are refused.
//!
//! | domain | accepted URLs |
//! |---|---|
//! | `tracking` | storage (`file://`, `memory://`, `s3://`, `gs://`, `az://`, a plain path), `http(s)://` (MLflow) |
//! | `registry` | storage, `http(s)://` (MLflow), `sagemaker://<region>`, `vertex://<project>/<location>` |
//! | `feature_offline`, `audit` | storage |
//! | `feature_online` | `file://`/plain path (embedded, on local disk), `memory://`, `redis://`, `rediss://` |
//!
//! ```
//! use mlops_core::profile::{BackendKind, CredentialSource, Domain, Profile};
//! let toml = r#"
//! version = 1
//! default_environment = "development"
//! promotion_order = ["development", "staging", "production"]
//!
//! [environments.development]
//! description = "a laptop: everything on local disk"
//! root = "file:///tmp/mlops/development"
//!
//! [environments.staging]
//! tracking = "http://mlflow.staging.internal:5000"
//! registry = "http://mlflow.staging.internal:5000"
//! feature_offline = "s3://acme-staging/features"
//! feature_online = "redis://redis.staging.internal:6379/0"
//! audit = "s3://acme-staging/audit"
//! credentials = { source = "token_env", var = "MLFLOW_TRACKING_TOKEN" }
//! autoscaling = { min_replicas = 0, max_replicas = 2, target_concurrency = 8 }
//!
//! [environments.monitoring]
//! root = "gs://acme-monitoring/mlops"
//! credentials = { source = "gcp_service_account", key_file = "/etc/mlops/monitoring-sa.json" }
//!
//! [environments.production]
//! tracking = "http://mlflow.prod.internal:5000"
//! registry = "sagemaker://eu-west-1"
//! feature_offline = "s3://acme-prod/features"
//! feature_online = "rediss://redis.prod.internal:6380/0"
//! audit = "s3://acme-prod-audit/ledger"
//!
//! [environments.production.credentials]
//! source = "aws_role"
//! role_arn = "arn:aws:iam::123456789012:role/mlops-production"
//! external_id = "mlops-rs"
//! region = "eu-west-1"
//!
//! [environments.production.store]
//! encrypted = true
//! kms_key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd"
//!
//! [environments.production.autoscaling]
//! min_replicas = 2
//! max_replicas = 20
//! target_concurrency = 50
//! "#;
//! let profile = Profile::from_toml_str(toml)?;
//! let names: Vec<_> = profile.environments().iter().map(|e| e.name().as_str()).collect();
//! assert_eq!(names, ["development", "staging", "monitoring", "production"]);
//! assert_eq!(profile.next_in_promotion("staging")?.map(|e| e.name().as_str()), Some("production"));
//!
//! let dev = profile.select(Some("development"))?;
//! assert_eq!(dev.url(Domain::Registry), Some("file:///tmp/mlops/development/registry"));
//!
//! let prod = profile.environment("production")?;
//! assert_eq!(prod.backend(Domain::Registry).unwrap().kind(), BackendKind::SageMaker);
//! assert!(prod.store().encrypted);
//! assert!(matches!(prod.credentials(), CredentialSource::AwsRole { .. }));
//! assert!(profile.environment("staging")?.autoscaling().scales_to_zero());
//!
//! // Errors name the key and the line.
//! let bad = "[environments.qa]\nregistry = \"ftp://x\"\n";
//! let e = Profile::from_toml_str(bad).unwrap_err();
//! assert!(e.to_string().starts_with("invalid key `environments.qa.registry` (mlops.toml line 2)"), "{e}");
//! # Ok::<(), mlops_core::Error>(())
//! ```

mod parse;
mod source;
#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::name::EnvName;
use crate::store::Scheme;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The profile file's usual name.
pub const FILE_NAME: &str = "mlops.toml";

/// The variable that selects the environment when no name is given explicitly.
pub const PROFILE_VAR: &str = "MLOPS_PROFILE";

/// The variable that points at the profile file ([`Profile::discover`]).
pub const CONFIG_VAR: &str = "MLOPS_CONFIG";

/// The environments of [`Profile::local`], in promotion order.
pub const DEFAULT_ENVIRONMENTS: [&str; 6] = [
    "development",
    "ci",
    "qa",
    "staging",
    "monitoring",
    "production",
];

/// What a backend URL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Domain {
    /// Experiment tracking (`tracking`).
    Tracking,
    /// The model registry (`registry`).
    Registry,
    /// The offline feature store (`feature_offline`).
    FeatureOffline,
    /// The online feature store (`feature_online`).
    FeatureOnline,
    /// The audit log and promotion ledger (`audit`).
    Audit,
}

impl Domain {
    /// Every domain.
    pub const ALL: [Domain; 5] = [
        Domain::Tracking,
        Domain::Registry,
        Domain::FeatureOffline,
        Domain::FeatureOnline,
        Domain::Audit,
    ];

    /// The key in `mlops.toml`.
    pub fn key(self) -> &'static str {
        match self {
            Domain::Tracking => "tracking",
            Domain::Registry => "registry",
            Domain::FeatureOffline => "feature_offline",
            Domain::FeatureOnline => "feature_online",
            Domain::Audit => "audit",
        }
    }

    /// Where the domain lives below an environment's `root`.
    pub fn root_subdir(self) -> &'static str {
        match self {
            Domain::Tracking => "tracking",
            Domain::Registry => "registry",
            Domain::FeatureOffline => "features/offline",
            Domain::FeatureOnline => "features/online",
            Domain::Audit => "audit",
        }
    }

    /// Whether a backend of `kind` can serve this domain.
    pub fn accepts(self, kind: BackendKind) -> bool {
        use BackendKind as K;
        match self {
            Domain::Tracking => matches!(kind, K::Storage(_) | K::Mlflow),
            Domain::Registry => {
                matches!(kind, K::Storage(_) | K::Mlflow | K::SageMaker | K::Vertex)
            }
            Domain::FeatureOffline | Domain::Audit => matches!(kind, K::Storage(_)),
            Domain::FeatureOnline => matches!(
                kind,
                K::Storage(Scheme::File) | K::Storage(Scheme::Memory) | K::Redis
            ),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Domain::Tracking => "expected a storage URL or http(s):// (MLflow)",
            Domain::Registry => {
                "expected a storage URL, http(s):// (MLflow), sagemaker:// or vertex://"
            }
            Domain::FeatureOffline | Domain::Audit => {
                "expected a storage URL (file://, memory://, s3://, gs://, az://)"
            }
            Domain::FeatureOnline => {
                "expected file:// or a local path (embedded), memory://, redis:// or rediss://"
            }
        }
    }
}

impl std::fmt::Display for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

/// Which kind of backend a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendKind {
    /// An object store or local directory ([`crate::Storage`]): the embedded backends.
    Storage(Scheme),
    /// An MLflow server (`http://`, `https://`).
    Mlflow,
    /// SageMaker Model Registry (`sagemaker://<region>`).
    SageMaker,
    /// Vertex AI Model Registry (`vertex://<project>/<location>`).
    Vertex,
    /// Redis (`redis://`, `rediss://`).
    Redis,
}

impl BackendKind {
    /// Classifies `url`.
    ///
    /// ```
    /// use mlops_core::profile::BackendKind;
    /// use mlops_core::Scheme;
    /// assert_eq!(BackendKind::of("s3://b/p")?, BackendKind::Storage(Scheme::S3));
    /// assert_eq!(BackendKind::of("./.mlops")?, BackendKind::Storage(Scheme::File));
    /// assert_eq!(BackendKind::of("https://mlflow.example.com")?, BackendKind::Mlflow);
    /// assert!(BackendKind::of("ftp://x").is_err());
    /// # Ok::<(), mlops_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown scheme or a malformed service URL.
    pub fn of(url: &str) -> Result<Self> {
        let scheme = url.split_once("://").map(|(s, _)| s);
        let kind = match scheme {
            Some("http" | "https") => BackendKind::Mlflow,
            Some("sagemaker") => BackendKind::SageMaker,
            Some("vertex") => BackendKind::Vertex,
            Some("redis" | "rediss") => BackendKind::Redis,
            _ => {
                return Scheme::of(url).map(BackendKind::Storage).map_err(|_| {
                    Error::invalid(
                        "backend url",
                        url,
                        "unknown scheme; expected file://, memory://, s3://, gs://, az://, \
                         http(s)://, sagemaker://, vertex://, redis:// or a local path",
                    )
                });
            }
        };
        let parsed =
            url::Url::parse(url).map_err(|e| Error::invalid("backend url", url, e.to_string()))?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(Error::invalid("backend url", url, "no host given"));
        }
        Ok(kind)
    }
}

/// A backend URL with its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    url: String,
    kind: BackendKind,
}

impl Backend {
    /// The URL, with relative local paths resolved.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The kind.
    pub fn kind(&self) -> BackendKind {
        self.kind
    }
}

/// Where an environment's credentials come from. Secrets are never in the file:
/// tokens and passwords are named by the environment variable holding them.
///
/// In `mlops.toml`: `credentials = { source = "...", ... }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum CredentialSource {
    /// `source = "environment"` (the default): each backend's usual variables and
    /// files (`AWS_*`, `GOOGLE_APPLICATION_CREDENTIALS`, `MLFLOW_TRACKING_TOKEN`, …).
    #[default]
    Environment,
    /// `source = "aws_profile"`: a named profile of `~/.aws/config`.
    AwsProfile {
        /// The profile name.
        profile: String,
        /// The region, if not the profile's.
        #[serde(default)]
        region: Option<String>,
    },
    /// `source = "aws_role"`: assume a role through STS (cross-account).
    AwsRole {
        /// `arn:aws:iam::<account>:role/<name>`.
        role_arn: String,
        /// The external id the role's trust policy requires.
        #[serde(default)]
        external_id: Option<String>,
        /// The session name (default chosen by the backend).
        #[serde(default)]
        session_name: Option<String>,
        /// The region.
        #[serde(default)]
        region: Option<String>,
        /// The profile whose credentials assume the role (default: the environment).
        #[serde(default)]
        source_profile: Option<String>,
    },
    /// `source = "gcp_service_account"`: a service-account key file.
    GcpServiceAccount {
        /// The key file (relative paths are resolved against the profile's directory).
        key_file: PathBuf,
    },
    /// `source = "token_env"`: a bearer token read from the variable `var`.
    TokenEnv {
        /// The variable's name, e.g. `MLFLOW_TRACKING_TOKEN`.
        var: String,
    },
    /// `source = "basic_env"`: basic auth with user and password read from variables.
    BasicEnv {
        /// The variable holding the user name.
        user_var: String,
        /// The variable holding the password.
        password_var: String,
    },
}

impl CredentialSource {
    /// The credentials for the shared HTTP client: a bearer token (`token_env`) or
    /// basic auth (`basic_env`) read from the named variables now; `None` for the
    /// other sources (their backends sign requests themselves).
    ///
    /// # Errors
    /// `Unauthenticated` naming the variable (never its value) when it is unset.
    #[cfg(feature = "http")]
    pub fn http_credentials(&self) -> Result<crate::http::Credentials> {
        self.http_credentials_from(env_var)
    }

    #[cfg(feature = "http")]
    fn http_credentials_from(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<crate::http::Credentials> {
        use crate::http::Credentials;
        use crate::secret::Secret;
        let read = |var: &str| {
            lookup(var).ok_or_else(|| Error::Unauthenticated {
                backend: "profile".to_string(),
                message: format!("the variable {var} named by the profile is not set"),
            })
        };
        Ok(match self {
            CredentialSource::TokenEnv { var } => Credentials::Bearer(Secret::new(read(var)?)),
            CredentialSource::BasicEnv {
                user_var,
                password_var,
            } => Credentials::Basic {
                user: read(user_var)?,
                password: Secret::new(read(password_var)?),
            },
            _ => Credentials::None,
        })
    }
}

/// Attributes of an environment's stores.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StoreAttributes {
    /// Data at rest must be encrypted (server-side encryption on object stores).
    #[serde(default)]
    pub encrypted: bool,
    /// The key for server-side encryption (a KMS key id/ARN; not a secret).
    /// Needs `encrypted = true`.
    #[serde(default)]
    pub kms_key: Option<String>,
}

/// Autoscaling settings written into deployment manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Autoscaling {
    /// The fewest replicas; 0 scales to zero when idle.
    pub min_replicas: u32,
    /// The most replicas (≥ 1 and ≥ `min_replicas`).
    pub max_replicas: u32,
    /// Concurrent requests per replica the autoscaler aims for (platform default if unset).
    pub target_concurrency: Option<u32>,
}

impl Default for Autoscaling {
    /// One replica, no scaling.
    fn default() -> Self {
        Self {
            min_replicas: 1,
            max_replicas: 1,
            target_concurrency: None,
        }
    }
}

impl Autoscaling {
    /// True when `min_replicas` is 0.
    pub fn scales_to_zero(&self) -> bool {
        self.min_replicas == 0
    }
}

/// One named environment of a [`Profile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    name: EnvName,
    description: Option<String>,
    backends: BTreeMap<Domain, Backend>,
    credentials: CredentialSource,
    store: StoreAttributes,
    autoscaling: Autoscaling,
}

impl Environment {
    /// The name.
    pub fn name(&self) -> &EnvName {
        &self.name
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The backend of `domain`, if configured (directly or through `root`).
    pub fn backend(&self, domain: Domain) -> Option<&Backend> {
        self.backends.get(&domain)
    }

    /// The URL of `domain`, if configured.
    pub fn url(&self, domain: Domain) -> Option<&str> {
        self.backend(domain).map(Backend::url)
    }

    /// The backend of `domain`, or an error saying which key to set.
    ///
    /// # Errors
    /// `InvalidArgument` when the environment has no URL for `domain`.
    pub fn require(&self, domain: Domain) -> Result<&Backend> {
        self.backend(domain).ok_or_else(|| {
            Error::invalid(
                "environment",
                self.name.as_str(),
                format!(
                    "no {domain} backend: set environments.{}.{} or environments.{}.root",
                    self.name,
                    domain.key(),
                    self.name
                ),
            )
        })
    }

    /// Object-store options that carry out the store attributes for `domain`:
    /// on `s3://` with `encrypted = true`, server-side encryption (`aws:kms` with
    /// the `kms_key`, else `AES256`). Other stores encrypt at rest by their own
    /// configuration (GCS and Azure always do; local disk relies on the disk).
    pub fn storage_options(&self, domain: Domain) -> Vec<(String, String)> {
        let mut opts = Vec::new();
        let is_s3 = self
            .backend(domain)
            .is_some_and(|b| b.kind == BackendKind::Storage(Scheme::S3));
        if is_s3 && self.store.encrypted {
            match &self.store.kms_key {
                Some(key) => {
                    opts.push(("aws_server_side_encryption".into(), "aws:kms".into()));
                    opts.push(("aws_sse_kms_key_id".into(), key.clone()));
                }
                None => opts.push(("aws_server_side_encryption".into(), "AES256".into())),
            }
        }
        opts
    }

    /// Opens the storage of `domain` (a storage URL), with [`Environment::storage_options`].
    ///
    /// ```
    /// use mlops_core::profile::{Domain, Profile};
    /// let p = Profile::from_toml_str("[environments.dev]\nroot = \"memory://\"\n")?;
    /// let s = p.environment("dev")?.open_storage(Domain::Registry)?;
    /// assert_eq!(s.url(), "memory:///registry");
    /// # Ok::<(), mlops_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` when `domain` is unset or not a storage URL; as
    /// [`Storage::from_url_opts`](crate::Storage::from_url_opts).
    pub fn open_storage(&self, domain: Domain) -> Result<crate::Storage> {
        let backend = self.require(domain)?;
        if !matches!(backend.kind, BackendKind::Storage(_)) {
            return Err(Error::invalid(
                format!("{domain} backend of environment {}", self.name),
                backend.url.as_str(),
                "not a storage URL (file://, memory://, s3://, gs://, az://)",
            ));
        }
        crate::Storage::from_url_opts(&backend.url, self.storage_options(domain))
    }

    /// The credential source.
    pub fn credentials(&self) -> &CredentialSource {
        &self.credentials
    }

    /// The store attributes.
    pub fn store(&self) -> &StoreAttributes {
        &self.store
    }

    /// The autoscaling settings.
    pub fn autoscaling(&self) -> &Autoscaling {
        &self.autoscaling
    }
}

/// A parsed and validated `mlops.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    path: Option<PathBuf>,
    default_environment: Option<EnvName>,
    promotion_order: Vec<EnvName>,
    environments: Vec<Environment>,
}

impl Profile {
    /// Reads and validates the profile at `path`; relative local paths in it are
    /// resolved against its directory.
    ///
    /// # Errors
    /// `Io` when the file cannot be read; `InvalidArgument` naming the key and line.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let abs = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
        let base = abs.parent().unwrap_or(Path::new("/"));
        let label = path.display().to_string();
        let mut profile = parse::parse(&text, &label, Some(base))?;
        profile.path = Some(abs);
        Ok(profile)
    }

    /// Parses a profile; relative local paths stay relative (to the working directory).
    ///
    /// # Errors
    /// `InvalidArgument` naming the key and line.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        parse::parse(text, FILE_NAME, None)
    }

    /// Parses a profile, resolving relative local paths against `base_dir`.
    ///
    /// # Errors
    /// `InvalidArgument` naming the key and line.
    pub fn from_toml_str_in(text: &str, base_dir: &Path) -> Result<Self> {
        parse::parse(text, FILE_NAME, Some(base_dir))
    }

    /// The profile used when there is no file: [`DEFAULT_ENVIRONMENTS`], each with
    /// `root = "file://<base_dir>/.mlops/<name>"` and default settings.
    ///
    /// # Errors
    /// `InvalidArgument` when `base_dir` holds `..`.
    pub fn local(base_dir: &Path) -> Result<Self> {
        let mut text = format!("promotion_order = {DEFAULT_ENVIRONMENTS:?}\n");
        for env in DEFAULT_ENVIRONMENTS {
            text.push_str(&format!(
                "[environments.{env}]\nroot = \"file://./.mlops/{env}\"\n"
            ));
        }
        parse::parse(&text, "(built-in local profile)", Some(base_dir))
    }

    /// Finds the profile: the file named by `MLOPS_CONFIG`, else the first
    /// `mlops.toml` in `start_dir` or one of its parents. `None` when there is none.
    ///
    /// # Errors
    /// As [`Profile::load`].
    pub fn discover(start_dir: &Path) -> Result<Option<Self>> {
        if let Some(path) = env_var(CONFIG_VAR) {
            return Self::load(path).map(Some);
        }
        for dir in start_dir.ancestors() {
            let candidate = dir.join(FILE_NAME);
            if candidate.is_file() {
                return Self::load(candidate).map(Some);
            }
        }
        Ok(None)
    }

    /// The file this profile was loaded from (absolute), if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Every environment, in the file's order.
    pub fn environments(&self) -> &[Environment] {
        &self.environments
    }

    /// The promotion order (all environments in file order unless `promotion_order` is set).
    pub fn promotion_order(&self) -> &[EnvName] {
        &self.promotion_order
    }

    /// The environment named `name`.
    ///
    /// # Errors
    /// `NotFound` naming the environment and listing the known ones.
    pub fn environment(&self, name: &str) -> Result<&Environment> {
        self.environments
            .iter()
            .find(|e| e.name.as_str() == name)
            .ok_or_else(|| {
                let known: Vec<_> = self.environments.iter().map(|e| e.name.as_str()).collect();
                Error::not_found(
                    "environment",
                    format!("{name} (the profile has: {})", known.join(", ")),
                )
            })
    }

    /// The environment after `name` in the promotion order (`None` for the last).
    ///
    /// # Errors
    /// `NotFound` when `name` is not in the promotion order.
    pub fn next_in_promotion(&self, name: &str) -> Result<Option<&Environment>> {
        let i = self
            .promotion_order
            .iter()
            .position(|n| n.as_str() == name)
            .ok_or_else(|| Error::not_found("environment in the promotion order", name))?;
        match self.promotion_order.get(i + 1) {
            Some(next) => self.environment(next.as_str()).map(Some),
            None => Ok(None),
        }
    }

    /// The `default_environment`, if set.
    pub fn default_environment(&self) -> Option<&EnvName> {
        self.default_environment.as_ref()
    }

    /// The environment in use: `explicit` (e.g. `--profile`), else `MLOPS_PROFILE`,
    /// else `default_environment`, else the first one.
    ///
    /// # Errors
    /// `NotFound` when the chosen name is not defined (the message says where the
    /// name came from).
    pub fn select(&self, explicit: Option<&str>) -> Result<&Environment> {
        self.select_with(explicit, env_var(PROFILE_VAR).as_deref())
    }

    fn select_with(&self, explicit: Option<&str>, from_env: Option<&str>) -> Result<&Environment> {
        let (name, origin) = match (explicit, from_env) {
            (Some(n), _) => (n, "the explicit profile"),
            (None, Some(n)) if !n.is_empty() => (n, PROFILE_VAR),
            _ => match &self.default_environment {
                Some(n) => (n.as_str(), "default_environment"),
                None => {
                    return self
                        .environments
                        .first()
                        .ok_or_else(|| Error::not_found("environment", "(the profile has none)"));
                }
            },
        };
        self.environment(name).map_err(|e| match e {
            Error::NotFound { entity, id } => Error::NotFound {
                entity: format!("{entity} chosen by {origin}"),
                id,
            },
            other => other,
        })
    }
}

/// Reads a configuration variable (profile selection and credential names).
#[allow(clippy::disallowed_methods)] // the profile module is where configuration comes from the environment (STYLE §1)
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
