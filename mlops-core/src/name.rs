//! Validated names, in one place.
//!
//! Each kind of name has one rule, written once here, so every backend and
//! every face (CLI, Python) refuses the same inputs with the same message.
//!
//! * **Model names** follow the portable rule that MLflow, SageMaker and Vertex AI
//!   all accept — SageMaker's `ModelPackageGroupName` pattern
//!   `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`: letters, digits and hyphens, starting
//!   and ending alphanumeric, at most 63 characters — so any model can be promoted
//!   to any backend.
//! * **Experiment names**: 1–500 characters, no control characters, no leading or
//!   trailing whitespace (MLflow stores up to 500).
//! * **Keys** of params, metrics and tags: MLflow's rule — 1–250 characters of
//!   letters, digits, `_ - . /` and space, and not a path that climbs (`..`) or is
//!   absolute.
//! * **Aliases**: the rule Vertex AI and MLflow both accept — a lower-case letter,
//!   then lower-case letters, digits and hyphens, ending alphanumeric, at most 63
//!   characters; not `latest` and not `v<digits>` (MLflow reserves both).
//! * **Feature store names** (entities, feature views, feature services, features):
//!   identifiers `^[A-Za-z_][A-Za-z0-9_]{0,127}$`, as Feast uses them in SQL.
//! * **Environment names**: `^[a-z][a-z0-9_-]{0,31}$` (`production`, `qa`, `dev-eu`).
//!
//! ```
//! use mlops_core::name::{validate, NameKind, ModelName};
//! assert!(validate(NameKind::Model, "fraud-detector-2").is_ok());
//! let err = validate(NameKind::Model, "fraud_detector").unwrap_err();
//! assert!(err.to_string().contains("fraud_detector"));
//! let name: ModelName = "churn".parse().unwrap();
//! assert_eq!(name.as_str(), "churn");
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which naming rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameKind {
    /// A registered model (portable rule).
    Model,
    /// An experiment.
    Experiment,
    /// A param key.
    ParamKey,
    /// A metric key.
    MetricKey,
    /// A tag key.
    TagKey,
    /// A model version alias.
    Alias,
    /// A feature store entity.
    Entity,
    /// A feature view.
    FeatureView,
    /// A feature service.
    FeatureService,
    /// A feature (column) inside a view.
    Feature,
    /// A deployment environment.
    Environment,
}

impl NameKind {
    /// The human name used in error messages, e.g. `"model name"`.
    pub fn describe(self) -> &'static str {
        match self {
            NameKind::Model => "model name",
            NameKind::Experiment => "experiment name",
            NameKind::ParamKey => "param key",
            NameKind::MetricKey => "metric key",
            NameKind::TagKey => "tag key",
            NameKind::Alias => "alias",
            NameKind::Entity => "entity name",
            NameKind::FeatureView => "feature view name",
            NameKind::FeatureService => "feature service name",
            NameKind::Feature => "feature name",
            NameKind::Environment => "environment name",
        }
    }

    /// The rule, in words, as error messages state it.
    pub fn rule(self) -> &'static str {
        match self {
            NameKind::Model => {
                "1-63 letters, digits and hyphens, starting and ending with a letter or digit \
                 (the rule MLflow, SageMaker and Vertex AI all accept)"
            }
            NameKind::Experiment => {
                "1-500 characters without control characters or surrounding whitespace"
            }
            NameKind::ParamKey | NameKind::MetricKey | NameKind::TagKey => {
                "1-250 letters, digits, '_', '-', '.', '/' or spaces, not absolute and without '..'"
            }
            NameKind::Alias => {
                "1-63 lower-case letters, digits and hyphens, starting with a letter and ending \
                 with a letter or digit; not 'latest' or 'v<number>'"
            }
            NameKind::Entity
            | NameKind::FeatureView
            | NameKind::FeatureService
            | NameKind::Feature => {
                "1-128 letters, digits and underscores, not starting with a digit"
            }
            NameKind::Environment => {
                "1-32 lower-case letters, digits, '_' or '-', starting with a letter"
            }
        }
    }
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn check(kind: NameKind, s: &str) -> bool {
    let n = s.chars().count();
    match kind {
        NameKind::Model => {
            (1..=63).contains(&n)
                && s.chars().all(|c| is_alnum(c) || c == '-')
                && s.starts_with(is_alnum)
                && s.ends_with(is_alnum)
        }
        NameKind::Experiment => {
            (1..=500).contains(&n) && !s.chars().any(char::is_control) && s.trim() == s
        }
        NameKind::ParamKey | NameKind::MetricKey | NameKind::TagKey => {
            (1..=250).contains(&n)
                && s.chars()
                    .all(|c| is_alnum(c) || matches!(c, '_' | '-' | '.' | '/' | ' '))
                && !s.starts_with('/')
                && !s.split('/').any(|seg| seg == "..")
        }
        NameKind::Alias => {
            (1..=63).contains(&n)
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && s != "latest"
                && !(s.len() > 1
                    && s.starts_with('v')
                    && s[1..].chars().all(|c| c.is_ascii_digit()))
        }
        NameKind::Entity | NameKind::FeatureView | NameKind::FeatureService | NameKind::Feature => {
            (1..=128).contains(&n)
                && s.chars().all(|c| is_alnum(c) || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit())
        }
        NameKind::Environment => {
            (1..=32).contains(&n)
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
                && s.starts_with(|c: char| c.is_ascii_lowercase())
        }
    }
}

/// Checks `value` against the rule for `kind`.
///
/// # Errors
/// `InvalidArgument` naming the kind, the value and the rule.
pub fn validate(kind: NameKind, value: &str) -> Result<()> {
    if check(kind, value) {
        Ok(())
    } else {
        Err(Error::invalid(kind.describe(), value, kind.rule()))
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            /// Validates and wraps `value`.
            ///
            /// # Errors
            /// `InvalidArgument` naming the value and the rule.
            pub fn new(value: impl Into<String>) -> Result<Self> {
                let value = value.into();
                validate($kind, &value)?;
                Ok(Self(value))
            }

            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = Error;
            fn try_from(s: String) -> Result<Self> {
                Self::new(s)
            }
        }

        impl From<$ty> for String {
            fn from(n: $ty) -> String {
                n.0
            }
        }
    };
}

name_type!(
    /// A registered model's name, checked against the portable rule.
    ModelName,
    NameKind::Model
);
name_type!(
    /// An alias on a model version (e.g. `production`, `champion`).
    Alias,
    NameKind::Alias
);
name_type!(
    /// A deployment environment (e.g. `staging`).
    EnvName,
    NameKind::Environment
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_follow_the_portable_rule() {
        for ok in ["a", "fraud", "fraud-v2", "A1", &"x".repeat(63), "a--b"] {
            assert!(validate(NameKind::Model, ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a_b", "a b", "a.b", &"x".repeat(64), "ünï"] {
            let e = validate(NameKind::Model, bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{bad}");
            assert!(e.to_string().contains("model name"));
        }
    }

    #[test]
    fn keys_follow_mlflow() {
        assert!(validate(NameKind::MetricKey, "train/loss 1.x-y_z").is_ok());
        for bad in ["", "/abs", "a/../b", "..", "a\0b", "a:b", &"k".repeat(251)] {
            assert!(validate(NameKind::ParamKey, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn aliases() {
        for ok in ["production", "champion-2", "v", "vx1"] {
            assert!(validate(NameKind::Alias, ok).is_ok(), "{ok}");
        }
        for bad in ["latest", "v1", "v123", "Prod", "1st", "a-", ""] {
            assert!(validate(NameKind::Alias, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn feature_names_and_envs() {
        assert!(validate(NameKind::FeatureView, "driver_stats").is_ok());
        assert!(validate(NameKind::FeatureView, "1x").is_err());
        assert!(validate(NameKind::FeatureView, "a-b").is_err());
        assert!(validate(NameKind::Environment, "dev-eu").is_ok());
        assert!(validate(NameKind::Environment, "Prod").is_err());
        assert!(validate(NameKind::Experiment, " padded").is_err());
        assert!(validate(NameKind::Experiment, "My experiment: 1").is_ok());
    }

    #[test]
    fn serde_validates() {
        let n: ModelName = serde_json::from_str("\"churn\"").unwrap();
        assert_eq!(n.as_str(), "churn");
        assert!(serde_json::from_str::<ModelName>("\"bad name\"").is_err());
    }
}
