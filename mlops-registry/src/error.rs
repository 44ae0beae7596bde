//! The registry's error type: one `thiserror` enum, each case mapped onto an
//! [`ErrorKind`] so callers (and layers such as retry) decide what to do next.

use mlops_core::ErrorKind;

/// The registry's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the registry and the promotion workflow can refuse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The registered model does not exist.
    #[error("registered model not found: {model}")]
    ModelNotFound {
        /// The model name.
        model: String,
    },
    /// A registered model with this name exists already.
    #[error("registered model already exists: {model}")]
    ModelExists {
        /// The model name.
        model: String,
    },
    /// The model has no such version (never created, or deleted).
    #[error("model {model} has no version {version}")]
    VersionNotFound {
        /// The model name.
        model: String,
        /// The version asked for.
        version: u64,
    },
    /// The model has no such alias.
    #[error("model {model} has no alias {alias}")]
    AliasNotFound {
        /// The model name.
        model: String,
        /// The alias asked for.
        alias: String,
    },
    /// The version has no artifact at this path.
    #[error("model {model} version {version} has no artifact {path}")]
    ArtifactNotFound {
        /// The model name.
        model: String,
        /// The version.
        version: u64,
        /// The artifact path asked for.
        path: String,
    },
    /// The environment is not configured.
    #[error("unknown environment {environment}; configured: {known}")]
    UnknownEnvironment {
        /// The environment asked for.
        environment: String,
        /// The configured environments, in order, comma-separated.
        known: String,
    },
    /// The promotion request does not exist.
    #[error("promotion request {request} not found for model {model} version {version}")]
    RequestNotFound {
        /// The model name.
        model: String,
        /// The version.
        version: u64,
        /// The request id.
        request: u64,
    },
    /// The promotion request was already promoted or rejected.
    #[error("promotion request {request} for model {model} version {version} is closed: {state}")]
    RequestClosed {
        /// The model name.
        model: String,
        /// The version.
        version: u64,
        /// The request id.
        request: u64,
        /// `promoted` or `rejected by <who>`.
        state: String,
    },
    /// The requester tried to approve their own request (four-eyes rule).
    #[error(
        "self-approval refused: {principal} requested the promotion of {model} version {version} \
         to {environment} and may not approve it (four-eyes rule)"
    )]
    SelfApproval {
        /// Who tried.
        principal: String,
        /// The model name.
        model: String,
        /// The version.
        version: u64,
        /// The target environment.
        environment: String,
    },
    /// The approver holds none of the roles the environment's policy requires.
    #[error(
        "{principal} may not approve promotions to {environment}: needs one of the roles [{}], has [{}]",
        .required.join(", "), .held.join(", ")
    )]
    MissingRole {
        /// Who tried.
        principal: String,
        /// The target environment.
        environment: String,
        /// The roles the policy accepts (any one suffices).
        required: Vec<String>,
        /// The roles the authorizer granted.
        held: Vec<String>,
    },
    /// The promotion was refused; `unmet` lists **every** requirement not met.
    #[error(
        "promotion of {model} version {version} to {environment} refused; unmet requirements: {}",
        join_unmet(.unmet)
    )]
    PromotionBlocked {
        /// The model name.
        model: String,
        /// The version.
        version: u64,
        /// The target environment.
        environment: String,
        /// Every requirement not met, in policy order.
        unmet: Vec<Unmet>,
    },
    /// An error from mlops-core (storage, names, integrity, unsupported, ...).
    #[error(transparent)]
    Core(#[from] mlops_core::Error),
}

fn join_unmet(unmet: &[Unmet]) -> String {
    unmet
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One requirement a promotion did not meet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unmet {
    /// Too few approvals from distinct eligible principals.
    Approvals {
        /// Eligible approvals recorded.
        have: u32,
        /// Approvals the policy requires.
        need: u32,
    },
    /// A required gate has no report attached.
    GateMissing {
        /// The gate's check name.
        gate: String,
    },
    /// A required gate reported a failure.
    GateFailed {
        /// The gate's check name.
        gate: String,
        /// Its details, if any.
        details: Option<String>,
    },
    /// The request was rejected.
    Rejected {
        /// Who rejected it.
        by: String,
        /// Why.
        reason: String,
    },
    /// The version was never deployed to the preceding environment.
    PreviousEnvironment {
        /// The environment the version must have passed through.
        environment: String,
    },
    /// The version is not in a deployable state (archived).
    NotReady {
        /// The version's status.
        status: String,
    },
}

impl std::fmt::Display for Unmet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unmet::Approvals { have, need } => {
                write!(f, "approvals: {have} of {need} required")
            }
            Unmet::GateMissing { gate } => write!(f, "gate {gate}: no report attached"),
            Unmet::GateFailed { gate, details } => match details {
                Some(d) => write!(f, "gate {gate}: failed ({d})"),
                None => write!(f, "gate {gate}: failed"),
            },
            Unmet::Rejected { by, reason } => write!(f, "rejected by {by}: {reason}"),
            Unmet::PreviousEnvironment { environment } => {
                write!(f, "not yet deployed to {environment}")
            }
            Unmet::NotReady { status } => write!(f, "version status is {status}"),
        }
    }
}

impl Error {
    /// The classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::ModelNotFound { .. }
            | Error::VersionNotFound { .. }
            | Error::AliasNotFound { .. }
            | Error::ArtifactNotFound { .. }
            | Error::RequestNotFound { .. } => ErrorKind::NotFound,
            Error::ModelExists { .. } => ErrorKind::AlreadyExists,
            Error::UnknownEnvironment { .. } => ErrorKind::InvalidArgument,
            Error::RequestClosed { .. } | Error::PromotionBlocked { .. } => ErrorKind::Conflict,
            Error::SelfApproval { .. } | Error::MissingRole { .. } => ErrorKind::PermissionDenied,
            Error::Core(e) => e.kind(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_lists_every_requirement() {
        let e = Error::PromotionBlocked {
            model: "fraud".into(),
            version: 3,
            environment: "production".into(),
            unmet: vec![
                Unmet::Approvals { have: 1, need: 2 },
                Unmet::GateFailed {
                    gate: "drift".into(),
                    details: Some("psi 0.3 >= 0.1".into()),
                },
            ],
        };
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(
            e.to_string(),
            "promotion of fraud version 3 to production refused; unmet requirements: \
             approvals: 1 of 2 required; gate drift: failed (psi 0.3 >= 0.1)"
        );
    }

    #[test]
    fn core_errors_keep_their_kind() {
        let e: Error = mlops_core::Error::unsupported("delete_version", "x").into();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }
}
