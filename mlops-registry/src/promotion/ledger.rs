//! The promotion ledger: immutable sequenced records on a [`Storage`].
//!
//! Layout below the ledger's prefix (`<reg>` = first 16 hex digits of the blake3
//! of the registry's URI, so one ledger can serve several registries):
//!
//! | key | records |
//! |---|---|
//! | `<reg>/<model>/v<version>/<manifest-hex>/<seq:020>` | [`LedgerEvent`]s of one version: requests, approvals, rejections, gate reports, promotions |
//! | `<reg>/<model>/env/<environment>/<seq:020>` | [`Deployment`]s to one environment, in order; the last is live |
//!
//! Keying version records by the manifest digest means approvals given to one
//! content never carry over to different bytes registered under the same number.

use crate::error::Result;
use chrono::{DateTime, Utc};
use mlops_core::name::ModelName;
use mlops_core::object_store::ObjectStore;
use mlops_core::seq::SeqLog;
use mlops_core::{Digest, GateReport, Principal, Storage};
use serde::{Deserialize, Serialize};

/// One record in a version's ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LedgerEvent {
    /// A promotion was requested; the record's seq is the request id.
    Requested {
        /// Target environment.
        environment: String,
        /// Who asked.
        requester: Principal,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// An approval.
    Approved {
        /// The request id.
        request: u64,
        /// Who approved.
        approver: Principal,
        /// The roles the authorizer granted at approval time.
        roles: Vec<String>,
        /// Their comment.
        comment: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A rejection (closes the request).
    Rejected {
        /// The request id.
        request: u64,
        /// Who rejected.
        by: Principal,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A gate report attached to a request.
    GateReported {
        /// The request id.
        request: u64,
        /// The report.
        report: GateReport,
        /// When it was attached.
        at: DateTime<Utc>,
    },
    /// The version was deployed to an environment (by a request or a rollback).
    Promoted {
        /// The request id (`None` for a rollback).
        request: Option<u64>,
        /// The environment.
        environment: String,
        /// Who promoted.
        by: Principal,
        /// Why.
        reason: String,
        /// For a rollback: the version it replaced.
        rollback_from: Option<u64>,
        /// When.
        at: DateTime<Utc>,
    },
}

/// A ledger record: its sequence number and event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerRecord {
    /// The record's number in its log.
    pub seq: u64,
    /// What happened.
    pub event: LedgerEvent,
}

/// A version deployed to an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// The record's number in the environment's log.
    #[serde(default)]
    pub seq: u64,
    /// The model.
    pub model: ModelName,
    /// The environment.
    pub environment: String,
    /// The deployed version.
    pub version: u64,
    /// Its manifest digest.
    pub manifest_digest: Digest,
    /// The request that was promoted (`None` for a rollback).
    pub request: Option<u64>,
    /// Who deployed it (principal id).
    pub by: String,
    /// Why.
    pub reason: String,
    /// For a rollback: the version it replaced.
    pub rollback_from: Option<u64>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The ledger over a storage prefix.
#[derive(Debug, Clone)]
pub struct PromotionLedger {
    storage: Storage,
}

fn corrupt(what: &str, e: serde_json::Error) -> crate::Error {
    mlops_core::Error::backend("promotion ledger", format!("unreadable record {what}: {e}")).into()
}

impl PromotionLedger {
    /// A ledger at `storage`'s prefix.
    pub fn new(storage: Storage) -> Self {
        Self { storage }
    }

    /// The storage.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The key segment for a registry URI.
    pub fn registry_key(registry_uri: &str) -> String {
        Digest::of(registry_uri.as_bytes()).to_hex()[..16].to_string()
    }

    fn version_log(
        &self,
        registry: &str,
        model: &ModelName,
        version: u64,
        digest: &Digest,
    ) -> Result<SeqLog> {
        let dir = format!(
            "{}/{model}/v{version}/{}",
            Self::registry_key(registry),
            digest.to_hex()
        );
        Ok(SeqLog::new(&self.storage, &dir)?)
    }

    fn env_log(&self, registry: &str, model: &ModelName, env: &str) -> Result<SeqLog> {
        let dir = format!("{}/{model}/env/{env}", Self::registry_key(registry));
        Ok(SeqLog::new(&self.storage, &dir)?)
    }

    /// Appends an event to a version's log; returns its seq.
    ///
    /// # Errors
    /// Store failures.
    pub async fn append_event(
        &self,
        registry: &str,
        model: &ModelName,
        version: u64,
        digest: &Digest,
        event: &LedgerEvent,
    ) -> Result<u64> {
        let bytes = serde_json::to_vec(event).map_err(|e| corrupt("new event", e))?;
        let log = self.version_log(registry, model, version, digest)?;
        Ok(log.append(bytes.into()).await?)
    }

    /// A version's events, in order.
    ///
    /// # Errors
    /// Store failures; `Backend` for an unreadable record.
    pub async fn events(
        &self,
        registry: &str,
        model: &ModelName,
        version: u64,
        digest: &Digest,
    ) -> Result<Vec<LedgerRecord>> {
        let log = self.version_log(registry, model, version, digest)?;
        log.read_from(1)
            .await?
            .into_iter()
            .map(|(seq, b)| {
                let event = serde_json::from_slice(&b)
                    .map_err(|e| corrupt(&format!("{model} v{version} #{seq}"), e))?;
                Ok(LedgerRecord { seq, event })
            })
            .collect()
    }

    /// Appends a deployment to an environment's log; returns it with its seq.
    ///
    /// # Errors
    /// Store failures.
    pub async fn append_deployment(&self, registry: &str, mut d: Deployment) -> Result<Deployment> {
        let bytes = serde_json::to_vec(&d).map_err(|e| corrupt("new deployment", e))?;
        let log = self.env_log(registry, &d.model, &d.environment)?;
        d.seq = log.append(bytes.into()).await?;
        Ok(d)
    }

    /// Every deployment of `model` to `env`, oldest first.
    ///
    /// # Errors
    /// Store failures; `Backend` for an unreadable record.
    pub async fn deployments(
        &self,
        registry: &str,
        model: &ModelName,
        env: &str,
    ) -> Result<Vec<Deployment>> {
        let log = self.env_log(registry, model, env)?;
        log.read_from(1)
            .await?
            .into_iter()
            .map(|(seq, b)| {
                let mut d: Deployment = serde_json::from_slice(&b)
                    .map_err(|e| corrupt(&format!("{model}@{env} #{seq}"), e))?;
                d.seq = seq;
                Ok(d)
            })
            .collect()
    }

    /// The live deployment of `model` in `env` (the last record), if any.
    ///
    /// # Errors
    /// As [`PromotionLedger::deployments`].
    pub async fn current(
        &self,
        registry: &str,
        model: &ModelName,
        env: &str,
    ) -> Result<Option<Deployment>> {
        let log = self.env_log(registry, model, env)?;
        let Some(head) = log.head().await? else {
            return Ok(None);
        };
        let b = log.get(head).await?;
        let mut d: Deployment = serde_json::from_slice(&b)
            .map_err(|e| corrupt(&format!("{model}@{env} #{head}"), e))?;
        d.seq = head;
        Ok(Some(d))
    }

    /// Models with any ledger record for `registry`, sorted.
    ///
    /// # Errors
    /// Store failures.
    pub async fn models(&self, registry: &str) -> Result<Vec<ModelName>> {
        let root = self.storage.path(&Self::registry_key(registry))?;
        let listed = self
            .storage
            .store()
            .list_with_delimiter(Some(&root))
            .await
            .map_err(|e| mlops_core::Error::store(&root, e))?;
        let mut out: Vec<ModelName> = listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename())
            .filter_map(|f| f.parse().ok())
            .collect();
        out.sort();
        Ok(out)
    }
}
