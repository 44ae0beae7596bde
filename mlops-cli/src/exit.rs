//! Exit codes and the CLI's error type.

use std::process::ExitCode;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // variants are used as subcommands land
pub(crate) enum Exit {
    /// 0: everything ran and every check passed.
    Ok,
    /// 1: a check failed (drift, a gate, audit verification).
    CheckFailed,
    /// 2: usage or input error.
    Input,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(code(e))
    }
}

/// The numeric exit code (for logs).
pub(crate) fn code(e: Exit) -> u8 {
    match e {
        Exit::Ok => 0,
        Exit::CheckFailed => 1,
        Exit::Input => 2,
    }
}

/// A user-facing error: a message naming the bad value and a hint, never a stack trace.
#[derive(Debug)]
pub(crate) struct CliError {
    message: String,
    exit: Exit,
}

#[allow(dead_code)] // used as subcommands land
impl CliError {
    /// An input error (exit 2).
    pub(crate) fn input(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit: Exit::Input,
        }
    }

    /// A failed check (exit 1).
    pub(crate) fn check_failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit: Exit::CheckFailed,
        }
    }

    /// Adds a hint on how to fix it.
    pub(crate) fn hint(mut self, hint: impl std::fmt::Display) -> Self {
        self.message = format!("{}\n  hint: {hint}", self.message);
        self
    }

    /// The exit code for this error.
    pub(crate) fn exit(&self) -> Exit {
        self.exit
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<mlops_core::Error> for CliError {
    fn from(e: mlops_core::Error) -> Self {
        Self::input(e.to_string())
    }
}

/// The CLI's result type.
pub(crate) type CliResult<T = Exit> = Result<T, CliError>;

impl From<mlops_registry::Error> for CliError {
    fn from(e: mlops_registry::Error) -> Self {
        use mlops_registry::Error as E;
        match &e {
            E::PromotionBlocked { .. } => Self::check_failed(e.to_string())
                .hint("approve the request, attach passing gate reports (`mlops models gate`), then promote again"),
            E::UnknownEnvironment { .. } => {
                Self::input(e.to_string()).hint("pass one of the configured environments to --env")
            }
            E::ModelNotFound { .. } => {
                Self::input(e.to_string()).hint("`mlops models list` shows the registered models")
            }
            E::VersionNotFound { .. } => {
                Self::input(e.to_string()).hint("`mlops models show MODEL` lists its versions")
            }
            E::RequestNotFound { .. } => Self::input(e.to_string())
                .hint("`mlops models show MODEL --version N` lists the version's requests"),
            E::SelfApproval { .. } | E::MissingRole { .. } => Self::input(e.to_string())
                .hint("run as another principal: --as user:NAME[:ROLE,...] or MLOPS_PRINCIPAL"),
            _ => {
                use mlops_core::ErrorKind as K;
                match e.kind() {
                    K::Unavailable | K::Timeout | K::RateLimited => Self::input(e.to_string())
                        .hint("the registry did not answer: check --registry-uri / the profile's `registry` and that the service is up"),
                    K::Unauthenticated | K::PermissionDenied => Self::input(e.to_string())
                        .hint("check the registry's credentials (MLFLOW_TRACKING_TOKEN, AWS_*, GOOGLE_APPLICATION_CREDENTIALS) or the profile's `credentials`"),
                    _ => Self::input(e.to_string()),
                }
            }
        }
    }
}
