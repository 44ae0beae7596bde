//! Global options, profile resolution, logging and the acting principal.

use crate::exit::{CliError, CliResult};
use mlops_core::Principal;
use mlops_core::Storage;
use mlops_core::http::Credentials;
use mlops_core::profile::{BackendKind, CredentialSource, Domain, Profile};
use mlops_features::{EmbeddedOnlineStore, OnlineStore, RedisOnlineStore};
use mlops_registry::mlflow::MlflowRegistryBuilder;
use mlops_registry::promotion::{Environments, Promotions};
use mlops_registry::sagemaker::SageMakerRegistryBuilder;
use mlops_registry::vertex::VertexRegistryBuilder;
use mlops_registry::{EmbeddedRegistry, ModelRegistry};
use mlops_tracking::Tracker;
use mlops_tracking::mlflow::{MlflowConfigKey, MlflowTrackerBuilder};
use std::path::PathBuf;
use std::sync::Arc;

/// Options every command accepts.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct GlobalArgs {
    /// The profile file (default: `MLOPS_CONFIG`, else the nearest `mlops.toml`, else a
    /// built-in local profile under `./.mlops`).
    #[arg(long, global = true, env = "MLOPS_CONFIG", value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// The environment of the profile to use (default: `MLOPS_PROFILE`, else the
    /// profile's `default_environment`, else its first).
    #[arg(long, global = true, env = "MLOPS_PROFILE", value_name = "ENV")]
    pub(crate) profile: Option<String>,
    /// Registry URL overriding the profile's `registry` (file://, memory://, s3://, gs://, az://).
    #[arg(long, global = true, env = "MLOPS_REGISTRY_URL", value_name = "URL")]
    pub(crate) registry_uri: Option<String>,
    /// Promotion ledger / audit URL overriding the profile's `audit`.
    #[arg(long, global = true, env = "MLOPS_AUDIT_URL", value_name = "URL")]
    pub(crate) audit_uri: Option<String>,
    /// Tracking URL overriding the profile's `tracking` (MLflow's variable is honoured).
    #[arg(long, global = true, env = "MLFLOW_TRACKING_URI", value_name = "URL")]
    pub(crate) tracking_uri: Option<String>,
    /// Promotion environments and their policies (approvals, approver roles, required
    /// gates), a YAML list; default: development → qa (1 approval) → staging (2) →
    /// production (2 release-managers, after staging).
    #[arg(long, global = true, env = "MLOPS_ENVIRONMENTS", value_name = "PATH")]
    pub(crate) environments: Option<PathBuf>,
    /// Who acts: `user:NAME[:ROLE,ROLE]` or `service:NAME[:ROLE,...]` (default: `user:$USER`).
    #[arg(
        long = "as",
        global = true,
        env = "MLOPS_PRINCIPAL",
        value_name = "PRINCIPAL"
    )]
    pub(crate) principal: Option<String>,
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true, conflicts_with = "quiet")]
    pub(crate) json: bool,
    /// Print only the new id (`models register`: the version; `models request`: the
    /// request id), for `VERSION=$(mlops -q ...)` in scripts; nothing otherwise.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Log format on stderr: `text` or `json` (for ELK/Loki). Level from `RUST_LOG` (default warn).
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub(crate) log_format: LogFormat,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per event.
    Json,
}

/// Installs the tracing subscriber (stderr; `RUST_LOG` filter, default `warn`).
pub(crate) fn init_logging(g: &GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests calling `run` twice) is harmless: keep the first.
    let _ = match g.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}

/// Parses `KIND:NAME[:ROLE,ROLE]`.
pub(crate) fn parse_principal(spec: &str) -> CliResult<Principal> {
    let bad = || {
        CliError::input(format!("bad principal {spec:?}"))
            .hint("use user:NAME[:ROLE,...] or service:NAME[:ROLE,...], e.g. --as user:dana:release-manager")
    };
    let mut parts = spec.splitn(3, ':');
    let kind = parts.next().unwrap_or_default();
    let name = parts.next().ok_or_else(bad)?;
    if name.is_empty() {
        return Err(bad());
    }
    let p = match kind {
        "user" => Principal::user(name),
        "service" => Principal::service(name),
        _ => return Err(bad()),
    };
    let roles: Vec<&str> = parts
        .next()
        .map(|r| r.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    Ok(p.with_roles(roles))
}

/// `mlflow://HOST[:PORT][/PATH]` is shorthand for `http://HOST[:PORT][/PATH]`
/// (`mlflow+https://` for HTTPS); other URLs are returned as given.
pub(crate) fn normalise_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("mlflow+https://") {
        format!("https://{rest}")
    } else if let Some(rest) = url.strip_prefix("mlflow://") {
        format!("http://{rest}")
    } else {
        url.to_string()
    }
}

/// Opens an online store: `redis://` / `rediss://` (Redis), else a local redb file
/// (a path or `file://` URL; a directory gets `online.redb` inside).
/// `prefix` namespaces Redis keys.
pub(crate) fn open_online_store(
    url: &str,
    prefix: Option<&str>,
) -> CliResult<Arc<dyn OnlineStore>> {
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        let mut b = RedisOnlineStore::builder().with_url(url);
        if let Some(p) = prefix {
            b = b.with_prefix(p);
        }
        let s = b.build().map_err(|e| {
            CliError::input(e.to_string()).hint("use redis://[USER:PASSWORD@]HOST:PORT[/DB]")
        })?;
        return Ok(Arc::new(s));
    }
    if prefix.is_some() {
        return Err(
            CliError::input(format!("--online-prefix applies to Redis, not to {url:?}"))
                .hint("drop --online-prefix or use --online redis://HOST:PORT"),
        );
    }
    if url.starts_with("memory://") {
        return Err(CliError::input(format!(
            "online store {url:?}: an in-memory store ends with the process"
        ))
        .hint("use a file (online.redb) or redis://HOST:PORT"));
    }
    let mut path = PathBuf::from(url.strip_prefix("file://").unwrap_or(url));
    if path.is_dir() {
        path = path.join("online.redb");
    } else if path.extension().is_none() && !path.exists() {
        // A profile's `feature_online` names a directory (`<root>/features/online`).
        std::fs::create_dir_all(&path)
            .map_err(|e| CliError::input(format!("cannot create {}: {e}", path.display())))?;
        path = path.join("online.redb");
    }
    let s = EmbeddedOnlineStore::builder()
        .with_path(&path)
        .build()
        .map_err(|e| {
            CliError::input(format!(
                "cannot open the online store {}: {e}",
                path.display()
            ))
            .hint("pass --online PATH (a redb file) or redis://HOST:PORT")
        })?;
    Ok(Arc::new(s))
}

/// `scheme://user:secret@host/...` → `scheme://host/...`: URLs in messages and logs
/// never carry credentials.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// The host of a service URL (`sagemaker://eu-west-1` → `eu-west-1`).
fn url_host(url: &str) -> CliResult<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(CliError::input(format!("{url:?} names no region"))
            .hint("use sagemaker://REGION, e.g. sagemaker://eu-west-1"));
    }
    Ok(host.to_string())
}

/// `vertex://PROJECT/LOCATION` → (project, location).
fn vertex_parts(url: &str) -> CliResult<(String, String)> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.trim_end_matches('/').split('/').collect::<Vec<_>>()[..] {
        [p, l] if !p.is_empty() && !l.is_empty() => Ok((p.to_string(), l.to_string())),
        _ => Err(
            CliError::input(format!("{url:?} is not vertex://PROJECT/LOCATION"))
                .hint("e.g. vertex://acme-ml/europe-west4"),
        ),
    }
}

/// Resolved configuration for domain commands.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) global: GlobalArgs,
    profile: Profile,
}

impl Ctx {
    /// Loads the profile named by the options.
    pub(crate) fn load(g: &GlobalArgs) -> CliResult<Self> {
        let profile = match &g.config {
            Some(p) => Profile::load(p).map_err(|e| {
                CliError::from(e).hint("check --config / MLOPS_CONFIG points at an mlops.toml")
            })?,
            None => {
                let cwd = std::env::current_dir().map_err(|e| {
                    CliError::input(format!("cannot read the working directory: {e}"))
                })?;
                match Profile::discover(&cwd)? {
                    Some(p) => p,
                    None => Profile::local(&cwd)?,
                }
            }
        };
        tracing::debug!(profile = ?profile.path(), "profile loaded");
        Ok(Self {
            global: g.clone(),
            profile,
        })
    }

    fn environment(&self) -> CliResult<&mlops_core::profile::Environment> {
        self.profile
            .select(self.global.profile.as_deref())
            .map_err(|e| {
                let known: Vec<_> = self
                    .profile
                    .environments()
                    .iter()
                    .map(|e| e.name().to_string())
                    .collect();
                CliError::from(e).hint(format!(
                    "--profile / MLOPS_PROFILE must name one of: {}",
                    known.join(", ")
                ))
            })
    }

    /// The acting principal.
    pub(crate) fn principal(&self) -> CliResult<Principal> {
        match &self.global.principal {
            Some(s) => parse_principal(s),
            None => {
                // The CLI is the configuration layer: the login name is the default principal.
                #[allow(clippy::disallowed_methods)]
                let user = std::env::var("USER")
                    .or_else(|_| std::env::var("USERNAME"))
                    .unwrap_or_else(|_| "unknown".into());
                Ok(Principal::user(user))
            }
        }
    }

    /// The registry URL in use and whether it came from the profile (then the
    /// profile's credentials and store attributes apply).
    pub(crate) fn registry_url(&self) -> CliResult<(String, bool)> {
        if let Some(u) = &self.global.registry_uri {
            return Ok((normalise_url(u), false));
        }
        let b = self.environment()?.require(Domain::Registry)?;
        Ok((b.url().to_string(), true))
    }

    /// The registry: embedded (storage URLs), MLflow (`http(s)://`, `mlflow://`),
    /// SageMaker (`sagemaker://REGION`) or Vertex AI (`vertex://PROJECT/LOCATION`).
    pub(crate) fn registry(&self) -> CliResult<Arc<dyn ModelRegistry>> {
        let (url, from_profile) = self.registry_url()?;
        let hint = "check --registry-uri / MLOPS_REGISTRY_URL or the profile's `registry`";
        let kind = BackendKind::of(&url).map_err(|e| {
            CliError::from(e).hint(
                "use a storage URL (file://, s3://, gs://, az://), http(s):// or mlflow:// (MLflow), \
                 sagemaker://REGION or vertex://PROJECT/LOCATION",
            )
        })?;
        let creds = if from_profile {
            self.environment()?.credentials().clone()
        } else {
            CredentialSource::Environment
        };
        let reg: Arc<dyn ModelRegistry> = match kind {
            BackendKind::Mlflow => {
                let mut b = MlflowRegistryBuilder::from_env().with_url(url.clone());
                match creds.http_credentials()? {
                    Credentials::Bearer(t) => b = b.with_token(t.expose().clone()),
                    Credentials::Basic { user, password } => {
                        b = b.with_basic_auth(user, password.expose().clone())
                    }
                    _ => {}
                }
                Arc::new(b.build().map_err(|e| CliError::from(e).hint(hint))?)
            }
            BackendKind::SageMaker => {
                let region = url_host(&url)?;
                let mut b = SageMakerRegistryBuilder::from_env().with_region(region);
                // An environment has one credential source; AWS kinds are SageMaker's,
                // the others belong to its HTTP backends (MLflow tracking).
                if matches!(
                    creds,
                    CredentialSource::AwsProfile { .. } | CredentialSource::AwsRole { .. }
                ) {
                    b = b.with_credential_source(&creds)?;
                }
                Arc::new(b.build().map_err(|e| {
                    CliError::from(e).hint(
                        "SageMaker needs AWS credentials (AWS_* or the profile's `credentials`) and \
                         MLOPS_SAGEMAKER_ARTIFACTS=s3://BUCKET/PREFIX for artifacts",
                    )
                })?)
            }
            BackendKind::Vertex => {
                let (project, location) = vertex_parts(&url)?;
                let mut b = VertexRegistryBuilder::from_env()
                    .with_project(project)
                    .with_location(location);
                if matches!(
                    creds,
                    CredentialSource::GcpServiceAccount { .. } | CredentialSource::TokenEnv { .. }
                ) {
                    b = b.with_credential_source(&creds)?;
                }
                Arc::new(b.build().map_err(|e| {
                    CliError::from(e).hint(
                        "Vertex AI needs GOOGLE_APPLICATION_CREDENTIALS (or the profile's `credentials`), \
                         MLOPS_VERTEX_ARTIFACTS=gs://BUCKET/PREFIX and MLOPS_VERTEX_IMAGE",
                    )
                })?)
            }
            BackendKind::Storage(_) => {
                let mut b = EmbeddedRegistry::builder().with_url(url.clone());
                if from_profile {
                    for (k, v) in self.environment()?.storage_options(Domain::Registry) {
                        b = b.with_option(k, v);
                    }
                }
                Arc::new(b.build().map_err(|e| CliError::from(e).hint(hint))?)
            }
            _ => {
                return Err(CliError::input(format!(
                    "registry {url:?}: not a model registry backend"
                ))
                .hint(hint));
            }
        };
        tracing::debug!(registry = %redact_url(&reg.uri()), "registry opened");
        Ok(reg)
    }

    /// The experiment tracker: embedded (storage URLs) or an MLflow server (`http(s)://`,
    /// `mlflow://`; `MLFLOW_TRACKING_URI` is honoured).
    pub(crate) async fn tracker(&self) -> CliResult<Arc<dyn Tracker>> {
        let (url, from_profile) = match &self.global.tracking_uri {
            Some(u) => (normalise_url(u), false),
            None => (
                self.environment()?
                    .require(Domain::Tracking)?
                    .url()
                    .to_string(),
                true,
            ),
        };
        let hint = "check --tracking-uri / MLFLOW_TRACKING_URI or the profile's `tracking`";
        let kind = BackendKind::of(&url).map_err(|e| CliError::from(e).hint(hint))?;
        match kind {
            BackendKind::Mlflow => {
                let mut b = MlflowTrackerBuilder::from_env().with_url(url.clone());
                if from_profile {
                    match self.environment()?.credentials().http_credentials()? {
                        Credentials::Bearer(t) => {
                            b = b.with_config(MlflowConfigKey::Token, t.expose().clone())
                        }
                        Credentials::Basic { user, password } => {
                            b = b
                                .with_config(MlflowConfigKey::Username, user)
                                .with_config(MlflowConfigKey::Password, password.expose().clone())
                        }
                        _ => {}
                    }
                }
                let t = b
                    .build()
                    .map_err(|e| CliError::input(e.to_string()).hint(hint))?;
                Ok(Arc::new(t))
            }
            BackendKind::Storage(_) => {
                let t = mlops_tracking::EmbeddedTracker::builder()
                    .with_url(url.clone())
                    .build()
                    .map_err(|e| CliError::input(e.to_string()).hint(hint))?;
                Ok(Arc::new(t))
            }
            _ => Err(
                CliError::input(format!("tracking URI {url:?} is not a tracking backend"))
                    .hint("use a storage URL (file://, s3://) or an MLflow server (http(s)://, mlflow://)"),
            ),
        }
    }

    /// The profile's `feature_offline` URL (where feature definitions are stored).
    pub(crate) fn feature_store_url(&self) -> CliResult<String> {
        Ok(self
            .environment()?
            .require(Domain::FeatureOffline)
            .map_err(|e| {
                CliError::from(e).hint("pass --store URL or set the profile's `feature_offline`")
            })?
            .url()
            .to_string())
    }

    /// The profile's `feature_online` URL.
    pub(crate) fn online_url(&self) -> CliResult<String> {
        Ok(self
            .environment()?
            .require(Domain::FeatureOnline)
            .map_err(|e| {
                CliError::from(e).hint(
                    "pass --online PATH|redis://HOST:PORT or set the profile's `feature_online`",
                )
            })?
            .url()
            .to_string())
    }

    /// The audit / promotion-ledger storage.
    pub(crate) fn audit_storage(&self) -> CliResult<Storage> {
        if let Some(u) = &self.global.audit_uri {
            return Storage::from_url(u)
                .map_err(|e| CliError::from(e).hint("check --audit-uri / MLOPS_AUDIT_URL"));
        }
        if let Some(r) = &self.global.registry_uri
            && matches!(BackendKind::of(r), Ok(BackendKind::Storage(_)))
        {
            // A storage registry given by URL keeps its ledger beside it.
            let ledger = format!("{}/_ledger", r.trim_end_matches('/'));
            return Ok(Storage::from_url(&ledger)?);
        }
        Ok(self.environment()?.open_storage(Domain::Audit)?)
    }

    /// The promotion workflow over the registry and ledger.
    pub(crate) fn promotions(&self) -> CliResult<Promotions> {
        let p = Promotions::new(self.registry()?, self.audit_storage()?);
        let Some(path) = &self.global.environments else {
            return Ok(p);
        };
        let hint = "a YAML list such as `- name: staging\n  policy: {approvals: 2, required_gates: [quality]}`";
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::input(format!(
                "cannot read --environments {}: {e}",
                path.display()
            ))
            .hint(hint)
        })?;
        let envs: Environments = serde_yaml_ng::from_str(&text).map_err(|e| {
            CliError::input(format!("bad --environments {}: {e}", path.display())).hint(hint)
        })?;
        Ok(p.with_environments(envs))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn principals() {
        let p = parse_principal("user:dana:release-manager,approver").unwrap();
        assert_eq!(p.id, "dana");
        assert!(p.has_role("release-manager") && p.has_role("approver"));
        let s = parse_principal("service:ci").unwrap();
        assert_eq!(s.id, "ci");
        assert!(s.roles.is_empty());
        assert_eq!(
            redact_url("https://bob:hunter2@mlflow.example.com/x@y"),
            "https://mlflow.example.com/x@y"
        );
        assert_eq!(redact_url("http://h:5000/p"), "http://h:5000/p");
        assert_eq!(redact_url("./local"), "./local");
        assert_eq!(normalise_url("mlflow://h:5000"), "http://h:5000");
        assert_eq!(normalise_url("mlflow+https://h/p"), "https://h/p");
        assert_eq!(normalise_url("s3://b/p"), "s3://b/p");
        assert_eq!(url_host("sagemaker://eu-west-1").unwrap(), "eu-west-1");
        assert!(url_host("sagemaker://").is_err());
        assert_eq!(
            vertex_parts("vertex://acme/europe-west4").unwrap(),
            ("acme".into(), "europe-west4".into())
        );
        for bad in ["vertex://acme", "vertex://a/b/c", "vertex:///x"] {
            assert_eq!(
                vertex_parts(bad).unwrap_err().exit(),
                crate::exit::Exit::Input
            );
        }
        for bad in ["dana", "robot:x", "user:", ""] {
            let e = parse_principal(bad).unwrap_err();
            assert_eq!(e.exit(), crate::exit::Exit::Input);
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }
}
