//! AWS credentials for the SageMaker backend: static keys, the standard
//! environment variables, the shared profile files and AssumeRole through STS.
//!
//! Nothing here reads the process environment: the builder passes a lookup
//! function (`&dyn Fn(&str) -> Option<String>`), so tests feed their own values.

use super::BACKEND;
use mlops_core::http::{HttpClient, Method, RequestSpec};
use mlops_core::{Error, Result, Secret};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;

/// An access key pair, with a session token for temporary credentials.
/// `Debug` shows neither the secret nor the token.
#[derive(Clone)]
pub struct AwsCredentials {
    access_key_id: String,
    secret_access_key: Secret<String>,
    session_token: Option<Secret<String>>,
    expires: Option<SystemTime>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Even the key id stays out of logs: it identifies the account owner.
        f.debug_struct("AwsCredentials")
            .field("session", &self.session_token.is_some())
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

impl AwsCredentials {
    /// Static credentials.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: Secret<String>,
        session_token: Option<Secret<String>>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key,
            session_token,
            expires: None,
        }
    }

    /// The access key id.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret key (crosses the boundary only into a signature).
    pub(crate) fn secret(&self) -> &Secret<String> {
        &self.secret_access_key
    }

    /// The session token of temporary credentials.
    pub(crate) fn session_token(&self) -> Option<&Secret<String>> {
        self.session_token.as_ref()
    }

    /// When temporary credentials expire.
    pub fn expires(&self) -> Option<SystemTime> {
        self.expires
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` from `env`;
    /// `None` unless both keys are set.
    pub fn from_env_vars(env: &dyn Fn(&str) -> Option<String>) -> Option<Self> {
        let id = env("AWS_ACCESS_KEY_ID").filter(|s| !s.is_empty())?;
        let secret = env("AWS_SECRET_ACCESS_KEY").filter(|s| !s.is_empty())?;
        let token = env("AWS_SESSION_TOKEN")
            .filter(|s| !s.is_empty())
            .map(Secret::new);
        Some(Self::new(id, Secret::new(secret), token))
    }
}

/// One profile's settings, merged from the credentials and config files.
#[derive(Clone, Default, PartialEq)]
pub struct ProfileSettings {
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for ProfileSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys only: values hold secrets.
        f.debug_struct("ProfileSettings")
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ProfileSettings {
    /// A setting, e.g. `region`, `role_arn`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub(crate) fn static_credentials(&self) -> Option<AwsCredentials> {
        let id = self.get("aws_access_key_id")?;
        let secret = self.get("aws_secret_access_key")?;
        Some(AwsCredentials::new(
            id,
            Secret::new(secret.to_string()),
            self.get("aws_session_token")
                .map(|t| Secret::new(t.to_string())),
        ))
    }
}

/// Parses an AWS INI file into `section -> key -> value`. In the config file
/// sections are `[default]` and `[profile name]`; in the credentials file `[name]`.
pub(crate) fn parse_ini(text: &str, config_file: bool) -> BTreeMap<String, ProfileSettings> {
    let mut out: BTreeMap<String, ProfileSettings> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let section = section.trim();
            let name = if config_file {
                match section.strip_prefix("profile ") {
                    Some(n) => Some(n.trim().to_string()),
                    None if section == "default" => Some("default".to_string()),
                    None => None, // [sso-session x], [services x]: not profiles
                }
            } else {
                Some(section.to_string())
            };
            current = name;
            continue;
        }
        if let (Some(section), Some((k, v))) = (&current, line.split_once('=')) {
            out.entry(section.clone())
                .or_default()
                .values
                .insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    out
}

/// Where the shared files are: `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`,
/// else `~/.aws/credentials` and `~/.aws/config`.
pub(crate) fn profile_paths(env: &dyn Fn(&str) -> Option<String>) -> (PathBuf, PathBuf) {
    let home = env("HOME").unwrap_or_default();
    let aws = Path::new(&home).join(".aws");
    let creds = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| aws.join("credentials"));
    let config = env("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| aws.join("config"));
    (creds, config)
}

/// Loads profile `name` from the two files (credentials file wins per key).
///
/// # Errors
/// `NotFound` when neither file has the profile; `Io` for unreadable files.
pub fn load_profile(
    name: &str,
    credentials_file: &Path,
    config_file: &Path,
) -> Result<ProfileSettings> {
    let read = |p: &Path| -> Result<Option<String>> {
        match std::fs::read_to_string(p) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(p.display().to_string(), e)),
        }
    };
    let mut merged = ProfileSettings::default();
    let mut found = false;
    if let Some(text) = read(config_file)?
        && let Some(p) = parse_ini(&text, true).remove(name)
    {
        merged.values.extend(p.values);
        found = true;
    }
    if let Some(text) = read(credentials_file)?
        && let Some(p) = parse_ini(&text, false).remove(name)
    {
        merged.values.extend(p.values);
        found = true;
    }
    if !found {
        return Err(Error::not_found(
            "aws profile",
            format!(
                "{name} (in {} or {})",
                credentials_file.display(),
                config_file.display()
            ),
        ));
    }
    Ok(merged)
}

/// A role to assume through STS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    /// `arn:aws:iam::<account>:role/<name>`.
    pub role_arn: String,
    /// The external id the role's trust policy requires.
    pub external_id: Option<String>,
    /// The session name recorded in CloudTrail.
    pub session_name: String,
    /// How long the temporary credentials last (15 min .. 12 h).
    pub duration: Duration,
}

impl AssumeRole {
    /// A role with session name `mlops-rs` and one hour of validity.
    pub fn new(role_arn: impl Into<String>) -> Self {
        Self {
            role_arn: role_arn.into(),
            external_id: None,
            session_name: "mlops-rs".to_string(),
            duration: Duration::from_secs(3600),
        }
    }

    /// Sets the external id.
    pub fn with_external_id(mut self, id: impl Into<String>) -> Self {
        self.external_id = Some(id.into());
        self
    }
}

/// Where signing credentials come from; temporary ones are refreshed 5 minutes
/// before they expire.
#[derive(Debug)]
pub(crate) enum Provider {
    Static(AwsCredentials),
    AssumeRole {
        base: Arc<Provider>,
        role: AssumeRole,
        sts_url: String,
        region: String,
        cached: Mutex<Option<AwsCredentials>>,
    },
}

impl Provider {
    pub(crate) async fn credentials(&self) -> Result<AwsCredentials> {
        match self {
            Provider::Static(c) => Ok(c.clone()),
            Provider::AssumeRole {
                base,
                role,
                sts_url,
                region,
                cached,
            } => {
                let mut slot = cached.lock().await;
                if let Some(c) = slot.as_ref() {
                    let fresh = c.expires.is_none_or(|e| {
                        e.duration_since(SystemTime::now())
                            .is_ok_and(|left| left > Duration::from_secs(300))
                    });
                    if fresh {
                        return Ok(c.clone());
                    }
                }
                let base_creds = Box::pin(base.credentials()).await?;
                let c = assume_role(sts_url, region, &base_creds, role).await?;
                *slot = Some(c.clone());
                Ok(c)
            }
        }
    }
}

/// The SageMaker client's credentials as object_store's S3 credential provider, so
/// the artifact bucket is reached with the same identity (profile, assumed role) as
/// the API, not whatever `AWS_*` the environment holds.
#[derive(Debug)]
pub(crate) struct S3Credentials(pub(crate) Arc<Provider>);

#[async_trait::async_trait]
impl mlops_core::object_store::CredentialProvider for S3Credentials {
    type Credential = mlops_core::object_store::aws::AwsCredential;

    async fn get_credential(&self) -> mlops_core::object_store::Result<Arc<Self::Credential>> {
        let c =
            self.0
                .credentials()
                .await
                .map_err(|e| mlops_core::object_store::Error::Generic {
                    store: "S3",
                    source: Box::new(e),
                })?;
        Ok(Arc::new(mlops_core::object_store::aws::AwsCredential {
            key_id: c.access_key_id().to_string(),
            secret_key: c.secret().expose().clone(),
            token: c.session_token().map(|t| t.expose().clone()),
        }))
    }
}

/// The form body of an STS `AssumeRole` call (query protocol).
pub(crate) fn assume_role_body(role: &AssumeRole) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("Action", "AssumeRole")
        .append_pair("Version", "2011-06-15")
        .append_pair("RoleArn", &role.role_arn)
        .append_pair("RoleSessionName", &role.session_name)
        .append_pair("DurationSeconds", &role.duration.as_secs().to_string());
    if let Some(x) = &role.external_id {
        form.append_pair("ExternalId", x);
    }
    form.finish()
}

/// Calls STS `AssumeRole`, signed with `base` (service `sts`).
async fn assume_role(
    sts_url: &str,
    region: &str,
    base: &AwsCredentials,
    role: &AssumeRole,
) -> Result<AwsCredentials> {
    let signer = super::sigv4::SigV4Signer::new(
        Arc::new(Provider::Static(base.clone())),
        region.to_string(),
        "sts",
    );
    let http = HttpClient::builder()
        .with_backend(BACKEND)
        .with_signer(Arc::new(signer))
        .build()?;
    let spec = RequestSpec::new(Method::POST, sts_url)?
        .with_body(assume_role_body(role), "application/x-www-form-urlencoded");
    let (status, headers, body) = http.send_raw(spec).await?;
    if !status.is_success() {
        let url = url::Url::parse(sts_url)
            .map_err(|e| Error::invalid("sts url", sts_url, e.to_string()))?;
        let mut err = mlops_core::http::error_from_response(
            BACKEND,
            &Method::POST,
            &url,
            status,
            &headers,
            &body,
        );
        if let Error::Http { kind, .. } = &mut err
            && matches!(status.as_u16(), 400 | 403)
        {
            *kind = mlops_core::ErrorKind::Unauthenticated;
        }
        return Err(err);
    }
    parse_assume_role_response(&String::from_utf8_lossy(&body))
}

/// Reads the temporary credentials out of an `AssumeRoleResponse` XML document.
pub(crate) fn parse_assume_role_response(xml: &str) -> Result<AwsCredentials> {
    let field = |tag: &str| -> Result<String> {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let start = xml.find(&open).map(|i| i + open.len());
        let end = start.and_then(|s| xml[s..].find(&close).map(|e| s + e));
        match (start, end) {
            (Some(s), Some(e)) => Ok(xml[s..e].trim().to_string()),
            _ => Err(Error::backend(
                BACKEND,
                format!("sts AssumeRole answer has no <{tag}>"),
            )),
        }
    };
    let expires = field("Expiration")
        .ok()
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(&e).ok())
        .map(|t| SystemTime::from(t.with_timezone(&chrono::Utc)));
    Ok(AwsCredentials {
        access_key_id: field("AccessKeyId")?,
        secret_access_key: Secret::new(field("SecretAccessKey")?),
        session_token: Some(Secret::new(field("SessionToken")?)),
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_profiles() {
        let config = "[default]\nregion = us-east-1\n[profile prod]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n[sso-session s]\nx=1\n";
        let p = parse_ini(config, true);
        assert_eq!(p["default"].get("region"), Some("us-east-1"));
        assert_eq!(p["prod"].get("source_profile"), Some("default"));
        assert!(!p.contains_key("sso-session s"));
        let creds =
            "[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s3cr3t-value\n";
        let c = parse_ini(creds, false)["default"]
            .static_credentials()
            .unwrap();
        assert_eq!(c.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(c.secret().expose(), "s3cr3t-value");
        let shown = format!("{c:?} {:?}", parse_ini(creds, false));
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(!shown.contains("AKIDEXAMPLE"), "{shown}");
    }

    #[test]
    fn sts_answer() {
        let xml = "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>sek</SecretAccessKey><SessionToken>tok</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>";
        let c = parse_assume_role_response(xml).unwrap();
        assert_eq!(c.access_key_id(), "ASIAX");
        assert_eq!(c.session_token().unwrap().expose(), "tok");
        assert!(c.expires().is_some());
        let e = parse_assume_role_response("<x/>").unwrap_err();
        assert!(e.to_string().contains("AccessKeyId"), "{e}");
        let body =
            assume_role_body(&AssumeRole::new("arn:aws:iam::1:role/r").with_external_id("ex"));
        assert!(
            body.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr"),
            "{body}"
        );
        assert!(body.contains("ExternalId=ex"));
    }
}
