//! # mlops-core
//!
//! The floor every mlops-rs crate stands on: errors ([`ErrorKind`], [`Error`]),
//! validated names ([`name`]), safe artifact paths ([`path::ArtifactPath`]),
//! storage from a URL ([`Storage`]), a content-addressed blob store ([`BlobStore`]),
//! sequenced create-only keys ([`seq::SeqLog`]),
//! credentials that never print ([`Secret`]), content digests ([`Digest`]) and the
//! shared vocabulary the domain crates exchange without importing each other:
//! [`Principal`], [`Action`], [`ResourceRef`], [`LineageRef`] and [`GateReport`].
//! Governance stands on [`policy`] (RBAC: roles, bindings, explainable decisions,
//! the [`Authorizer`] trait) and [`audit`] (a tamper-evident, append-only audit log).
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `s3` | `s3://` storage (S3 and S3-compatible servers) |
//! | `gcs` | `gs://` storage |
//! | `azure` | `az://` storage |
//! | `http` | `http::HttpClient`: the shared HTTP client (rustls on ring, timeouts, retries with backoff + `Retry-After`, a time budget, redacted credentials); with `conformance` also its fault-injecting `http::mock_server` |
//! | `mlflow` | the MLflow REST wire client |
//! | `progress` | progress bars on long uploads |
//! | `conformance` | public test helpers (`testkit`, the HTTP mock server) |
//!
//! Always present: [`profile`] — the `mlops.toml` schema of named environments
//! (backend URLs per domain, credential sources, store attributes, autoscaling).
//!
//! ## A tour on `memory://`
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
//! use mlops_core::{Storage, seq::SeqLog, name::ModelName};
//! let storage = Storage::from_url("memory://")?;
//! let model: ModelName = "fraud-detector".parse()?;
//! let versions = SeqLog::new(&storage, &format!("models/{model}/versions"))?;
//! assert_eq!(versions.append("{}".into()).await?, 1);
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod audit;
pub mod blob;
pub mod compliance;
pub mod digest;
pub mod error;
pub mod gate;
#[cfg(feature = "http")]
pub mod http;
pub mod layer;
pub mod lineage;
#[cfg(feature = "mlflow")]
pub mod mlflow;
pub mod name;
pub mod path;
pub mod policy;
pub mod principal;
pub mod profile;
pub mod secret;
pub mod seq;
pub mod store;
#[cfg(any(test, feature = "conformance"))]
pub mod testkit;
#[cfg(any(feature = "os-cloud", feature = "http"))]
pub mod tls;

pub use blob::{BlobRef, BlobStore, Manifest};
pub use digest::Digest;
pub use error::{Error, ErrorKind, Result};
pub use gate::{Comparison, GateReport, Threshold};
pub use lineage::{DatasetRef, LineageRef, ModelVersionRef, RunRef};
pub use policy::{AllowAll, Authorizer, AuthorizerExt, Decision, Policy, ResourcePattern};
pub use principal::{Action, Principal, PrincipalKind, ResourceKind, ResourceRef};
pub use secret::Secret;
pub use store::{Scheme, Storage};

/// Re-export of the object_store crate, so downstream crates use the same version.
pub use object_store;

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn public_types_are_send_sync() {
        assert_send_sync::<crate::Error>();
        assert_send_sync::<crate::Storage>();
        assert_send_sync::<crate::seq::SeqLog>();
        assert_send_sync::<crate::GateReport>();
        assert_send_sync::<crate::LineageRef>();
        assert_send_sync::<crate::Principal>();
        assert_send_sync::<crate::BlobStore>();
        assert_send_sync::<crate::Manifest>();
        // A stream over a boxed object_store stream: Send (not Sync), like the streams it wraps.
        fn assert_send<T: Send>() {}
        assert_send::<crate::blob::BlobReader>();
        assert_send_sync::<crate::profile::Profile>();
        #[cfg(feature = "http")]
        assert_send_sync::<crate::http::HttpClient>();
        assert_send_sync::<crate::Policy>();
        assert_send_sync::<crate::Decision>();
        assert_send_sync::<crate::policy::MethodTable>();
        assert_send_sync::<crate::audit::AuditLog>();
        assert_send_sync::<crate::audit::AuditEvent>();
        assert_send_sync::<crate::audit::VerifyReport>();
    }
}
