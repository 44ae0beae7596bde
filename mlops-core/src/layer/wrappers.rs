//! The generic layer wrappers: [`Governed<T>`] / [`GovernanceLayer`] and
//! [`Audit<T>`] / [`AuditLayer`].
//!
//! They hold the configuration and the wrapped value; each domain crate implements
//! its own trait for them (the orphan rule allows it, the trait being local there).

use super::{AuditSink, Guard, canonical};
use crate::audit::AuditLog;
use crate::error::{ErrorKind, Result};
use crate::policy::{Authorizer, MethodTable};
use crate::principal::{Principal, ResourceRef};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// A bounded memo of the lookups a wrapper makes to find the resource a call
/// touches, for traits where an argument does not name it directly: the tracking
/// layers map a run id to its experiment id (a run never moves, so the answer never
/// goes stale). Layers whose resources come straight from the arguments never touch
/// it; it then stays empty and allocates nothing. Each wrapped value gets its own,
/// and it is cleared when it reaches [`CAPACITY`](Self::CAPACITY) entries.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mlops_core::layer::ScopeCache;
/// let cache = ScopeCache::default();
/// let exp = cache
///     .get_or_try_insert("run-1", || async { Ok::<_, ()>("exp-7".to_string()) })
///     .await;
/// assert_eq!(exp, Ok("exp-7".to_string()));
/// // the second lookup is answered from the cache
/// let again = cache.get_or_try_insert("run-1", || async { Err(()) }).await;
/// assert_eq!(again, Ok("exp-7".to_string()));
/// assert_eq!(cache.get("run-2"), None);
/// # }
/// ```
#[derive(Debug, Default)]
pub struct ScopeCache {
    map: Mutex<HashMap<String, String>>,
}

impl ScopeCache {
    /// Entries kept before the cache is cleared.
    pub const CAPACITY: usize = 10_000;

    /// The cached value for `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        // a poisoned lock only loses the memo: look up again
        self.map.lock().ok().and_then(|m| m.get(key).cloned())
    }

    /// Caches `value` for `key` (clearing the cache first when it is full).
    pub fn insert(&self, key: impl Into<String>, value: impl Into<String>) {
        if let Ok(mut m) = self.map.lock() {
            if m.len() >= Self::CAPACITY {
                m.clear();
            }
            m.insert(key.into(), value.into());
        }
    }

    /// The cached value for `key`, else the one `lookup` finds (then cached).
    ///
    /// # Errors
    /// `lookup`'s error, which is not cached.
    pub async fn get_or_try_insert<F, Fut, E>(
        &self,
        key: &str,
        lookup: F,
    ) -> std::result::Result<String, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = std::result::Result<String, E>>,
    {
        if let Some(v) = self.get(key) {
            return Ok(v);
        }
        let v = lookup().await?;
        self.insert(key, v.clone());
        Ok(v)
    }
}

/// Builds [`Governed`] values: an authorizer, the acting principal and an optional
/// environment (a [`Guard`]).
///
/// ```
/// use std::sync::Arc;
/// use mlops_core::{AllowAll, Principal, ResourceKind};
/// use mlops_core::layer::GovernanceLayer;
/// let layer = GovernanceLayer::new(Arc::new(AllowAll), Principal::user("alice"))
///     .with_environment("prod");
/// let g = layer.layer(42_u32);
/// assert_eq!(*g.inner(), 42);
/// assert_eq!(g.guard().principal(), &Principal::user("alice"));
/// assert_eq!(g.guard().resource(ResourceKind::Model, "m").to_string(), "model:m@prod");
/// ```
#[derive(Debug, Clone)]
pub struct GovernanceLayer {
    guard: Guard,
}

impl GovernanceLayer {
    /// Governs calls of `principal` with `authorizer`.
    pub fn new(authorizer: Arc<dyn Authorizer>, principal: Principal) -> Self {
        Self::from_guard(Guard::new(authorizer, principal))
    }

    /// Governs calls with an existing `guard`.
    pub fn from_guard(guard: Guard) -> Self {
        Self { guard }
    }

    /// Scopes every resource to `env` (`kind:name@env`, e.g. `model:fraud@prod`).
    pub fn with_environment(mut self, env: impl Into<String>) -> Self {
        self.guard = self.guard.with_environment(env);
        self
    }

    /// The guard every wrapped value gets a copy of.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Wraps `inner`. The result implements a domain trait (`Tracker`,
    /// `ModelRegistry`, `OnlineStore`) when `inner` does, with the impl in that
    /// trait's crate.
    pub fn layer<T>(&self, inner: T) -> Governed<T> {
        Governed {
            inner,
            guard: self.guard.clone(),
            scopes: ScopeCache::default(),
        }
    }
}

/// A value whose calls are checked against a policy first; refusals are
/// `PermissionDenied` naming principal, action and resource, and never reach `T`.
/// Built by [`GovernanceLayer::layer`]. Each domain crate implements its trait for
/// `Governed<T>`, calling [`authorize`](Self::authorize) before forwarding.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
/// use std::sync::Arc;
/// use mlops_core::{Action, ErrorKind, Principal, ResourceKind, policy::Policy};
/// use mlops_core::layer::{GovernanceLayer, Governed, scoped};
/// use mlops_core::policy::{MethodRule, MethodTable};
/// const T: MethodTable = MethodTable::new(
///     "Counter",
///     &[MethodRule::read("get"), MethodRule::mutating("reset", Action::Write)],
/// );
/// // a domain trait, implemented for the wrapper where the trait lives
/// trait Counter {
///     async fn get(&self, name: &str) -> mlops_core::Result<u64>;
/// }
/// struct Zero;
/// impl Counter for Zero {
///     async fn get(&self, _: &str) -> mlops_core::Result<u64> { Ok(0) }
/// }
/// impl<C: Counter> Counter for Governed<C> {
///     async fn get(&self, name: &str) -> mlops_core::Result<u64> {
///         self.authorize(&T, "get", |env| scoped(ResourceKind::Model, name, env)).await?;
///         self.inner().get(name).await
///     }
/// }
/// let policy = Policy::from_toml(r#"
///     [[roles]]
///     name = "reader"
///     allow = [{ actions = ["read"], resources = ["model:*"] }]
///     [[bindings]]
///     role = "reader"
///     principals = ["alice"]
/// "#)?;
/// let policy = Arc::new(policy);
/// let alice = GovernanceLayer::new(policy.clone(), Principal::user("alice")).layer(Zero);
/// assert_eq!(alice.get("m").await?, 0);
/// let eve = GovernanceLayer::new(policy, Principal::user("eve")).layer(Zero);
/// assert_eq!(eve.get("m").await.unwrap_err().kind(), ErrorKind::PermissionDenied);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Governed<T> {
    inner: T,
    guard: Guard,
    scopes: ScopeCache,
}

impl<T> Governed<T> {
    /// The wrapped value.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The guard deciding every call.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// This wrapper's memo of resource lookups (see [`ScopeCache`]; used by layers
    /// that must look a call's resource up, empty otherwise).
    pub fn scopes(&self) -> &ScopeCache {
        &self.scopes
    }

    /// Checks that the principal may call `method` (its action comes from `table`)
    /// on the resource `resource` builds from the guard's environment.
    ///
    /// # Errors
    /// As [`Guard::check`]: `PermissionDenied`; `NotFound` for a method without a
    /// rule; the authorizer's own errors.
    pub async fn authorize(
        &self,
        table: &MethodTable,
        method: &str,
        resource: impl FnOnce(Option<&str>) -> ResourceRef,
    ) -> Result<()> {
        let r = resource(self.guard.environment());
        self.guard.check(table, method, &r).await
    }
}

impl<T: std::fmt::Display> std::fmt::Display for Governed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Governed({}, {})", self.inner, self.guard.principal())
    }
}

/// Builds [`Audit`] values: the log, the acting principal, whether reads are
/// audited, and the environment (match the governance layer's). An [`AuditSink`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
/// use mlops_core::{Principal, ResourceKind, Storage, audit::AuditLog};
/// use mlops_core::layer::AuditLayer;
/// let log = AuditLog::open(&Storage::memory()).await?;
/// let layer = AuditLayer::new(log, Principal::user("alice"))
///     .with_audit_reads(true)
///     .with_environment("staging");
/// let a = layer.layer("backend");
/// assert_eq!(*a.inner(), "backend");
/// assert_eq!(a.sink().environment(), Some("staging"));
/// assert_eq!(a.sink().resource(ResourceKind::Model, "m").to_string(), "model:m@staging");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuditLayer {
    sink: AuditSink,
}

impl AuditLayer {
    /// Records `principal`'s mutating calls into `log`.
    pub fn new(log: AuditLog, principal: Principal) -> Self {
        Self::from_sink(AuditSink::new(log, principal))
    }

    /// Records into an existing `sink`.
    pub fn from_sink(sink: AuditSink) -> Self {
        Self { sink }
    }

    /// Also records reads.
    pub fn with_audit_reads(mut self, yes: bool) -> Self {
        self.sink = self.sink.with_audit_reads(yes);
        self
    }

    /// Scopes recorded resources to `env`.
    pub fn with_environment(mut self, env: impl Into<String>) -> Self {
        self.sink = self.sink.with_environment(env);
        self
    }

    /// The sink every wrapped value gets a copy of.
    pub fn sink(&self) -> &AuditSink {
        &self.sink
    }

    /// Wraps `inner`. The result implements a domain trait (`Tracker`,
    /// `ModelRegistry`, `OnlineStore`) when `inner` does, with the impl in that
    /// trait's crate.
    pub fn layer<T>(&self, inner: T) -> Audit<T> {
        Audit {
            inner,
            sink: self.sink.clone(),
            scopes: ScopeCache::default(),
        }
    }
}

/// A value whose mutating calls (and reads, if configured) are recorded in an
/// [`AuditLog`]: `PermissionDenied` from below is recorded as `denied`, other errors
/// as `failed(kind)`. Events are queued; call [`AuditLog::flush`] for durability.
/// Built by [`AuditLayer::layer`]. Each domain crate implements its trait for
/// `Audit<T>`, calling [`record_call`](Self::record_call) after forwarding.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
/// use mlops_core::{Action, ErrorKind, Principal, ResourceKind, Storage};
/// use mlops_core::audit::{AuditLog, AuditQuery, Outcome};
/// use mlops_core::layer::{Audit, AuditLayer, scoped};
/// use mlops_core::policy::{MethodRule, MethodTable};
/// const T: MethodTable = MethodTable::new("Counter", &[MethodRule::mutating("reset", Action::Write)]);
/// // a domain trait, implemented for the wrapper where the trait lives
/// trait Counter {
///     fn reset(&self, name: &str) -> Result<(), ErrorKind>;
/// }
/// struct Locked;
/// impl Counter for Locked {
///     fn reset(&self, _: &str) -> Result<(), ErrorKind> { Err(ErrorKind::Conflict) }
/// }
/// impl<C: Counter> Counter for Audit<C> {
///     fn reset(&self, name: &str) -> Result<(), ErrorKind> {
///         let r = self.inner().reset(name);
///         self.record_call(&T, "reset", |env| scoped(ResourceKind::Model, name, env), &[&name], r);
///         r
///     }
/// }
/// let log = AuditLog::open(&Storage::memory()).await?;
/// let c = AuditLayer::new(log.clone(), Principal::user("alice")).layer(Locked);
/// assert_eq!(c.reset("m"), Err(ErrorKind::Conflict));
/// log.flush().await?;
/// let ev = log.query(&AuditQuery::new()).await?;
/// assert_eq!(ev[0].outcome, Outcome::Failed(ErrorKind::Conflict));
/// assert_eq!(ev[0].resource.to_string(), "model:m");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Audit<T> {
    inner: T,
    sink: AuditSink,
    scopes: ScopeCache,
}

impl<T> Audit<T> {
    /// The wrapped value.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The sink recording every call (its environment scopes the resources).
    pub fn sink(&self) -> &AuditSink {
        &self.sink
    }

    /// This wrapper's memo of resource lookups (see [`ScopeCache`]; used by layers
    /// that must look a call's resource up, empty otherwise).
    pub fn scopes(&self) -> &ScopeCache {
        &self.scopes
    }

    /// Records one call of `method` (its rule in `table`) if the sink wants it (see
    /// [`AuditSink::wants`]): on the resource `resource` builds from the sink's
    /// environment, with [`canonical`]`(method, args)` as the request and `result`
    /// as the outcome. Neither the resource nor the request is built for a call
    /// that is not recorded.
    pub fn record_call(
        &self,
        table: &MethodTable,
        method: &str,
        resource: impl FnOnce(Option<&str>) -> ResourceRef,
        args: &[&dyn std::fmt::Debug],
        result: std::result::Result<(), ErrorKind>,
    ) {
        if !self.sink.wants(table, method) {
            return;
        }
        let res = resource(self.sink.environment());
        self.sink
            .record(table, method, res, &canonical(method, args), result);
    }
}

impl<T: std::fmt::Display> std::fmt::Display for Audit<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Audit({})", self.inner)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::layer::tests::T;
    use crate::policy::Policy;
    use crate::{ResourceKind, Storage};

    #[tokio::test]
    async fn wrappers_scope_check_and_record() {
        // `u` may write models, not read them
        let roles = r#"roles = [{ name = "w", allow = [{ actions = ["write"], resources = ["model:*"] }] }]"#;
        let bindings = r#"bindings = [{ role = "w", principals = ["u"] }]"#;
        let policy = Policy::from_toml(&format!("{roles}\n{bindings}")).unwrap();
        let p = Principal::user("u");
        let g = GovernanceLayer::new(Arc::new(policy), p.clone())
            .with_environment("prod")
            .layer("x");
        let mut seen = None;
        g.authorize(&T, "put", |env| {
            seen = env.map(str::to_string);
            crate::layer::scoped(ResourceKind::Model, "m", env)
        })
        .await
        .unwrap();
        assert_eq!(seen.as_deref(), Some("prod"));
        let denied = g
            .authorize(&T, "get", |env| {
                crate::layer::scoped(ResourceKind::Model, "m", env)
            })
            .await
            .unwrap_err();
        assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
        assert_eq!(g.to_string(), "Governed(x, u)");

        let log = AuditLog::open(&Storage::memory()).await.unwrap();
        let a = AuditLayer::new(log.clone(), p)
            .with_environment("prod")
            .layer(g);
        assert_eq!(a.to_string(), "Audit(Governed(x, u))");
        let mut built = 0;
        // a read without audit_reads builds nothing
        a.record_call(
            &T,
            "get",
            |env| {
                built += 1;
                crate::layer::scoped(ResourceKind::Model, "m", env)
            },
            &[&"m"],
            Ok(()),
        );
        assert_eq!(built, 0);
        a.record_call(
            &T,
            "put",
            |env| crate::layer::scoped(ResourceKind::Model, "m", env),
            &[&"m", &7],
            Err(ErrorKind::PermissionDenied),
        );
        log.flush().await.unwrap();
        let ev = log.query(&Default::default()).await.unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].resource.to_string(), "model:m@prod");
        assert_eq!(ev[0].outcome.to_string(), "denied");
        assert_eq!(ev[0].request_digest, crate::Digest::of(b"put\n\"m\"\n7"));
    }

    #[test]
    fn scope_cache_clears_when_full() {
        let c = ScopeCache::default();
        for i in 0..ScopeCache::CAPACITY {
            c.insert(i.to_string(), "e");
        }
        assert_eq!(c.get("0").as_deref(), Some("e"));
        c.insert("last", "f");
        assert_eq!(c.get("0"), None);
        assert_eq!(c.get("last").as_deref(), Some("f"));
    }

    #[test]
    fn wrappers_are_send_sync() {
        fn assert_send_sync<X: Send + Sync>() {}
        // a tuple is Send + Sync exactly when every member is
        assert_send_sync::<(
            Governed<u8>,
            Audit<u8>,
            GovernanceLayer,
            AuditLayer,
            ScopeCache,
        )>();
    }
}
