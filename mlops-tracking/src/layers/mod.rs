//! Governance and audit layers over any [`Tracker`](crate::Tracker).
//!
//! - [`Governed`] / [`GovernanceLayer`]: every call is checked against an
//!   [`Authorizer`](mlops_core::policy::Authorizer) with the action from
//!   [`TRACKER_METHODS`] on `experiment:<id>` (`experiment:<name>` for
//!   `create_experiment` / `get_experiment_by_name`, `experiment:*` for searches
//!   across experiments). Run calls are checked on their run's experiment, looked up
//!   once per run id through the wrapped tracker and cached (runs never move).
//! - [`Audit`] / [`AuditLayer`]: every mutating call (and reads, if configured) is
//!   recorded with outcome allowed / denied / failed(kind) and a request digest.
//!
//! **Order**: audit over governance over retry over backend.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use mlops_core::{Principal, Storage, audit::AuditLog, policy::Policy};
//! use mlops_tracking::{EmbeddedTracker, Tracker};
//! use mlops_tracking::layers::{AuditLayer, GovernanceLayer};
//! let policy = Policy::from_toml(r#"
//!     [[roles]]
//!     name = "scientist"
//!     allow = [{ actions = ["read", "write"], resources = ["experiment:*"] }]
//!     [[bindings]]
//!     role = "scientist"
//!     principals = ["alice"]
//! "#)?;
//! let (alice, eve) = (Principal::user("alice"), Principal::user("eve"));
//! let log = AuditLog::open(&Storage::memory()).await?;
//! let backend = Arc::new(EmbeddedTracker::builder().with_url("memory://").build()?);
//! let policy = Arc::new(policy);
//! let t = AuditLayer::new(log.clone(), alice.clone())
//!     .layer(GovernanceLayer::new(policy.clone(), alice).layer(backend.clone()));
//! let id = t.create_experiment("churn", &[]).await?;
//! let e = GovernanceLayer::new(policy, eve).layer(backend);
//! assert!(e.delete_experiment(&id).await.is_err());
//! log.flush().await?;
//! assert!(log.verify().await?.is_clean());
//! # Ok(()) }
//! ```

mod audit;
mod governed;
#[cfg(test)]
mod tests;

pub use governed::TRACKER_METHODS;
/// The wrappers are core's, shared by every domain crate; this crate implements
/// [`Tracker`](crate::Tracker) for them.
pub use mlops_core::layer::{Audit, AuditLayer, GovernanceLayer, Governed};
