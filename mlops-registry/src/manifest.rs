//! GitOps export of an environment's deployed state, deterministic and
//! byte-identical for the same state (no timestamps, sorted keys and models).
//!
//! Two forms, for ArgoCD/Flux to sync:
//!
//! 1. **`ModelDeployments`** (`apiVersion: mlops.rs/v1alpha1`), our own record of
//!    what runs where:
//!
//!    ```yaml
//!    apiVersion: mlops.rs/v1alpha1
//!    kind: ModelDeployments
//!    metadata:
//!      name: staging                # the environment
//!    spec:
//!      environment: staging
//!      registry: s3://bucket/registry   # the registry's URI
//!      models:                      # sorted by name
//!      - name: fraud
//!        version: 3
//!        alias: staging             # the alias naming the deployed version
//!        modelFormat: sklearn       # the version's `model_format` tag, if set
//!        manifestDigest: blake3:…   # the version's content identity
//!        artifactUri: s3://bucket/registry/models/fraud/artifacts/<hex>
//!        ledgerSeq: 2               # the deployment record in the promotion ledger
//!        promotedBy: alice
//!        artifacts:                 # sorted by path
//!        - path: model.bin
//!          uri: s3://bucket/registry/models/fraud/artifacts/<hex>/model.bin
//!          digest: blake3:…
//!          size: 1024
//!    ```
//!
//! 2. **KServe `InferenceService`s** (`serving.kserve.io/v1beta1`), one per model,
//!    joined with `---`: `storageUri` is the artifact tree, and the environment's
//!    [`Autoscaling`] becomes `minReplicas` (0 = scale to zero), `maxReplicas`,
//!    `scaleTarget` and `scaleMetric: concurrency`.

use crate::error::Result;
use crate::promotion::{Autoscaling, Environment, Promotions};
use crate::registry::ModelRegistry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `apiVersion` of [`ModelDeployments`].
pub const API_VERSION: &str = "mlops.rs/v1alpha1";
/// `kind` of [`ModelDeployments`].
pub const KIND: &str = "ModelDeployments";
/// The version tag naming the KServe model format (e.g. `sklearn`, `xgboost`).
pub const MODEL_FORMAT_TAG: &str = "model_format";

/// An environment's deployed models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelDeployments {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// Always [`KIND`].
    pub kind: String,
    /// Name of the document.
    pub metadata: Metadata,
    /// The content.
    pub spec: DeploymentsSpec,
}

/// Object metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The environment name.
    pub name: String,
}

/// What is deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentsSpec {
    /// The environment.
    pub environment: String,
    /// The registry's URI.
    pub registry: String,
    /// One entry per deployed model, sorted by name.
    pub models: Vec<DeployedModel>,
}

/// One deployed model version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedModel {
    /// The model name.
    pub name: String,
    /// The deployed version.
    pub version: u64,
    /// The alias naming it (the environment's name).
    pub alias: String,
    /// The model format from the version's [`MODEL_FORMAT_TAG`] tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_format: Option<String>,
    /// The version's manifest digest.
    pub manifest_digest: String,
    /// The artifact tree's URI.
    pub artifact_uri: String,
    /// The deployment record's seq in the promotion ledger.
    pub ledger_seq: u64,
    /// Who promoted it.
    pub promoted_by: String,
    /// Its files, sorted by path.
    pub artifacts: Vec<DeployedArtifact>,
}

/// One artifact file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployedArtifact {
    /// Relative path.
    pub path: String,
    /// Full URI.
    pub uri: String,
    /// blake3 digest.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
}

fn yaml<T: Serialize>(v: &T) -> Result<String> {
    serde_yaml_ng::to_string(v).map_err(|e| {
        mlops_core::Error::backend("manifest export", format!("yaml serialisation: {e}")).into()
    })
}

impl ModelDeployments {
    /// Collects what `promotions` has deployed to `env`, from its ledger.
    ///
    /// # Errors
    /// `UnknownEnvironment`; `NotFound` if a deployed version was deleted; store failures.
    pub async fn collect(promotions: &Promotions, env: &str) -> Result<Self> {
        let envdef = promotions.environments().get(env)?;
        let reg = promotions.registry();
        let uri = reg.uri();
        let mut models = vec![];
        for model in promotions.ledger().models(&uri).await? {
            let Some(d) = promotions.deployed(&model, env).await? else {
                continue;
            };
            let v = reg.get_version(&model, d.version).await?;
            let artifacts = v
                .artifacts
                .iter()
                .map(|(p, e)| DeployedArtifact {
                    path: p.to_string(),
                    uri: crate::artifacts::join_url(&v.artifact_uri, p.as_str()),
                    digest: e.digest.to_string(),
                    size: e.size,
                })
                .collect();
            models.push(DeployedModel {
                name: model.to_string(),
                version: d.version,
                alias: envdef.alias()?.to_string(),
                model_format: v.tags.get(MODEL_FORMAT_TAG).cloned(),
                manifest_digest: d.manifest_digest.to_string(),
                artifact_uri: v.artifact_uri.clone(),
                ledger_seq: d.seq,
                promoted_by: d.by.clone(),
                artifacts,
            });
        }
        models.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            api_version: API_VERSION.to_string(),
            kind: KIND.to_string(),
            metadata: Metadata {
                name: env.to_string(),
            },
            spec: DeploymentsSpec {
                environment: env.to_string(),
                registry: uri,
                models,
            },
        })
    }

    /// The YAML document.
    ///
    /// # Errors
    /// Never in practice (plain data).
    pub fn to_yaml(&self) -> Result<String> {
        yaml(self)
    }

    /// One KServe `InferenceService` per model, for `env`'s namespace and autoscaling.
    pub fn inference_services(
        &self,
        env: &Environment,
        opts: &KServeOptions,
    ) -> Vec<InferenceService> {
        self.spec
            .models
            .iter()
            .map(|m| InferenceService::new(m, env, opts))
            .collect()
    }

    /// The KServe manifests as one multi-document YAML stream.
    ///
    /// # Errors
    /// Never in practice (plain data).
    pub fn to_kserve_yaml(&self, env: &Environment, opts: &KServeOptions) -> Result<String> {
        let docs = self
            .inference_services(env, opts)
            .iter()
            .map(yaml)
            .collect::<Result<Vec<_>>>()?;
        Ok(docs.join("---\n"))
    }
}

/// How KServe manifests are rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KServeOptions {
    /// Model format when a version has no `model_format` tag (default `sklearn`).
    pub default_model_format: String,
    /// Rewrites the start of artifact URIs (the registry's view) into what the
    /// cluster reads, e.g. `file:///mnt/registry` → `pvc://registry`.
    pub storage_rewrite: Option<(String, String)>,
}

impl Default for KServeOptions {
    fn default() -> Self {
        Self {
            default_model_format: "sklearn".to_string(),
            storage_rewrite: None,
        }
    }
}

impl KServeOptions {
    /// Sets the default model format.
    pub fn with_default_model_format(mut self, f: impl Into<String>) -> Self {
        self.default_model_format = f.into();
        self
    }

    /// Rewrites artifact URIs starting with `from` to start with `to`.
    pub fn with_storage_rewrite(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.storage_rewrite = Some((from.into(), to.into()));
        self
    }
}

/// A KServe `InferenceService` (`serving.kserve.io/v1beta1`), the fields we set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceService {
    /// `serving.kserve.io/v1beta1`.
    pub api_version: String,
    /// `InferenceService`.
    pub kind: String,
    /// Name, namespace, labels, annotations.
    pub metadata: KMetadata,
    /// The predictor.
    pub spec: KSpec,
}

/// Kubernetes object metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KMetadata {
    /// DNS-1123 name (the model name, lower-cased).
    pub name: String,
    /// The environment's namespace.
    pub namespace: String,
    /// Labels (sorted).
    pub labels: BTreeMap<String, String>,
    /// Annotations (sorted).
    pub annotations: BTreeMap<String, String>,
}

/// `spec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KSpec {
    /// `spec.predictor`.
    pub predictor: KPredictor,
}

/// `spec.predictor`, with autoscaling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KPredictor {
    /// Minimum replicas; 0 = scale to zero.
    pub min_replicas: u32,
    /// Maximum replicas.
    pub max_replicas: u32,
    /// Target per replica for `scale_metric`.
    pub scale_target: u32,
    /// `concurrency`.
    pub scale_metric: String,
    /// The model.
    pub model: KModel,
}

/// `spec.predictor.model`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KModel {
    /// `modelFormat`.
    pub model_format: KModelFormat,
    /// Where the serving runtime downloads the model from.
    pub storage_uri: String,
}

/// `modelFormat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KModelFormat {
    /// e.g. `sklearn`.
    pub name: String,
}

impl InferenceService {
    fn new(m: &DeployedModel, env: &Environment, opts: &KServeOptions) -> Self {
        let Autoscaling {
            min_replicas,
            max_replicas,
            target_concurrency,
        } = env.autoscaling;
        let storage_uri = match &opts.storage_rewrite {
            Some((from, to)) if m.artifact_uri.starts_with(from.as_str()) => {
                format!("{to}{}", &m.artifact_uri[from.len()..])
            }
            _ => m.artifact_uri.clone(),
        };
        let labels = BTreeMap::from([
            (
                "app.kubernetes.io/managed-by".to_string(),
                "mlops-rs".to_string(),
            ),
            ("mlops.rs/environment".to_string(), env.name.to_string()),
            ("mlops.rs/model".to_string(), m.name.clone()),
            ("mlops.rs/version".to_string(), m.version.to_string()),
        ]);
        let annotations = BTreeMap::from([(
            "mlops.rs/manifest-digest".to_string(),
            m.manifest_digest.clone(),
        )]);
        Self {
            api_version: "serving.kserve.io/v1beta1".to_string(),
            kind: "InferenceService".to_string(),
            metadata: KMetadata {
                name: m.name.to_ascii_lowercase(),
                namespace: env
                    .namespace
                    .clone()
                    .unwrap_or_else(|| env.name.to_string()),
                labels,
                annotations,
            },
            spec: KSpec {
                predictor: KPredictor {
                    min_replicas,
                    max_replicas,
                    scale_target: target_concurrency,
                    scale_metric: "concurrency".to_string(),
                    model: KModel {
                        model_format: KModelFormat {
                            name: m
                                .model_format
                                .clone()
                                .unwrap_or_else(|| opts.default_model_format.clone()),
                        },
                        storage_uri,
                    },
                },
            },
        }
    }
}

impl Promotions {
    /// The `ModelDeployments` YAML of `env` (see [`crate::manifest`]).
    ///
    /// # Errors
    /// As [`ModelDeployments::collect`].
    pub async fn export_deployments(&self, env: &str) -> Result<String> {
        ModelDeployments::collect(self, env).await?.to_yaml()
    }

    /// The KServe `InferenceService` YAML of `env` (see [`crate::manifest`]).
    ///
    /// # Errors
    /// As [`ModelDeployments::collect`].
    pub async fn export_kserve(&self, env: &str, opts: &KServeOptions) -> Result<String> {
        let envdef = self.environments().get(env)?.clone();
        ModelDeployments::collect(self, env)
            .await?
            .to_kserve_yaml(&envdef, opts)
    }
}
