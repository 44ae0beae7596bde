//! The AWS JSON 1.1 wire client for the SageMaker Model Registry operations.
//!
//! Every call is `POST /` with `X-Amz-Target: SageMaker.<Operation>` and
//! `Content-Type: application/x-amz-json-1.1`; the body is the input structure
//! with PascalCase members. Errors are HTTP 4xx/5xx with `{"__type", "message"}`
//! (moto: `Message`; auth failures: an XML `<ErrorResponse>`; unimplemented
//! operations: 500 with an HTML page).

use super::BACKEND;
use mlops_core::http::{
    Classifier, HeaderMap, HttpClient, Idempotency, Method, RequestSpec, StatusCode,
    error_from_response,
};
use mlops_core::{Error, ErrorKind, Result};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// The JSON 1.1 content type.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The operations this backend calls, with their idempotency (creates allocate).
pub const OPERATIONS: &[(&str, Idempotency)] = &[
    ("CreateModelPackageGroup", Idempotency::NotIdempotent),
    ("DescribeModelPackageGroup", Idempotency::Idempotent),
    ("ListModelPackageGroups", Idempotency::Idempotent),
    ("DeleteModelPackageGroup", Idempotency::Idempotent),
    ("CreateModelPackage", Idempotency::NotIdempotent),
    ("DescribeModelPackage", Idempotency::Idempotent),
    ("ListModelPackages", Idempotency::Idempotent),
    ("UpdateModelPackage", Idempotency::Idempotent),
    ("DeleteModelPackage", Idempotency::Idempotent),
    ("AddTags", Idempotency::Idempotent),
    ("ListTags", Idempotency::Idempotent),
    ("DeleteTags", Idempotency::Idempotent),
];

/// A parsed AWS error: the bare type (namespace and `:suffix` removed) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// e.g. `ValidationException`.
    pub code: String,
    /// The service's message.
    pub message: String,
}

/// Parses an AWS error body: JSON `__type` (`aws.protocols#X`, `X:http://..`) with
/// `message`/`Message`, or a query-protocol XML `<Code>`/`<Message>`; falls back to
/// the `x-amzn-ErrorType` header.
pub fn parse_error(headers: &HeaderMap, body: &[u8]) -> Option<AwsError> {
    #[derive(Deserialize)]
    struct Json {
        #[serde(rename = "__type")]
        kind: Option<String>,
        #[serde(alias = "Message")]
        message: Option<String>,
    }
    let clean = |t: &str| {
        let t = t.rsplit('#').next().unwrap_or(t);
        t.split(':').next().unwrap_or(t).trim().to_string()
    };
    let header = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(clean);
    if let Ok(j) = serde_json::from_slice::<Json>(body)
        && let Some(code) = j.kind.as_deref().map(clean).or(header.clone())
    {
        return Some(AwsError {
            code,
            message: j.message.unwrap_or_default(),
        });
    }
    let text = String::from_utf8_lossy(body);
    let tag = |t: &str| {
        let (open, close) = (format!("<{t}>"), format!("</{t}>"));
        let s = text.find(&open)? + open.len();
        let e = text[s..].find(&close)? + s;
        Some(text[s..e].to_string())
    };
    if let Some(code) = tag("Code") {
        return Some(AwsError {
            code,
            message: tag("Message").unwrap_or_default(),
        });
    }
    header.map(|code| AwsError {
        code,
        message: String::new(),
    })
}

/// The [`ErrorKind`] of an AWS error type (and, for SageMaker's catch-all
/// `ValidationException`, of its message: "does not exist"/"not found" → `NotFound`).
pub fn aws_error_kind(status: StatusCode, err: &AwsError) -> ErrorKind {
    let msg = err.message.to_ascii_lowercase();
    match err.code.as_str() {
        "ThrottlingException"
        | "Throttling"
        | "ThrottledException"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => ErrorKind::RateLimited,
        "ServiceUnavailable" | "ServiceUnavailableException" => ErrorKind::Unavailable,
        "InternalFailure" | "InternalServerError" | "InternalServerException" => {
            ErrorKind::Unavailable
        }
        "ResourceNotFound" | "ResourceNotFoundException" => ErrorKind::NotFound,
        "ResourceInUse" | "ConflictException" => ErrorKind::Conflict,
        "AccessDeniedException" | "AccessDenied" => ErrorKind::PermissionDenied,
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "ExpiredTokenException"
        | "ExpiredToken"
        | "MissingAuthenticationToken"
        | "IncompleteSignature" => ErrorKind::Unauthenticated,
        "ValidationException" if msg.contains("does not exist") || msg.contains("not found") => {
            ErrorKind::NotFound
        }
        "ValidationException" if msg.contains("already exists") => ErrorKind::AlreadyExists,
        "ValidationException" | "ResourceLimitExceeded" | "SerializationException" => {
            ErrorKind::InvalidArgument
        }
        _ => mlops_core::http::status_kind(status),
    }
}

/// The client's classifier: SageMaker throttles with `400 ThrottlingException`,
/// which the status alone calls `InvalidArgument`; this makes it `RateLimited`
/// (and so retried within the budget).
pub fn classifier() -> Classifier {
    Arc::new(|status: StatusCode, headers: &HeaderMap, body: &[u8]| {
        if status.is_success() {
            return None;
        }
        let kind = aws_error_kind(status, &parse_error(headers, body)?);
        kind.is_retryable().then_some(kind)
    })
}

/// Sends SageMaker JSON 1.1 calls on the shared HTTP client.
#[derive(Debug, Clone)]
pub struct SageMakerClient {
    http: HttpClient,
    endpoint: String,
}

impl SageMakerClient {
    /// A client for `endpoint` (`https://api.sagemaker.<region>.amazonaws.com/`) on
    /// `http` (which carries the signer and the classifier).
    pub fn new(http: HttpClient, endpoint: String) -> Self {
        Self { http, endpoint }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The request for `op` with `body` (for contract tests and [`Self::call`]).
    ///
    /// # Errors
    /// `InvalidArgument` for a bad endpoint.
    pub fn request(&self, op: &str, body: &serde_json::Value) -> Result<RequestSpec> {
        let idem = OPERATIONS
            .iter()
            .find(|(o, _)| *o == op)
            .map_or(Idempotency::NotIdempotent, |(_, i)| *i);
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::invalid("request body", op, e.to_string()))?;
        RequestSpec::new(Method::POST, &self.endpoint)?
            .with_body(bytes, CONTENT_TYPE)
            .with_header("x-amz-target", &format!("SageMaker.{op}"))
            .map(|s| s.with_idempotency(idem))
    }

    /// Calls `op` and parses the answer.
    ///
    /// # Errors
    /// [`Error::Http`] with the kind from [`aws_error_kind`]; `Unsupported` when the
    /// server does not implement the operation (moto's 500 `NotImplementedError`).
    pub async fn call<T: DeserializeOwned>(&self, op: &str, body: &serde_json::Value) -> Result<T> {
        let spec = self.request(op, body)?;
        let url = spec.url().clone();
        let (status, headers, bytes) = self.http.send_raw(spec).await?;
        if !status.is_success() {
            if status.as_u16() == 500
                && String::from_utf8_lossy(&bytes).contains("has not been implemented")
            {
                return Err(Error::unsupported(op, "sagemaker (this server)"));
            }
            let mut err =
                error_from_response(BACKEND, &Method::POST, &url, status, &headers, &bytes);
            if let (Error::Http { kind, body, .. }, Some(aws)) =
                (&mut err, parse_error(&headers, &bytes))
            {
                *kind = aws_error_kind(status, &aws);
                *body = format!("{op}: {}: {}", aws.code, aws.message);
            }
            return Err(err);
        }
        let raw: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(raw).map_err(|e| {
            Error::backend(
                BACKEND,
                format!(
                    "{op}: unexpected answer ({e}): {}",
                    mlops_core::http::body_snippet(&bytes, 200)
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(n: u16) -> StatusCode {
        StatusCode::from_u16(n).unwrap()
    }

    #[test]
    fn errors_parse_in_every_style() {
        let h = HeaderMap::new();
        let e = parse_error(
            &h,
            br#"{"__type":"com.amazon.coral.validate#ValidationException","message":"ModelPackageGroup x does not exist."}"#,
        )
        .unwrap();
        assert_eq!(e.code, "ValidationException");
        assert_eq!(aws_error_kind(sc(400), &e), ErrorKind::NotFound);
        let e = parse_error(
            &h,
            br#"{"__type":"ValidationException","Message":"bad enum"}"#,
        )
        .unwrap();
        assert_eq!(e.message, "bad enum");
        assert_eq!(aws_error_kind(sc(400), &e), ErrorKind::InvalidArgument);
        let e = parse_error(
            &h,
            br#"{"__type":"ThrottlingException:http://internal","message":"Rate exceeded"}"#,
        )
        .unwrap();
        assert_eq!(aws_error_kind(sc(400), &e), ErrorKind::RateLimited);
        let e = parse_error(&h, br#"{"__type":"ConflictException","message":"x"}"#).unwrap();
        assert_eq!(aws_error_kind(sc(400), &e), ErrorKind::Conflict);
        let e = parse_error(&h, br#"{"__type":"ResourceNotFound","message":"x"}"#).unwrap();
        assert_eq!(aws_error_kind(sc(400), &e), ErrorKind::NotFound);
        let xml = b"<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error></ErrorResponse>";
        let e = parse_error(&h, xml).unwrap();
        assert_eq!(e.code, "SignatureDoesNotMatch");
        assert_eq!(aws_error_kind(sc(403), &e), ErrorKind::Unauthenticated);
        let mut h2 = HeaderMap::new();
        h2.insert(
            "x-amzn-errortype",
            "AccessDeniedException:http://x".parse().unwrap(),
        );
        let e = parse_error(&h2, b"").unwrap();
        assert_eq!(aws_error_kind(sc(400), &e), ErrorKind::PermissionDenied);
        assert!(parse_error(&h, b"<html>oops</html>").is_none());
        let c = classifier();
        assert_eq!(
            c(
                sc(400),
                &h,
                br#"{"__type":"ThrottlingException","message":"slow"}"#
            ),
            Some(ErrorKind::RateLimited)
        );
        assert_eq!(c(sc(400), &h, br#"{"__type":"ValidationException"}"#), None);
    }
}
