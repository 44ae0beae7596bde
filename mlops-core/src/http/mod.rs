//! The shared HTTP client for remote backends (MLflow, SageMaker, Vertex AI).
//!
//! [`HttpClient`] wraps one `reqwest::Client` on an explicit rustls configuration
//! with the `ring` provider (no process-wide provider is installed, no aws-lc-sys
//! in the tree) and adds what every backend needs:
//!
//! * a per-attempt timeout and a connect timeout;
//! * retries with exponential backoff and full jitter, honouring `Retry-After`
//!   (seconds or HTTP-date), for retryable kinds only, within a total time budget
//!   ([`RetryConfig`]);
//! * idempotency: a request marked [`Idempotency::NotIdempotent`] (by default
//!   `POST` and `PATCH`) is retried only when the connection failed before anything
//!   was sent, so a create is never duplicated;
//! * [`Credentials`] (bearer token, basic auth) applied to each attempt, and a
//!   [`Signer`] hook run on every attempt (SigV4 signatures carry a timestamp);
//! * errors that name the method, the URL (query string and user info removed), the
//!   status and a bounded snippet of the body — never headers, never credentials
//!   ([`error_from_response`], [`status_kind`]).
//!
//! | status / failure | `ErrorKind` | retried |
//! |---|---|---|
//! | 400, 413, 422, other 4xx | `InvalidArgument` | no |
//! | 401 | `Unauthenticated` | no |
//! | 403 | `PermissionDenied` | no |
//! | 404, 410 | `NotFound` | no |
//! | 405, 501 | `Unsupported` | no |
//! | 409, 412 | `Conflict` | no |
//! | 408, attempt timeout | `Timeout` | idempotent only |
//! | 429 | `RateLimited` | idempotent only |
//! | 502, 503, 504, connection reset / dropped | `Unavailable` | idempotent only |
//! | connect failure (nothing sent) | `Unavailable` | always |
//! | 500, other 5xx | `Backend` | no |
//!
//! ```no_run
//! # async fn demo() -> mlops_core::Result<()> {
//! use std::time::Duration;
//! use mlops_core::Secret;
//! use mlops_core::http::{Credentials, HttpClient, Idempotency, Method, RetryConfig, NO_BODY};
//!
//! let client = HttpClient::builder()
//!     .with_backend("mlflow")
//!     .with_timeout(Duration::from_secs(30))
//!     .with_retry(RetryConfig::default().with_budget(Duration::from_secs(120)))
//!     .with_credentials(Credentials::Bearer(Secret::new("token".to_string())))
//!     .build()?;
//! let experiment: serde_json::Value = client
//!     .send_json(
//!         Method::GET,
//!         "http://127.0.0.1:5000/api/2.0/mlflow/experiments/get?experiment_id=0",
//!         NO_BODY,
//!         Idempotency::Idempotent,
//!     )
//!     .await?;
//! # Ok(()) }
//! ```

mod client;
#[cfg(test)]
mod fault_tests;
#[cfg(any(test, feature = "conformance"))]
pub mod mock_server;
mod retry;
#[cfg(test)]
mod tls_tests;

pub use client::{Classifier, HttpClient, HttpClientBuilder, RequestSpec};
pub use retry::{RetryConfig, parse_retry_after};

/// Re-exports of the HTTP types in our signatures (from `reqwest`, i.e. the `http` crate).
pub use reqwest::{Method, Request, StatusCode, header, header::HeaderMap};

use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;

/// The most bytes of a response body quoted in an error message.
pub const MAX_ERROR_BODY: usize = 512;

/// No request body, for [`HttpClient::send_json`] (`None` needs a type).
pub const NO_BODY: Option<&()> = None;

/// Whether a request may be sent twice.
///
/// A retry after the request may have reached the server is only safe when doing
/// it twice has the effect of doing it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Idempotency {
    /// Safe to repeat: reads, puts of a full state, deletes.
    Idempotent,
    /// Not safe to repeat (creates that allocate a new id): retried only when the
    /// connection failed before anything was sent.
    NotIdempotent,
}

impl Idempotency {
    /// The RFC 9110 default for `method`: `GET`, `HEAD`, `PUT`, `DELETE`, `OPTIONS`
    /// and `TRACE` are idempotent; `POST`, `PATCH` and others are not.
    ///
    /// ```
    /// use mlops_core::http::{Idempotency, Method};
    /// assert_eq!(Idempotency::of_method(&Method::GET), Idempotency::Idempotent);
    /// assert_eq!(Idempotency::of_method(&Method::POST), Idempotency::NotIdempotent);
    /// ```
    pub fn of_method(method: &Method) -> Self {
        match *method {
            Method::GET
            | Method::HEAD
            | Method::PUT
            | Method::DELETE
            | Method::OPTIONS
            | Method::TRACE => Idempotency::Idempotent,
            _ => Idempotency::NotIdempotent,
        }
    }

    /// True for [`Idempotency::Idempotent`].
    pub fn is_idempotent(self) -> bool {
        self == Idempotency::Idempotent
    }
}

/// Credentials applied to each attempt of a request. `Debug` never shows secrets.
///
/// ```
/// use mlops_core::Secret;
/// use mlops_core::http::Credentials;
/// let c = Credentials::Basic { user: "bob".into(), password: Secret::new("hunter2".into()) };
/// assert!(!format!("{c:?}").contains("hunter2"));
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Credentials {
    /// No `Authorization` header (a [`Signer`] may still add one).
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret<String>),
    /// `Authorization: Basic <base64(user:password)>`.
    Basic {
        /// The user name (not secret).
        user: String,
        /// The password.
        password: Secret<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Bearer(_) => f.write_str("Bearer([REDACTED])"),
            Credentials::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .finish_non_exhaustive(),
        }
    }
}

/// A hook run on every attempt, after [`Credentials`] are applied and just before
/// the request is sent: SigV4 signing (the signature covers a timestamp, so each
/// retry is signed anew) or a bearer token fetched from a token provider.
///
/// The request's body is always in memory (`request.body().and_then(|b| b.as_bytes())`).
/// An error from `sign` ends the call at once, without retries.
///
/// ```
/// use mlops_core::http::{Request, Signer, header::HeaderValue};
/// #[derive(Debug)]
/// struct Stamp;
/// #[async_trait::async_trait]
/// impl Signer for Stamp {
///     async fn sign(&self, request: &mut Request) -> mlops_core::Result<()> {
///         request.headers_mut().insert("x-stamp", HeaderValue::from_static("1"));
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Signer: std::fmt::Debug + Send + Sync + 'static {
    /// Adds authentication to `request` (headers, query parameters).
    ///
    /// # Errors
    /// Typically `Unauthenticated` when no credentials can be obtained.
    async fn sign(&self, request: &mut Request) -> Result<()>;
}

/// The [`ErrorKind`] of an HTTP error status (see the table in the [module docs](self)).
///
/// ```
/// use mlops_core::ErrorKind;
/// use mlops_core::http::{status_kind, StatusCode};
/// assert_eq!(status_kind(StatusCode::NOT_FOUND), ErrorKind::NotFound);
/// assert_eq!(status_kind(StatusCode::TOO_MANY_REQUESTS), ErrorKind::RateLimited);
/// assert_eq!(status_kind(StatusCode::SERVICE_UNAVAILABLE), ErrorKind::Unavailable);
/// assert_eq!(status_kind(StatusCode::INTERNAL_SERVER_ERROR), ErrorKind::Backend);
/// ```
pub fn status_kind(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        404 | 410 => ErrorKind::NotFound,
        405 | 501 => ErrorKind::Unsupported,
        408 => ErrorKind::Timeout,
        409 | 412 => ErrorKind::Conflict,
        429 => ErrorKind::RateLimited,
        502..=504 => ErrorKind::Unavailable,
        400..=499 => ErrorKind::InvalidArgument,
        _ => ErrorKind::Backend,
    }
}

/// `url` as shown in errors and logs: without user info, query string and fragment
/// (where tokens and signatures travel).
///
/// ```
/// use mlops_core::http::redact_url;
/// let url = url::Url::parse("https://bob:pw@example.com/a/b?token=s3cr3t#x").unwrap();
/// assert_eq!(redact_url(&url), "https://example.com/a/b");
/// ```
pub fn redact_url(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    // These fail only for URLs that cannot have user info (no host), which then have none.
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// At most `max` bytes of `body` as text, control characters replaced by spaces,
/// with `…` when cut.
pub fn body_snippet(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    for c in text.chars() {
        if out.len() + c.len_utf8() > max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    let trimmed = out.trim();
    if trimmed.is_empty() {
        "(empty body)".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The error for a response with an error `status`: [`Error::Http`] with the kind
/// from [`status_kind`], the redacted URL, a bounded body snippet and, for 429/503,
/// the `Retry-After` wait. Backends with their own error shapes (MLflow's 400
/// `RESOURCE_ALREADY_EXISTS`) inspect the body first and fall back to this.
///
/// ```
/// use mlops_core::ErrorKind;
/// use mlops_core::http::{error_from_response, HeaderMap, Method, StatusCode};
/// let url = url::Url::parse("http://h/api/x?token=abc").unwrap();
/// let e = error_from_response("mlflow", &Method::GET, &url, StatusCode::NOT_FOUND,
///                             &HeaderMap::new(), br#"{"error_code":"RESOURCE_DOES_NOT_EXIST"}"#);
/// assert_eq!(e.kind(), ErrorKind::NotFound);
/// assert_eq!(e.to_string(),
///     r#"mlflow: GET http://h/api/x returned 404: {"error_code":"RESOURCE_DOES_NOT_EXIST"}"#);
/// ```
pub fn error_from_response(
    backend: &str,
    method: &Method,
    url: &url::Url,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Error {
    let retry_after = headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
    Error::Http {
        backend: backend.to_string(),
        kind: status_kind(status),
        method: method.to_string(),
        url: redact_url(url),
        status: status.as_u16(),
        body: body_snippet(body, MAX_ERROR_BODY),
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        let cases = [
            (400, ErrorKind::InvalidArgument),
            (401, ErrorKind::Unauthenticated),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (405, ErrorKind::Unsupported),
            (408, ErrorKind::Timeout),
            (409, ErrorKind::Conflict),
            (412, ErrorKind::Conflict),
            (422, ErrorKind::InvalidArgument),
            (429, ErrorKind::RateLimited),
            (500, ErrorKind::Backend),
            (501, ErrorKind::Unsupported),
            (502, ErrorKind::Unavailable),
            (503, ErrorKind::Unavailable),
            (504, ErrorKind::Unavailable),
            (505, ErrorKind::Backend),
        ];
        for (code, kind) in cases {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(status_kind(status), kind, "{code}");
        }
    }

    #[test]
    fn snippets_are_bounded() {
        let body = "x".repeat(2000);
        let s = body_snippet(body.as_bytes(), MAX_ERROR_BODY);
        assert_eq!(s.len(), MAX_ERROR_BODY + '…'.len_utf8());
        assert!(s.ends_with('…'));
        assert_eq!(body_snippet(b"a\nb\r\n", 100), "a b");
        assert_eq!(body_snippet(b"", 100), "(empty body)");
        // Never cuts inside a multi-byte character.
        assert_eq!(body_snippet("ééé".as_bytes(), 3), "é…");
    }

    #[test]
    fn error_carries_retry_after_and_redacted_url() {
        let url = url::Url::parse("https://u:p@h:8443/x?sig=abc").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "7".parse().unwrap());
        let e = error_from_response(
            "svc",
            &Method::POST,
            &url,
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            b"slow down",
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(7)));
        assert_eq!(
            e.to_string(),
            "svc: POST https://h:8443/x returned 429: slow down"
        );
    }
}
