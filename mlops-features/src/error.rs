//! The crate's error type.

use mlops_core::ErrorKind;

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the feature store.
///
/// Each case names the bad thing (view, feature, column, entity) so the caller can fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The entity rows lack a column the request needs (a join key or the timestamp).
    #[error("entity rows have no {role} column {column:?}")]
    MissingEntityColumn {
        /// The missing column.
        column: String,
        /// What it is for: `"join key"` or `"timestamp"`.
        role: &'static str,
    },
    /// A feature reference names a view that is not defined (or not given).
    #[error("unknown feature view {view:?}")]
    UnknownView {
        /// The view name as given.
        view: String,
    },
    /// A feature reference names a feature the view does not have.
    #[error("feature view {view:?} has no feature {feature:?}")]
    UnknownFeature {
        /// The view.
        view: String,
        /// The feature name as given.
        feature: String,
    },
    /// A definition refers to an entity that is not defined.
    #[error("feature view {view:?} refers to unknown entity {entity:?}")]
    UnknownEntity {
        /// The view.
        view: String,
        /// The entity name as given.
        entity: String,
    },
    /// A feature service refers to something that is not defined.
    #[error("feature service {service:?}: {reason}")]
    InvalidService {
        /// The service.
        service: String,
        /// What is wrong.
        reason: String,
    },
    /// A source's schema does not match what the definition (or request) needs.
    #[error("source of feature view {view:?} ({location}): column {column:?} {reason}")]
    SchemaMismatch {
        /// The view.
        view: String,
        /// The source file or prefix.
        location: String,
        /// The offending column.
        column: String,
        /// What is wrong with it: missing, wrong type, ...
        reason: String,
    },
    /// A column has a type the engine cannot use for its role.
    #[error("column {column:?} has type {data_type} which cannot be used as {role}")]
    UnsupportedType {
        /// The column.
        column: String,
        /// Its Arrow type.
        data_type: String,
        /// Its role, e.g. `"a timestamp"`.
        role: &'static str,
    },
    /// A malformed feature reference, option, definition or YAML document.
    #[error("invalid {what} {value:?}: {reason}")]
    Invalid {
        /// Which input.
        what: &'static str,
        /// The bad value.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
    /// Two requested features would get the same output column name.
    #[error("feature name collision on {name:?}: use full feature names")]
    NameCollision {
        /// The colliding column name.
        name: String,
    },
    /// Arrow failed on a computation.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A Parquet file could not be read or written.
    #[error("parquet {location}: {source}")]
    Parquet {
        /// The file.
        location: String,
        /// The cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// An online store backend failed.
    #[error("online store {backend}: {message}")]
    Online {
        /// The backend, e.g. `"embedded"`.
        backend: &'static str,
        /// What failed (never a credential).
        message: String,
        /// How to classify it.
        kind: ErrorKind,
    },
    /// A core error (storage, names, ...).
    #[error(transparent)]
    Core(#[from] mlops_core::Error),
}

impl Error {
    /// The shared classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::MissingEntityColumn { .. }
            | Error::SchemaMismatch { .. }
            | Error::UnsupportedType { .. }
            | Error::Invalid { .. }
            | Error::NameCollision { .. }
            | Error::UnknownEntity { .. }
            | Error::InvalidService { .. } => ErrorKind::InvalidArgument,
            Error::UnknownView { .. } | Error::UnknownFeature { .. } => ErrorKind::NotFound,
            Error::Arrow(_) | Error::Parquet { .. } => ErrorKind::Backend,
            Error::Online { kind, .. } => *kind,
            Error::Core(e) => e.kind(),
        }
    }

    pub(crate) fn invalid(
        what: &'static str,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            what,
            value: value.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn parquet(
        location: impl Into<String>,
        source: parquet::errors::ParquetError,
    ) -> Self {
        Error::Parquet {
            location: location.into(),
            source,
        }
    }
}
