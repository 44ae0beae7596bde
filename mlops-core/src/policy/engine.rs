//! The evaluated policy: roles, bindings, declared principals, and [`Decision`]s.

use super::pattern::ResourcePattern;
use crate::error::{Error, Result};
use crate::principal::{Action, Principal, PrincipalKind, ResourceRef};
use std::collections::BTreeMap;

/// One rule line of a role: these actions on these resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The actions (`admin` stands for every action).
    pub actions: Vec<Action>,
    /// The resources.
    pub resources: Vec<ResourcePattern>,
}

impl Statement {
    /// The listed action that covers `action` (`action` itself, else `admin`), if any.
    fn covering(&self, action: Action) -> Option<Action> {
        if self.actions.contains(&action) {
            Some(action)
        } else if self.actions.contains(&Action::Admin) {
            Some(Action::Admin)
        } else {
            None
        }
    }
}

/// A named set of permissions: allow statements, and deny statements that win over
/// any allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// The role name, e.g. `ml-approver`.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// What the role grants.
    pub allow: Vec<Statement>,
    /// What the role forbids, whatever any other role grants.
    pub deny: Vec<Statement>,
}

/// Grants one role to principals (by id) and to groups (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The role granted.
    pub role: String,
    /// Principal ids.
    pub principals: Vec<String>,
    /// Group names.
    pub groups: Vec<String>,
}

/// A principal the policy declares: its kind and the groups it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredPrincipal {
    /// The kind the principal must have for the declaration (and its groups) to apply.
    pub kind: PrincipalKind,
    /// Groups the policy puts it in.
    pub groups: Vec<String>,
}

/// How a principal came to hold a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The binding names the principal.
    Principal,
    /// The binding names a group the principal is in.
    Group(String),
}

/// Whether a matched statement allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// An allow statement matched.
    Allow,
    /// A deny statement matched (it wins over every allow).
    Deny,
}

/// The statement that decided, and how the principal got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedRule {
    /// Allow or deny.
    pub effect: Effect,
    /// The role holding the statement.
    pub role: String,
    /// The binding that granted the role, numbered from 1 in file order.
    pub binding: usize,
    /// Directly or through which group.
    pub via: Via,
    /// The pattern that matched the resource.
    pub pattern: ResourcePattern,
    /// The listed action that covered the request (the action itself, or `admin`).
    pub action: Action,
}

/// What decided a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// A policy statement.
    Matched(MatchedRule),
    /// Nothing granted the action: deny by default.
    DefaultDeny,
    /// The [`AllowAll`](super::AllowAll) authorizer, which allows everything.
    AllowAll,
}

/// The answer to "may this principal do this action on this resource?", with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The verdict.
    pub allowed: bool,
    /// The principal id asked about.
    pub principal: String,
    /// The action asked about.
    pub action: Action,
    /// The resource asked about.
    pub resource: ResourceRef,
    /// What decided.
    pub rule: Rule,
}

impl Decision {
    /// `Ok(self)` when allowed, otherwise `PermissionDenied` naming principal, action,
    /// resource and this decision as the reason.
    ///
    /// # Errors
    /// `PermissionDenied` when not allowed.
    pub fn into_result(self) -> Result<Self> {
        if self.allowed {
            Ok(self)
        } else {
            Err(Error::PermissionDenied {
                principal: self.principal.clone(),
                action: self.action.to_string(),
                resource: self.resource.to_string(),
                reason: Some(self.to_string()),
            })
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "denied" };
        match &self.rule {
            Rule::Matched(m) => {
                write!(f, "{verdict}: {} has role {} via ", self.principal, m.role)?;
                if let Via::Group(g) = &m.via {
                    write!(f, "group {g}, ")?;
                }
                write!(f, "binding #{} (", m.binding)?;
                if m.effect == Effect::Deny {
                    f.write_str("deny ")?;
                }
                write!(f, "{} {}", m.pattern.target(), m.action)?;
                if let Some(env) = m.pattern.environment() {
                    write!(f, " @{env}")?;
                }
                f.write_str(")")
            }
            Rule::DefaultDeny => write!(
                f,
                "{verdict}: default deny (no binding grants {} {} on {})",
                self.principal, self.action, self.resource
            ),
            Rule::AllowAll => write!(f, "{verdict}: the allow-all authorizer allows everything"),
        }
    }
}

/// A validated RBAC policy. Deny by default; a matching deny statement wins over any
/// allow; `admin` implies every action. Build one with [`Policy::from_toml`],
/// [`Policy::from_yaml`] or [`Policy::load`].
///
/// Roles come from the policy's bindings alone: the `roles` a [`Principal`] carries
/// are ignored (they are the caller's word). Group membership is the union of the
/// groups the policy declares for the principal and the `groups` on the
/// [`Principal`] (as asserted by the authenticator, e.g. an OIDC groups claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub(crate) source: String,
    pub(crate) roles: BTreeMap<String, Role>,
    pub(crate) bindings: Vec<Binding>,
    pub(crate) principals: BTreeMap<String, DeclaredPrincipal>,
}

impl Policy {
    /// Where the policy was loaded from (a file path, or `<toml>` / `<yaml>`).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The roles, by name.
    pub fn roles(&self) -> impl Iterator<Item = &Role> {
        self.roles.values()
    }

    /// The bindings, in file order (binding `#n` is `bindings().nth(n - 1)`).
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The declared principal `id`, if any.
    pub fn principal(&self, id: &str) -> Option<&DeclaredPrincipal> {
        self.principals.get(id)
    }

    /// The groups the policy (and the principal's own claims) put `p` in.
    fn groups_of<'a>(&'a self, p: &'a Principal) -> Vec<&'a str> {
        let mut out: Vec<&str> = p.groups.iter().map(String::as_str).collect();
        if p.kind == PrincipalKind::Group {
            out.push(&p.id);
        }
        if let Some(d) = self.declared(p) {
            out.extend(d.groups.iter().map(String::as_str));
        }
        out
    }

    /// The declaration of `p`, if the policy declares its id with the same kind.
    fn declared(&self, p: &Principal) -> Option<&DeclaredPrincipal> {
        self.principals.get(&p.id).filter(|d| d.kind == p.kind)
    }

    /// Whether `b` binds `p`, and how.
    fn binds(&self, b: &Binding, p: &Principal) -> Option<Via> {
        let kind_ok = self.principals.get(&p.id).is_none_or(|d| d.kind == p.kind);
        if kind_ok && b.principals.contains(&p.id) {
            return Some(Via::Principal);
        }
        let groups = self.groups_of(p);
        b.groups
            .iter()
            .find(|g| groups.contains(&g.as_str()))
            .map(|g| Via::Group(g.clone()))
    }

    /// The role names the policy grants `p`, sorted and without duplicates.
    ///
    /// ```
    /// use mlops_core::{Principal, policy::Policy};
    /// let policy = Policy::from_toml(r#"
    ///     [[roles]]
    ///     name = "viewer"
    ///     allow = [{ actions = ["read"], resources = ["*:*"] }]
    ///     [[bindings]]
    ///     role = "viewer"
    ///     principals = ["alice"]
    /// "#)?;
    /// // The caller's claimed roles do not count.
    /// let alice = Principal::user("alice").with_roles(["admin"]);
    /// assert_eq!(policy.roles_of(&alice), vec!["viewer".to_string()]);
    /// # Ok::<(), mlops_core::Error>(())
    /// ```
    pub fn roles_of(&self, p: &Principal) -> Vec<String> {
        let mut out: Vec<String> = self
            .bindings
            .iter()
            .filter(|b| self.binds(b, p).is_some())
            .map(|b| b.role.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Decides whether `p` may do `action` on `resource`, and says which rule decided.
    ///
    /// Every binding that applies to `p` is considered: the first matching deny
    /// statement (in binding order) decides at once; otherwise the first matching
    /// allow decides; otherwise the answer is the default deny.
    ///
    /// ```
    /// use mlops_core::{Action, Principal, ResourceKind, ResourceRef, policy::Policy};
    /// let policy = Policy::from_toml(r#"
    ///     [[roles]]
    ///     name = "ml-approver"
    ///     allow = [{ actions = ["approve", "promote"], resources = ["model:fraud-*@production"] }]
    ///     [[bindings]]
    ///     role = "ml-approver"
    ///     principals = ["bob"]
    /// "#)?;
    /// let model = ResourceRef::new(ResourceKind::Model, "fraud-detector").in_env("production");
    /// let d = policy.explain(&Principal::user("bob"), Action::Promote, &model);
    /// assert!(d.allowed);
    /// assert_eq!(
    ///     d.to_string(),
    ///     "allowed: bob has role ml-approver via binding #1 (model:fraud-* promote @production)"
    /// );
    /// assert!(!policy.explain(&Principal::user("alice"), Action::Promote, &model).allowed);
    /// # Ok::<(), mlops_core::Error>(())
    /// ```
    pub fn explain(&self, p: &Principal, action: Action, resource: &ResourceRef) -> Decision {
        let mut allow: Option<MatchedRule> = None;
        for (i, b) in self.bindings.iter().enumerate() {
            let Some(via) = self.binds(b, p) else {
                continue;
            };
            // Validation guarantees every bound role exists; a missing one grants nothing.
            let Some(role) = self.roles.get(&b.role) else {
                continue;
            };
            let matched = |st: &Statement, effect: Effect| {
                let covering = st.covering(action)?;
                let pattern = st.resources.iter().find(|pat| pat.matches(resource))?;
                Some(MatchedRule {
                    effect,
                    role: role.name.clone(),
                    binding: i + 1,
                    via: via.clone(),
                    pattern: pattern.clone(),
                    action: covering,
                })
            };
            if let Some(m) = role.deny.iter().find_map(|st| matched(st, Effect::Deny)) {
                return self.decision(p, action, resource, false, Rule::Matched(m));
            }
            if allow.is_none() {
                allow = role.allow.iter().find_map(|st| matched(st, Effect::Allow));
            }
        }
        match allow {
            Some(m) => self.decision(p, action, resource, true, Rule::Matched(m)),
            None => self.decision(p, action, resource, false, Rule::DefaultDeny),
        }
    }

    fn decision(
        &self,
        p: &Principal,
        action: Action,
        resource: &ResourceRef,
        allowed: bool,
        rule: Rule,
    ) -> Decision {
        Decision {
            allowed,
            principal: p.id.clone(),
            action,
            resource: resource.clone(),
            rule,
        }
    }
}
