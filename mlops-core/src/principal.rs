//! Who acts ([`Principal`]), what they do ([`Action`]) and on what ([`ResourceRef`]).
//!
//! ```
//! use mlops_core::{Action, Principal, ResourceRef, ResourceKind};
//! let alice = Principal::user("alice").with_roles(["ml-engineer"]);
//! assert!(alice.has_role("ml-engineer"));
//! let r = ResourceRef::new(ResourceKind::Model, "fraud").in_env("production");
//! assert_eq!(r.to_string(), "model:fraud@production");
//! assert_eq!(Action::Promote.to_string(), "promote");
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// What kind of principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PrincipalKind {
    /// A person.
    #[default]
    User,
    /// A machine identity (a CI job, a service).
    ServiceAccount,
    /// A group of principals.
    Group,
}

/// An identity with the roles it claims (or that a policy grants it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Principal {
    /// Stable id, e.g. `alice` or `svc:ci`.
    pub id: String,
    /// What kind of identity.
    #[serde(default)]
    pub kind: PrincipalKind,
    /// Role names.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Groups the principal belongs to.
    #[serde(default)]
    pub groups: Vec<String>,
}

impl Principal {
    /// A user with no roles.
    pub fn user(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind: PrincipalKind::User,
            roles: vec![],
            groups: vec![],
        }
    }

    /// A service account with no roles.
    pub fn service(id: impl Into<String>) -> Self {
        Self {
            kind: PrincipalKind::ServiceAccount,
            ..Self::user(id)
        }
    }

    /// Adds roles.
    pub fn with_roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.roles.extend(roles.into_iter().map(Into::into));
        self
    }

    /// Adds groups.
    pub fn with_groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups.extend(groups.into_iter().map(Into::into));
        self
    }

    /// Whether the principal holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id)
    }
}

/// An action on a resource, as policies and audit events name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Read metadata or data.
    Read,
    /// Create or change.
    Write,
    /// Delete or archive.
    Delete,
    /// Approve a promotion request.
    Approve,
    /// Promote (deploy) to an environment.
    Promote,
    /// Materialize features into an online store.
    Materialize,
    /// Administer (policies, destructive maintenance).
    Admin,
}

impl Action {
    /// Every action, in a stable order.
    pub const ALL: [Action; 7] = [
        Action::Read,
        Action::Write,
        Action::Delete,
        Action::Approve,
        Action::Promote,
        Action::Materialize,
        Action::Admin,
    ];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Delete => "delete",
            Action::Approve => "approve",
            Action::Promote => "promote",
            Action::Materialize => "materialize",
            Action::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Action {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "action",
                    s,
                    "expected one of read, write, delete, approve, promote, materialize, admin",
                )
            })
    }
}

/// The kind of a governed resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResourceKind {
    /// A registered model (and its versions).
    Model,
    /// An experiment (and its runs).
    Experiment,
    /// A feature view.
    FeatureView,
    /// A feature service.
    FeatureService,
    /// An entity definition.
    Entity,
    /// An online store.
    OnlineStore,
    /// A dataset.
    Dataset,
    /// A pipeline.
    Pipeline,
    /// The audit log.
    Audit,
    /// The policy itself.
    Policy,
}

impl ResourceKind {
    /// Every kind, in a stable order.
    pub const ALL: [ResourceKind; 10] = [
        ResourceKind::Model,
        ResourceKind::Experiment,
        ResourceKind::FeatureView,
        ResourceKind::FeatureService,
        ResourceKind::Entity,
        ResourceKind::OnlineStore,
        ResourceKind::Dataset,
        ResourceKind::Pipeline,
        ResourceKind::Audit,
        ResourceKind::Policy,
    ];

    /// The lower-case name used in patterns, e.g. `feature_view`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Model => "model",
            ResourceKind::Experiment => "experiment",
            ResourceKind::FeatureView => "feature_view",
            ResourceKind::FeatureService => "feature_service",
            ResourceKind::Entity => "entity",
            ResourceKind::OnlineStore => "online_store",
            ResourceKind::Dataset => "dataset",
            ResourceKind::Pipeline => "pipeline",
            ResourceKind::Audit => "audit",
            ResourceKind::Policy => "policy",
        }
    }
}

impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ResourceKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ResourceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "resource kind",
                    s,
                    "expected model, experiment, feature_view, feature_service, entity, \
                     online_store, dataset, pipeline, audit or policy",
                )
            })
    }
}

/// A governed resource: `kind:name`, optionally in an environment (`@production`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceRef {
    /// What kind of resource.
    pub kind: ResourceKind,
    /// Its name (a model name, `project/view`, ...).
    pub name: String,
    /// The environment the action targets, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

impl ResourceRef {
    /// A resource outside any environment.
    pub fn new(kind: ResourceKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
            environment: None,
        }
    }

    /// The same resource in environment `env`.
    pub fn in_env(mut self, env: impl Into<String>) -> Self {
        self.environment = Some(env.into());
        self
    }
}

impl std::fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)?;
        if let Some(env) = &self.environment {
            write!(f, "@{env}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ResourceRef {
    type Err = Error;
    /// Parses `kind:name[@env]`.
    fn from_str(s: &str) -> Result<Self> {
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| Error::invalid("resource", s, "expected kind:name[@environment]"))?;
        let (name, env) = match rest.rsplit_once('@') {
            Some((n, e)) => (n, Some(e.to_string())),
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(Error::invalid("resource", s, "the name is empty"));
        }
        Ok(Self {
            kind: kind.parse()?,
            name: name.to_string(),
            environment: env,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_round_trip() {
        let r: ResourceRef = "feature_view:payments/txn@staging".parse().unwrap();
        assert_eq!(r.kind, ResourceKind::FeatureView);
        assert_eq!(r.name, "payments/txn");
        assert_eq!(r.environment.as_deref(), Some("staging"));
        assert_eq!(r.to_string(), "feature_view:payments/txn@staging");
        assert!("nope:x".parse::<ResourceRef>().is_err());
        assert!("model:".parse::<ResourceRef>().is_err());
    }

    #[test]
    fn actions_parse() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), a);
        }
        let e = "deploy".parse::<Action>().unwrap_err();
        assert!(e.to_string().contains("deploy"));
    }
}
