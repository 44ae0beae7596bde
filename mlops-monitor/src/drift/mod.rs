//! Column and dataset drift with Evidently's exact rules, plus a `standard` family whose bins
//! are fitted on the reference.

pub(crate) mod binned;
mod dataset;
mod engine;
mod method;

pub use binned::StandardBins;
pub use dataset::{
    ColumnOutcome, DEFAULT_DRIFT_SHARE, DatasetDrift, DatasetSpec, dataset_drift, summarise,
};
pub(crate) use engine::binned_score;
pub use engine::{ColumnDrift, DriftOptions, column_drift, default_method};

pub use method::{Binning, Family, Method, STANDARD_EPSILON};
