//! # mlops-features
//!
//! A feature store: definitions, point-in-time correct training sets, online serving.
//!
//! * **Offline** ([`get_historical_features`], [`get_historical_features`]):
//!   a sort-merge as-of join over Parquet sources on any object store, one output row per
//!   entity row in entity order, exactly the semantics of Feast's SQL offline stores.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod offline;
mod types;

pub use error::{Error, Result};
pub use offline::{
    HistoricalOptions, HistoricalView, get_historical_features, read_parquet, write_parquet_file,
};
pub use types::{FeatureRef, SourceLocation, ValueType};
