//! The shared error classification ([`ErrorKind`]) and core's own [`Error`].
//!
//! Every crate in the workspace has its own `thiserror` enum, but each maps its
//! cases onto one [`ErrorKind`], so callers (and layers such as retry) decide
//! what to do next without matching on backend details.

use std::time::Duration;

/// A boxed error source kept for `std::error::Error::source` chains.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in the terms a caller acts on.
///
/// The doc on each kind says what the caller does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The target does not exist. Create it, or fix the name/id.
    NotFound,
    /// The target exists already. Read it, or pick another name.
    AlreadyExists,
    /// The input is malformed or out of range. Fix the named value; retrying will not help.
    InvalidArgument,
    /// The request clashes with the current state (a param set to another value, a lost
    /// create race, a stale precondition). Re-read the state and decide again.
    Conflict,
    /// The principal may not do this. Ask for the role, or act as another principal.
    PermissionDenied,
    /// Credentials are missing, malformed or expired. Fix the credential source.
    Unauthenticated,
    /// Stored data does not match its digest or chain. Stop and investigate: data was
    /// corrupted or tampered with.
    Integrity,
    /// The backend cannot do this operation at all. Use another backend or skip it.
    Unsupported,
    /// The service throttled the call. Retry later (after `retry_after` when given).
    RateLimited,
    /// The service is down or unreachable. Retry with backoff.
    Unavailable,
    /// The call did not finish in time. Retry with backoff if the operation is idempotent.
    Timeout,
    /// Any other backend failure. Look at the message; retrying is unlikely to help.
    Backend,
}

impl ErrorKind {
    /// True only for kinds a retry can cure: rate-limited, unavailable and timeout.
    ///
    /// ```
    /// use mlops_core::ErrorKind;
    /// assert!(ErrorKind::Unavailable.is_retryable());
    /// assert!(!ErrorKind::Conflict.is_retryable());
    /// ```
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout
        )
    }

    /// A stable lower-case name, e.g. `"not_found"`, for logs, audit events and exit codes.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Integrity => "integrity",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Backend => "backend",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Core's error: structured fields (what, which id, the bad value), never secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The named entity does not exist.
    #[error("{entity} not found: {id}")]
    NotFound {
        /// What kind of thing, e.g. `"blob"`, `"profile"`.
        entity: String,
        /// Which one.
        id: String,
    },
    /// The named entity exists already.
    #[error("{entity} already exists: {id}")]
    AlreadyExists {
        /// What kind of thing.
        entity: String,
        /// Which one.
        id: String,
    },
    /// A value was rejected.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidArgument {
        /// Which input, e.g. `"model name"`.
        what: String,
        /// The bad value as given.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
    /// The request clashes with stored state.
    #[error("conflict on {entity} {id}: {reason}")]
    Conflict {
        /// What kind of thing.
        entity: String,
        /// Which one.
        id: String,
        /// What clashed.
        reason: String,
    },
    /// The principal may not perform the action on the resource.
    #[error("permission denied: {principal} may not {action} {resource}{}", reason_suffix(.reason))]
    PermissionDenied {
        /// Who asked.
        principal: String,
        /// What they tried.
        action: String,
        /// On what.
        resource: String,
        /// Why not (the deciding rule), if known.
        reason: Option<String>,
    },
    /// Credentials are missing or invalid.
    #[error("unauthenticated for {backend}: {message}")]
    Unauthenticated {
        /// The backend that refused.
        backend: String,
        /// What is wrong with the credentials (never the credential itself).
        message: String,
    },
    /// Stored bytes do not match their digest, or a chain link is broken.
    #[error("integrity check failed for {what}: expected {expected}, got {actual}")]
    Integrity {
        /// What was checked.
        what: String,
        /// The recorded digest.
        expected: String,
        /// The digest of what was read.
        actual: String,
    },
    /// The backend cannot do this operation.
    #[error("{operation} is not supported by {backend}")]
    Unsupported {
        /// The operation.
        operation: String,
        /// The backend.
        backend: String,
    },
    /// Throttled by the service.
    #[error("rate limited by {backend}: {message}")]
    RateLimited {
        /// The backend.
        backend: String,
        /// What it said.
        message: String,
        /// How long it asked us to wait.
        retry_after: Option<Duration>,
    },
    /// The service is unreachable or down.
    #[error("{backend} unavailable: {message}")]
    Unavailable {
        /// The backend.
        backend: String,
        /// What happened.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The operation ran out of time.
    #[error("{operation} timed out after {elapsed:?}")]
    Timeout {
        /// The operation.
        operation: String,
        /// How long it ran.
        elapsed: Duration,
    },
    /// Any other backend failure.
    #[error("{backend} error: {message}")]
    Backend {
        /// The backend.
        backend: String,
        /// What happened.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// A remote service answered an HTTP request with an error status.
    ///
    /// `kind` is the classification of `status` (see `http::status_kind` with the
    /// `http` feature); `url` has its query string and user info removed, and
    /// `body` is a bounded snippet of the response body. Headers are never kept.
    #[error("{backend}: {method} {url} returned {status}: {body}")]
    Http {
        /// The backend that answered.
        backend: String,
        /// The classification of the status.
        kind: ErrorKind,
        /// The request method.
        method: String,
        /// The request URL without query string or user info.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// A bounded snippet of the response body.
        body: String,
        /// How long the service asked us to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },
    /// An object store call failed.
    #[error("object store error at {path}: {source}")]
    Store {
        /// The key involved.
        path: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// A local file operation failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The local path involved.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn reason_suffix(reason: &Option<String>) -> String {
    reason
        .as_ref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default()
}

impl Error {
    /// The classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::InvalidArgument { .. } => ErrorKind::InvalidArgument,
            Error::Conflict { .. } => ErrorKind::Conflict,
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::Unauthenticated { .. } => ErrorKind::Unauthenticated,
            Error::Integrity { .. } => ErrorKind::Integrity,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Unavailable { .. } => ErrorKind::Unavailable,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Backend { .. } => ErrorKind::Backend,
            Error::Http { kind, .. } => *kind,
            Error::Store { source, .. } => store_kind(source),
            Error::Io { source, .. } => io_kind(source),
        }
    }

    /// `NotFound` for `entity` `id`.
    pub fn not_found(entity: impl Into<String>, id: impl Into<String>) -> Self {
        Error::NotFound {
            entity: entity.into(),
            id: id.into(),
        }
    }

    /// `AlreadyExists` for `entity` `id`.
    pub fn already_exists(entity: impl Into<String>, id: impl Into<String>) -> Self {
        Error::AlreadyExists {
            entity: entity.into(),
            id: id.into(),
        }
    }

    /// `InvalidArgument`: `what` had the bad `value`, breaking `reason`.
    pub fn invalid(
        what: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidArgument {
            what: what.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }

    /// `Conflict` on `entity` `id`.
    pub fn conflict(
        entity: impl Into<String>,
        id: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Conflict {
            entity: entity.into(),
            id: id.into(),
            reason: reason.into(),
        }
    }

    /// `Unsupported`: `backend` cannot do `operation`.
    pub fn unsupported(operation: impl Into<String>, backend: impl Into<String>) -> Self {
        Error::Unsupported {
            operation: operation.into(),
            backend: backend.into(),
        }
    }

    /// `Backend` error without a source.
    pub fn backend(backend: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Backend {
            backend: backend.into(),
            message: message.into(),
            source: None,
        }
    }

    /// Wraps an object store error for key `path`.
    pub fn store(path: impl std::fmt::Display, source: object_store::Error) -> Self {
        Error::Store {
            path: path.to_string(),
            source,
        }
    }

    /// Wraps an I/O error on local `path`.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// How long the service asked us to wait, for rate-limit errors.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } | Error::Http { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }
}

/// Maps an object store error onto an [`ErrorKind`].
pub fn store_kind(e: &object_store::Error) -> ErrorKind {
    use object_store::Error as E;
    match e {
        E::NotFound { .. } => ErrorKind::NotFound,
        E::AlreadyExists { .. } => ErrorKind::AlreadyExists,
        E::Precondition { .. } | E::NotModified { .. } => ErrorKind::Conflict,
        E::NotImplemented { .. } | E::NotSupported { .. } => ErrorKind::Unsupported,
        E::InvalidPath { .. } => ErrorKind::InvalidArgument,
        E::PermissionDenied { .. } => ErrorKind::PermissionDenied,
        E::Unauthenticated { .. } => ErrorKind::Unauthenticated,
        E::UnknownConfigurationKey { .. } => ErrorKind::InvalidArgument,
        _ => ErrorKind::Backend,
    }
}

fn io_kind(e: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => ErrorKind::NotFound,
        K::AlreadyExists => ErrorKind::AlreadyExists,
        K::PermissionDenied => ErrorKind::PermissionDenied,
        K::TimedOut => ErrorKind::Timeout,
        K::InvalidInput | K::InvalidData => ErrorKind::InvalidArgument,
        _ => ErrorKind::Backend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_kinds_are_exactly_three() {
        let all = [
            ErrorKind::NotFound,
            ErrorKind::AlreadyExists,
            ErrorKind::InvalidArgument,
            ErrorKind::Conflict,
            ErrorKind::PermissionDenied,
            ErrorKind::Unauthenticated,
            ErrorKind::Integrity,
            ErrorKind::Unsupported,
            ErrorKind::RateLimited,
            ErrorKind::Unavailable,
            ErrorKind::Timeout,
            ErrorKind::Backend,
        ];
        let retryable: Vec<_> = all.iter().filter(|k| k.is_retryable()).collect();
        assert_eq!(
            retryable,
            vec![
                &ErrorKind::RateLimited,
                &ErrorKind::Unavailable,
                &ErrorKind::Timeout
            ]
        );
    }

    #[test]
    fn messages_name_the_bad_value() {
        let e = Error::invalid(
            "model name",
            "bad name!",
            "letters, digits and hyphens only",
        );
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            e.to_string(),
            "invalid model name \"bad name!\": letters, digits and hyphens only"
        );
        let e = Error::PermissionDenied {
            principal: "alice".into(),
            action: "promote".into(),
            resource: "model:fraud".into(),
            reason: Some("no binding".into()),
        };
        assert_eq!(
            e.to_string(),
            "permission denied: alice may not promote model:fraud (no binding)"
        );
    }

    #[test]
    fn store_errors_map_to_kinds() {
        let e = Error::store(
            "a/b",
            object_store::Error::NotFound {
                path: "a/b".into(),
                source: "gone".into(),
            },
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = Error::store(
            "a/b",
            object_store::Error::AlreadyExists {
                path: "a/b".into(),
                source: "there".into(),
            },
        );
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    }
}
