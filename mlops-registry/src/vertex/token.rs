//! Bearer tokens for Vertex AI: [`TokenProvider`] with a static token, the GCE
//! metadata server (honouring `GCE_METADATA_HOST`) and the service-account JWT
//! flow (RS256 signed with `ring`, exchanged at the key's `token_uri`).

use super::BACKEND;
use base64::Engine;
use mlops_core::http::{HttpClient, Idempotency, Method, Request, RequestSpec, Signer, header};
use mlops_core::{Error, Result, Secret};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// The OAuth scope of Vertex AI calls.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The default metadata server host.
pub const METADATA_HOST: &str = "metadata.google.internal";

/// Supplies bearer tokens; implementations cache and refresh them.
#[async_trait::async_trait]
pub trait TokenProvider: std::fmt::Debug + Send + Sync + 'static {
    /// A valid access token.
    ///
    /// # Errors
    /// `Unauthenticated` when no token can be obtained.
    async fn token(&self) -> Result<Secret<String>>;
}

/// A fixed token (e.g. from `gcloud auth print-access-token`).
#[derive(Debug, Clone)]
pub struct StaticToken(pub Secret<String>);

#[async_trait::async_trait]
impl TokenProvider for StaticToken {
    async fn token(&self) -> Result<Secret<String>> {
        Ok(self.0.clone())
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Secret<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// A cached token with its expiry; refreshed a minute before.
#[derive(Debug, Default)]
struct Cache(Mutex<Option<(Secret<String>, SystemTime)>>);

impl Cache {
    async fn get_or<F, Fut>(&self, fetch: F) -> Result<Secret<String>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<TokenAnswer>>,
    {
        let mut slot = self.0.lock().await;
        if let Some((t, exp)) = slot.as_ref()
            && exp
                .duration_since(SystemTime::now())
                .is_ok_and(|d| d > Duration::from_secs(60))
        {
            return Ok(t.clone());
        }
        let a = fetch().await?;
        let exp = SystemTime::now() + Duration::from_secs(a.expires_in.unwrap_or(3600));
        *slot = Some((a.access_token.clone(), exp));
        Ok(a.access_token)
    }
}

fn unauthenticated(message: impl Into<String>) -> Error {
    Error::Unauthenticated {
        backend: BACKEND.to_string(),
        message: message.into(),
    }
}

async fn fetch_json(http: &HttpClient, spec: RequestSpec, what: &str) -> Result<TokenAnswer> {
    let (status, _, body) = http.send_raw(spec).await?;
    if !status.is_success() {
        return Err(unauthenticated(format!(
            "{what} answered {status}: {}",
            mlops_core::http::body_snippet(&body, 200)
        )));
    }
    // The answer holds the token: never quote it in the error.
    serde_json::from_slice(&body).map_err(|e| unauthenticated(format!("{what}: bad answer ({e})")))
}

/// Tokens from the GCE/GKE/Cloud Run metadata server.
#[derive(Debug)]
pub struct MetadataServer {
    url: String,
    http: HttpClient,
    cache: Cache,
}

impl MetadataServer {
    /// The metadata server at `host` (`GCE_METADATA_HOST`, else
    /// [`METADATA_HOST`]), for the default service account.
    ///
    /// # Errors
    /// `Backend` when the HTTP client cannot be built.
    pub fn new(host: Option<&str>) -> Result<Self> {
        let host = host.filter(|h| !h.is_empty()).unwrap_or(METADATA_HOST);
        Ok(Self {
            url: format!(
                "http://{host}/computeMetadata/v1/instance/service-accounts/default/token"
            ),
            http: HttpClient::builder()
                .with_backend("gce-metadata")
                .with_timeout(Duration::from_secs(5))
                .with_proxy_from_env(false)
                .build()?,
            cache: Cache::default(),
        })
    }
}

#[async_trait::async_trait]
impl TokenProvider for MetadataServer {
    async fn token(&self) -> Result<Secret<String>> {
        self.cache
            .get_or(|| async {
                let spec = RequestSpec::new(Method::GET, &self.url)?
                    .with_header("metadata-flavor", "Google")?;
                fetch_json(&self.http, spec, "metadata server").await
            })
            .await
    }
}

/// A service-account key file (the JSON `gcloud iam service-accounts keys create` writes).
#[derive(Clone, Deserialize)]
pub struct ServiceAccountKey {
    /// The account's e-mail (the JWT issuer).
    pub client_email: String,
    /// The PKCS#8 PEM private key.
    pub private_key: Secret<String>,
    /// The key id (the JWT `kid`).
    #[serde(default)]
    pub private_key_id: Option<String>,
    /// Where tokens are minted (`https://oauth2.googleapis.com/token`).
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".to_string()
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    /// Parses a key file's JSON.
    ///
    /// # Errors
    /// `InvalidArgument` naming the problem (never the key).
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| {
            Error::invalid(
                "service account key",
                "(json)",
                format!("not a key file: {e}"),
            )
        })
    }
}

/// The DER bytes of the first PEM block labelled `label`.
fn pem_der(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let s = pem.find(&begin)? + begin.len();
    let e = pem[s..].find(&end)? + s;
    let b64: String = pem[s..e].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs an RS256 JWT assertion for `key` (`iss`, `scope`, `aud` = `token_uri`,
/// `iat`, `exp` = `iat` + 1 h).
///
/// # Errors
/// `InvalidArgument` for a key that is not an RSA PKCS#8 PEM.
pub fn jwt_assertion(key: &ServiceAccountKey, scope: &str, now: SystemTime) -> Result<String> {
    let bad = |why: &str| Error::invalid("service account private key", "(redacted)", why);
    let der = pem_der(key.private_key.expose(), "PRIVATE KEY")
        .ok_or_else(|| bad("no PKCS#8 'BEGIN PRIVATE KEY' block"))?;
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der)
        .map_err(|e| bad(&format!("not an RSA key: {e}")))?;
    let iat = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let mut head = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = &key.private_key_id {
        head["kid"] = serde_json::json!(kid);
    }
    let claims = serde_json::json!({
        "iss": key.client_email, "scope": scope, "aud": key.token_uri,
        "iat": iat, "exp": iat + 3600,
    });
    let input = format!(
        "{}.{}",
        b64url(head.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let mut sig = vec![0; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| bad("signing failed"))?;
    Ok(format!("{input}.{}", b64url(&sig)))
}

/// Tokens from a service-account key: a signed JWT exchanged at `token_uri`.
#[derive(Debug)]
pub struct ServiceAccount {
    key: ServiceAccountKey,
    scope: String,
    http: HttpClient,
    cache: Cache,
}

impl ServiceAccount {
    /// A provider for `key` with the cloud-platform scope.
    ///
    /// # Errors
    /// `InvalidArgument` for an unusable private key (checked now, not at the first call).
    pub fn new(key: ServiceAccountKey) -> Result<Self> {
        jwt_assertion(&key, SCOPE, SystemTime::now())?;
        Ok(Self {
            key,
            scope: SCOPE.to_string(),
            http: HttpClient::builder().with_backend("google-oauth").build()?,
            cache: Cache::default(),
        })
    }

    /// Reads the key file at `path`.
    ///
    /// # Errors
    /// `Io`; `InvalidArgument` for a malformed key.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::io(path.display().to_string(), e))?;
        Self::new(ServiceAccountKey::from_json(&text)?)
    }
}

#[async_trait::async_trait]
impl TokenProvider for ServiceAccount {
    async fn token(&self) -> Result<Secret<String>> {
        self.cache
            .get_or(|| async {
                let jwt = jwt_assertion(&self.key, &self.scope, SystemTime::now())?;
                let form = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
                    .append_pair("assertion", &jwt)
                    .finish();
                let spec = RequestSpec::new(Method::POST, &self.key.token_uri)?
                    .with_body(form, "application/x-www-form-urlencoded")
                    // minting a token twice is harmless
                    .with_idempotency(Idempotency::Idempotent);
                fetch_json(&self.http, spec, "token endpoint").await
            })
            .await
    }
}

/// Adds `Authorization: Bearer <token>` on every attempt.
#[derive(Debug, Clone)]
pub struct BearerSigner(pub Arc<dyn TokenProvider>);

#[async_trait::async_trait]
impl Signer for BearerSigner {
    async fn sign(&self, request: &mut Request) -> Result<()> {
        let token = self.0.token().await?;
        let mut v = header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| unauthenticated("token is not a valid header value"))?;
        v.set_sensitive(true);
        request.headers_mut().insert(header::AUTHORIZATION, v);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_keys_are_named_not_shown() {
        let key = ServiceAccountKey::from_json(
            r#"{"client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#,
        )
        .unwrap();
        assert_eq!(key.token_uri, "https://oauth2.googleapis.com/token");
        let e = jwt_assertion(&key, SCOPE, SystemTime::now()).unwrap_err();
        assert!(e.to_string().contains("not an RSA key"), "{e}");
        assert!(!e.to_string().contains("AAAA"));
        assert!(!format!("{key:?}").contains("AAAA"));
        let e = ServiceAccountKey::from_json("{}").unwrap_err();
        assert!(e.to_string().contains("not a key file"), "{e}");
    }
}
