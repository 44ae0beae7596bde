//! [`GovernedFeatureStore`]: policy checks (and audit) around a [`FeatureStore`].

use crate::definitions::Definitions;
use crate::error::Result;
use crate::online::OnlineStore;
use crate::store::{FeatureStore, MaterializeReport};
use chrono::{DateTime, Utc};
use mlops_core::layer::{AuditSink, Guard, canonical};
use mlops_core::policy::{Authorizer, MethodRule, MethodTable};
use mlops_core::{Action, Principal, ResourceKind};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The governed [`FeatureStore`] operations and their actions on `feature_view:<name>`.
pub const FEATURE_STORE_METHODS: MethodTable = MethodTable::new(
    "FeatureStore",
    &[
        MethodRule::mutating("apply", Action::Write),
        MethodRule::mutating("materialize", Action::Materialize),
        MethodRule::mutating("materialize_incremental", Action::Materialize),
        MethodRule::read("definitions"),
    ],
);

/// A [`FeatureStore`] whose definition and materialization calls are checked against
/// a policy (and, with [`with_audit`](Self::with_audit), recorded). Reach the plain
/// store (offline/online reads) with [`inner`](Self::inner).
#[derive(Debug)]
pub struct GovernedFeatureStore {
    inner: FeatureStore,
    guard: Guard,
    audit: Option<AuditSink>,
}

impl GovernedFeatureStore {
    /// Governs `store` for `principal` with `authorizer`.
    pub fn new(store: FeatureStore, authorizer: Arc<dyn Authorizer>, principal: Principal) -> Self {
        Self {
            inner: store,
            guard: Guard::new(authorizer, principal),
            audit: None,
        }
    }

    /// Records every governed call in `sink` (one event per view touched).
    pub fn with_audit(mut self, sink: AuditSink) -> Self {
        self.audit = Some(sink);
        self
    }

    /// The wrapped store.
    pub fn inner(&self) -> &FeatureStore {
        &self.inner
    }

    async fn check_all(&self, method: &str, views: &[String]) -> Result<()> {
        for v in views {
            let r = self.guard.resource(ResourceKind::FeatureView, v.clone());
            self.guard.check(&FEATURE_STORE_METHODS, method, &r).await?;
        }
        Ok(())
    }

    async fn governed<R, F>(
        &self,
        method: &str,
        views: Vec<String>,
        args: &[u8],
        call: F,
    ) -> Result<R>
    where
        F: std::future::Future<Output = Result<R>> + Send,
    {
        let r = match self.check_all(method, &views).await {
            Ok(()) => call.await,
            Err(e) => Err(e),
        };
        if let Some(sink) = &self.audit {
            let outcome = r.as_ref().map(drop).map_err(|e| e.kind());
            for v in &views {
                let res = sink.resource(ResourceKind::FeatureView, v.clone());
                sink.record(&FEATURE_STORE_METHODS, method, res, args, outcome);
            }
        }
        r
    }

    /// [`FeatureStore::apply`], after checking `write` on every view in `defs` and in
    /// the current definitions.
    ///
    /// # Errors
    /// `PermissionDenied` (as `Core`); as [`FeatureStore::apply`].
    pub async fn apply(&self, defs: &Definitions) -> Result<u64> {
        let mut views: BTreeSet<String> =
            defs.feature_views.iter().map(|v| v.name.clone()).collect();
        if self.inner.version().await?.is_some() {
            views.extend(
                self.inner
                    .definitions()
                    .await?
                    .feature_views
                    .into_iter()
                    .map(|v| v.name),
            );
        }
        let args = canonical("apply", &[defs]);
        self.governed(
            "apply",
            views.into_iter().collect(),
            &args,
            self.inner.apply(defs),
        )
        .await
    }

    /// [`FeatureStore::materialize`], after checking `materialize` on each view.
    ///
    /// # Errors
    /// `PermissionDenied` (as `Core`); as [`FeatureStore::materialize`].
    pub async fn materialize(
        &self,
        online: &dyn OnlineStore,
        views: &[&str],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<MaterializeReport> {
        let names = views.iter().map(|v| v.to_string()).collect();
        let args = canonical("materialize", &[&online.to_string(), &views, &start, &end]);
        self.governed(
            "materialize",
            names,
            &args,
            self.inner.materialize(online, views, start, end),
        )
        .await
    }

    /// [`FeatureStore::materialize_incremental`], after checking `materialize` on each view.
    ///
    /// # Errors
    /// `PermissionDenied` (as `Core`); as [`FeatureStore::materialize_incremental`].
    pub async fn materialize_incremental(
        &self,
        online: &dyn OnlineStore,
        views: &[&str],
        end: DateTime<Utc>,
    ) -> Result<MaterializeReport> {
        let names = views.iter().map(|v| v.to_string()).collect();
        let args = canonical(
            "materialize_incremental",
            &[&online.to_string(), &views, &end],
        );
        self.governed(
            "materialize_incremental",
            names,
            &args,
            self.inner.materialize_incremental(online, views, end),
        )
        .await
    }

    /// [`FeatureStore::definitions`], after checking `read` on `feature_view:*`.
    ///
    /// # Errors
    /// `PermissionDenied` (as `Core`); as [`FeatureStore::definitions`].
    pub async fn definitions(&self) -> Result<Definitions> {
        self.governed(
            "definitions",
            vec!["*".into()],
            b"definitions",
            self.inner.definitions(),
        )
        .await
    }
}
