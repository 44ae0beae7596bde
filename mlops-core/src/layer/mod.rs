//! Shared machinery of the governance and audit layers in the domain crates.
//!
//! The wrappers themselves live here too: [`Governed<T>`] / [`GovernanceLayer`] and
//! [`Audit<T>`] / [`AuditLayer`]. Each domain crate (`mlops-tracking`,
//! `mlops-registry`, `mlops-features`) re-exports them from its `layers` module and
//! implements only its own trait for them (`impl<T: ModelRegistry> ModelRegistry for
//! Governed<T>`): the trait-specific part (which resource a call touches, how its
//! arguments serialise). The decision is delegated to a [`Guard`] and the recording to
//! an [`AuditSink`], so the policy and audit logic, and the wrappers' construction,
//! live once, here.
//!
//! Recommended order: **audit over governance over retry over backend**, so the
//! audit layer sees policy denials (recorded as [`Outcome::Denied`]) and retries
//! stay invisible.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
//! use std::sync::Arc;
//! use mlops_core::{Action, Principal, ResourceKind, Storage};
//! use mlops_core::audit::{AuditLog, AuditQuery, Outcome};
//! use mlops_core::layer::{AuditSink, Guard};
//! use mlops_core::policy::{MethodRule, MethodTable, Policy};
//! const T: MethodTable = MethodTable::new("Demo", &[MethodRule::mutating("put", Action::Write)]);
//! let policy = Policy::from_toml(r#"
//!     [[roles]]
//!     name = "reader"
//!     allow = [{ actions = ["read"], resources = ["model:*"] }]
//!     [[bindings]]
//!     role = "reader"
//!     principals = ["alice"]
//! "#)?;
//! let alice = Principal::user("alice");
//! let guard = Guard::new(Arc::new(policy), alice.clone());
//! let res = guard.resource(ResourceKind::Model, "fraud");
//! let denied = guard.check(&T, "put", &res).await;
//! let log = AuditLog::open(&Storage::memory()).await?;
//! let sink = AuditSink::new(log.clone(), alice);
//! sink.record(&T, "put", res, b"put fraud", denied.as_ref().map(|_| ()).map_err(|e| e.kind()));
//! log.flush().await?;
//! assert_eq!(log.query(&AuditQuery::new()).await?[0].outcome, Outcome::Denied);
//! # Ok(()) }
//! ```

use crate::audit::{AuditEvent, AuditLog, Outcome};
use crate::error::{ErrorKind, Result};
use crate::policy::{Authorizer, AuthorizerExt, MethodTable};
use crate::principal::{Principal, ResourceKind, ResourceRef};
use std::sync::Arc;

mod wrappers;

pub use wrappers::{Audit, AuditLayer, GovernanceLayer, Governed, ScopeCache};

/// The governance decision point of a layer: an authorizer, the acting principal
/// and an optional environment that scopes every resource (`model:fraud@staging`).
#[derive(Debug, Clone)]
pub struct Guard {
    authorizer: Arc<dyn Authorizer>,
    principal: Principal,
    environment: Option<String>,
}

impl Guard {
    /// A guard deciding with `authorizer` for `principal`.
    pub fn new(authorizer: Arc<dyn Authorizer>, principal: Principal) -> Self {
        Self {
            authorizer,
            principal,
            environment: None,
        }
    }

    /// Scopes every resource to `env`.
    pub fn with_environment(mut self, env: impl Into<String>) -> Self {
        self.environment = Some(env.into());
        self
    }

    /// The acting principal.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The environment resources are scoped to, if any.
    pub fn environment(&self) -> Option<&str> {
        self.environment.as_deref()
    }

    /// The authorizer.
    pub fn authorizer(&self) -> &Arc<dyn Authorizer> {
        &self.authorizer
    }

    /// `kind:name`, scoped to the guard's environment.
    pub fn resource(&self, kind: ResourceKind, name: impl Into<String>) -> ResourceRef {
        scoped(kind, name, self.environment.as_deref())
    }

    /// Checks that the principal may call `method` (its action comes from `table`)
    /// on `resource`.
    ///
    /// # Errors
    /// `PermissionDenied` naming principal, action and resource (and the deciding
    /// rule); `NotFound` when `table` has no rule for `method` (never "allowed");
    /// the authorizer's own errors.
    pub async fn check(
        &self,
        table: &MethodTable,
        method: &str,
        resource: &ResourceRef,
    ) -> Result<()> {
        let rule = table.get(method)?;
        self.authorizer
            .check(&self.principal, rule.action, resource)
            .await
            .map(drop)
    }
}

/// `kind:name[@env]`.
pub fn scoped(kind: ResourceKind, name: impl Into<String>, env: Option<&str>) -> ResourceRef {
    let r = ResourceRef::new(kind, name);
    match env {
        Some(e) => r.in_env(e),
        None => r,
    }
}

/// The recording point of an audit layer: the log, the acting principal, and
/// whether reads are audited too (mutating calls always are).
#[derive(Debug, Clone)]
pub struct AuditSink {
    log: AuditLog,
    principal: Principal,
    audit_reads: bool,
    environment: Option<String>,
}

impl AuditSink {
    /// A sink recording `principal`'s calls into `log` (mutating calls only).
    pub fn new(log: AuditLog, principal: Principal) -> Self {
        Self {
            log,
            principal,
            audit_reads: false,
            environment: None,
        }
    }

    /// Also records reads.
    pub fn with_audit_reads(mut self, yes: bool) -> Self {
        self.audit_reads = yes;
        self
    }

    /// Scopes every recorded resource to `env` (match the governance layer's).
    pub fn with_environment(mut self, env: impl Into<String>) -> Self {
        self.environment = Some(env.into());
        self
    }

    /// The log.
    pub fn log(&self) -> &AuditLog {
        &self.log
    }

    /// The environment recorded resources are scoped to, if any.
    pub fn environment(&self) -> Option<&str> {
        self.environment.as_deref()
    }

    /// `kind:name`, scoped to the sink's environment.
    pub fn resource(&self, kind: ResourceKind, name: impl Into<String>) -> ResourceRef {
        scoped(kind, name, self.environment.as_deref())
    }

    /// Whether a call of `method` is recorded: mutating calls always, reads when
    /// configured, and a method without a rule always (so it is never silent).
    pub fn wants(&self, table: &MethodTable, method: &str) -> bool {
        table
            .get(method)
            .map(|r| r.mutating || self.audit_reads)
            .unwrap_or(true)
    }

    /// Records one call of `method` on `resource` with the request's canonical
    /// bytes and how it ended: `Ok` → allowed, `PermissionDenied` → denied, any
    /// other kind → failed(kind). Does nothing for a read when reads are not audited.
    pub fn record(
        &self,
        table: &MethodTable,
        method: &str,
        resource: ResourceRef,
        canonical_request: &[u8],
        result: std::result::Result<(), ErrorKind>,
    ) {
        if let Some(e) = self.event(table, method, resource, canonical_request, result) {
            self.log.record(e);
        }
    }

    /// The event [`record`](Self::record) would write (`None` for a read when reads
    /// are not audited), for a caller that adds details (`with_detail`) before
    /// handing it to [`log`](Self::log)`().record(..)`.
    pub fn event(
        &self,
        table: &MethodTable,
        method: &str,
        resource: ResourceRef,
        canonical_request: &[u8],
        result: std::result::Result<(), ErrorKind>,
    ) -> Option<AuditEvent> {
        if !self.wants(table, method) {
            return None;
        }
        let action = table
            .get(method)
            .map(|r| r.action)
            .unwrap_or(crate::Action::Admin);
        let outcome = match result {
            Ok(()) => Outcome::Allowed,
            Err(ErrorKind::PermissionDenied) => Outcome::Denied,
            Err(k) => Outcome::Failed(k),
        };
        Some(
            AuditEvent::new(&self.principal, action, resource, outcome)
                .with_request(canonical_request)
                .with_detail("method", format!("{}::{method}", table.trait_name)),
        )
    }
}

/// Canonical request bytes: the method name, then each argument's `Debug` form on
/// its own line (argument types print ordered maps, so the form is deterministic);
/// bulk byte payloads go in as their blake3 digest via [`digest_arg`].
pub fn canonical(method: &str, args: &[&dyn std::fmt::Debug]) -> Vec<u8> {
    let mut out = String::from(method);
    for a in args {
        out.push('\n');
        out.push_str(&format!("{a:?}"));
    }
    out.into_bytes()
}

/// The digest of a bulk payload, for [`canonical`].
pub fn digest_arg(bytes: &[u8]) -> crate::Digest {
    crate::Digest::of(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Action;
    use crate::policy::{AllowAll, MethodRule};

    /// A two-method table, shared with the wrappers' tests.
    pub(super) const T: MethodTable = MethodTable::new(
        "Demo",
        &[
            MethodRule::read("get"),
            MethodRule::mutating("put", Action::Write),
        ],
    );

    #[tokio::test]
    async fn sink_records_mutations_and_reads_only_when_asked() {
        let log = AuditLog::open(&crate::Storage::memory()).await.unwrap();
        let p = Principal::user("u");
        let g = Guard::new(Arc::new(AllowAll), p.clone()).with_environment("prod");
        let r = g.resource(ResourceKind::Model, "m");
        assert_eq!(r.to_string(), "model:m@prod");
        g.check(&T, "put", &r).await.unwrap();
        assert_eq!(
            g.check(&T, "nope", &r).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        let s = AuditSink::new(log.clone(), p.clone());
        s.record(&T, "get", r.clone(), b"", Ok(()));
        s.record(&T, "put", r.clone(), &canonical("put", &[&1]), Ok(()));
        s.record(&T, "put", r.clone(), b"", Err(ErrorKind::Conflict));
        let s = s.with_audit_reads(true);
        s.record(&T, "get", r, b"", Ok(()));
        log.flush().await.unwrap();
        let ev = log.query(&Default::default()).await.unwrap();
        let outs: Vec<String> = ev.iter().map(|e| e.outcome.to_string()).collect();
        assert_eq!(outs, ["allowed", "failed:conflict", "allowed"]);
        assert_eq!(ev[0].request_digest, crate::Digest::of(b"put\n1"));
        assert_eq!(ev[2].action, Action::Read);
    }
}
