//! The crate's error: structured cases plus core's errors, each with an [`ErrorKind`].

use mlops_core::ErrorKind;
use std::time::Duration;

/// mlops-tracking's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in mlops-tracking.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A search filter or `order_by` clause did not parse.
    #[error("invalid {what} at column {column}: {message}\n  {input}\n  {caret}", caret = caret(*.column))]
    Parse {
        /// `"filter"` or `"order_by"`.
        what: &'static str,
        /// The text as given.
        input: String,
        /// 1-based column of the offending character.
        column: usize,
        /// What was expected.
        message: String,
    },
    /// A key or value is longer than the limit.
    #[error("{what} {key:?} is {len} characters long; the limit is {max}")]
    TooLong {
        /// E.g. `"param key"`, `"tag value of key"`.
        what: String,
        /// The key (shortened for the message).
        key: String,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A param was logged again with a different value.
    #[error("param {key:?} of run {run_id} is already {old:?}; refusing to change it to {new:?}")]
    ParamChanged {
        /// The run.
        run_id: String,
        /// The param key.
        key: String,
        /// The stored value.
        old: String,
        /// The refused value.
        new: String,
    },
    /// The run (or its experiment) is deleted: logging is refused.
    #[error("run {run_id} is not active (deleted); restore it before logging")]
    RunNotActive {
        /// The run.
        run_id: String,
    },
    /// The backend refused (part of) a batch the [`RunLogger`](crate::RunLogger) sent.
    #[error("backend refused {refused} for run {run_id}: {source}")]
    Refused {
        /// The run.
        run_id: String,
        /// What was refused, e.g. `"1000 metric points (keys: loss, acc), 2 params (lr)"`.
        refused: String,
        /// The backend's error.
        #[source]
        source: Box<Error>,
    },
    /// The [`RunLogger`](crate::RunLogger)'s queue stayed full longer than its timeout.
    #[error(
        "run logger queue for run {run_id} stayed full for {waited:?}; the point was not logged"
    )]
    QueueFull {
        /// The run.
        run_id: String,
        /// How long the caller waited.
        waited: Duration,
    },
    /// The [`RunLogger`](crate::RunLogger) is closed (or its worker stopped).
    #[error("run logger for run {run_id} is closed")]
    LoggerClosed {
        /// The run.
        run_id: String,
    },
    /// An error from mlops-core (not found, already exists, storage, HTTP...).
    #[error(transparent)]
    Core(#[from] mlops_core::Error),
}

fn caret(column: usize) -> String {
    format!("{}^", " ".repeat(column.saturating_sub(1)))
}

impl Error {
    /// The classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Parse { .. } | Error::TooLong { .. } => ErrorKind::InvalidArgument,
            Error::ParamChanged { .. } | Error::RunNotActive { .. } => ErrorKind::Conflict,
            Error::Refused { source, .. } => source.kind(),
            Error::QueueFull { .. } => ErrorKind::Timeout,
            Error::LoggerClosed { .. } => ErrorKind::Backend,
            Error::Core(e) => e.kind(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_points_with_a_caret() {
        let e = Error::Parse {
            what: "filter",
            input: "metrics.x <> 1".into(),
            column: 11,
            message: "expected a comparison operator".into(),
        };
        let s = e.to_string();
        assert!(s.contains("column 11"), "{s}");
        assert!(s.ends_with("\n  metrics.x <> 1\n            ^"), "{s:?}");
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn kinds() {
        let e = Error::ParamChanged {
            run_id: "r".into(),
            key: "lr".into(),
            old: "0.1".into(),
            new: "0.2".into(),
        };
        assert_eq!(e.kind(), ErrorKind::Conflict);
        let s = e.to_string();
        assert!(s.contains("lr") && s.contains("0.1") && s.contains("0.2"));
        let r = Error::Refused {
            run_id: "r".into(),
            refused: "1 param (lr)".into(),
            source: Box::new(e),
        };
        assert_eq!(r.kind(), ErrorKind::Conflict);
    }
}
