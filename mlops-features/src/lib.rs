//! # mlops-features
//!
//! A feature store: definitions, point-in-time correct training sets, online serving.
//!
//! * **Definitions** ([`Definitions`]): entities, feature views (source, schema, ttl, tags
//!   such as `owner`, `pii`, `phi`) and feature services, written with builders or loaded
//!   from YAML, applied as a whole and stored versioned by [`FeatureStore::apply`].
//! * **Offline** ([`get_historical_features`], [`FeatureStore::get_historical_features`]):
//!   an as-of join over Parquet sources on any object store — the entity rows sorted by
//!   (key, time) into an index, the feature rows streamed past it on every core (never
//!   sorted, never held whole, spilled by key hash under a memory budget) — one output row
//!   per entity row in entity order, exactly the semantics of Feast's SQL offline stores
//!   (inclusive `<=` event time, inclusive ttl, ties to the latest created time, nulls when
//!   nothing matches, no fallback to older values).
//! * **Online** ([`OnlineStore`]): the latest row per entity key, filled by
//!   [`FeatureStore::materialize`] and read by [`FeatureStore::get_online_features`].
//!
//! | online backend | type | feature |
//! |---|---|---|
//! | redb on local disk (or in memory) | [`EmbeddedOnlineStore`] | default |
//! | Redis | `RedisOnlineStore` | `redis` |
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_features::Result<()> {
//! use mlops_features::*;
//! let online = EmbeddedOnlineStore::builder().in_memory().build()?;
//! let fs = FeatureStore::new(mlops_core::Storage::memory())?;
//! fs.apply(&Definitions::new()).await?;
//! assert_eq!(online.watermark("driver_stats").await?, None);
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod definitions;
mod error;
pub mod layers;
mod offline;
mod online;
mod store;
mod types;

pub use definitions::{
    Definitions, DefinitionsDiff, Entity, Feature, FeatureService, FeatureView, JoinKey, Source,
};
pub use error::{Error, Result};
pub use offline::{
    HistoricalOptions, HistoricalView, get_historical_features, read_parquet, write_parquet_file,
};
pub use online::embedded::{EmbeddedOnlineStore, EmbeddedOnlineStoreBuilder};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use online::redis::{RedisOnlineStore, RedisOnlineStoreBuilder};
pub use online::{Capabilities, OnlineRow, OnlineStore, RowSink, StoredRow};
pub use store::{FeatureStore, MaterializeReport, OnlineOptions};
pub use types::{FeatureRef, SourceLocation, ValueType};

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn public_types_are_send_sync() {
        assert_send_sync::<crate::Error>();
        assert_send_sync::<crate::FeatureStore>();
        assert_send_sync::<crate::EmbeddedOnlineStore>();
        assert_send_sync::<crate::HistoricalView>();
        assert_send_sync::<crate::Definitions>();
    }
}
