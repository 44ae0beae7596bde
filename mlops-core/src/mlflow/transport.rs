//! The HTTP seam of the MLflow client: a small [`Transport`] trait and its reqwest
//! implementation (rustls on ring).
//!
//! The shared [`crate::http::HttpClient`] landed after this client was written. It
//! can become the default `Transport` (an adapter over `send_raw`, with its retries
//! taking over from [`MlflowClient::send`](super::MlflowClient::send) and a classifier
//! marking MLflow's 500s retryable) once its builder can skip certificate checks,
//! which `MLFLOW_TRACKING_INSECURE_TLS` requires; until then this reqwest transport
//! stays, so no configuration key is silently ignored.

use super::{BACKEND, MlflowConfig};
use crate::error::{Error, Result};
use bytes::Bytes;
use std::time::Duration;

/// HTTP methods MLflow uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE (MLflow reads a JSON body on DELETE).
    Delete,
}

/// One request, relative to the server's base URL.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: HttpMethod,
    /// Path starting with `/`, e.g. `/api/2.0/mlflow/runs/get`.
    pub path: String,
    /// Query parameters (repeated keys allowed).
    pub query: Vec<(String, String)>,
    /// The body.
    pub body: Option<Bytes>,
    /// Its content type.
    pub content_type: Option<&'static str>,
    /// Whether repeating the request after it reached the server is harmless.
    pub idempotent: bool,
}

impl HttpRequest {
    /// A request without body; GET/PUT/DELETE are idempotent, POST/PATCH are not
    /// unless marked so.
    pub fn new(method: HttpMethod, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            content_type: None,
            idempotent: matches!(
                method,
                HttpMethod::Get | HttpMethod::Put | HttpMethod::Delete
            ),
        }
    }

    /// Adds query parameters.
    pub fn with_query(mut self, q: &[(&str, String)]) -> Self {
        self.query
            .extend(q.iter().map(|(k, v)| ((*k).to_string(), v.clone())));
        self
    }

    /// Sets a JSON body.
    pub fn with_json(mut self, body: Vec<u8>) -> Self {
        self.body = Some(Bytes::from(body));
        self.content_type = Some("application/json");
        self
    }

    /// Sets a raw body.
    pub fn with_bytes(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self.content_type = Some("application/octet-stream");
        self
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Bytes,
    /// `Retry-After`, when given in seconds.
    pub retry_after: Option<Duration>,
    /// The request path (for error messages).
    pub path: String,
}

/// A failure to get any answer.
#[derive(Debug)]
pub struct SendError {
    /// What happened (`Unavailable`, `Timeout`...).
    pub error: Error,
    /// Whether the request may have reached the server.
    pub sent: bool,
}

/// Sends one HTTP request; retries live above this seam.
#[async_trait::async_trait]
pub trait Transport: std::fmt::Debug + Send + Sync + 'static {
    /// Sends `req` once.
    ///
    /// # Errors
    /// [`SendError`] when no answer came back.
    async fn send(&self, req: &HttpRequest) -> std::result::Result<HttpResponse, SendError>;
}

/// reqwest over rustls on ring.
#[derive(Debug)]
pub(crate) struct ReqwestTransport {
    client: reqwest::Client,
    base: String,
    auth: Auth,
}

#[derive(Clone)]
enum Auth {
    None,
    Bearer(crate::Secret<String>),
    Basic(String, Option<crate::Secret<String>>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::None => "None",
            Auth::Bearer(_) => "Bearer(<redacted>)",
            Auth::Basic(..) => "Basic(<redacted>)",
        })
    }
}

impl ReqwestTransport {
    pub(crate) fn new(cfg: &MlflowConfig) -> Result<Self> {
        let url = url::Url::parse(&cfg.base_url)
            .map_err(|e| Error::invalid("mlflow tracking uri", &cfg.base_url, e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::invalid(
                "mlflow tracking uri",
                &cfg.base_url,
                "expected http:// or https://",
            ));
        }
        crate::tls::install_ring_provider();
        let client = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .danger_accept_invalid_certs(cfg.insecure_tls)
            .build()
            .map_err(|e| Error::backend(BACKEND, format!("building the HTTP client: {e}")))?;
        let auth = match (&cfg.token, &cfg.username) {
            (Some(t), _) => Auth::Bearer(t.clone()),
            (None, Some(u)) => Auth::Basic(u.clone(), cfg.password.clone()),
            (None, None) => Auth::None,
        };
        Ok(Self {
            client,
            base: cfg.base_url.trim_end_matches('/').to_string(),
            auth,
        })
    }
}

#[async_trait::async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, req: &HttpRequest) -> std::result::Result<HttpResponse, SendError> {
        let method = match req.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Patch => reqwest::Method::PATCH,
            HttpMethod::Delete => reqwest::Method::DELETE,
        };
        let mut url =
            url::Url::parse(&format!("{}{}", self.base, req.path)).map_err(|e| SendError {
                error: Error::invalid("mlflow request path", &req.path, e.to_string()),
                sent: false,
            })?;
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&req.query);
        }
        let mut rb = self.client.request(method, url);
        if let Some(body) = &req.body {
            rb = rb.body(body.clone());
        }
        if let Some(ct) = req.content_type {
            rb = rb.header(reqwest::header::CONTENT_TYPE, ct);
        }
        rb = match &self.auth {
            Auth::None => rb,
            Auth::Bearer(t) => rb.bearer_auth(t.expose()),
            Auth::Basic(u, p) => rb.basic_auth(u, p.as_ref().map(|p| p.expose())),
        };
        let resp = rb.send().await.map_err(|e| classify(&req.path, e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.bytes().await.map_err(|e| classify(&req.path, e))?;
        Ok(HttpResponse {
            status,
            body,
            retry_after,
            path: req.path.clone(),
        })
    }
}

fn classify(path: &str, e: reqwest::Error) -> SendError {
    // URLs may carry credentials (user:password@host): keep them out of messages.
    let e = e.without_url();
    // A connect failure never reached the server; anything later may have.
    let sent = !e.is_connect();
    let error = if e.is_timeout() {
        Error::Timeout {
            operation: format!("{BACKEND} {path}"),
            elapsed: Duration::ZERO,
        }
    } else {
        Error::Unavailable {
            backend: BACKEND.into(),
            message: format!("{path}: {e}"),
            source: Some(Box::new(e)),
        }
    };
    SendError { error, sent }
}
