//! Ordered deployment environments and their promotion policies.
//!
//! A plain config; `mlops_core::profile` (`mlops.toml`) builds one of these
//! through [`Environments::new`] — this module stays a thin adapter.

use crate::error::{Error, Result};
use mlops_core::name::{Alias, EnvName};
use serde::{Deserialize, Serialize};

/// What a version must satisfy before it is deployed to an environment.
///
/// The default needs nothing; the requester may not approve (four eyes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnvironmentPolicy {
    /// Approvals needed, each from a distinct principal.
    pub approvals: u32,
    /// Roles an approver must hold (any one of them); empty = any principal.
    pub approver_roles: Vec<String>,
    /// Whether the requester may approve their own request (default: no — four eyes).
    pub requester_may_approve: bool,
    /// Gate checks (`GateReport::check` names) that must have passed.
    pub required_gates: Vec<String>,
    /// Whether the version must have been deployed to the preceding environment.
    pub require_previous: bool,
}

impl EnvironmentPolicy {
    /// Needs `n` approvals.
    pub fn with_approvals(mut self, n: u32) -> Self {
        self.approvals = n;
        self
    }

    /// Approvers must hold one of `roles`.
    pub fn with_approver_roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.approver_roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Requires a passing report from each of `gates`.
    pub fn with_required_gates<I, S>(mut self, gates: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_gates = gates.into_iter().map(Into::into).collect();
        self
    }

    /// Lets (or forbids) the requester approve.
    pub fn with_requester_may_approve(mut self, yes: bool) -> Self {
        self.requester_may_approve = yes;
        self
    }

    /// Requires (or not) a prior deployment to the preceding environment.
    pub fn with_require_previous(mut self, yes: bool) -> Self {
        self.require_previous = yes;
        self
    }
}

/// Serving autoscaling for an environment (exported to KServe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Autoscaling {
    /// Minimum replicas; `0` scales to zero when idle.
    pub min_replicas: u32,
    /// Maximum replicas.
    pub max_replicas: u32,
    /// Target concurrent requests per replica.
    pub target_concurrency: u32,
}

impl Default for Autoscaling {
    fn default() -> Self {
        Self {
            min_replicas: 1,
            max_replicas: 3,
            target_concurrency: 10,
        }
    }
}

/// One environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    /// Its name; also the alias naming the deployed version.
    pub name: EnvName,
    /// Its promotion policy.
    #[serde(default)]
    pub policy: EnvironmentPolicy,
    /// Its serving autoscaling.
    #[serde(default)]
    pub autoscaling: Autoscaling,
    /// The Kubernetes namespace its manifests target (default: the environment name).
    #[serde(default)]
    pub namespace: Option<String>,
}

impl Environment {
    /// An environment with the default policy and autoscaling.
    ///
    /// # Errors
    /// `InvalidArgument` if `name` is not a valid environment name and alias.
    pub fn new(name: &str) -> Result<Self> {
        let name: EnvName = name.parse()?;
        Alias::new(name.as_str())?;
        Ok(Self {
            name,
            policy: EnvironmentPolicy::default(),
            autoscaling: Autoscaling::default(),
            namespace: None,
        })
    }

    /// Sets the policy.
    pub fn with_policy(mut self, p: EnvironmentPolicy) -> Self {
        self.policy = p;
        self
    }

    /// Sets the autoscaling.
    pub fn with_autoscaling(mut self, a: Autoscaling) -> Self {
        self.autoscaling = a;
        self
    }

    /// Sets the Kubernetes namespace.
    pub fn with_namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = Some(ns.into());
        self
    }

    /// The alias naming the version deployed here (the environment's name).
    ///
    /// # Errors
    /// `InvalidArgument` for a name that is not also an alias (only possible for
    /// an `Environment` built field by field; [`Environments::new`] rejects it).
    pub fn alias(&self) -> Result<Alias> {
        Ok(Alias::new(self.name.as_str())?)
    }
}

/// The ordered environments a version moves through.
///
/// ```
/// use mlops_registry::promotion::Environments;
/// let envs = Environments::default();
/// let names: Vec<_> = envs.iter().map(|e| e.name.as_str()).collect();
/// assert_eq!(names, ["development", "qa", "staging", "production"]);
/// assert_eq!(envs.get("production").unwrap().policy.approvals, 2);
/// assert!(envs.get("prod").unwrap_err().to_string().contains("development, qa"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Environment>", into = "Vec<Environment>")]
pub struct Environments {
    envs: Vec<Environment>,
}

impl TryFrom<Vec<Environment>> for Environments {
    type Error = Error;
    fn try_from(v: Vec<Environment>) -> Result<Self> {
        Self::new(v)
    }
}

impl From<Environments> for Vec<Environment> {
    fn from(e: Environments) -> Self {
        e.envs
    }
}

impl Default for Environments {
    /// development → qa → staging → production. Development needs nothing; qa one
    /// approval; staging two; production two from `release-manager`s, after staging.
    fn default() -> Self {
        let env = |n: &str, p: EnvironmentPolicy, a: Autoscaling| Environment {
            // Proof: literal names below satisfy both the environment and alias rules.
            #[allow(clippy::unwrap_used)]
            name: n.parse().unwrap(),
            policy: p,
            autoscaling: a,
            namespace: None,
        };
        let scale = |min, max| Autoscaling {
            min_replicas: min,
            max_replicas: max,
            target_concurrency: 10,
        };
        Self {
            envs: vec![
                env("development", EnvironmentPolicy::default(), scale(0, 1)),
                env(
                    "qa",
                    EnvironmentPolicy::default().with_approvals(1),
                    scale(0, 2),
                ),
                env(
                    "staging",
                    EnvironmentPolicy::default().with_approvals(2),
                    scale(1, 3),
                ),
                env(
                    "production",
                    EnvironmentPolicy::default()
                        .with_approvals(2)
                        .with_approver_roles(["release-manager"])
                        .with_require_previous(true),
                    scale(2, 10),
                ),
            ],
        }
    }
}

impl Environments {
    /// Environments in promotion order.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty list, a duplicate name, a name that is not
    /// also a valid alias, or `min_replicas > max_replicas`.
    pub fn new(envs: Vec<Environment>) -> Result<Self> {
        if envs.is_empty() {
            return Err(
                mlops_core::Error::invalid("environments", "[]", "at least one is needed").into(),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for e in &envs {
            Alias::new(e.name.as_str())?;
            if !seen.insert(e.name.as_str()) {
                return Err(mlops_core::Error::invalid(
                    "environment",
                    e.name.as_str(),
                    "listed twice",
                )
                .into());
            }
            if e.autoscaling.min_replicas > e.autoscaling.max_replicas
                || e.autoscaling.max_replicas == 0
            {
                return Err(mlops_core::Error::invalid(
                    "autoscaling",
                    format!(
                        "{}: {}..{}",
                        e.name, e.autoscaling.min_replicas, e.autoscaling.max_replicas
                    ),
                    "need 0 <= min_replicas <= max_replicas and max_replicas >= 1",
                )
                .into());
            }
        }
        Ok(Self { envs })
    }

    /// In order.
    pub fn iter(&self) -> impl Iterator<Item = &Environment> {
        self.envs.iter()
    }

    /// By name.
    ///
    /// # Errors
    /// `UnknownEnvironment` listing the configured ones.
    pub fn get(&self, name: &str) -> Result<&Environment> {
        self.envs
            .iter()
            .find(|e| e.name.as_str() == name)
            .ok_or_else(|| Error::UnknownEnvironment {
                environment: name.to_string(),
                known: self
                    .envs
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The environment before `name`, if any.
    ///
    /// # Errors
    /// `UnknownEnvironment`.
    pub fn previous(&self, name: &str) -> Result<Option<&Environment>> {
        self.get(name)?;
        let i = self.envs.iter().position(|e| e.name.as_str() == name);
        Ok(i.and_then(|i| i.checked_sub(1)).map(|j| &self.envs[j]))
    }

    /// Replaces the policy of `name`.
    ///
    /// # Errors
    /// `UnknownEnvironment`.
    pub fn with_policy(mut self, name: &str, policy: EnvironmentPolicy) -> Result<Self> {
        self.get(name)?;
        for e in &mut self.envs {
            if e.name.as_str() == name {
                e.policy = policy.clone();
            }
        }
        Ok(self)
    }

    /// The environments of a profile (`mlops.toml`), in its promotion order, with its
    /// autoscaling. Policies come from the defaults for environments the default set
    /// knows (qa: one approval; staging: two; production: two release managers after
    /// staging) and need nothing elsewhere; refine them with [`Environments::with_policy`].
    ///
    /// ```
    /// use mlops_core::profile::Profile;
    /// use mlops_registry::promotion::Environments;
    /// let profile = Profile::from_toml_str(r#"
    /// promotion_order = ["dev", "production"]
    /// [environments.dev]
    /// root = "memory://"
    /// autoscaling = { min_replicas = 0, max_replicas = 2, target_concurrency = 8 }
    /// [environments.production]
    /// root = "memory://"
    /// "#).unwrap();
    /// let envs = Environments::from_profile(&profile).unwrap();
    /// let names: Vec<_> = envs.iter().map(|e| e.name.as_str()).collect();
    /// assert_eq!(names, ["dev", "production"]);
    /// assert_eq!(envs.get("dev").unwrap().autoscaling.min_replicas, 0);
    /// assert_eq!(envs.get("production").unwrap().policy.approvals, 2);
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` as [`Environments::new`]; `NotFound` for an environment in the
    /// promotion order that the profile does not define.
    pub fn from_profile(profile: &mlops_core::profile::Profile) -> Result<Self> {
        let defaults = Self::default();
        let mut envs = Vec::new();
        for name in profile.promotion_order() {
            let env = profile.environment(name.as_str())?;
            let scale = env.autoscaling();
            let policy = defaults
                .get(name.as_str())
                .map(|d| d.policy.clone())
                .unwrap_or_default();
            envs.push(Environment {
                name: name.clone(),
                policy,
                autoscaling: Autoscaling {
                    min_replicas: scale.min_replicas,
                    max_replicas: scale.max_replicas.max(1),
                    target_concurrency: scale
                        .target_concurrency
                        .unwrap_or(Autoscaling::default().target_concurrency),
                },
                namespace: None,
            });
        }
        Self::new(envs)
    }

    /// Replaces the autoscaling of `name`.
    ///
    /// # Errors
    /// `UnknownEnvironment`.
    pub fn with_autoscaling(mut self, name: &str, a: Autoscaling) -> Result<Self> {
        self.get(name)?;
        for e in &mut self.envs {
            if e.name.as_str() == name {
                e.autoscaling = a;
            }
        }
        Self::new(self.envs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_validation() {
        let envs = Environments::default();
        assert_eq!(
            envs.previous("production").unwrap().unwrap().name.as_str(),
            "staging"
        );
        assert!(envs.previous("development").unwrap().is_none());
        let e = envs.get("prod").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown environment prod; configured: development, qa, staging, production"
        );
        assert!(Environments::new(vec![]).is_err());
        let dup = vec![
            Environment::new("qa").unwrap(),
            Environment::new("qa").unwrap(),
        ];
        assert!(
            Environments::new(dup)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(Environment::new("dev_eu").is_err()); // valid env name, not an alias
        let bad = Environments::default().with_autoscaling(
            "qa",
            Autoscaling {
                min_replicas: 3,
                max_replicas: 1,
                target_concurrency: 1,
            },
        );
        assert!(bad.is_err());
    }

    #[test]
    fn serde_round_trip() {
        let envs = Environments::default();
        let json = serde_json::to_string(&envs).unwrap();
        let back: Environments = serde_json::from_str(&json).unwrap();
        assert_eq!(back, envs);
        let minimal: Environments =
            serde_json::from_str(r#"[{"name":"dev"},{"name":"prod","policy":{"approvals":1}}]"#)
                .unwrap();
        assert_eq!(minimal.get("prod").unwrap().policy.approvals, 1);
        assert!(!minimal.get("prod").unwrap().policy.requester_may_approve);
    }
}
