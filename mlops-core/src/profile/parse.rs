//! From TOML text to a validated [`Profile`].

use super::source::SourceMap;
use super::{
    Autoscaling, Backend, BackendKind, CredentialSource, Domain, Environment, Profile,
    StoreAttributes,
};
use crate::error::{Error, Result};
use crate::name::{EnvName, NameKind, validate};
use crate::store::Scheme;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path};

/// Keys that would hold a secret: refused anywhere, with a pointer to the `*_env` sources.
const SECRET_KEYS: [&str; 10] = [
    "token",
    "password",
    "secret",
    "api_key",
    "access_token",
    "secret_access_key",
    "session_token",
    "private_key",
    "client_secret",
    "aws_secret_access_key",
];

/// The schema version this code reads.
const VERSION: i64 = 1;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    default_environment: Option<String>,
    #[serde(default)]
    promotion_order: Option<Vec<String>>,
    #[serde(default)]
    environments: BTreeMap<String, RawEnvironment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    root: Option<String>,
    #[serde(default)]
    tracking: Option<String>,
    #[serde(default)]
    registry: Option<String>,
    #[serde(default)]
    feature_offline: Option<String>,
    #[serde(default)]
    feature_online: Option<String>,
    #[serde(default)]
    audit: Option<String>,
    #[serde(default)]
    credentials: CredentialSource,
    #[serde(default)]
    store: StoreAttributes,
    #[serde(default)]
    autoscaling: RawAutoscaling,
}

impl RawEnvironment {
    fn url(&self, domain: Domain) -> Option<&String> {
        match domain {
            Domain::Tracking => self.tracking.as_ref(),
            Domain::Registry => self.registry.as_ref(),
            Domain::FeatureOffline => self.feature_offline.as_ref(),
            Domain::FeatureOnline => self.feature_online.as_ref(),
            Domain::Audit => self.audit.as_ref(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAutoscaling {
    #[serde(default)]
    min_replicas: Option<u32>,
    #[serde(default)]
    max_replicas: Option<u32>,
    #[serde(default)]
    target_concurrency: Option<u32>,
}

pub(super) fn parse(text: &str, label: &str, base: Option<&Path>) -> Result<Profile> {
    let sm = SourceMap::parse(text, label)?;
    for (path, _) in sm.all_keys() {
        let Some(last) = path.last() else { continue };
        // `[environments.<name>]` names an environment, not a setting.
        let is_env_name = path.len() == 2 && path[0] == "environments";
        if !is_env_name && SECRET_KEYS.contains(&last.to_ascii_lowercase().as_str()) {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            return Err(sm.error(
                &path,
                last,
                "secrets never go in mlops.toml: name the variable that holds them \
                 (credentials = { source = \"token_env\", var = \"...\" } or \"basic_env\")",
            ));
        }
    }
    let raw: RawProfile = toml::from_str(text).map_err(|e| sm.toml_error(&e))?;
    if let Some(v) = raw.version
        && v != VERSION
    {
        return Err(sm.error(
            &["version"],
            &v.to_string(),
            format!("this mlops-rs reads version {VERSION}"),
        ));
    }
    if raw.environments.is_empty() {
        return Err(sm.error(
            &["environments"],
            "",
            "no environments defined: add at least one [environments.<name>] table",
        ));
    }

    let mut environments = Vec::new();
    for name in sm.table_keys_in_order(&["environments"]) {
        let Some(env) = raw.environments.get(&name) else {
            continue;
        };
        environments.push(environment(&sm, &name, env, base)?);
    }

    let known: HashSet<&str> = environments.iter().map(|e| e.name.as_str()).collect();
    let promotion_order = match &raw.promotion_order {
        None => environments.iter().map(|e| e.name.clone()).collect(),
        Some(list) => {
            let mut seen = HashSet::new();
            let mut order = Vec::new();
            for (i, n) in list.iter().enumerate() {
                let idx = i.to_string();
                let at = ["promotion_order", idx.as_str()];
                if !known.contains(n.as_str()) {
                    return Err(sm.error(&at, n, unknown_env(&known)));
                }
                if !seen.insert(n.as_str()) {
                    return Err(sm.error(&at, n, "listed twice"));
                }
                order.push(env_name(&sm, &at, n)?);
            }
            order
        }
    };
    let default_environment = match &raw.default_environment {
        None => None,
        Some(n) if known.contains(n.as_str()) => Some(env_name(&sm, &["default_environment"], n)?),
        Some(n) => return Err(sm.error(&["default_environment"], n, unknown_env(&known))),
    };
    Ok(Profile {
        path: None,
        default_environment,
        promotion_order,
        environments,
    })
}

fn unknown_env(known: &HashSet<&str>) -> String {
    let mut names: Vec<_> = known.iter().copied().collect();
    names.sort_unstable();
    format!(
        "unknown environment; the profile defines: {}",
        names.join(", ")
    )
}

fn env_name(sm: &SourceMap<'_>, at: &[&str], name: &str) -> Result<EnvName> {
    validate(NameKind::Environment, name)
        .map_err(|_| sm.error(at, name, NameKind::Environment.rule()))?;
    EnvName::new(name)
}

fn environment(
    sm: &SourceMap<'_>,
    name: &str,
    raw: &RawEnvironment,
    base: Option<&Path>,
) -> Result<Environment> {
    let env_path = ["environments", name];
    if validate(NameKind::Environment, name).is_err() {
        return Err(sm.error_key(&env_path, name, NameKind::Environment.rule()));
    }
    let at = |key: &'static str| ["environments", name, key];
    let root = match &raw.root {
        None => None,
        Some(url) => {
            let resolved = resolve(url, base).map_err(|r| sm.error(&at("root"), url, r))?;
            match BackendKind::of(&resolved) {
                Ok(BackendKind::Storage(scheme)) => Some((resolved, scheme)),
                Ok(_) => {
                    return Err(sm.error(
                        &at("root"),
                        url,
                        "expected a storage URL (file://, memory://, s3://, gs://, az://)",
                    ));
                }
                Err(e) => return Err(sm.error(&at("root"), url, reason_of(e))),
            }
        }
    };
    let mut backends = BTreeMap::new();
    for domain in Domain::ALL {
        let backend = match raw.url(domain) {
            Some(url) => {
                let path = at(domain.key());
                let resolved = resolve(url, base).map_err(|r| sm.error(&path, url, r))?;
                let kind =
                    BackendKind::of(&resolved).map_err(|e| sm.error(&path, url, reason_of(e)))?;
                if !domain.accepts(kind) {
                    return Err(sm.error(&path, url, domain.expected()));
                }
                Backend {
                    url: resolved,
                    kind,
                }
            }
            None => match &root {
                Some((root, scheme)) if domain.accepts(BackendKind::Storage(*scheme)) => Backend {
                    url: join_url(root, domain.root_subdir()),
                    kind: BackendKind::Storage(*scheme),
                },
                _ => continue,
            },
        };
        backends.insert(domain, backend);
    }
    let credentials = credentials(sm, name, &raw.credentials, base)?;
    if raw.store.kms_key.is_some() && !raw.store.encrypted {
        return Err(sm.error(
            &["environments", name, "store", "kms_key"],
            raw.store.kms_key.as_deref().unwrap_or(""),
            "a kms_key needs encrypted = true",
        ));
    }
    let autoscaling = autoscaling(sm, name, &raw.autoscaling)?;
    Ok(Environment {
        name: EnvName::new(name)?,
        description: raw.description.clone(),
        backends,
        credentials,
        store: raw.store.clone(),
        autoscaling,
    })
}

fn reason_of(e: Error) -> String {
    match e {
        Error::InvalidArgument { reason, .. } => reason,
        other => other.to_string(),
    }
}

fn credentials(
    sm: &SourceMap<'_>,
    name: &str,
    raw: &CredentialSource,
    base: Option<&Path>,
) -> Result<CredentialSource> {
    let at = |key: &'static str| ["environments", name, "credentials", key];
    let check_var = |key: &'static str, var: &str| {
        let ok = !var.is_empty()
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !var.starts_with(|c: char| c.is_ascii_digit());
        if ok {
            Ok(())
        } else {
            Err(sm.error(
                &at(key),
                var,
                "expected the name of an environment variable (letters, digits, '_')",
            ))
        }
    };
    let check_region = |region: &Option<String>| match region {
        Some(r)
            if r.is_empty()
                || !r
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') =>
        {
            Err(sm.error(
                &at("region"),
                r,
                "expected a region such as eu-west-1 or us-central1",
            ))
        }
        _ => Ok(()),
    };
    match raw {
        CredentialSource::Environment => {}
        CredentialSource::AwsProfile { profile, region } => {
            if profile.trim().is_empty() {
                return Err(sm.error(&at("profile"), profile, "must not be empty"));
            }
            check_region(region)?;
        }
        CredentialSource::AwsRole {
            role_arn, region, ..
        } => {
            let parts: Vec<&str> = role_arn.splitn(6, ':').collect();
            let ok = parts.len() == 6
                && parts[0] == "arn"
                && parts[2] == "iam"
                && parts[4].len() == 12
                && parts[4].chars().all(|c| c.is_ascii_digit())
                && parts[5].starts_with("role/")
                && parts[5].len() > "role/".len();
            if !ok {
                return Err(sm.error(
                    &at("role_arn"),
                    role_arn,
                    "expected arn:aws:iam::<12-digit account>:role/<name>",
                ));
            }
            check_region(region)?;
        }
        CredentialSource::GcpServiceAccount { key_file } => {
            let shown = key_file.display().to_string();
            if key_file.as_os_str().is_empty()
                || key_file.components().any(|c| c == Component::ParentDir)
            {
                return Err(sm.error(&at("key_file"), &shown, "expected a path without '..'"));
            }
            if let Some(base) = base
                && key_file.is_relative()
            {
                return Ok(CredentialSource::GcpServiceAccount {
                    key_file: join_clean(base, key_file),
                });
            }
        }
        CredentialSource::TokenEnv { var } => check_var("var", var)?,
        CredentialSource::BasicEnv {
            user_var,
            password_var,
        } => {
            check_var("user_var", user_var)?;
            check_var("password_var", password_var)?;
        }
    }
    Ok(raw.clone())
}

fn autoscaling(sm: &SourceMap<'_>, name: &str, raw: &RawAutoscaling) -> Result<Autoscaling> {
    let at = |key: &'static str| ["environments", name, "autoscaling", key];
    let min = raw.min_replicas.unwrap_or(1);
    let max = raw.max_replicas.unwrap_or(min.max(1));
    if max == 0 {
        return Err(sm.error(&at("max_replicas"), "0", "must be at least 1"));
    }
    if max < min {
        return Err(sm.error(
            &at("max_replicas"),
            &max.to_string(),
            format!("must be at least min_replicas ({min})"),
        ));
    }
    if raw.target_concurrency == Some(0) {
        return Err(sm.error(&at("target_concurrency"), "0", "must be at least 1"));
    }
    Ok(Autoscaling {
        min_replicas: min,
        max_replicas: max,
        target_concurrency: raw.target_concurrency,
    })
}

/// Resolves a relative local path (`file://./x`, `./x`, `x`) against `base`, as a
/// `file://` URL; other URLs pass through. The reason string on error.
fn resolve(url: &str, base: Option<&Path>) -> std::result::Result<String, String> {
    if !matches!(Scheme::of(url), Ok(Scheme::File)) {
        return Ok(url.to_string());
    }
    let raw = url.strip_prefix("file://").unwrap_or(url);
    if raw.is_empty() {
        return Err("no directory given".to_string());
    }
    if raw.split('/').any(|s| s == "..") {
        return Err("local paths must not contain '..'".to_string());
    }
    let path = Path::new(raw);
    match base {
        _ if path.is_absolute() => Ok(format!("file://{raw}")),
        Some(base) => Ok(format!("file://{}", join_clean(base, path).display())),
        None => Ok(url.to_string()),
    }
}

/// `root/sub`, keeping the `://` of a bare `memory://` intact.
fn join_url(root: &str, sub: &str) -> String {
    if root.ends_with("://") || !root.ends_with('/') {
        format!("{root}/{sub}")
    } else {
        format!("{root}{sub}")
    }
}

/// `base` joined with `rel`, dropping `.` components.
fn join_clean(base: &Path, rel: &Path) -> std::path::PathBuf {
    rel.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .fold(base.to_path_buf(), |acc, c| acc.join(c))
}
