//! Governance and audit layers over any [`OnlineStore`](crate::OnlineStore), and a
//! governed, audited [`FeatureStore`](crate::FeatureStore) front.
//!
//! - [`Governed`] / [`GovernanceLayer`] and [`Audit`] / [`AuditLayer`] for
//!   `OnlineStore`: the action from [`ONLINE_STORE_METHODS`] on
//!   `online_store:<view>` (the view's rows in the online store).
//! - [`GovernedFeatureStore`]: `apply` needs `write` on `feature_view:<name>` for
//!   every view in the new *and* the current definitions (so removing a view needs
//!   it too); `materialize*` need `materialize` on each `feature_view:<name>`. With
//!   [`GovernedFeatureStore::with_audit`] each call is also recorded.
//!
//! **Order**: audit over governance over retry over backend.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use mlops_core::{Principal, policy::Policy};
//! use mlops_features::{EmbeddedOnlineStore, OnlineStore};
//! use mlops_features::layers::GovernanceLayer;
//! let policy = Policy::from_toml(r#"
//!     [[roles]]
//!     name = "serving"
//!     allow = [{ actions = ["read"], resources = ["online_store:*"] }]
//!     [[bindings]]
//!     role = "serving"
//!     principals = ["svc"]
//! "#)?;
//! let store = GovernanceLayer::new(Arc::new(policy), Principal::service("svc"))
//!     .layer(EmbeddedOnlineStore::builder().in_memory().build()?);
//! assert_eq!(store.watermark("fv").await?, None);
//! let e = store.delete_view("fv").await.unwrap_err();
//! assert!(e.to_string().contains("svc may not delete online_store:fv"));
//! # Ok(()) }
//! ```

mod online;
mod store;
#[cfg(test)]
mod tests;

/// The wrappers are core's, shared by every domain crate; this crate implements
/// [`OnlineStore`](crate::OnlineStore) for them.
pub use mlops_core::layer::{Audit, AuditLayer, GovernanceLayer, Governed};
pub use online::ONLINE_STORE_METHODS;
pub use store::{FEATURE_STORE_METHODS, GovernedFeatureStore};
