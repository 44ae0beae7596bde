//! Governance and audit layers over any [`ModelRegistry`](crate::ModelRegistry).
//!
//! - [`Governed`] / [`GovernanceLayer`]: every call is checked against an
//!   [`Authorizer`](mlops_core::policy::Authorizer) for the acting principal, with
//!   the action from [`REGISTRY_METHODS`] on `model:<name>` (scoped to the layer's
//!   environment; alias calls are scoped to the alias, so `set_alias(fraud,
//!   production)` needs `promote` on `model:fraud@production`).
//! - [`Audit`] / [`AuditLayer`]: every mutating call (and reads, if configured)
//!   becomes an [`AuditEvent`](mlops_core::audit::AuditEvent) with outcome
//!   allowed / denied / failed(kind) and the blake3 digest of the canonical request.
//! - [`PolicyApprovals`]: plugs a core authorizer into
//!   [`Promotions`](crate::promotion::Promotions), so approver roles come from the policy.
//!   The workflow's own actions (request, approve, reject, promote, rollback, ...) are
//!   audited by [`Promotions::with_audit`](crate::promotion::Promotions::with_audit),
//!   with the actions of [`PROMOTION_METHODS`](crate::promotion::PROMOTION_METHODS).
//! - [`compliance::attach_compliance`]: GDPR, HIPAA and ISO 27001 presets as promotion gates.
//!
//! **Order**: audit over governance over retry over backend, so denials are audited:
//! `AuditLayer::new(log, p).layer(GovernanceLayer::new(auth, p).layer(backend))`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use mlops_core::{Principal, Storage, audit::{AuditLog, AuditQuery, Outcome}, policy::Policy};
//! use mlops_registry::{EmbeddedRegistry, ModelRegistry, RegistryExt};
//! use mlops_registry::layers::{AuditLayer, GovernanceLayer};
//! let policy = Policy::from_toml(r#"
//!     [[roles]]
//!     name = "reader"
//!     allow = [{ actions = ["read"], resources = ["model:*"] }]
//!     [[bindings]]
//!     role = "reader"
//!     principals = ["alice"]
//! "#)?;
//! let alice = Principal::user("alice");
//! let log = AuditLog::open(&Storage::memory()).await?;
//! let backend = EmbeddedRegistry::builder().with_url("memory://").build()?;
//! let reg = AuditLayer::new(log.clone(), alice.clone())
//!     .layer(GovernanceLayer::new(Arc::new(policy), alice).layer(backend));
//! let err = reg.create_model(&"fraud".parse()?).await.unwrap_err();
//! assert_eq!(err.kind(), mlops_core::ErrorKind::PermissionDenied);
//! assert!(err.to_string().contains("alice may not write model:fraud"));
//! log.flush().await?;
//! assert_eq!(log.query(&AuditQuery::new()).await?[0].outcome, Outcome::Denied);
//! # Ok(()) }
//! ```

mod audit;
pub mod compliance;

mod governed;
mod promotion;
#[cfg(test)]
mod tests;

pub use compliance::attach_compliance;
pub use governed::REGISTRY_METHODS;
/// The wrappers are core's, shared by every domain crate; this crate implements
/// [`ModelRegistry`](crate::ModelRegistry) for them.
pub use mlops_core::layer::{Audit, AuditLayer, GovernanceLayer, Governed};
pub use promotion::PolicyApprovals;
