//! [`HttpClient`], its builder and [`RequestSpec`].

use super::{
    Credentials, HeaderMap, Idempotency, Method, RetryConfig, Signer, StatusCode,
    error_from_response, header, parse_retry_after, redact_url,
};
use crate::error::{Error, Result};
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Classifies a response (status, headers, body) when the status alone does not
/// tell; see [`HttpClientBuilder::with_classifier`].
pub type Classifier =
    Arc<dyn Fn(StatusCode, &HeaderMap, &[u8]) -> Option<crate::ErrorKind> + Send + Sync>;

/// One request, described once and replayed for each attempt.
///
/// The body lives in memory (`Bytes`), so every retry and every [`Signer`] sees it.
///
/// ```
/// use mlops_core::http::{Idempotency, Method, RequestSpec};
/// let spec = RequestSpec::new(Method::POST, "http://127.0.0.1:5000/api/2.0/mlflow/runs/create")?
///     .with_json(&serde_json::json!({"experiment_id": "0"}))?
///     .with_query("dry_run", "false")
///     .with_idempotency(Idempotency::NotIdempotent);
/// assert_eq!(spec.url().query(), Some("dry_run=false"));
/// assert_eq!(spec.idempotency(), Idempotency::NotIdempotent);
/// # Ok::<(), mlops_core::Error>(())
/// ```
#[derive(Clone)]
pub struct RequestSpec {
    method: Method,
    url: url::Url,
    headers: HeaderMap,
    body: Option<Bytes>,
    idempotency: Idempotency,
    timeout: Option<Duration>,
    credentials: Option<Credentials>,
}

impl std::fmt::Debug for RequestSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers and the query string may carry credentials: never shown.
        f.debug_struct("RequestSpec")
            .field("method", &self.method)
            .field("url", &redact_url(&self.url))
            .field("body_len", &self.body.as_ref().map(Bytes::len))
            .field("idempotency", &self.idempotency)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RequestSpec {
    /// A request without body; idempotency defaults to [`Idempotency::of_method`].
    ///
    /// # Errors
    /// `InvalidArgument` when `url` does not parse or is not `http(s)://`.
    pub fn new(method: Method, url: &str) -> Result<Self> {
        let parsed = url::Url::parse(url).map_err(|e| {
            // The raw URL may hold a token in its query: quote only what parses safely.
            Error::invalid("request url", url_for_error(url), e.to_string())
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::invalid(
                "request url",
                redact_url(&parsed),
                "expected http:// or https://",
            ));
        }
        let idempotency = Idempotency::of_method(&method);
        Ok(Self {
            method,
            url: parsed,
            headers: HeaderMap::new(),
            body: None,
            idempotency,
            timeout: None,
            credentials: None,
        })
    }

    /// Sets a JSON body (and `Content-Type: application/json`).
    ///
    /// # Errors
    /// `InvalidArgument` when `body` cannot be serialised.
    pub fn with_json<B: serde::Serialize + ?Sized>(self, body: &B) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::invalid("request body", "(json)", e.to_string()))?;
        Ok(self.with_body(bytes, "application/json"))
    }

    /// Sets a raw body with its content type.
    pub fn with_body(mut self, body: impl Into<Bytes>, content_type: &'static str) -> Self {
        self.headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(content_type),
        );
        self.body = Some(body.into());
        self
    }

    /// Appends a query parameter (percent-encoded).
    pub fn with_query(mut self, key: &str, value: &str) -> Self {
        self.url.query_pairs_mut().append_pair(key, value);
        self
    }

    /// Sets a header, replacing one of the same name.
    ///
    /// # Errors
    /// `InvalidArgument` for a malformed name or value (the value is not quoted).
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self> {
        let name: header::HeaderName = name
            .parse()
            .map_err(|_| Error::invalid("header name", name, "not a valid header name"))?;
        let value: header::HeaderValue = value.parse().map_err(|_| {
            Error::invalid("header value", name.as_str(), "not a valid header value")
        })?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Marks the request as safe (or not) to repeat.
    pub fn with_idempotency(mut self, idempotency: Idempotency) -> Self {
        self.idempotency = idempotency;
        self
    }

    /// Overrides the client's per-attempt timeout for this request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Overrides the client's credentials for this request.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The full URL (with query string: do not log it, use [`redact_url`]).
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The idempotency.
    pub fn idempotency(&self) -> Idempotency {
        self.idempotency
    }
}

fn url_for_error(raw: &str) -> String {
    raw.split(['?', '#']).next().unwrap_or("").to_string()
}

/// Builds an [`HttpClient`]. Nothing touches the network before the first request.
#[derive(Clone)]
pub struct HttpClientBuilder {
    backend: String,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryConfig,
    credentials: Credentials,
    signer: Option<Arc<dyn Signer>>,
    classifier: Option<Classifier>,
    user_agent: String,
    extra_roots_pem: Vec<Vec<u8>>,
    native_roots: bool,
    proxy_from_env: bool,
    insecure_tls: bool,
}

impl std::fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClientBuilder")
            .field("backend", &self.backend)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("credentials", &self.credentials)
            .field("signer", &self.signer)
            .field("classifier", &self.classifier.is_some())
            .field("extra_roots", &self.extra_roots_pem.len())
            .field("native_roots", &self.native_roots)
            .field("insecure_tls", &self.insecure_tls)
            .finish_non_exhaustive()
    }
}

impl Default for HttpClientBuilder {
    fn default() -> Self {
        Self {
            backend: "http".to_string(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry: RetryConfig::default(),
            credentials: Credentials::None,
            signer: None,
            classifier: None,
            user_agent: concat!("mlops-rs/", env!("CARGO_PKG_VERSION")).to_string(),
            extra_roots_pem: Vec::new(),
            native_roots: false,
            proxy_from_env: true,
            insecure_tls: false,
        }
    }
}

impl HttpClientBuilder {
    /// The defaults: backend `"http"`, 30 s per attempt, 5 s to connect,
    /// [`RetryConfig::default`], no credentials, Mozilla's root certificates.
    pub fn new() -> Self {
        Self::default()
    }

    /// The backend name used in errors and logs (e.g. `"mlflow"`).
    pub fn with_backend(mut self, name: impl Into<String>) -> Self {
        self.backend = name.into();
        self
    }

    /// The timeout of one attempt: connect, send, and read the whole response.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The timeout for establishing a connection (TCP + TLS).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Credentials applied to every request (a request may override them).
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// A [`Signer`] run on every attempt.
    pub fn with_signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// A classifier for responses whose status alone does not tell (e.g. SageMaker's
    /// `400` with `"__type": "ThrottlingException"`). It sees every response:
    /// `Some(kind)` overrides the status classification (a retryable kind is retried
    /// like a 429/503 and, when retries end, becomes the [`Error::Http`] kind; any
    /// other kind returns the response as is); `None` keeps the default.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mlops_core::{ErrorKind, http::HttpClient};
    /// let client = HttpClient::builder()
    ///     .with_classifier(Arc::new(|status, _headers, body: &[u8]| {
    ///         let throttled = status.as_u16() == 400
    ///             && body.windows(19).any(|w| w == b"ThrottlingException");
    ///         throttled.then_some(ErrorKind::RateLimited)
    ///     }))
    ///     .build()?;
    /// # Ok::<(), mlops_core::Error>(())
    /// ```
    pub fn with_classifier(mut self, classifier: Classifier) -> Self {
        self.classifier = Some(classifier);
        self
    }

    /// The `User-Agent` header.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Trusts the certificates in `pem` (one or more PEM blocks) as well, e.g. a
    /// private CA or a test server's self-signed certificate.
    pub fn with_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots_pem.push(pem.into());
        self
    }

    /// Trusts the operating system's certificate store as well (honours
    /// `SSL_CERT_FILE`/`SSL_CERT_DIR`).
    pub fn with_native_roots(mut self, on: bool) -> Self {
        self.native_roots = on;
        self
    }

    /// Accepts any server certificate: expired, self-signed, for another host
    /// (default false). For test servers only, as MLflow's
    /// `MLFLOW_TRACKING_INSECURE_TLS`: the connection is still encrypted and the
    /// handshake signatures are still checked, but the server is not authenticated.
    pub fn with_insecure_tls(mut self, on: bool) -> Self {
        self.insecure_tls = on;
        self
    }

    /// Whether to honour `HTTP(S)_PROXY`/`NO_PROXY` (default true).
    pub fn with_proxy_from_env(mut self, on: bool) -> Self {
        self.proxy_from_env = on;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// `InvalidArgument` for a malformed PEM certificate or user agent; `Backend`
    /// when the TLS configuration cannot be built.
    pub fn build(self) -> Result<HttpClient> {
        let mut tls = tls_config(&self.extra_roots_pem, self.native_roots)?;
        if self.insecure_tls {
            tracing::warn!(backend = %self.backend, "TLS certificate checks are off (insecure_tls)");
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            tls.dangerous()
                .set_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)));
        }
        let mut b = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent.clone());
        if !self.proxy_from_env {
            b = b.no_proxy();
        }
        let client = b
            .build()
            .map_err(|e| Error::backend(self.backend.clone(), describe(&e.without_url())))?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                backend: self.backend,
                timeout: self.timeout,
                retry: self.retry,
                credentials: self.credentials,
                signer: self.signer,
                classifier: self.classifier,
            }),
        })
    }
}

/// The rustls configuration of our client: the `ring` provider passed explicitly
/// (no process-wide default), Mozilla's roots plus any extra ones, ALPN h2 + http/1.1.
fn tls_config(extra_pem: &[Vec<u8>], native: bool) -> Result<rustls::ClientConfig> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if native {
        // Unreadable system certificates are skipped: the compiled-in roots remain.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
    }
    for pem in extra_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| {
                Error::invalid("root certificate", "(pem)", format!("unreadable PEM: {e}"))
            })?;
            roots.add(cert).map_err(|e| {
                Error::invalid(
                    "root certificate",
                    "(pem)",
                    format!("not a CA certificate: {e}"),
                )
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::invalid(
                "root certificate",
                "(pem)",
                "no CERTIFICATE block found",
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::backend("tls", e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The verifier of [`HttpClientBuilder::with_insecure_tls`]: any certificate is
/// accepted; the handshake signatures are still verified (with `ring`), so the
/// peer holds the key of the certificate it sent.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The shared HTTP client: cheap to clone (one connection pool).
///
/// ```
/// # #[cfg(not(feature = "conformance"))] fn main() {} // the mock server needs `conformance`
/// # #[cfg(feature = "conformance")]
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
/// use mlops_core::http::{HttpClient, Idempotency, Method, RequestSpec, NO_BODY};
/// use mlops_core::http::mock_server::{MockResponse, MockServer};
///
/// let server = MockServer::start().await;
/// server.push(MockResponse::status(503));
/// server.push(MockResponse::json(200, r#"{"ok": true}"#));
///
/// let client = HttpClient::builder().with_backend("demo").build()?;
/// let v: serde_json::Value =
///     client.send_json(Method::GET, &server.url("/x"), NO_BODY, Idempotency::Idempotent).await?;
/// assert_eq!(v["ok"], true);
/// assert_eq!(server.requests().len(), 2); // the 503 was retried
///
/// let (status, _headers, body) =
///     client.send_raw(RequestSpec::new(Method::GET, &server.url("/missing"))?).await?;
/// assert_eq!(status.as_u16(), 404); // no route: the mock answers 404, returned as is
/// assert!(!body.is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    backend: String,
    timeout: Duration,
    retry: RetryConfig,
    credentials: Credentials,
    signer: Option<Arc<dyn Signer>>,
    classifier: Option<Classifier>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("backend", &self.inner.backend)
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .field("credentials", &self.inner.credentials)
            .field("signer", &self.inner.signer)
            .field("classifier", &self.inner.classifier.is_some())
            .finish_non_exhaustive()
    }
}

/// Why one attempt failed without a response.
enum Failure {
    /// Connecting failed: nothing was sent, a retry is always safe.
    Connect(reqwest::Error),
    /// The connection broke after the request may have been sent.
    Transport(reqwest::Error),
    /// The attempt ran out of time.
    Timeout,
}

impl HttpClient {
    /// A builder with the defaults.
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder::new()
    }

    /// The backend name used in errors.
    pub fn backend(&self) -> &str {
        &self.inner.backend
    }

    /// The retry policy.
    pub fn retry(&self) -> &RetryConfig {
        &self.inner.retry
    }

    /// The underlying reqwest client (same pool and TLS configuration), for
    /// streaming bodies that cannot be replayed and so bypass retries.
    pub fn reqwest_client(&self) -> &reqwest::Client {
        &self.inner.client
    }

    /// Sends `body` as JSON (or nothing, with [`NO_BODY`](super::NO_BODY)) and
    /// parses a JSON answer; an empty answer parses as `null` (so `()` and
    /// `Option<T>` accept it).
    ///
    /// # Errors
    /// As [`HttpClient::send_raw`], plus [`Error::Http`] (kind from
    /// [`status_kind`](super::status_kind)) for any non-2xx status, and `Backend`
    /// when the answer is not the expected JSON.
    pub async fn send_json<T, B>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
        idempotency: Idempotency,
    ) -> Result<T>
    where
        T: serde::de::DeserializeOwned,
        B: serde::Serialize + ?Sized,
    {
        let mut spec = RequestSpec::new(method, url)?.with_idempotency(idempotency);
        if let Some(body) = body {
            spec = spec.with_json(body)?;
        }
        self.send_spec_json(spec).await
    }

    /// Sends `spec` and parses a JSON answer (see [`HttpClient::send_json`]).
    ///
    /// # Errors
    /// As [`HttpClient::send_json`].
    pub async fn send_spec_json<T: serde::de::DeserializeOwned>(
        &self,
        spec: RequestSpec,
    ) -> Result<T> {
        let spec = if spec.headers.contains_key(header::ACCEPT) {
            spec
        } else {
            spec.with_header("accept", "application/json")?
        };
        let (method, url) = (spec.method.clone(), spec.url.clone());
        let (status, headers, body) = self.send_raw(spec).await?;
        if !status.is_success() {
            return Err(error_from_response(
                &self.inner.backend,
                &method,
                &url,
                status,
                &headers,
                &body,
            ));
        }
        let raw: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &body
        };
        serde_json::from_slice(raw).map_err(|e| {
            Error::backend(
                self.inner.backend.clone(),
                format!(
                    "{method} {}: unexpected response ({e}): {}",
                    redact_url(&url),
                    super::body_snippet(&body, super::MAX_ERROR_BODY)
                ),
            )
        })
    }

    /// Sends `spec` with retries and returns the final status, headers and body.
    ///
    /// Any status that is not retried comes back as is (2xx, 3xx, 4xx, 500 …), so a
    /// backend can read its own error bodies; use
    /// [`error_from_response`](super::error_from_response) to turn one into an error.
    ///
    /// # Errors
    /// * [`Error::Http`] with kind `RateLimited` (429), `Timeout` (408) or
    ///   `Unavailable` (502/503/504) when retries are exhausted, not allowed
    ///   (not idempotent) or the next wait would overrun the budget;
    /// * `Unavailable` when the connection failed or broke;
    /// * `Timeout` when an attempt ran out of time (the per-attempt timeout or the
    ///   rest of the budget);
    /// * whatever the [`Signer`] returned.
    pub async fn send_raw(&self, spec: RequestSpec) -> Result<(StatusCode, HeaderMap, Bytes)> {
        let inner = &self.inner;
        let started = Instant::now();
        let budget = inner.retry.budget();
        let mut retry = 0u32;
        loop {
            let remaining = budget.saturating_sub(started.elapsed());
            let attempt_timeout = spec.timeout.unwrap_or(inner.timeout).min(remaining);
            let (err, may_retry, retry_after) = match self.attempt(&spec, attempt_timeout).await? {
                Ok((status, headers, body)) => {
                    let custom = inner
                        .classifier
                        .as_ref()
                        .and_then(|c| c(status, &headers, &body));
                    let kind = match custom {
                        Some(kind) => kind,
                        None if matches!(status.as_u16(), 408 | 429 | 502..=504) => {
                            super::status_kind(status)
                        }
                        None => return Ok((status, headers, body)),
                    };
                    if !kind.is_retryable() {
                        return Ok((status, headers, body));
                    }
                    let retry_after = headers
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    let mut err = error_from_response(
                        &inner.backend,
                        &spec.method,
                        &spec.url,
                        status,
                        &headers,
                        &body,
                    );
                    if let Error::Http { kind: k, .. } = &mut err {
                        *k = kind;
                    }
                    (err, spec.idempotency.is_idempotent(), retry_after)
                }
                Err(Failure::Connect(e)) => (self.unavailable(&spec, e), true, None),
                Err(Failure::Transport(e)) => (
                    self.unavailable(&spec, e),
                    spec.idempotency.is_idempotent(),
                    None,
                ),
                Err(Failure::Timeout) => (
                    Error::Timeout {
                        operation: format!(
                            "{} {} {}",
                            inner.backend,
                            spec.method,
                            redact_url(&spec.url)
                        ),
                        elapsed: started.elapsed(),
                    },
                    spec.idempotency.is_idempotent(),
                    None,
                ),
            };
            if !may_retry || retry >= inner.retry.max_retries() {
                return Err(err);
            }
            let wait = inner
                .retry
                .backoff(retry)
                .max(retry_after.unwrap_or_default());
            if started.elapsed() + wait >= budget {
                return Err(err);
            }
            tracing::debug!(
                backend = %inner.backend,
                method = %spec.method,
                url = %redact_url(&spec.url),
                retry = retry + 1,
                wait_ms = wait.as_millis() as u64,
                error = %err,
                "retrying http request"
            );
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }

    /// One attempt. The outer `Result` carries errors that end the call at once
    /// (request building, the signer); the inner one the retry candidates.
    async fn attempt(
        &self,
        spec: &RequestSpec,
        timeout: Duration,
    ) -> Result<std::result::Result<(StatusCode, HeaderMap, Bytes), Failure>> {
        let inner = &self.inner;
        if timeout.is_zero() {
            return Ok(Err(Failure::Timeout));
        }
        let mut rb = inner
            .client
            .request(spec.method.clone(), spec.url.clone())
            .headers(spec.headers.clone());
        if let Some(body) = &spec.body {
            rb = rb.body(body.clone());
        }
        rb = match spec.credentials.as_ref().unwrap_or(&inner.credentials) {
            Credentials::None => rb,
            Credentials::Bearer(token) => rb.bearer_auth(token.expose()),
            Credentials::Basic { user, password } => rb.basic_auth(user, Some(password.expose())),
        };
        let mut request = rb.build().map_err(|e| {
            Error::invalid(
                "http request",
                format!("{} {}", spec.method, redact_url(&spec.url)),
                describe(&e.without_url()),
            )
        })?;
        if let Some(signer) = &inner.signer {
            signer.sign(&mut request).await?;
        }
        let exchange = async {
            let response = inner.client.execute(request).await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, body))
        };
        Ok(match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Err(Failure::Timeout),
            Ok(Ok(done)) => Ok(done),
            Ok(Err(e)) if e.is_connect() => Err(Failure::Connect(e)),
            Ok(Err(e)) if e.is_timeout() => Err(Failure::Timeout),
            Ok(Err(e)) => Err(Failure::Transport(e)),
        })
    }

    fn unavailable(&self, spec: &RequestSpec, e: reqwest::Error) -> Error {
        let e = e.without_url();
        Error::Unavailable {
            backend: self.inner.backend.clone(),
            message: format!(
                "{} {}: {}",
                spec.method,
                redact_url(&spec.url),
                describe(&e)
            ),
            source: Some(Box::new(e)),
        }
    }
}

/// An error and its sources on one line (reqwest's own message is terse).
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
