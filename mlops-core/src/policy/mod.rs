//! Role-based access control: who may do what to which resource, and why.
//!
//! A [`Policy`] holds **roles** (named sets of allow and deny statements: actions on
//! [`ResourcePattern`]s) and **bindings** of roles to principals and groups. It denies
//! by default, a matching deny wins over every allow, and `admin` implies every
//! action. [`Policy::explain`] answers with the rule that decided ([`Decision`]).
//! The [`Authorizer`] trait is what governance layers and promotion workflows call;
//! [`Policy`] implements it, and [`AllowAll`] is the test double / permissive default.
//!
//! ## Policy file format (TOML; YAML has the same shape)
//!
//! ```toml
//! version = 1                      # optional; only 1 is known
//!
//! [[principals]]                   # optional declarations: kind and groups
//! id = "alice"
//! kind = "user"                    # user | service_account | group
//! groups = ["data-science"]
//!
//! [[roles]]
//! name = "data-scientist"
//! description = "experiments and candidate models"
//! allow = [
//!   { actions = ["read", "write"], resources = ["experiment:*", "model:fraud-*"] },
//! ]
//! deny = [
//!   { actions = ["promote"], resources = ["model:*@production"] },
//! ]
//!
//! [[bindings]]                     # binding #1, numbered in file order
//! role = "data-scientist"
//! groups = ["data-science"]        # and/or principals = ["alice"]
//! ```
//!
//! Patterns are `kind:name-glob[@env-glob]` (see [`ResourcePattern`]); actions are
//! `read`, `write`, `delete`, `approve`, `promote`, `materialize` and `admin`.
//! Errors name the problem and the line, e.g.
//! `invalid policy "policy.toml:14": binding #2 references unknown role "ml-aprover"`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
//! use mlops_core::{Action, Principal, ResourceRef, policy::{Authorizer, AuthorizerExt, Policy}};
//! let policy = Policy::from_toml(r#"
//!     [[roles]]
//!     name = "reader"
//!     allow = [{ actions = ["read"], resources = ["model:*"] }]
//!     [[bindings]]
//!     role = "reader"
//!     principals = ["alice"]
//! "#)?;
//! let alice = Principal::user("alice");
//! let model: ResourceRef = "model:fraud".parse()?;
//! assert!(policy.authorize(&alice, Action::Read, &model).await?.allowed);
//! let err = policy.check(&alice, Action::Delete, &model).await.unwrap_err();
//! assert_eq!(err.kind(), mlops_core::ErrorKind::PermissionDenied);
//! assert!(err.to_string().starts_with("permission denied: alice may not delete model:fraud"));
//! # Ok(()) }
//! ```

mod declared;
mod engine;
mod file;
mod pattern;
mod table;

pub use declared::declared_methods;
pub use engine::{
    Binding, Decision, DeclaredPrincipal, Effect, MatchedRule, Policy, Role, Rule, Statement, Via,
};
pub use pattern::ResourcePattern;
pub use table::{MethodRule, MethodTable};

use crate::error::Result;
use crate::principal::{Action, Principal, ResourceRef};
use async_trait::async_trait;
use std::sync::Arc;

/// Decides whether a principal may act on a resource.
///
/// # Contract
/// - `authorize` returns `Ok(decision)` for both verdicts; `Err` only when the
///   authorizer itself failed (e.g. a remote policy service is down). Callers must
///   treat an `Err` as a refusal.
/// - `roles_of` returns the roles the authorizer grants, never the roles the
///   principal claims: promotion workflows take approver roles from here.
///
/// # Wrappers
/// Implemented for `Arc<T>` and `Box<T>`, so `Arc<dyn Authorizer>` is how an
/// authorizer is shared between layers.
///
/// # Clone
/// Implementations are cheap to share behind an `Arc`; [`Policy`] is immutable once loaded.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
/// use std::sync::Arc;
/// use mlops_core::{Action, Principal, policy::{AllowAll, Authorizer}};
/// let auth: Arc<dyn Authorizer> = Arc::new(AllowAll);
/// let d = auth.authorize(&Principal::user("ci"), Action::Admin, &"policy:main".parse()?).await?;
/// assert!(d.allowed);
/// # Ok(()) }
/// ```
#[async_trait]
pub trait Authorizer: std::fmt::Debug + std::fmt::Display + Send + Sync + 'static {
    /// Decides whether `principal` may do `action` on `resource`.
    ///
    /// **Behavior**: pure (no side effects); deterministic for a given policy.
    ///
    /// # Errors
    /// Only when the authorizer cannot decide (backend kinds); never for a refusal.
    async fn authorize(
        &self,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
    ) -> Result<Decision>;

    /// The roles the authorizer grants `principal`, sorted and without duplicates.
    ///
    /// # Errors
    /// Only when the authorizer cannot answer.
    async fn roles_of(&self, principal: &Principal) -> Result<Vec<String>>;
}

/// Conveniences over any [`Authorizer`].
#[async_trait]
pub trait AuthorizerExt: Authorizer {
    /// Like [`Authorizer::authorize`], but a refusal is an error.
    ///
    /// # Errors
    /// `PermissionDenied` naming principal, action, resource and the deciding rule;
    /// the authorizer's own errors unchanged.
    async fn check(
        &self,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
    ) -> Result<Decision> {
        self.authorize(principal, action, resource)
            .await?
            .into_result()
    }
}

impl<T: Authorizer + ?Sized> AuthorizerExt for T {}

#[async_trait]
impl Authorizer for Policy {
    async fn authorize(
        &self,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
    ) -> Result<Decision> {
        Ok(self.explain(principal, action, resource))
    }

    async fn roles_of(&self, principal: &Principal) -> Result<Vec<String>> {
        Ok(Policy::roles_of(self, principal))
    }
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Policy({})", self.source)
    }
}

/// Allows everything; `roles_of` echoes the roles the principal claims.
/// For tests and for deployments that do not govern (the layer's default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllowAll;

impl std::fmt::Display for AllowAll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AllowAll")
    }
}

#[async_trait]
impl Authorizer for AllowAll {
    async fn authorize(
        &self,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
    ) -> Result<Decision> {
        Ok(Decision {
            allowed: true,
            principal: principal.id.clone(),
            action,
            resource: resource.clone(),
            rule: Rule::AllowAll,
        })
    }

    async fn roles_of(&self, principal: &Principal) -> Result<Vec<String>> {
        let mut r = principal.roles.clone();
        r.sort();
        r.dedup();
        Ok(r)
    }
}

macro_rules! forward_authorizer {
    ($($ty:ty),*) => {$(
        #[async_trait]
        impl<T: Authorizer + ?Sized> Authorizer for $ty {
            async fn authorize(
                &self,
                principal: &Principal,
                action: Action,
                resource: &ResourceRef,
            ) -> Result<Decision> {
                (**self).authorize(principal, action, resource).await
            }

            async fn roles_of(&self, principal: &Principal) -> Result<Vec<String>> {
                (**self).roles_of(principal).await
            }
        }
    )*};
}

forward_authorizer!(Arc<T>, Box<T>);

#[cfg(test)]
mod tests;
