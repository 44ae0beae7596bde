//! [`OnlineStore`] for [`Governed`] and [`Audit`] (the wrappers and their builders
//! are [`mlops_core::layer`]'s), and the online store's method table.

use crate::error::Result;
use crate::online::{Capabilities, OnlineRow, OnlineStore, RowSink};
use async_trait::async_trait;
use mlops_core::layer::{Audit, Governed, scoped};
use mlops_core::policy::{MethodRule, MethodTable};
use mlops_core::{Action, Digest, ResourceKind, ResourceRef};

/// The action each [`OnlineStore`] method needs on `online_store:<view>`.
/// `capabilities` is local metadata: listed as a read, never checked.
pub const ONLINE_STORE_METHODS: MethodTable = MethodTable::new(
    "OnlineStore",
    &[
        MethodRule::read("capabilities"),
        MethodRule::mutating("write", Action::Write),
        MethodRule::read("read"),
        MethodRule::read("read_into"),
        MethodRule::mutating("set_watermark", Action::Write),
        MethodRule::read("watermark"),
        MethodRule::mutating("delete_view", Action::Delete),
    ],
);

fn resource(env: Option<&str>, view: &str) -> ResourceRef {
    scoped(ResourceKind::OnlineStore, view, env)
}

/// What a governed online-store call is checked on: `online_store:<view>`, with
/// the action from [`ONLINE_STORE_METHODS`].
trait Check {
    async fn check(&self, method: &str, view: &str) -> Result<()>;
}

impl<T> Check for Governed<T> {
    async fn check(&self, method: &str, view: &str) -> Result<()> {
        let r = |env: Option<&str>| resource(env, view);
        Ok(self.authorize(&ONLINE_STORE_METHODS, method, r).await?)
    }
}

/// Checks every call against a policy first.
#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<T: OnlineStore> OnlineStore for Governed<T> {
    fn capabilities(&self) -> Capabilities {
        self.inner().capabilities()
    }
    async fn write(&self, view: &str, rows: Vec<OnlineRow>) -> Result<()> {
        self.check("write", view).await?;
        self.inner().write(view, rows).await
    }
    async fn read(&self, view: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<OnlineRow>>> {
        self.check("read", view).await?;
        self.inner().read(view, keys).await
    }
    async fn read_into(&self, view: &str, keys: &[&[u8]], sink: &mut dyn RowSink) -> Result<()> {
        // The same action as `read` (its rule says so): the same read, without copies.
        self.check("read_into", view).await?;
        self.inner().read_into(view, keys, sink).await
    }
    async fn set_watermark(&self, view: &str, ts: i64) -> Result<()> {
        self.check("set_watermark", view).await?;
        self.inner().set_watermark(view, ts).await
    }
    async fn watermark(&self, view: &str) -> Result<Option<i64>> {
        self.check("watermark", view).await?;
        self.inner().watermark(view).await
    }
    async fn delete_view(&self, view: &str) -> Result<()> {
        self.check("delete_view", view).await?;
        self.inner().delete_view(view).await
    }
}

/// How an audited online-store call is recorded: on `online_store:<view>`, with
/// the online store's method table.
trait Rec {
    fn rec<R>(&self, method: &str, view: &str, args: &[&dyn std::fmt::Debug], r: &Result<R>);
}

impl<T> Rec for Audit<T> {
    fn rec<R>(&self, method: &str, view: &str, args: &[&dyn std::fmt::Debug], r: &Result<R>) {
        let outcome = r.as_ref().map(drop).map_err(|e| e.kind());
        let res = |env: Option<&str>| resource(env, view);
        self.record_call(&ONLINE_STORE_METHODS, method, res, args, outcome);
    }
}

fn rows_digest(rows: &[OnlineRow]) -> Digest {
    let mut h = Vec::new();
    for r in rows {
        h.extend_from_slice(&(r.key.len() as u64).to_le_bytes());
        h.extend_from_slice(&r.key);
        h.extend_from_slice(&r.event_ts.to_le_bytes());
        h.extend_from_slice(&r.created_ts.to_le_bytes());
        h.extend_from_slice(&(r.value.len() as u64).to_le_bytes());
        h.extend_from_slice(&r.value);
    }
    Digest::of(&h)
}

/// Records every mutating call (and reads, if configured). Written rows enter the
/// request digest as the digest of their keys, times and values.
#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<T: OnlineStore> OnlineStore for Audit<T> {
    fn capabilities(&self) -> Capabilities {
        self.inner().capabilities()
    }
    async fn write(&self, view: &str, rows: Vec<OnlineRow>) -> Result<()> {
        let d = rows_digest(&rows);
        let r = self.inner().write(view, rows).await;
        self.rec("write", view, &[&view, &d], &r);
        r
    }
    async fn read(&self, view: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<OnlineRow>>> {
        let r = self.inner().read(view, keys).await;
        self.rec("read", view, &[&view, &keys], &r);
        r
    }
    async fn read_into(&self, view: &str, keys: &[&[u8]], sink: &mut dyn RowSink) -> Result<()> {
        let r = self.inner().read_into(view, keys, sink).await;
        self.rec("read_into", view, &[&view, &keys], &r);
        r
    }
    async fn set_watermark(&self, view: &str, ts: i64) -> Result<()> {
        let r = self.inner().set_watermark(view, ts).await;
        self.rec("set_watermark", view, &[&view, &ts], &r);
        r
    }
    async fn watermark(&self, view: &str) -> Result<Option<i64>> {
        let r = self.inner().watermark(view).await;
        self.rec("watermark", view, &[&view], &r);
        r
    }
    async fn delete_view(&self, view: &str) -> Result<()> {
        let r = self.inner().delete_view(view).await;
        self.rec("delete_view", view, &[&view], &r);
        r
    }
}
