//! One Python exception per [`ErrorKind`], all under `mlops.MlopsError`.

use mlops_core::ErrorKind;
use pyo3::prelude::*;
use pyo3::{create_exception, exceptions::PyException};

create_exception!(
    mlops,
    MlopsError,
    PyException,
    "Base class of every mlops error."
);
create_exception!(
    mlops,
    NotFoundError,
    MlopsError,
    "The target does not exist."
);
create_exception!(
    mlops,
    AlreadyExistsError,
    MlopsError,
    "The target exists already."
);
create_exception!(
    mlops,
    InvalidArgumentError,
    MlopsError,
    "The input is malformed or out of range."
);
create_exception!(
    mlops,
    ConflictError,
    MlopsError,
    "The request clashes with the current state."
);
create_exception!(
    mlops,
    PermissionDeniedError,
    MlopsError,
    "The principal may not do this."
);
create_exception!(
    mlops,
    UnauthenticatedError,
    MlopsError,
    "Credentials are missing or expired."
);
create_exception!(
    mlops,
    IntegrityError,
    MlopsError,
    "Stored data does not match its digest or chain."
);
create_exception!(
    mlops,
    UnsupportedError,
    MlopsError,
    "The backend cannot do this operation."
);
create_exception!(
    mlops,
    RateLimitedError,
    MlopsError,
    "The service throttled the call."
);
create_exception!(
    mlops,
    UnavailableError,
    MlopsError,
    "The service is down or unreachable."
);
create_exception!(
    mlops,
    TimeoutError,
    MlopsError,
    "The call did not finish in time."
);
create_exception!(
    mlops,
    BackendError,
    MlopsError,
    "Any other backend failure."
);

/// The exception for a kind and a message.
pub(crate) fn to_py(kind: ErrorKind, message: String) -> PyErr {
    match kind {
        ErrorKind::NotFound => NotFoundError::new_err(message),
        ErrorKind::AlreadyExists => AlreadyExistsError::new_err(message),
        ErrorKind::InvalidArgument => InvalidArgumentError::new_err(message),
        ErrorKind::Conflict => ConflictError::new_err(message),
        ErrorKind::PermissionDenied => PermissionDeniedError::new_err(message),
        ErrorKind::Unauthenticated => UnauthenticatedError::new_err(message),
        ErrorKind::Integrity => IntegrityError::new_err(message),
        ErrorKind::Unsupported => UnsupportedError::new_err(message),
        ErrorKind::RateLimited => RateLimitedError::new_err(message),
        ErrorKind::Unavailable => UnavailableError::new_err(message),
        ErrorKind::Timeout => TimeoutError::new_err(message),
        ErrorKind::Backend => BackendError::new_err(message),
        // A kind added later: the base class still catches it.
        _ => MlopsError::new_err(message),
    }
}

/// Errors of the domain crates that carry a [`ErrorKind`].
pub(crate) trait Kinded: std::fmt::Display {
    /// The portable kind.
    fn error_kind(&self) -> ErrorKind;
}

macro_rules! kinded {
    ($($t:ty),*) => {$(
        impl Kinded for $t {
            fn error_kind(&self) -> ErrorKind {
                self.kind()
            }
        }
    )*};
}
kinded!(
    mlops_core::Error,
    mlops_monitor::Error,
    mlops_tracking::Error,
    mlops_features::Error,
    mlops_registry::Error
);

/// `Result<T, E: Kinded>` → `PyResult<T>`.
pub(crate) trait IntoPyResult<T> {
    /// Maps the error to its exception class.
    fn py(self) -> PyResult<T>;
}

impl<T, E: Kinded> IntoPyResult<T> for Result<T, E> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| to_py(e.error_kind(), e.to_string()))
    }
}

/// An `InvalidArgumentError` from any message.
pub(crate) fn invalid(message: impl std::fmt::Display) -> PyErr {
    InvalidArgumentError::new_err(message.to_string())
}

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("MlopsError", py.get_type::<MlopsError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("AlreadyExistsError", py.get_type::<AlreadyExistsError>())?;
    m.add(
        "InvalidArgumentError",
        py.get_type::<InvalidArgumentError>(),
    )?;
    m.add("ConflictError", py.get_type::<ConflictError>())?;
    m.add(
        "PermissionDeniedError",
        py.get_type::<PermissionDeniedError>(),
    )?;
    m.add(
        "UnauthenticatedError",
        py.get_type::<UnauthenticatedError>(),
    )?;
    m.add("IntegrityError", py.get_type::<IntegrityError>())?;
    m.add("UnsupportedError", py.get_type::<UnsupportedError>())?;
    m.add("RateLimitedError", py.get_type::<RateLimitedError>())?;
    m.add("UnavailableError", py.get_type::<UnavailableError>())?;
    m.add("TimeoutError", py.get_type::<TimeoutError>())?;
    m.add("BackendError", py.get_type::<BackendError>())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_errors_keep_their_kind() {
        let e = mlops_monitor::Error::Invalid("bad".into());
        assert_eq!(e.error_kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.to_string(), "invalid input: bad");
    }
}
