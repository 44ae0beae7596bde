//! The [`Gate`] trait (custom validation gates) and the [`Authorizer`] hook.

use crate::error::Result;
use crate::types::ModelVersion;
use async_trait::async_trait;
use mlops_core::{Action, GateReport, Principal, ResourceRef};

/// A custom validation gate: checks a version and reports a [`GateReport`].
///
/// Reports from elsewhere (mlops-monitor's drift, fairness and performance
/// checks) attach directly with
/// [`Promotions::attach_report`](crate::promotion::Promotions::attach_report);
/// a `Gate` runs in-process with
/// [`Promotions::run_gate`](crate::promotion::Promotions::run_gate).
///
/// # Contract
/// `check` never mutates the registry; the report's `check` field names the gate
/// (it is set to [`Gate::name`] when attached).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_registry::Result<()> {
/// use mlops_registry::promotion::Gate;
/// use mlops_registry::ModelVersion;
/// use mlops_core::{Comparison, GateReport};
///
/// #[derive(Debug)]
/// struct MinAuc(f64);
///
/// #[async_trait::async_trait]
/// impl Gate for MinAuc {
///     fn name(&self) -> &str { "auc" }
///     async fn check(&self, v: &ModelVersion) -> mlops_registry::Result<GateReport> {
///         let auc = v.metrics.get("auc").copied().unwrap_or(f64::NAN);
///         Ok(GateReport::evaluate("auc", "min-auc-gate", auc, Comparison::Ge, self.0))
///     }
/// }
/// # let _ = MinAuc(0.8);
/// # Ok(()) }
/// ```
#[async_trait]
pub trait Gate: std::fmt::Debug + Send + Sync + 'static {
    /// The check name the policy refers to.
    fn name(&self) -> &str;

    /// Evaluates `version`.
    ///
    /// # Errors
    /// When the check itself could not run (a failing check is `Ok` with `passed: false`).
    async fn check(&self, version: &ModelVersion) -> Result<GateReport>;
}

/// Who may do what in the promotion workflow, and which roles count.
///
/// The default, [`TrustPrincipalRoles`], believes the roles a [`Principal`]
/// carries. Governance plugs in a policy here, so roles for approvals come from
/// the policy, not from the caller's word.
///
/// # Contract
/// `roles` returns the roles that count for `principal` on `resource`;
/// `authorize` returns `PermissionDenied` to refuse.
#[async_trait]
pub trait Authorizer: std::fmt::Debug + Send + Sync + 'static {
    /// The effective roles of `principal` on `resource`.
    ///
    /// # Errors
    /// When the policy cannot be consulted.
    async fn roles(&self, principal: &Principal, resource: &ResourceRef) -> Result<Vec<String>>;

    /// Allows or refuses `action`.
    ///
    /// # Errors
    /// `PermissionDenied` to refuse.
    async fn authorize(
        &self,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
    ) -> Result<()>;
}

/// The default [`Authorizer`]: allows every action and trusts `Principal.roles`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_registry::Result<()> {
/// use mlops_registry::promotion::{Authorizer, TrustPrincipalRoles};
/// use mlops_core::{Principal, ResourceRef, ResourceKind};
/// let p = Principal::user("bob").with_roles(["release-manager"]);
/// let r = ResourceRef::new(ResourceKind::Model, "fraud");
/// assert_eq!(TrustPrincipalRoles.roles(&p, &r).await?, vec!["release-manager"]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TrustPrincipalRoles;

#[async_trait]
impl Authorizer for TrustPrincipalRoles {
    async fn roles(&self, principal: &Principal, _: &ResourceRef) -> Result<Vec<String>> {
        Ok(principal.roles.clone())
    }

    async fn authorize(&self, _: &Principal, _: Action, _: &ResourceRef) -> Result<()> {
        Ok(())
    }
}
