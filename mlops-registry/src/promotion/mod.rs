//! The promotion workflow over any [`ModelRegistry`]: request → approve/reject →
//! promote, with gates, four-eyes approvals, rollback and full history.
//!
//! State lives in a [`PromotionLedger`] (immutable sequenced records on any
//! object store), so the same workflow runs on every backend. Backends with
//! native aliases get the environment alias (`staging`, `production`) mirrored.
//! With [`Promotions::with_audit`] every workflow action is recorded in a
//! tamper-evident [`AuditLog`] (see [`PROMOTION_METHODS`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_registry::Result<()> {
//! use std::sync::Arc;
//! use mlops_core::{GateReport, Principal, Storage};
//! use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt};
//! use mlops_registry::promotion::{Promotions, Environments, EnvironmentPolicy};
//!
//! let reg: Arc<dyn ModelRegistry> = Arc::new(EmbeddedRegistry::builder().with_url("memory://").build()?);
//! let envs = Environments::default()
//!     .with_policy("staging", EnvironmentPolicy::default().with_approvals(2).with_required_gates(["drift"]))?;
//! let promos = Promotions::new(reg.clone(), Storage::memory()).with_environments(envs);
//! let (alice, bob, carol) = (Principal::user("alice"), Principal::user("bob"), Principal::user("carol"));
//!
//! let m = "fraud".parse()?;
//! reg.create_model(&m).await?;
//! reg.create_version(&m, NewModelVersion::new(&alice)).await?;
//! let req = promos.request(&m, 1, "staging", &alice, "better recall").await?;
//! // alice may not approve her own request (four eyes)
//! assert!(promos.approve(&req, &alice, "lgtm").await.is_err());
//! promos.approve(&req, &bob, "lgtm").await?;
//! let err = promos.promote(&req, &alice).await.unwrap_err();
//! assert!(err.to_string().contains("approvals: 1 of 2 required; gate drift: no report attached"));
//! promos.approve(&req, &carol, "ok").await?;
//! promos.attach_report(&req, GateReport::new("drift", "mlops-monitor", true)).await?;
//! let d = promos.promote(&req, &alice).await?;
//! assert_eq!(d.version, 1);
//! assert_eq!(reg.resolve_alias(&m, &"staging".parse()?).await?.version, 1);
//! # Ok(()) }
//! ```

mod audit;
#[cfg(test)]
mod audit_tests;
mod copy;
mod environments;
mod gate;
mod ledger;

pub use audit::PROMOTION_METHODS;
pub use copy::copy_version;
pub use environments::{Autoscaling, Environment, EnvironmentPolicy, Environments};
pub use gate::{Authorizer, Gate, TrustPrincipalRoles};
pub use ledger::{Deployment, LedgerEvent, LedgerRecord, PromotionLedger};

use crate::error::{Error, Result, Unmet};
use crate::registry::ModelRegistry;
use crate::types::{ModelVersion, VersionStatus};
use audit::Act;
use chrono::Utc;
use mlops_core::audit::AuditLog;
use mlops_core::name::ModelName;
use mlops_core::{Action, Digest, GateReport, Principal, ResourceKind, ResourceRef, Storage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A handle on one promotion request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionRequest {
    /// The model.
    pub model: ModelName,
    /// The version.
    pub version: u64,
    /// The version's manifest digest when requested.
    pub manifest_digest: Digest,
    /// The target environment.
    pub environment: String,
    /// The request id (its seq in the version's ledger).
    pub id: u64,
    /// Who requested it (principal id).
    pub requester: String,
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestStatus {
    /// The request.
    pub request: PromotionRequest,
    /// Approvals in order: principal id → roles granted at approval time.
    pub approvals: Vec<(String, Vec<String>)>,
    /// Gate reports attached, in order.
    pub reports: Vec<GateReport>,
    /// The rejection, if any: (by, reason).
    pub rejected: Option<(String, String)>,
    /// Whether it was promoted.
    pub promoted: bool,
    /// What still blocks promotion (empty = promotable).
    pub unmet: Vec<Unmet>,
}

/// The promotion workflow over one registry and one ledger.
#[derive(Debug, Clone)]
pub struct Promotions {
    registry: Arc<dyn ModelRegistry>,
    ledger: PromotionLedger,
    envs: Environments,
    authorizer: Arc<dyn Authorizer>,
    mirrors: Vec<Arc<dyn DeploymentMirror>>,
    audit: Option<AuditLog>,
}

/// Mirrors a recorded deployment onto a field a backend has natively, beyond aliases
/// (e.g. SageMaker's `ModelApprovalStatus`, through `sagemaker::ApprovalMirror`).
///
/// Called after the ledger recorded the deployment and the alias was synced, for every
/// promotion and rollback; an error fails the call (the ledger already holds the
/// deployment, so calling [`Promotions::sync_alias`]-style repair again is safe).
#[async_trait::async_trait]
pub trait DeploymentMirror: std::fmt::Debug + Send + Sync + 'static {
    /// Mirrors `deployment`.
    ///
    /// # Errors
    /// The backend's errors.
    async fn mirror(&self, deployment: &Deployment) -> Result<()>;
}

impl Promotions {
    /// The workflow over `registry`, keeping its ledger on `ledger`, with the
    /// default environments and [`TrustPrincipalRoles`].
    pub fn new(registry: Arc<dyn ModelRegistry>, ledger: Storage) -> Self {
        Self {
            registry,
            ledger: PromotionLedger::new(ledger),
            envs: Environments::default(),
            authorizer: Arc::new(TrustPrincipalRoles),
            mirrors: Vec::new(),
            audit: None,
        }
    }

    /// Adds a mirror called after every deployment (see [`DeploymentMirror`]).
    pub fn with_mirror(mut self, m: Arc<dyn DeploymentMirror>) -> Self {
        self.mirrors.push(m);
        self
    }

    /// Uses these environments.
    pub fn with_environments(mut self, envs: Environments) -> Self {
        self.envs = envs;
        self
    }

    /// Uses this authorizer (e.g. governance's policy).
    pub fn with_authorizer(mut self, a: Arc<dyn Authorizer>) -> Self {
        self.authorizer = a;
        self
    }

    /// The environments.
    pub fn environments(&self) -> &Environments {
        &self.envs
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<dyn ModelRegistry> {
        &self.registry
    }

    /// The ledger.
    pub fn ledger(&self) -> &PromotionLedger {
        &self.ledger
    }

    fn resource(model: &ModelName, env: &str) -> ResourceRef {
        ResourceRef::new(ResourceKind::Model, model.as_str()).in_env(env)
    }

    /// Opens a request to deploy `version` to `environment`.
    ///
    /// # Errors
    /// `UnknownEnvironment`; `NotFound` for an unknown model/version;
    /// `PermissionDenied` from the authorizer (action `write`).
    pub async fn request(
        &self,
        model: &ModelName,
        version: u64,
        environment: &str,
        requester: &Principal,
        reason: &str,
    ) -> Result<PromotionRequest> {
        let act =
            Act::new("request", requester, model, environment, &[model, &reason]).version(version);
        self.audited(
            act,
            self.request_unaudited(model, version, environment, requester, reason),
        )
        .await
    }

    async fn request_unaudited(
        &self,
        model: &ModelName,
        version: u64,
        environment: &str,
        requester: &Principal,
        reason: &str,
    ) -> Result<PromotionRequest> {
        self.envs.get(environment)?;
        let res = Self::resource(model, environment);
        self.authorizer
            .authorize(requester, Action::Write, &res)
            .await?;
        let v = self.registry.get_version(model, version).await?;
        let ev = LedgerEvent::Requested {
            environment: environment.to_string(),
            requester: requester.clone(),
            reason: reason.to_string(),
            at: Utc::now(),
        };
        let id = self
            .ledger
            .append_event(
                &self.registry.uri(),
                model,
                version,
                &v.manifest_digest,
                &ev,
            )
            .await?;
        Ok(PromotionRequest {
            model: model.clone(),
            version,
            manifest_digest: v.manifest_digest,
            environment: environment.to_string(),
            id,
            requester: requester.id.clone(),
        })
    }

    async fn append(&self, req: &PromotionRequest, ev: &LedgerEvent) -> Result<u64> {
        self.ledger
            .append_event(
                &self.registry.uri(),
                &req.model,
                req.version,
                &req.manifest_digest,
                ev,
            )
            .await
    }

    /// The request's current state, with what still blocks it.
    ///
    /// # Errors
    /// `RequestNotFound`; `NotFound` if the version is gone; store failures.
    pub async fn status(&self, req: &PromotionRequest) -> Result<RequestStatus> {
        let uri = self.registry.uri();
        let records = self
            .ledger
            .events(&uri, &req.model, req.version, &req.manifest_digest)
            .await?;
        let not_found = || Error::RequestNotFound {
            model: req.model.to_string(),
            version: req.version,
            request: req.id,
        };
        let opened = records
            .iter()
            .find(|r| r.seq == req.id)
            .ok_or_else(not_found)?;
        let requester = match &opened.event {
            LedgerEvent::Requested {
                requester,
                environment,
                ..
            } if *environment == req.environment => requester.clone(),
            _ => return Err(not_found()),
        };
        let mut approvals: BTreeMap<String, (u64, Vec<String>)> = BTreeMap::new();
        let mut reports = vec![];
        let mut rejected = None;
        let mut promoted = false;
        for r in &records {
            match &r.event {
                LedgerEvent::Approved {
                    request,
                    approver,
                    roles,
                    ..
                } if *request == req.id => {
                    approvals
                        .entry(approver.id.clone())
                        .or_insert((r.seq, roles.clone()));
                }
                LedgerEvent::Rejected {
                    request,
                    by,
                    reason,
                    ..
                } if *request == req.id => {
                    rejected.get_or_insert((by.id.clone(), reason.clone()));
                }
                LedgerEvent::GateReported {
                    request, report, ..
                } if *request == req.id => reports.push(report.clone()),
                LedgerEvent::Promoted {
                    request: Some(request),
                    ..
                } if *request == req.id => promoted = true,
                _ => {}
            }
        }
        let mut approvals: Vec<(u64, String, Vec<String>)> = approvals
            .into_iter()
            .map(|(id, (seq, roles))| (seq, id, roles))
            .collect();
        approvals.sort();
        let approvals: Vec<(String, Vec<String>)> =
            approvals.into_iter().map(|(_, id, r)| (id, r)).collect();

        let env = self.envs.get(&req.environment)?;
        let policy = &env.policy;
        let mut unmet = vec![];
        let v = self.registry.get_version(&req.model, req.version).await?;
        if v.manifest_digest != req.manifest_digest {
            return Err(mlops_core::Error::conflict(
                "model version",
                format!("{}/{}", req.model, req.version),
                "its artifacts changed since the request; open a new request",
            )
            .into());
        }
        if v.status != VersionStatus::Ready {
            unmet.push(Unmet::NotReady {
                status: v.status.to_string(),
            });
        }
        if let Some((by, reason)) = &rejected {
            unmet.push(Unmet::Rejected {
                by: by.clone(),
                reason: reason.clone(),
            });
        }
        let eligible = approvals
            .iter()
            .filter(|(id, _)| policy.requester_may_approve || *id != requester.id)
            .filter(|(_, roles)| {
                policy.approver_roles.is_empty()
                    || roles.iter().any(|r| policy.approver_roles.contains(r))
            })
            .count() as u32;
        if eligible < policy.approvals {
            unmet.push(Unmet::Approvals {
                have: eligible,
                need: policy.approvals,
            });
        }
        for gate in &policy.required_gates {
            let mine: Vec<&GateReport> = reports.iter().filter(|r| r.check == *gate).collect();
            if let Some(failed) = mine.iter().find(|r| !r.passed) {
                unmet.push(Unmet::GateFailed {
                    gate: gate.clone(),
                    details: failed.details.clone(),
                });
            } else if mine.is_empty() {
                unmet.push(Unmet::GateMissing { gate: gate.clone() });
            }
        }
        if policy.require_previous
            && let Some(prev) = self.envs.previous(&req.environment)?
        {
            let history = self
                .ledger
                .deployments(&uri, &req.model, prev.name.as_str())
                .await?;
            if !history.iter().any(|d| d.version == req.version) {
                unmet.push(Unmet::PreviousEnvironment {
                    environment: prev.name.to_string(),
                });
            }
        }
        Ok(RequestStatus {
            request: req.clone(),
            approvals,
            reports,
            rejected,
            promoted,
            unmet,
        })
    }

    fn ensure_open(st: &RequestStatus) -> Result<()> {
        let state = if st.promoted {
            "promoted".to_string()
        } else if let Some((by, _)) = &st.rejected {
            format!("rejected by {by}")
        } else {
            return Ok(());
        };
        Err(Error::RequestClosed {
            model: st.request.model.to_string(),
            version: st.request.version,
            request: st.request.id,
            state,
        })
    }

    /// Records an approval.
    ///
    /// **Behavior**: a second approval by the same principal is a no-op.
    ///
    /// # Errors
    /// `SelfApproval` when the requester approves and the policy forbids it;
    /// `MissingRole` when the approver holds none of the policy's roles (as the
    /// authorizer sees them); `RequestClosed`; `PermissionDenied` from the authorizer.
    pub async fn approve(
        &self,
        req: &PromotionRequest,
        approver: &Principal,
        comment: &str,
    ) -> Result<()> {
        let act = Act::on("approve", approver, req, &[&comment]);
        self.audited(act, self.approve_unaudited(req, approver, comment))
            .await
    }

    async fn approve_unaudited(
        &self,
        req: &PromotionRequest,
        approver: &Principal,
        comment: &str,
    ) -> Result<()> {
        let st = self.status(req).await?;
        Self::ensure_open(&st)?;
        let policy = &self.envs.get(&req.environment)?.policy;
        if approver.id == req.requester && !policy.requester_may_approve {
            return Err(Error::SelfApproval {
                principal: approver.id.clone(),
                model: req.model.to_string(),
                version: req.version,
                environment: req.environment.clone(),
            });
        }
        let res = Self::resource(&req.model, &req.environment);
        self.authorizer
            .authorize(approver, Action::Approve, &res)
            .await?;
        let roles = self.authorizer.roles(approver, &res).await?;
        if !policy.approver_roles.is_empty()
            && !roles.iter().any(|r| policy.approver_roles.contains(r))
        {
            return Err(Error::MissingRole {
                principal: approver.id.clone(),
                environment: req.environment.clone(),
                required: policy.approver_roles.clone(),
                held: roles,
            });
        }
        if st.approvals.iter().any(|(id, _)| *id == approver.id) {
            return Ok(());
        }
        self.append(
            req,
            &LedgerEvent::Approved {
                request: req.id,
                approver: approver.clone(),
                roles,
                comment: comment.to_string(),
                at: Utc::now(),
            },
        )
        .await?;
        Ok(())
    }

    /// Rejects (closes) a request.
    ///
    /// # Errors
    /// `RequestClosed`; `PermissionDenied` from the authorizer (action `approve`).
    pub async fn reject(&self, req: &PromotionRequest, by: &Principal, reason: &str) -> Result<()> {
        let act = Act::on("reject", by, req, &[&reason]);
        self.audited(act, self.reject_unaudited(req, by, reason))
            .await
    }

    async fn reject_unaudited(
        &self,
        req: &PromotionRequest,
        by: &Principal,
        reason: &str,
    ) -> Result<()> {
        let st = self.status(req).await?;
        Self::ensure_open(&st)?;
        let res = Self::resource(&req.model, &req.environment);
        self.authorizer.authorize(by, Action::Approve, &res).await?;
        self.append(
            req,
            &LedgerEvent::Rejected {
                request: req.id,
                by: by.clone(),
                reason: reason.to_string(),
                at: Utc::now(),
            },
        )
        .await?;
        Ok(())
    }

    /// Attaches a gate report (e.g. from mlops-monitor) to a request.
    ///
    /// # Errors
    /// `RequestClosed`; store failures.
    pub async fn attach_report(&self, req: &PromotionRequest, report: GateReport) -> Result<()> {
        let by = Principal::service(report.produced_by.clone());
        let act = Act::on("attach_report", &by, req, &[&report]);
        self.audited(act, self.attach_report_unaudited(req, report))
            .await
    }

    async fn attach_report_unaudited(
        &self,
        req: &PromotionRequest,
        report: GateReport,
    ) -> Result<()> {
        let st = self.status(req).await?;
        Self::ensure_open(&st)?;
        self.append(
            req,
            &LedgerEvent::GateReported {
                request: req.id,
                report,
                at: Utc::now(),
            },
        )
        .await?;
        Ok(())
    }

    /// Runs `gate` on the version and attaches its report (named after the gate).
    ///
    /// # Errors
    /// The gate's own error; as [`Promotions::attach_report`].
    pub async fn run_gate(&self, req: &PromotionRequest, gate: &dyn Gate) -> Result<GateReport> {
        let by = Principal::service(gate.name());
        let act = Act::on("run_gate", &by, req, &[&gate.name()]);
        self.audited(act, async {
            let v = self.registry.get_version(&req.model, req.version).await?;
            let mut report = gate.check(&v).await?;
            report.check = gate.name().to_string();
            self.attach_report_unaudited(req, report.clone()).await?;
            Ok(report)
        })
        .await
    }

    /// Deploys the request's version to its environment, if every requirement holds.
    ///
    /// # Errors
    /// `PromotionBlocked` listing **every** unmet requirement; `RequestClosed`;
    /// `PermissionDenied` from the authorizer (action `promote`); an error from
    /// mirroring the alias (the deployment is recorded; rerun
    /// [`Promotions::sync_alias`]).
    pub async fn promote(&self, req: &PromotionRequest, by: &Principal) -> Result<Deployment> {
        self.audited(
            Act::on("promote", by, req, &[]),
            self.promote_unaudited(req, by),
        )
        .await
    }

    async fn promote_unaudited(
        &self,
        req: &PromotionRequest,
        by: &Principal,
    ) -> Result<Deployment> {
        let st = self.status(req).await?;
        if st.promoted {
            Self::ensure_open(&st)?;
        }
        if !st.unmet.is_empty() {
            return Err(Error::PromotionBlocked {
                model: req.model.to_string(),
                version: req.version,
                environment: req.environment.clone(),
                unmet: st.unmet,
            });
        }
        let res = Self::resource(&req.model, &req.environment);
        self.authorizer.authorize(by, Action::Promote, &res).await?;
        self.deploy(
            &req.model,
            &req.environment,
            req.version,
            &req.manifest_digest,
            by,
            Some(req.id),
            format!("promotion request {}", req.id),
            None,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)] // private: one call per deployment kind
    async fn deploy(
        &self,
        model: &ModelName,
        env: &str,
        version: u64,
        digest: &Digest,
        by: &Principal,
        request: Option<u64>,
        reason: String,
        rollback_from: Option<u64>,
    ) -> Result<Deployment> {
        let uri = self.registry.uri();
        let d = self
            .ledger
            .append_deployment(
                &uri,
                Deployment {
                    seq: 0,
                    model: model.clone(),
                    environment: env.to_string(),
                    version,
                    manifest_digest: *digest,
                    request,
                    by: by.id.clone(),
                    reason: reason.clone(),
                    rollback_from,
                    at: Utc::now(),
                },
            )
            .await?;
        self.ledger
            .append_event(
                &uri,
                model,
                version,
                digest,
                &LedgerEvent::Promoted {
                    request,
                    environment: env.to_string(),
                    by: by.clone(),
                    reason,
                    rollback_from,
                    at: d.at,
                },
            )
            .await?;
        self.sync_alias_unaudited(model, env).await?;
        for m in &self.mirrors {
            m.mirror(&d).await?;
        }
        tracing::info!(model = %model, env, version, "deployed");
        Ok(d)
    }

    /// Mirrors the ledger's live deployment of `model` in `env` onto the
    /// registry's native alias (a no-op for backends without aliases).
    ///
    /// # Errors
    /// The registry's alias errors.
    pub async fn sync_alias(&self, model: &ModelName, env: &str) -> Result<()> {
        let by = Principal::service("promotions");
        let act = Act::new("sync_alias", &by, model, env, &[model, &env]);
        self.audited(act, self.sync_alias_unaudited(model, env))
            .await
    }

    async fn sync_alias_unaudited(&self, model: &ModelName, env: &str) -> Result<()> {
        if !self.registry.capabilities().native_aliases {
            return Ok(());
        }
        let alias = self.envs.get(env)?.alias()?;
        if let Some(d) = self.deployed(model, env).await? {
            self.registry.set_alias(model, &alias, d.version).await?;
        }
        Ok(())
    }

    /// Redeploys the version that was live in `env` before the current one.
    ///
    /// # Errors
    /// `Conflict` when nothing was deployed before; `PermissionDenied` from the
    /// authorizer (action `promote`).
    pub async fn rollback(
        &self,
        model: &ModelName,
        env: &str,
        by: &Principal,
        reason: &str,
    ) -> Result<Deployment> {
        let act = Act::new("rollback", by, model, env, &[model, &env, &reason]);
        self.audited(act, self.rollback_unaudited(model, env, by, reason))
            .await
    }

    async fn rollback_unaudited(
        &self,
        model: &ModelName,
        env: &str,
        by: &Principal,
        reason: &str,
    ) -> Result<Deployment> {
        self.envs.get(env)?;
        self.authorizer
            .authorize(by, Action::Promote, &Self::resource(model, env))
            .await?;
        let history = self.deployment_history(model, env).await?;
        let nothing = |why: &str| -> Error {
            mlops_core::Error::conflict("deployment", format!("{model}@{env}"), why.to_string())
                .into()
        };
        let current = history
            .last()
            .ok_or_else(|| nothing("nothing is deployed"))?;
        let prev = history
            .iter()
            .rev()
            .find(|d| d.version != current.version)
            .ok_or_else(|| nothing("no earlier version was deployed"))?;
        self.deploy(
            model,
            env,
            prev.version,
            &prev.manifest_digest,
            by,
            None,
            reason.to_string(),
            Some(current.version),
        )
        .await
    }

    /// The live deployment of `model` in `env`.
    ///
    /// # Errors
    /// `UnknownEnvironment`; store failures.
    pub async fn deployed(&self, model: &ModelName, env: &str) -> Result<Option<Deployment>> {
        self.envs.get(env)?;
        self.ledger.current(&self.registry.uri(), model, env).await
    }

    /// The version deployed to `env`, from the ledger — works on every backend,
    /// with or without native aliases.
    ///
    /// # Errors
    /// `NotFound` (`AliasNotFound`) when nothing is deployed; `UnknownEnvironment`.
    pub async fn resolve(&self, model: &ModelName, env: &str) -> Result<ModelVersion> {
        let d = self
            .deployed(model, env)
            .await?
            .ok_or_else(|| Error::AliasNotFound {
                model: model.to_string(),
                alias: env.to_string(),
            })?;
        self.registry.get_version(model, d.version).await
    }

    /// Every deployment of `model` to `env`, oldest first.
    ///
    /// # Errors
    /// `UnknownEnvironment`; store failures.
    pub async fn deployment_history(
        &self,
        model: &ModelName,
        env: &str,
    ) -> Result<Vec<Deployment>> {
        self.envs.get(env)?;
        self.ledger
            .deployments(&self.registry.uri(), model, env)
            .await
    }

    /// The full history of a version (who, when, why), oldest first.
    ///
    /// # Errors
    /// `NotFound` for an unknown version; store failures.
    pub async fn history(&self, model: &ModelName, version: u64) -> Result<Vec<LedgerRecord>> {
        let v = self.registry.get_version(model, version).await?;
        self.ledger
            .events(&self.registry.uri(), model, version, &v.manifest_digest)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_types_are_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Promotions>();
        assert_send_sync::<PromotionRequest>();
        assert_send_sync::<PromotionLedger>();
        assert_send_sync::<Deployment>();
    }
}
