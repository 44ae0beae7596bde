//! The SageMaker Model Registry backend: model package groups are registered
//! models, versioned model packages are versions.
//!
//! | registry | SageMaker |
//! |---|---|
//! | model | model package group (name = group name; tags = group tags) |
//! | model description update | group tag `mlops:description` (groups have no update call) |
//! | version | versioned model package (`…/model-package/<group>/<n>`) |
//! | version fields | a record blob + `CustomerMetadataProperties` (see [`wire`]) |
//! | artifacts | content-addressed blobs in S3 through object_store (+ `ModelDataUrl`) |
//! | production approval | `ModelApprovalStatus`, set by the workflow through [`ApprovalMirror`] (or [`SageMakerRegistry::set_approval`]) |
//! | aliases | not native: the promotion ledger keeps them (`Unsupported` here) |
//!
//! Wire: AWS JSON 1.1 ([`client`]), SigV4 on every attempt ([`SigV4Signer`]),
//! credentials from keys, the environment, profile files, or an assumed role
//! ([`credentials`]). Version numbers are allocated by SageMaker; creates from
//! one registry value are serialised (moto has no lock around its count + insert).
//!
//! ```
//! use mlops_registry::sagemaker::SageMakerRegistry;
//! use mlops_registry::ModelRegistry;
//! let reg = SageMakerRegistry::builder()
//!     .with_region("eu-west-1")
//!     .with_static_credentials("AKIDEXAMPLE", "secret")
//!     .with_artifact_url("memory://")
//!     .build()?;
//! assert_eq!(reg.to_string(), "SageMakerRegistry(eu-west-1)");
//! assert!(!reg.capabilities().native_aliases);
//! # Ok::<(), mlops_registry::Error>(())
//! ```

mod builder;
pub mod client;
pub mod credentials;
mod mirror;
mod sigv4;
pub mod wire;

pub use builder::{ENV_VARS, SageMakerConfigKey, SageMakerRegistryBuilder};
pub use credentials::{AssumeRole, AwsCredentials};
pub use mirror::ApprovalMirror;
pub use sigv4::SigV4Signer;

use crate::artifacts::ArtifactStore;
use crate::error::{Error, Result};
use crate::registry::ModelRegistry;
use crate::types::{
    Capabilities, CreateModelOptions, ModelQuery, ModelUpdate, ModelVersion, NewModelVersion, Page,
    RegisteredModel, VersionQuery, VersionStatus, VersionUpdate, check_page_size, validate_tags,
};
use async_trait::async_trait;
use bytes::Bytes;
use client::SageMakerClient;
use mlops_core::blob::BlobStore;
use mlops_core::name::{Alias, ModelName};
use mlops_core::path::ArtifactPath;
use mlops_core::{Digest, ErrorKind};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use wire::{Group, GroupList, Package, PackageList, Record, TagList};

/// The backend name in errors and audit events.
pub const BACKEND: &str = "sagemaker";

/// What moto 5.2.1 (the CI stand-in) does not implement, with the reason. The
/// moto tests build with [`SageMakerRegistryBuilder::with_emulator_gaps`], which
/// turns these capabilities off so the conformance suite skips them; each is
/// covered instead by a contract test that validates the request bytes against
/// botocore's API model (`tests/sagemaker_contract.rs`).
pub const MOTO_GAPS: &[(&str, &str)] = &[
    (
        "DeleteModelPackage",
        "moto answers 500 NotImplementedError (capability delete_versions)",
    ),
    (
        "DeleteModelPackageGroup",
        "moto answers 500 NotImplementedError (capability delete_models)",
    ),
    (
        "UpdateModelPackage merge",
        "moto replaces CustomerMetadataProperties and clears unsent fields; we always send the full state",
    ),
    (
        "AddTags/ListTags on a version ARN",
        "moto answers 500; version tags live in CustomerMetadataProperties instead",
    ),
    (
        "CreateModelPackage ClientToken",
        "moto ignores it (no idempotent retry of creates)",
    ),
    (
        "CreateModelPackageGroup duplicate",
        "moto replaces the group; we describe first and answer AlreadyExists",
    ),
];

/// Production approval of a version (SageMaker's `ModelApprovalStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApprovalStatus {
    /// `PendingManualApproval` (the state of a new version).
    Pending,
    /// `Approved`: may be deployed to production.
    Approved,
    /// `Rejected`.
    Rejected,
}

impl ApprovalStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "PendingManualApproval",
            ApprovalStatus::Approved => "Approved",
            ApprovalStatus::Rejected => "Rejected",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "PendingManualApproval" => Some(ApprovalStatus::Pending),
            "Approved" => Some(ApprovalStatus::Approved),
            "Rejected" => Some(ApprovalStatus::Rejected),
            _ => None,
        }
    }
}

/// A [`ModelRegistry`] on the SageMaker Model Registry. Build with
/// [`SageMakerRegistry::builder`].
pub struct SageMakerRegistry {
    client: SageMakerClient,
    region: String,
    artifacts: ArtifactStore,
    blobs: BlobStore,
    image: Option<String>,
    caps: Capabilities,
    create_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SageMakerRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SageMakerRegistry")
            .field("region", &self.region)
            .field("endpoint", &self.client.endpoint())
            .field("capabilities", &self.caps)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for SageMakerRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SageMakerRegistry({})", self.region)
    }
}

/// The capabilities of the real service.
pub const CAPABILITIES: Capabilities = {
    let mut c = Capabilities::all();
    c.native_aliases = false;
    c
};

fn kind_of(e: &mlops_core::Error) -> ErrorKind {
    e.kind()
}

impl SageMakerRegistry {
    /// A builder.
    pub fn builder() -> SageMakerRegistryBuilder {
        SageMakerRegistryBuilder::new()
    }

    /// The wire client (for calls this trait does not cover).
    pub fn client(&self) -> &SageMakerClient {
        &self.client
    }

    fn unsupported(&self, op: &str) -> Error {
        mlops_core::Error::unsupported(op, BACKEND).into()
    }

    async fn describe_group(&self, name: &ModelName) -> Result<Group> {
        self.client
            .call::<Group>(
                "DescribeModelPackageGroup",
                &json!({"ModelPackageGroupName": name.as_str()}),
            )
            .await
            .map_err(|e| match kind_of(&e) {
                ErrorKind::NotFound => Error::ModelNotFound {
                    model: name.to_string(),
                },
                _ => e.into(),
            })
    }

    async fn group_tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let list: TagList = self
            .client
            .call("ListTags", &json!({"ResourceArn": arn, "MaxResults": 100}))
            .await?;
        Ok(list.tags.into_iter().map(|t| (t.key, t.value)).collect())
    }

    async fn model_from_group(&self, g: Group) -> Result<RegisteredModel> {
        let name: ModelName = g.model_package_group_name.parse()?;
        let mut tags = self.group_tags(&g.model_package_group_arn).await?;
        let description = match tags.remove("mlops:description") {
            Some(d) if d.is_empty() => None,
            Some(d) => Some(d),
            None => g.model_package_group_description.filter(|d| !d.is_empty()),
        };
        tags.retain(|k, _| !k.starts_with("mlops:"));
        let latest: PackageList = self
            .client
            .call(
                "ListModelPackages",
                &json!({"ModelPackageGroupName": name.as_str(), "SortBy": "CreationTime",
                        "SortOrder": "Descending", "MaxResults": 1}),
            )
            .await?;
        let latest_version = latest.model_package_summary_list.first().and_then(|s| {
            s.model_package_version
                .or_else(|| wire::version_of_arn(&s.model_package_arn))
        });
        let created = wire::epoch(g.creation_time);
        Ok(RegisteredModel {
            name,
            description,
            tags,
            aliases: BTreeMap::new(),
            latest_version,
            created_at: created,
            updated_at: created,
        })
    }

    async fn describe_package(&self, name: &ModelName, version: u64) -> Result<Package> {
        let group = self.describe_group(name).await?;
        let arn = wire::package_arn(&group.model_package_group_arn, version);
        self.client
            .call::<Package>("DescribeModelPackage", &json!({"ModelPackageName": arn}))
            .await
            .map_err(|e| match kind_of(&e) {
                ErrorKind::NotFound => Error::VersionNotFound {
                    model: name.to_string(),
                    version,
                },
                _ => e.into(),
            })
    }

    async fn load_record(&self, p: &Package) -> Result<Option<Record>> {
        let Some(d) = p.customer_metadata_properties.get(wire::RECORD_KEY) else {
            return Ok(None);
        };
        let digest: Digest = d.parse()?;
        let bytes = self.blobs.get_bytes(&digest).await?;
        let r = serde_json::from_slice(&bytes).map_err(|e| {
            mlops_core::Error::backend(BACKEND, format!("version record {d} unreadable: {e}"))
        })?;
        Ok(Some(r))
    }

    async fn store_record(&self, r: &Record) -> Result<BTreeMap<String, String>> {
        let bytes = serde_json::to_vec(r)
            .map_err(|e| mlops_core::Error::backend(BACKEND, e.to_string()))?;
        let blob = self.blobs.put_bytes(bytes).await?;
        Ok(wire::to_metadata(r, &blob.digest.to_string()))
    }

    async fn version_of(&self, name: &ModelName, p: Package) -> Result<ModelVersion> {
        let version = p.version().ok_or_else(|| {
            mlops_core::Error::backend(BACKEND, format!("no version in {}", p.model_package_arn))
        })?;
        let created = wire::epoch(p.creation_time);
        let updated = p.last_modified_time.map_or(created, wire::epoch);
        let record = match self.load_record(&p).await? {
            Some(r) => r,
            // A package registered outside mlops-rs: what SageMaker knows.
            None => Record {
                manifest: mlops_core::blob::Manifest::new().digest().to_string(),
                description: p.model_package_description.clone(),
                tags: BTreeMap::new(),
                status: VersionStatus::Ready,
                lineage: Default::default(),
                signature: None,
                metrics: BTreeMap::new(),
                creator: String::new(),
            },
        };
        let manifest_digest: Digest = record.manifest.parse()?;
        let artifacts = if p
            .customer_metadata_properties
            .contains_key(wire::RECORD_KEY)
        {
            self.blobs.get_manifest(&manifest_digest).await?
        } else {
            mlops_core::blob::Manifest::new()
        };
        Ok(ModelVersion {
            model: name.clone(),
            version,
            description: record.description,
            tags: record.tags,
            status: record.status,
            artifact_uri: self.artifacts.uri(name, &manifest_digest),
            artifacts,
            manifest_digest,
            lineage: record.lineage,
            signature: record.signature,
            metrics: record.metrics,
            creator: record.creator,
            aliases: vec![],
            created_at: created,
            updated_at: updated,
        })
    }

    /// Sets a version's production approval (`ModelApprovalStatus`) with a reason
    /// (`ApprovalDescription`), keeping every other field.
    ///
    /// # Errors
    /// `NotFound` for an unknown model or version.
    pub async fn set_approval(
        &self,
        name: &ModelName,
        version: u64,
        status: ApprovalStatus,
        reason: &str,
    ) -> Result<()> {
        let p = self.describe_package(name, version).await?;
        let mut body = json!({
            "ModelPackageArn": p.model_package_arn,
            "ModelApprovalStatus": status.as_str(),
            "ApprovalDescription": reason,
        });
        if !p.customer_metadata_properties.is_empty() {
            body["CustomerMetadataProperties"] = json!(p.customer_metadata_properties);
        }
        self.client
            .call::<Value>("UpdateModelPackage", &body)
            .await?;
        Ok(())
    }

    /// A version's production approval.
    ///
    /// # Errors
    /// `NotFound` for an unknown model or version.
    pub async fn approval(&self, name: &ModelName, version: u64) -> Result<Option<ApprovalStatus>> {
        let p = self.describe_package(name, version).await?;
        Ok(p.model_approval_status
            .as_deref()
            .and_then(ApprovalStatus::parse))
    }

    /// The body of the `CreateModelPackage` call for a version (public for the
    /// contract tests).
    pub fn create_package_body(
        &self,
        name: &ModelName,
        description: Option<&str>,
        metadata: &BTreeMap<String, String>,
        model_data_url: &str,
    ) -> Value {
        let mut body = json!({
            "ModelPackageGroupName": name.as_str(),
            "ModelApprovalStatus": ApprovalStatus::Pending.as_str(),
            "CustomerMetadataProperties": metadata,
            "ClientToken": uuid::Uuid::new_v4().simple().to_string(),
        });
        if let Some(d) = description {
            body["ModelPackageDescription"] = json!(d.chars().take(1024).collect::<String>());
        }
        if let Some(image) = &self.image {
            body["InferenceSpecification"] = json!({
                "Containers": [{"Image": image, "ModelDataUrl": model_data_url}],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            });
        }
        body
    }
}

#[async_trait]
impl ModelRegistry for SageMakerRegistry {
    fn capabilities(&self) -> Capabilities {
        self.caps
    }

    fn uri(&self) -> String {
        format!("sagemaker://{}", self.region)
    }

    async fn create_model_opts(
        &self,
        name: &ModelName,
        opts: CreateModelOptions,
    ) -> Result<RegisteredModel> {
        validate_tags(opts.tags.keys())?;
        builder::check_tag_values(&opts.tags)?;
        // Describe-then-create, one at a time from this value: moto (and, as far as
        // documented, nothing in the API) rejects a duplicate group name, so racing
        // creators in one process must not both pass the check.
        let _one_at_a_time = self.create_lock.lock().await;
        match self.describe_group(name).await {
            Ok(_) => {
                return Err(Error::ModelExists {
                    model: name.to_string(),
                });
            }
            Err(Error::ModelNotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let mut body = json!({"ModelPackageGroupName": name.as_str()});
        if let Some(d) = &opts.description {
            body["ModelPackageGroupDescription"] = json!(d);
        }
        if !opts.tags.is_empty() {
            body["Tags"] = json!(
                opts.tags
                    .iter()
                    .map(|(k, v)| json!({"Key": k, "Value": v}))
                    .collect::<Vec<_>>()
            );
        }
        self.client
            .call::<Value>("CreateModelPackageGroup", &body)
            .await
            .map_err(|e| match kind_of(&e) {
                ErrorKind::AlreadyExists => Error::ModelExists {
                    model: name.to_string(),
                },
                _ => e.into(),
            })?;
        self.get_model(name).await
    }

    async fn get_model(&self, name: &ModelName) -> Result<RegisteredModel> {
        let g = self.describe_group(name).await?;
        self.model_from_group(g).await
    }

    async fn search_models(&self, query: &ModelQuery) -> Result<Page<RegisteredModel>> {
        check_page_size(query.page_size)?;
        let mut body = json!({"SortBy": "Name", "SortOrder": "Ascending",
                              "MaxResults": query.page_size.min(100)});
        if let Some(p) = &query.name_prefix {
            body["NameContains"] = json!(p);
        }
        if let Some(t) = &query.page_token {
            body["NextToken"] = json!(t);
        }
        let list: GroupList = self.client.call("ListModelPackageGroups", &body).await?;
        let mut items = vec![];
        for g in list.model_package_group_summary_list {
            let prefix_ok = query
                .name_prefix
                .as_deref()
                .is_none_or(|p| g.model_package_group_name.starts_with(p));
            if !prefix_ok || g.model_package_group_name.parse::<ModelName>().is_err() {
                continue;
            }
            let m = self.model_from_group(g).await?;
            if let Some((k, v)) = &query.tag
                && m.tags.get(k) != Some(v)
            {
                continue;
            }
            items.push(m);
        }
        Ok(Page {
            items,
            next_page_token: list.next_token,
        })
    }

    async fn update_model(&self, name: &ModelName, update: ModelUpdate) -> Result<RegisteredModel> {
        validate_tags(update.set_tags.keys())?;
        builder::check_tag_values(&update.set_tags)?;
        let g = self.describe_group(name).await?;
        let arn = g.model_package_group_arn;
        let mut set: BTreeMap<String, String> = update.set_tags.clone();
        if let Some(d) = &update.description {
            set.insert("mlops:description".into(), d.clone().unwrap_or_default());
        }
        let mut remove: Vec<String> = update.remove_tags.clone();
        // moto appends repeated keys, AWS overwrites: delete first, then add.
        remove.extend(set.keys().cloned());
        if !remove.is_empty() {
            self.client
                .call::<Value>(
                    "DeleteTags",
                    &json!({"ResourceArn": arn, "TagKeys": remove}),
                )
                .await?;
        }
        if !set.is_empty() {
            let tags: Vec<Value> = set
                .iter()
                .map(|(k, v)| json!({"Key": k, "Value": v}))
                .collect();
            self.client
                .call::<Value>("AddTags", &json!({"ResourceArn": arn, "Tags": tags}))
                .await?;
        }
        self.get_model(name).await
    }

    async fn delete_model(&self, name: &ModelName) -> Result<()> {
        if !self.caps.delete_models {
            return Err(self.unsupported("delete_model"));
        }
        self.describe_group(name).await?;
        // SageMaker refuses to delete a group that still has versions.
        loop {
            let list: PackageList = self
                .client
                .call(
                    "ListModelPackages",
                    &json!({"ModelPackageGroupName": name.as_str(), "MaxResults": 100}),
                )
                .await?;
            if list.model_package_summary_list.is_empty() {
                break;
            }
            for s in list.model_package_summary_list {
                self.client
                    .call::<Value>(
                        "DeleteModelPackage",
                        &json!({"ModelPackageName": s.model_package_arn}),
                    )
                    .await?;
            }
        }
        self.client
            .call::<Value>(
                "DeleteModelPackageGroup",
                &json!({"ModelPackageGroupName": name.as_str()}),
            )
            .await?;
        Ok(())
    }

    async fn create_version(&self, name: &ModelName, new: NewModelVersion) -> Result<ModelVersion> {
        new.validate()?;
        self.describe_group(name).await?;
        let manifest = self.artifacts.put_all(name, &new.artifacts).await?;
        let record = Record {
            manifest: manifest.digest().to_string(),
            description: new.description.clone(),
            tags: new.tags,
            status: VersionStatus::Ready,
            lineage: new.lineage,
            signature: new.signature,
            metrics: new.metrics,
            creator: new.creator,
        };
        let metadata = self.store_record(&record).await?;
        let url = self.artifacts.uri(name, &manifest.digest());
        let body = self.create_package_body(name, new.description.as_deref(), &metadata, &url);
        let created: Value = {
            let _one_at_a_time = self.create_lock.lock().await;
            self.client.call("CreateModelPackage", &body).await?
        };
        let version = created["ModelPackageArn"]
            .as_str()
            .and_then(wire::version_of_arn)
            .ok_or_else(|| {
                mlops_core::Error::backend(
                    BACKEND,
                    format!("CreateModelPackage answered {created}"),
                )
            })?;
        self.get_version(name, version).await
    }

    async fn get_version(&self, name: &ModelName, version: u64) -> Result<ModelVersion> {
        let p = self.describe_package(name, version).await?;
        self.version_of(name, p).await
    }

    async fn search_versions(
        &self,
        name: &ModelName,
        query: &VersionQuery,
    ) -> Result<Page<ModelVersion>> {
        check_page_size(query.page_size)?;
        self.describe_group(name).await?;
        let mut body = json!({"ModelPackageGroupName": name.as_str(), "SortBy": "CreationTime",
                              "SortOrder": "Ascending", "MaxResults": query.page_size.min(100)});
        if let Some(t) = &query.page_token {
            body["NextToken"] = json!(t);
        }
        let list: PackageList = self.client.call("ListModelPackages", &body).await?;
        let mut items = vec![];
        for s in list.model_package_summary_list {
            let p: Package = self
                .client
                .call(
                    "DescribeModelPackage",
                    &json!({"ModelPackageName": s.model_package_arn}),
                )
                .await?;
            let v = self.version_of(name, p).await?;
            let status_ok = query.status.is_none_or(|st| st == v.status);
            let tag_ok = query
                .tag
                .as_ref()
                .is_none_or(|(k, val)| v.tags.get(k) == Some(val));
            if status_ok && tag_ok {
                items.push(v);
            }
        }
        items.sort_by_key(|v| v.version);
        Ok(Page {
            items,
            next_page_token: list.next_token,
        })
    }

    async fn update_version(
        &self,
        name: &ModelName,
        version: u64,
        update: VersionUpdate,
    ) -> Result<ModelVersion> {
        validate_tags(update.set_tags.keys())?;
        let p = self.describe_package(name, version).await?;
        let Some(mut record) = self.load_record(&p).await? else {
            return Err(mlops_core::Error::unsupported(
                "update_version of a package registered outside mlops-rs",
                BACKEND,
            )
            .into());
        };
        if let Some(d) = update.description {
            record.description = d;
        }
        for k in &update.remove_tags {
            record.tags.remove(k);
        }
        record.tags.extend(update.set_tags);
        if let Some(s) = update.status {
            record.status = s;
        }
        let metadata = self.store_record(&record).await?;
        let removed: Vec<&String> = p
            .customer_metadata_properties
            .keys()
            .filter(|k| !metadata.contains_key(*k))
            .collect();
        // Always the full state: moto clears what is not sent, AWS merges.
        let mut body = json!({
            "ModelPackageArn": p.model_package_arn,
            "CustomerMetadataProperties": metadata,
        });
        if let Some(s) = &p.model_approval_status {
            body["ModelApprovalStatus"] = json!(s);
        }
        if let Some(d) = &p.approval_description {
            body["ApprovalDescription"] = json!(d);
        }
        if !removed.is_empty() {
            body["CustomerMetadataPropertiesToRemove"] = json!(removed);
        }
        self.client
            .call::<Value>("UpdateModelPackage", &body)
            .await?;
        self.get_version(name, version).await
    }

    async fn delete_version(&self, name: &ModelName, version: u64) -> Result<()> {
        if !self.caps.delete_versions {
            return Err(self.unsupported("delete_version"));
        }
        let p = self.describe_package(name, version).await?;
        self.client
            .call::<Value>(
                "DeleteModelPackage",
                &json!({"ModelPackageName": p.model_package_arn}),
            )
            .await?;
        Ok(())
    }

    async fn set_alias(&self, _name: &ModelName, _alias: &Alias, _version: u64) -> Result<()> {
        Err(self.unsupported("set_alias"))
    }

    async fn delete_alias(&self, _name: &ModelName, _alias: &Alias) -> Result<()> {
        Err(self.unsupported("delete_alias"))
    }

    async fn resolve_alias(&self, _name: &ModelName, _alias: &Alias) -> Result<ModelVersion> {
        Err(self.unsupported("resolve_alias"))
    }

    async fn get_artifact(
        &self,
        name: &ModelName,
        version: u64,
        path: &ArtifactPath,
    ) -> Result<Bytes> {
        let v = self.get_version(name, version).await?;
        let blob = v.artifact(path)?;
        self.artifacts.get(name, path, &blob).await
    }
}
