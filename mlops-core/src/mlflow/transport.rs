//! The HTTP seam of the MLflow client: a small [`Transport`] trait, implemented by
//! default over the shared [`HttpClient`] (one HTTP stack in the workspace: its
//! timeouts, retries with backoff and jitter, `Retry-After`, idempotency rules,
//! credentials and rustls on ring).
//!
//! MLflow's own client also retries HTTP 500; a classifier marks it retryable here.
//! A retryable status that is still failing when the retries end comes back as an
//! answer with that status (not as the client's generic HTTP error), so
//! [`map_status`](super::map_status) reads MLflow's error body as for any other.

use super::{BACKEND, MlflowConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Credentials, HttpClient, Idempotency, Method, RequestSpec, RetryConfig};
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

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

/// Sends one HTTP request, retrying transient failures itself (the default
/// transport does so through [`HttpClient`]); [`MlflowClient`](super::MlflowClient)
/// sends each call once through it and maps the answer.
#[async_trait::async_trait]
pub trait Transport: std::fmt::Debug + Send + Sync + 'static {
    /// Sends `req` (with the transport's retries).
    ///
    /// # Errors
    /// [`SendError`] when no answer came back.
    async fn send(&self, req: &HttpRequest) -> std::result::Result<HttpResponse, SendError>;
}

/// The default transport: the shared [`HttpClient`] configured from [`MlflowConfig`].
#[derive(Debug)]
pub(crate) struct HttpTransport {
    client: HttpClient,
    base: String,
}

impl HttpTransport {
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
        let credentials = match (&cfg.token, &cfg.username) {
            (Some(t), _) => Credentials::Bearer(t.clone()),
            (None, Some(u)) => Credentials::Basic {
                user: u.clone(),
                password: cfg
                    .password
                    .clone()
                    .unwrap_or_else(|| crate::Secret::new(String::new())),
            },
            (None, None) => Credentials::None,
        };
        let retry = RetryConfig::default()
            .with_max_retries(cfg.max_attempts.saturating_sub(1))
            .with_initial_backoff(cfg.initial_backoff)
            .with_budget(cfg.retry_budget);
        let client = HttpClient::builder()
            .with_backend(BACKEND)
            .with_timeout(cfg.request_timeout)
            .with_connect_timeout(Duration::from_secs(10))
            .with_retry(retry)
            .with_credentials(credentials)
            .with_insecure_tls(cfg.insecure_tls)
            .with_classifier(Arc::new(|status, _, _| {
                (status.as_u16() == 500).then_some(ErrorKind::Unavailable)
            }))
            .build()?;
        Ok(Self {
            client,
            base: cfg.base_url.trim_end_matches('/').to_string(),
        })
    }
}

#[async_trait::async_trait]
impl Transport for HttpTransport {
    async fn send(&self, req: &HttpRequest) -> std::result::Result<HttpResponse, SendError> {
        let method = match req.method {
            HttpMethod::Get => Method::GET,
            HttpMethod::Post => Method::POST,
            HttpMethod::Put => Method::PUT,
            HttpMethod::Patch => Method::PATCH,
            HttpMethod::Delete => Method::DELETE,
        };
        let unsent = |error| SendError { error, sent: false };
        let mut spec = RequestSpec::new(method, &format!("{}{}", self.base, req.path))
            .map_err(unsent)?
            .with_idempotency(if req.idempotent {
                Idempotency::Idempotent
            } else {
                Idempotency::NotIdempotent
            });
        for (k, v) in &req.query {
            spec = spec.with_query(k, v);
        }
        if let Some(body) = &req.body {
            spec = spec.with_body(
                body.clone(),
                req.content_type.unwrap_or("application/octet-stream"),
            );
        }
        match self.client.send_raw(spec).await {
            Ok((status, headers, body)) => Ok(HttpResponse {
                status: status.as_u16(),
                body,
                retry_after: headers
                    .get(crate::http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| crate::http::parse_retry_after(v, SystemTime::now())),
                path: req.path.clone(),
            }),
            // A retryable status that outlived its retries (or was not retried: not
            // idempotent): hand it on as an answer, for MLflow's error mapping.
            Err(Error::Http {
                status,
                body,
                retry_after,
                ..
            }) => Ok(HttpResponse {
                status,
                body: Bytes::from(body),
                retry_after,
                path: req.path.clone(),
            }),
            Err(error) => Err(SendError { error, sent: true }),
        }
    }
}
