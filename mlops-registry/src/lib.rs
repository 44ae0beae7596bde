//! # mlops-registry
//!
//! A model registry for tracking and promoting models: registered models,
//! numbered versions with content-addressed artifacts, lineage, signatures and
//! metrics, aliases and tags ([`ModelRegistry`]); a promotion workflow over any
//! registry with ordered environments, four-eyes approvals, gates, rollback and
//! full history ([`promotion::Promotions`]); and GitOps export of what is
//! deployed, as our own `ModelDeployments` YAML and as KServe
//! `InferenceService`s ([`manifest`]).
//!
//! ## Backends
//!
//! | backend | type | where |
//! |---|---|---|
//! | embedded | [`EmbeddedRegistry`] | any object store URL: `file://` (default), `memory://` (tests), `s3://`, `gs://`, `az://` |
//! | mlflow | `mlflow::MlflowRegistry` (feature `mlflow`) | an MLflow 3.x tracking server (`MLFLOW_TRACKING_URI`); native aliases, artifacts through its artifact proxy, digests verified |
//!
//! The embedded backend writes immutable, create-only keys only (no lock files,
//! no compare-and-swap): version numbers come from `mlops_core::seq::SeqLog`, so
//! many processes on many machines sharing one bucket get 1..n without gaps.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `s3` | `s3://` registries and ledgers |
//! | `gcs` | `gs://` registries and ledgers |
//! | `azure` | `az://` registries and ledgers |
//! | `mlflow` | the MLflow Model Registry backend (`mlflow::MlflowRegistry`, `from_env` reads `MLFLOW_TRACKING_*`) |
//! | `conformance` | the public `conformance` suite (`run_all`) for other backends and layers |
//!
//! ## Configuration
//!
//! [`EmbeddedRegistryBuilder`] takes a URL (`with_url`), object-store options
//! (`with_option`) or a ready `Storage` (`with_storage`); `from_env` reads
//! `MLOPS_REGISTRY_URL`. Environments and their policies are a plain
//! [`promotion::Environments`] value (deserialisable from the profile).
//!
//! ## A tour on `memory://`
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_registry::Result<()> {
//! use std::sync::Arc;
//! use mlops_core::{path::ArtifactPath, GateReport, Principal, Storage};
//! use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt};
//! use mlops_registry::promotion::Promotions;
//!
//! let reg: Arc<dyn ModelRegistry> = Arc::new(EmbeddedRegistry::builder().with_url("memory://").build()?);
//! let model = "churn".parse()?;
//! reg.create_model(&model).await?;
//! let ci = Principal::service("ci");
//! let v = reg
//!     .create_version(&model, NewModelVersion::new(&ci)
//!         .with_artifact(ArtifactPath::new("model.pkl")?, vec![1u8, 2, 3])
//!         .with_metric("auc", 0.9))
//!     .await?;
//!
//! // qa needs one approval from someone other than the requester
//! let promos = Promotions::new(reg.clone(), Storage::memory());
//! let req = promos.request(&model, v.version, "qa", &ci, "nightly build").await?;
//! promos.approve(&req, &Principal::user("dana"), "looks good").await?;
//! promos.promote(&req, &ci).await?;
//! assert_eq!(reg.resolve_alias(&model, &"qa".parse()?).await?.version, 1);
//! let yaml = promos.export_deployments("qa").await?;
//! assert!(yaml.contains("kind: ModelDeployments"));
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod artifacts;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod embedded;
pub mod error;
pub mod layers;
pub mod manifest;
#[cfg(feature = "mlflow")]
pub mod mlflow;
pub mod promotion;
pub mod registry;
#[cfg(feature = "sagemaker")]
pub mod sagemaker;
pub mod types;
#[cfg(feature = "vertex")]
pub mod vertex;

pub use embedded::{EmbeddedRegistry, EmbeddedRegistryBuilder};
pub use error::{Error, Result, Unmet};
pub use registry::{ModelRegistry, RegistryExt};
pub use types::{
    Capabilities, CreateModelOptions, ModelQuery, ModelUpdate, ModelVersion, NewModelVersion, Page,
    RegisteredModel, VersionQuery, VersionStatus, VersionUpdate,
};

#[cfg(test)]
mod send_sync {
    #[test]
    fn public_types_are_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<crate::Error>();
        assert_send_sync::<crate::ModelVersion>();
        assert_send_sync::<crate::RegisteredModel>();
        assert_send_sync::<crate::manifest::ModelDeployments>();
    }
}
