//! The crate's error type.

use mlops_core::ErrorKind;

/// Errors of mlops-monitor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A side has no values left after dropping nulls, NaN and ±inf (Evidently raises here too).
    #[error("column {column:?}: the {side} sample is empty after dropping nulls, NaN and ±inf")]
    EmptySample {
        /// The column.
        column: String,
        /// `reference` or `current`.
        side: &'static str,
    },
    /// The method cannot be computed on this input (Evidently raises; the message says why).
    #[error("{method}: {reason}")]
    NotApplicable {
        /// Method id.
        method: String,
        /// Why.
        reason: String,
    },
    /// A method or option this crate deliberately does not offer (e.g. `TVD`, `empirical_mmd`).
    #[error("unsupported: {what}: {reason}")]
    Unsupported {
        /// What was asked for.
        what: String,
        /// Why it is not offered.
        reason: String,
    },
    /// Bad input (unknown column, unsupported Arrow type, mismatched lengths, ...).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// Arrow or Parquet failure.
    #[error("data: {0}")]
    Data(String),
    /// An error from mlops-core.
    #[error(transparent)]
    Core(#[from] mlops_core::Error),
}

impl Error {
    /// The portable error kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::EmptySample { .. } | Error::NotApplicable { .. } | Error::Invalid(_) => {
                ErrorKind::InvalidArgument
            }
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::Data(_) => ErrorKind::Backend,
            Error::Core(e) => e.kind(),
        }
    }

    pub(crate) fn na(method: &str, reason: impl Into<String>) -> Self {
        Error::NotApplicable {
            method: method.to_string(),
            reason: reason.into(),
        }
    }
}

impl From<arrow::error::ArrowError> for Error {
    fn from(e: arrow::error::ArrowError) -> Self {
        Error::Data(e.to_string())
    }
}

impl From<parquet::errors::ParquetError> for Error {
    fn from(e: parquet::errors::ParquetError) -> Self {
        Error::Data(e.to_string())
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
