//! The MLflow REST wire client, shared by the tracking and registry MLflow backends.
//!
//! [`MlflowClient`] speaks MLflow 3.x's REST API (`/api/2.0/mlflow/...` and the
//! artifact proxy `/api/2.0/mlflow-artifacts/...`) with the conventions measured in
//! the peer study: JSON bodies on POST/PATCH/DELETE, query strings on GET, ids as
//! strings, non-finite metrics as `"NaN"`/`"Infinity"`/`"-Infinity"`, omitted empty
//! lists, `next_page_token` paging, and MLflow's error body
//! `{"error_code", "message"}` mapped onto [`ErrorKind`](crate::ErrorKind):
//!
//! | MLflow | kind |
//! |---|---|
//! | `RESOURCE_DOES_NOT_EXIST`, HTTP 404 | `NotFound` |
//! | `RESOURCE_ALREADY_EXISTS` (HTTP 400!) | `AlreadyExists` |
//! | `INVALID_PARAMETER_VALUE`, `BAD_REQUEST`, other 400 | `InvalidArgument` |
//! | `RESOURCE_CONFLICT`, `ABORTED`, HTTP 409 | `Conflict` |
//! | `PERMISSION_DENIED`, HTTP 403 | `PermissionDenied` |
//! | `UNAUTHENTICATED`, HTTP 401 | `Unauthenticated` |
//! | `REQUEST_LIMIT_EXCEEDED`, `RESOURCE_EXHAUSTED`, HTTP 429 | `RateLimited` |
//! | HTTP 502/503/504, connection failures | `Unavailable` |
//! | HTTP 408, client timeouts | `Timeout` |
//! | anything else (500 `INTERNAL_ERROR`...) | `Backend` |
//!
//! Requests go through the shared [`HttpClient`](crate::http::HttpClient) (one HTTP
//! stack for every remote backend). Transient failures (408, 429, 500, 502, 503, 504,
//! connection errors) are retried there with exponential backoff and jitter,
//! honouring `Retry-After`, within a total time budget. A call marked non-idempotent
//! (creating an experiment or a run) is retried only when the request never reached
//! the server.
//!
//! ```
//! use mlops_core::mlflow::{MlflowClient, MlflowConfig};
//! let c = MlflowClient::new(MlflowConfig::new("http://127.0.0.1:5000")).unwrap();
//! assert_eq!(c.base_url(), "http://127.0.0.1:5000");
//! ```

pub mod registry;
pub mod tracking;
mod transport;
pub mod types;

use crate::error::{Error, Result};
use crate::secret::Secret;
use std::time::Duration;
pub use transport::{HttpMethod, HttpRequest, HttpResponse, SendError, Transport};

/// Name used in errors.
pub const BACKEND: &str = "mlflow";

/// How to reach an MLflow server.
#[derive(Clone)]
pub struct MlflowConfig {
    /// Base URL, e.g. `http://127.0.0.1:5000` (no trailing `/api`).
    pub base_url: String,
    /// Bearer token (`MLFLOW_TRACKING_TOKEN`).
    pub token: Option<Secret<String>>,
    /// Basic-auth user (`MLFLOW_TRACKING_USERNAME`).
    pub username: Option<String>,
    /// Basic-auth password (`MLFLOW_TRACKING_PASSWORD`).
    pub password: Option<Secret<String>>,
    /// Skip TLS certificate checks (`MLFLOW_TRACKING_INSECURE_TLS`); testing only
    /// (see [`HttpClientBuilder::with_insecure_tls`](crate::http::HttpClientBuilder::with_insecure_tls)).
    pub insecure_tls: bool,
    /// Per-request timeout (default 120 s, as MLflow's client).
    pub request_timeout: Duration,
    /// Total time budget for one call including retries (default 120 s).
    pub retry_budget: Duration,
    /// Attempts per call including the first (default 5).
    pub max_attempts: u32,
    /// First backoff delay (default 200 ms, doubled per attempt, with jitter).
    pub initial_backoff: Duration,
}

impl std::fmt::Debug for MlflowConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlflowConfig")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("insecure_tls", &self.insecure_tls)
            .finish_non_exhaustive()
    }
}

impl MlflowConfig {
    /// A config for `base_url` with the defaults.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            token: None,
            username: None,
            password: None,
            insecure_tls: false,
            request_timeout: Duration::from_secs(120),
            retry_budget: Duration::from_secs(120),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
        }
    }
}

/// A client for one MLflow server.
#[derive(Debug, Clone)]
pub struct MlflowClient {
    config: MlflowConfig,
    transport: std::sync::Arc<dyn Transport>,
}

impl MlflowClient {
    /// Builds the HTTP client (the shared [`HttpClient`](crate::http::HttpClient),
    /// rustls on ring). Nothing is sent.
    ///
    /// # Errors
    /// `InvalidArgument` for a URL that is not `http(s)://`.
    pub fn new(config: MlflowConfig) -> Result<Self> {
        let transport = transport::HttpTransport::new(&config)?;
        Ok(Self::with_transport(config, std::sync::Arc::new(transport)))
    }

    /// A client over another [`Transport`] (tests, or the shared HTTP client).
    pub fn with_transport(config: MlflowConfig, transport: std::sync::Arc<dyn Transport>) -> Self {
        Self { config, transport }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// The config (credentials redacted in `Debug`).
    pub fn config(&self) -> &MlflowConfig {
        &self.config
    }

    /// Sends `req` through the transport (which retries transient failures within
    /// the budget) and maps a non-2xx answer.
    ///
    /// # Errors
    /// The mapped MLflow error (see the module docs).
    pub async fn send(&self, req: HttpRequest) -> Result<HttpResponse> {
        match self.transport.send(&req).await {
            Ok(resp) if (200..300).contains(&resp.status) => Ok(resp),
            Ok(resp) => Err(map_status(&req.path, &resp)),
            Err(transport::SendError { error, .. }) => Err(error),
        }
    }

    /// GET `/api/2.0/mlflow/<endpoint>?<query>` and decode the JSON answer.
    ///
    /// # Errors
    /// As [`MlflowClient::send`]; `Backend` for an undecodable answer.
    pub async fn get_json<R: serde::de::DeserializeOwned>(
        &self,
        endpoint: &str,
        query: &[(&str, String)],
    ) -> Result<R> {
        let req = HttpRequest::new(HttpMethod::Get, self.api(endpoint)).with_query(query);
        decode(&self.send(req).await?)
    }

    /// POST (or PATCH/DELETE) a JSON body to `/api/2.0/mlflow/<endpoint>`.
    ///
    /// # Errors
    /// As [`MlflowClient::send`]; `Backend` for an undecodable answer.
    pub async fn call_json<B: serde::Serialize + ?Sized, R: serde::de::DeserializeOwned>(
        &self,
        method: HttpMethod,
        endpoint: &str,
        body: &B,
        idempotent: bool,
    ) -> Result<R> {
        let body = serde_json::to_vec(body)
            .map_err(|e| Error::backend(BACKEND, format!("encode {endpoint}: {e}")))?;
        let mut req = HttpRequest::new(method, self.api(endpoint)).with_json(body);
        req.idempotent = idempotent;
        decode(&self.send(req).await?)
    }

    /// [`call_json`](Self::call_json) for an endpoint whose answer carries nothing
    /// the caller needs (MLflow's `{}`): success or the mapped error.
    ///
    /// # Errors
    /// As [`call_json`](Self::call_json).
    pub async fn call_unit<B: serde::Serialize + ?Sized>(
        &self,
        method: HttpMethod,
        endpoint: &str,
        body: &B,
        idempotent: bool,
    ) -> Result<()> {
        let _: serde::de::IgnoredAny = self.call_json(method, endpoint, body, idempotent).await?;
        Ok(())
    }

    fn api(&self, endpoint: &str) -> String {
        format!("/api/2.0/mlflow/{endpoint}")
    }
}

/// Decodes a JSON body; an empty body is `{}` (MLflow's "nothing to report").
fn decode<R: serde::de::DeserializeOwned>(resp: &HttpResponse) -> Result<R> {
    let body: &[u8] = if resp.body.is_empty() {
        b"{}"
    } else {
        &resp.body
    };
    serde_json::from_slice(body).map_err(|e| {
        Error::backend(
            BACKEND,
            format!("undecodable answer from {}: {e}", resp.path),
        )
    })
}

#[derive(serde::Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    message: String,
}

fn entity_of(path: &str) -> &'static str {
    let rest = path
        .trim_start_matches("/api/2.0/mlflow/")
        .trim_start_matches("/api/2.0/");
    match rest.split('/').next().unwrap_or("") {
        "experiments" => "experiment",
        "runs" => "run",
        "metrics" => "metric",
        "registered-models" => "registered model",
        "model-versions" => "model version",
        "mlflow-artifacts" | "artifacts" => "artifact",
        _ => "mlflow resource",
    }
}

/// Maps a non-2xx answer onto a core [`Error`] (see the module docs).
pub fn map_status(path: &str, resp: &HttpResponse) -> Error {
    let body: ErrorBody = serde_json::from_slice(&resp.body).unwrap_or_default();
    let message = if body.message.is_empty() {
        String::from_utf8_lossy(&resp.body)
            .chars()
            .take(300)
            .collect()
    } else {
        body.message
    };
    let entity = entity_of(path);
    let code = body.error_code.as_str();
    match (code, resp.status) {
        ("RESOURCE_DOES_NOT_EXIST", _) | (_, 404) => Error::not_found(entity, message),
        ("RESOURCE_ALREADY_EXISTS", _) => Error::already_exists(entity, message),
        ("RESOURCE_CONFLICT" | "ABORTED", _) | (_, 409) => Error::conflict(entity, "", message),
        ("PERMISSION_DENIED", _) | (_, 403) => Error::PermissionDenied {
            principal: "the configured credentials".into(),
            action: path.to_string(),
            resource: BACKEND.into(),
            reason: Some(message),
        },
        ("UNAUTHENTICATED", _) | (_, 401) => Error::Unauthenticated {
            backend: BACKEND.into(),
            message,
        },
        ("REQUEST_LIMIT_EXCEEDED" | "RESOURCE_EXHAUSTED", _) | (_, 429) => Error::RateLimited {
            backend: BACKEND.into(),
            message,
            retry_after: resp.retry_after,
        },
        (_, 408) => Error::Timeout {
            operation: format!("{BACKEND} {path}"),
            elapsed: Duration::ZERO,
        },
        (_, 502..=504) => Error::Unavailable {
            backend: BACKEND.into(),
            message: format!("HTTP {}: {message}", resp.status),
            source: None,
        },
        (_, 400) => Error::invalid(entity, code, message),
        _ => Error::backend(
            BACKEND,
            format!("HTTP {} {code} on {path}: {message}", resp.status),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn resp(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            body: bytes::Bytes::from(body.to_string()),
            retry_after: None,
            path: "/api/2.0/mlflow/runs/get".into(),
        }
    }

    #[test]
    fn error_codes_map_to_kinds() {
        let k = |s, b| map_status("/api/2.0/mlflow/runs/get", &resp(s, b)).kind();
        assert_eq!(
            k(
                404,
                r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"x"}"#
            ),
            ErrorKind::NotFound
        );
        assert_eq!(
            k(
                400,
                r#"{"error_code":"RESOURCE_ALREADY_EXISTS","message":"x"}"#
            ),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            k(
                400,
                r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"x"}"#
            ),
            ErrorKind::InvalidArgument
        );
        assert_eq!(k(403, "Invalid Host header"), ErrorKind::PermissionDenied);
        assert_eq!(k(401, "{}"), ErrorKind::Unauthenticated);
        assert_eq!(k(429, "{}"), ErrorKind::RateLimited);
        assert_eq!(k(503, "{}"), ErrorKind::Unavailable);
        assert_eq!(
            k(500, r#"{"error_code":"INTERNAL_ERROR"}"#),
            ErrorKind::Backend
        );
        let e = map_status(
            "/api/2.0/mlflow/runs/get",
            &resp(
                404,
                r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run with id=x not found"}"#,
            ),
        );
        assert_eq!(e.to_string(), "run not found: Run with id=x not found");
    }

    /// A transport that answers from a script and counts calls.
    #[derive(Debug)]
    struct Script {
        answers: Mutex<Vec<std::result::Result<HttpResponse, transport::SendError>>>,
        calls: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl Transport for Script {
        async fn send(
            &self,
            req: &HttpRequest,
        ) -> std::result::Result<HttpResponse, transport::SendError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let mut a = self.answers.lock().unwrap();
            let mut r = a.remove(0);
            if let Ok(resp) = &mut r {
                resp.path = req.path.clone();
            }
            r
        }
    }

    #[tokio::test]
    async fn a_custom_transport_is_called_once_and_its_answer_mapped() {
        let s = std::sync::Arc::new(Script {
            answers: Mutex::new(vec![Ok(resp(
                400,
                r#"{"error_code":"RESOURCE_ALREADY_EXISTS","message":"exp"}"#,
            ))]),
            calls: AtomicUsize::new(0),
        });
        let c = MlflowClient::with_transport(MlflowConfig::new("http://x"), s.clone());
        let e = c
            .call_json::<_, serde_json::Value>(
                HttpMethod::Post,
                "experiments/create",
                &serde_json::json!({}),
                false,
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(s.calls.load(Ordering::SeqCst), 1);
    }

    use crate::http::mock_server::{MockResponse, MockServer};

    async fn served(answers: Vec<MockResponse>) -> (MlflowClient, MockServer) {
        let server = MockServer::start().await;
        for a in answers {
            server.push(a);
        }
        let mut cfg = MlflowConfig::new(server.url(""));
        cfg.initial_backoff = Duration::from_millis(1);
        cfg.max_attempts = 3;
        (MlflowClient::new(cfg).unwrap(), server)
    }

    #[tokio::test]
    async fn retries_transient_failures_then_succeeds() {
        let (c, server) = served(vec![
            MockResponse::text(503, "busy"),
            MockResponse::json(429, "{}"),
            MockResponse::json(200, r#"{"ok":1}"#),
        ])
        .await;
        let r: serde_json::Value = c
            .call_json(
                HttpMethod::Post,
                "runs/log-batch",
                &serde_json::json!({"run_id": "r"}),
                true,
            )
            .await
            .unwrap();
        assert_eq!(r["ok"], 1);
        let reqs = server.requests();
        assert_eq!(reqs.len(), 3);
        assert!(
            reqs.iter()
                .all(|r| r.path == "/api/2.0/mlflow/runs/log-batch")
        );
        assert_eq!(&reqs[2].body[..], br#"{"run_id":"r"}"#);
        assert_eq!(reqs[2].header("content-type"), Some("application/json"));
    }

    #[tokio::test]
    async fn does_not_repeat_a_non_idempotent_call_that_reached_the_server() {
        let (c, server) = served(vec![
            MockResponse::text(503, "busy"),
            MockResponse::json(200, "{}"),
        ])
        .await;
        let e = c
            .call_json::<_, serde_json::Value>(
                HttpMethod::Post,
                "runs/create",
                &serde_json::json!({}),
                false,
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(server.requests().len(), 1);
        // a dropped connection after sending is not repeated either
        let (c, server) = served(vec![
            MockResponse::drop_connection(),
            MockResponse::json(200, "{}"),
        ])
        .await;
        let e = c
            .call_json::<_, serde_json::Value>(
                HttpMethod::Post,
                "runs/create",
                &serde_json::json!({}),
                false,
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(server.requests().len(), 1);
    }

    #[tokio::test]
    async fn a_500_is_retried_and_keeps_mlflows_message_when_retries_end() {
        let internal = r#"{"error_code":"INTERNAL_ERROR","message":"db locked"}"#;
        let (c, server) = served(vec![
            MockResponse::json(500, internal),
            MockResponse::json(500, internal),
            MockResponse::json(500, internal),
        ])
        .await;
        let e = c
            .get_json::<serde_json::Value>("runs/get", &[("run_id", "a b".into())])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Backend);
        assert!(e.to_string().contains("db locked"), "{e}");
        let reqs = server.requests();
        assert_eq!(reqs.len(), 3, "max_attempts");
        assert_eq!(reqs[0].path, "/api/2.0/mlflow/runs/get?run_id=a+b");
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried_and_credentials_are_sent() {
        let server = MockServer::start().await;
        server.push(MockResponse::json(
            400,
            r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"bad"}"#,
        ));
        let mut cfg = MlflowConfig::new(server.url("/"));
        cfg.token = Some(crate::Secret::new("t0k".to_string()));
        let c = MlflowClient::new(cfg).unwrap();
        let e = c
            .get_json::<serde_json::Value>("runs/get", &[("run_id", "x".into())])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let reqs = server.requests();
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].header("authorization"), Some("Bearer t0k"));
        assert!(!format!("{c:?}").contains("t0k"));
    }

    #[test]
    fn only_http_urls_are_accepted() {
        let e = MlflowClient::new(MlflowConfig::new("ftp://h")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let mut cfg = MlflowConfig::new("https://127.0.0.1:1");
        cfg.insecure_tls = true;
        assert!(MlflowClient::new(cfg).is_ok());
    }
}
