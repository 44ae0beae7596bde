//! Audit of the promotion workflow: with [`Promotions::with_audit`] every workflow
//! action becomes an [`AuditEvent`](mlops_core::audit::AuditEvent).

use super::{Deployment, PromotionRequest, Promotions};
use crate::error::{Error, Result};
use mlops_core::audit::AuditLog;
use mlops_core::layer::{AuditSink, canonical};
use mlops_core::name::ModelName;
use mlops_core::policy::{MethodRule, MethodTable};
use mlops_core::{Action, GateReport, Principal};

/// The [`Promotions`] workflow methods, the action each is audited (and, where the
/// workflow consults its [`Authorizer`](super::Authorizer), authorized) as, and which
/// change state. Mutating methods are audited when [`Promotions::with_audit`] is set;
/// reads take no principal and are not audited. Construction and accessors
/// (`new`, `with_*`, `registry`, ...) have no rule; any other `pub` method added to
/// `Promotions` without a rule here fails a test.
pub const PROMOTION_METHODS: MethodTable = MethodTable::new(
    "Promotions",
    &[
        MethodRule::mutating("request", Action::Write),
        MethodRule::read("status"),
        MethodRule::mutating("approve", Action::Approve),
        MethodRule::mutating("reject", Action::Approve),
        MethodRule::mutating("attach_report", Action::Write),
        MethodRule::mutating("run_gate", Action::Write),
        MethodRule::mutating("promote", Action::Promote),
        MethodRule::mutating("sync_alias", Action::Promote),
        MethodRule::mutating("rollback", Action::Promote),
        MethodRule::read("deployed"),
        MethodRule::read("resolve"),
        MethodRule::read("deployment_history"),
        MethodRule::read("history"),
    ],
);

/// One workflow action as the audit records it.
pub(super) struct Act<'a> {
    method: &'static str,
    by: Principal,
    model: &'a ModelName,
    environment: &'a str,
    version: Option<u64>,
    request: Option<u64>,
    args: Vec<u8>,
}

impl<'a> Act<'a> {
    /// `method` by `by` on `model` in `environment`, with the request's arguments.
    pub(super) fn new(
        method: &'static str,
        by: &Principal,
        model: &'a ModelName,
        environment: &'a str,
        args: &[&dyn std::fmt::Debug],
    ) -> Self {
        Self {
            method,
            by: by.clone(),
            model,
            environment,
            version: None,
            request: None,
            args: canonical(method, args),
        }
    }

    /// An action on an open request.
    pub(super) fn on(
        method: &'static str,
        by: &Principal,
        req: &'a PromotionRequest,
        args: &[&dyn std::fmt::Debug],
    ) -> Self {
        let mut all: Vec<&dyn std::fmt::Debug> = vec![req];
        all.extend_from_slice(args);
        let mut a = Self::new(method, by, &req.model, &req.environment, &all);
        a.version = Some(req.version);
        a.request = Some(req.id);
        a
    }

    /// Sets the version.
    pub(super) fn version(mut self, v: u64) -> Self {
        self.version = Some(v);
        self
    }
}

/// What a successful action adds to its event.
pub(super) trait Audited {
    /// `(key, value)` details.
    fn details(&self) -> Vec<(&'static str, String)>;
}

impl Audited for () {
    fn details(&self) -> Vec<(&'static str, String)> {
        vec![]
    }
}

impl Audited for PromotionRequest {
    fn details(&self) -> Vec<(&'static str, String)> {
        vec![
            ("request", self.id.to_string()),
            ("version", self.version.to_string()),
        ]
    }
}

impl Audited for Deployment {
    fn details(&self) -> Vec<(&'static str, String)> {
        let mut d = vec![
            ("version", self.version.to_string()),
            ("deployment", self.seq.to_string()),
        ];
        if let Some(from) = self.rollback_from {
            d.push(("rollback_from", from.to_string()));
        }
        d
    }
}

impl Audited for GateReport {
    fn details(&self) -> Vec<(&'static str, String)> {
        vec![
            ("gate", self.check.clone()),
            ("passed", self.passed.to_string()),
        ]
    }
}

impl Promotions {
    /// Records every workflow action (request, approve, reject, attach_report,
    /// run_gate, promote, rollback, sync_alias) in `log`: the acting principal, the
    /// action from [`PROMOTION_METHODS`] on `model:<name>@<environment>`, the outcome
    /// (allowed; denied for a policy refusal, self-approval or missing role;
    /// failed(kind) otherwise, a blocked promotion with detail `refused` = `unmet
    /// requirements: ...`), the request digest, and details `method`, `environment`,
    /// `version`, `request`. Calls that carry no principal are recorded as a service:
    /// `attach_report` as the report's `produced_by`, `run_gate` as the gate's name,
    /// `sync_alias` as `promotions`. Events are queued; call [`AuditLog::flush`] for
    /// durability.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use mlops_core::{Principal, Storage, audit::{AuditLog, AuditQuery, Outcome}};
    /// use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt};
    /// use mlops_registry::promotion::Promotions;
    /// let reg: Arc<dyn ModelRegistry> = Arc::new(EmbeddedRegistry::builder().with_url("memory://").build()?);
    /// let log = AuditLog::open(&Storage::memory()).await?;
    /// let promos = Promotions::new(reg.clone(), Storage::memory()).with_audit(log.clone());
    /// let m = "fraud".parse()?;
    /// reg.create_model(&m).await?;
    /// reg.create_version(&m, NewModelVersion::new(&Principal::user("alice"))).await?;
    /// let req = promos.request(&m, 1, "staging", &Principal::user("alice"), "ship it").await?;
    /// assert!(promos.approve(&req, &Principal::user("alice"), "mine").await.is_err()); // four eyes
    /// log.flush().await?;
    /// let ev = log.query(&AuditQuery::new()).await?;
    /// assert_eq!(ev[0].resource.to_string(), "model:fraud@staging");
    /// assert_eq!((ev[0].outcome, ev[1].outcome), (Outcome::Allowed, Outcome::Denied));
    /// assert_eq!(ev[1].details["method"], "Promotions::approve");
    /// assert!(log.verify().await?.is_clean());
    /// # Ok(()) }
    /// ```
    pub fn with_audit(mut self, log: AuditLog) -> Self {
        self.audit = Some(log);
        self
    }

    /// The audit log, if [`with_audit`](Self::with_audit) set one.
    pub fn audit_log(&self) -> Option<&AuditLog> {
        self.audit.as_ref()
    }

    /// Runs `call` and, with an audit log, records how `act` ended: allowed, denied
    /// (`PermissionDenied`, self-approval, missing role) or failed(kind), a blocked
    /// promotion with `refused` = its unmet requirements.
    pub(super) async fn audited<R: Audited>(
        &self,
        act: Act<'_>,
        call: impl std::future::Future<Output = Result<R>>,
    ) -> Result<R> {
        let r = call.await;
        let Some(log) = &self.audit else {
            return r;
        };
        let sink = AuditSink::new(log.clone(), act.by);
        let res = Self::resource(act.model, act.environment);
        let outcome = r.as_ref().map(drop).map_err(Error::kind);
        let Some(mut ev) = sink.event(&PROMOTION_METHODS, act.method, res, &act.args, outcome)
        else {
            return r;
        };
        let mut details = vec![("environment", act.environment.to_string())];
        details.extend(act.version.map(|v| ("version", v.to_string())));
        details.extend(act.request.map(|id| ("request", id.to_string())));
        match &r {
            Ok(v) => details.extend(v.details()),
            Err(Error::PromotionBlocked { unmet, .. }) => {
                let list: Vec<String> = unmet.iter().map(ToString::to_string).collect();
                details.push((
                    "refused",
                    format!("unmet requirements: {}", list.join("; ")),
                ));
            }
            Err(e) => details.push(("error", e.to_string())),
        }
        for (k, v) in details {
            ev = ev.with_detail(k, v);
        }
        log.record(ev);
        r
    }
}
