//! Serving metrics for Prometheus (`prometheus-client`): prediction latency histograms,
//! request and error counters, per-feature drift gauges, labelled by model and version.

use crate::drift::{ColumnOutcome, DatasetDrift};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Labels of per-model series.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    /// Model name.
    pub model: String,
    /// Model version.
    pub version: String,
}

/// Labels of per-feature drift series.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeatureLabels {
    /// Model name.
    pub model: String,
    /// Model version.
    pub version: String,
    /// Feature (column).
    pub feature: String,
    /// Drift method id.
    pub method: String,
}

type HistogramFamily = Family<ModelLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The metrics registry of a model server.
///
/// ```
/// let m = mlops_monitor::metrics::ServingMetrics::new();
/// m.observe_prediction("fraud", "3", 0.004, true);
/// let text = m.encode();
/// assert!(text.contains(r#"mlops_requests_total{model="fraud",version="3"} 1"#));
/// ```
#[derive(Debug)]
pub struct ServingMetrics {
    registry: Registry,
    latency: HistogramFamily,
    requests: Family<ModelLabels, Counter>,
    errors: Family<ModelLabels, Counter>,
    drift_score: Family<FeatureLabels, Gauge<f64, AtomicU64>>,
    drift_flag: Family<FeatureLabels, Gauge>,
    dataset_share: Family<ModelLabels, Gauge<f64, AtomicU64>>,
}

impl Default for ServingMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ServingMetrics {
    /// A registry with every metric under the `mlops_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mlops");
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let requests = Family::<ModelLabels, Counter>::default();
        let errors = Family::<ModelLabels, Counter>::default();
        let drift_score = Family::<FeatureLabels, Gauge<f64, AtomicU64>>::default();
        let drift_flag = Family::<FeatureLabels, Gauge>::default();
        let dataset_share = Family::<ModelLabels, Gauge<f64, AtomicU64>>::default();
        registry.register_with_unit(
            "prediction_latency",
            "Prediction latency",
            prometheus_client::registry::Unit::Seconds,
            latency.clone(),
        );
        registry.register("requests", "Prediction requests", requests.clone());
        registry.register("errors", "Failed prediction requests", errors.clone());
        registry.register(
            "feature_drift_score",
            "Drift score per feature (p-value or distance, see method)",
            drift_score.clone(),
        );
        registry.register(
            "feature_drift",
            "1 when the feature drifted at its threshold",
            drift_flag.clone(),
        );
        registry.register(
            "dataset_drift_share",
            "Share of drifted features",
            dataset_share.clone(),
        );
        Self {
            registry,
            latency,
            requests,
            errors,
            drift_score,
            drift_flag,
            dataset_share,
        }
    }

    fn labels(model: &str, version: &str) -> ModelLabels {
        ModelLabels {
            model: model.to_string(),
            version: version.to_string(),
        }
    }

    /// Records one prediction: its latency in seconds, and whether it succeeded.
    pub fn observe_prediction(&self, model: &str, version: &str, seconds: f64, ok: bool) {
        let l = Self::labels(model, version);
        self.requests.get_or_create(&l).inc();
        if !ok {
            self.errors.get_or_create(&l).inc();
        }
        self.latency.get_or_create(&l).observe(seconds);
    }

    /// Publishes a drift report's per-feature scores and flags and the drifted share.
    pub fn record_drift(&self, model: &str, version: &str, report: &DatasetDrift) {
        for c in &report.columns {
            if let ColumnOutcome::Tested(d) = c {
                let l = FeatureLabels {
                    model: model.to_string(),
                    version: version.to_string(),
                    feature: d.column.clone(),
                    method: d.method.id().to_string(),
                };
                self.drift_score.get_or_create(&l).set(d.score);
                self.drift_flag.get_or_create(&l).set(i64::from(d.drift));
            }
        }
        self.dataset_share
            .get_or_create(&Self::labels(model, version))
            .set(report.share);
    }

    /// The registry, to add application metrics.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail (fmt::Write for String is infallible).
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DatasetSpec, dataset_drift};
    use arrow::array::{ArrayRef, Float64Array, RecordBatch};
    use std::sync::Arc;

    #[test]
    fn text_exposition() {
        let m = ServingMetrics::new();
        m.observe_prediction("fraud", "3", 0.002, true);
        m.observe_prediction("fraud", "3", 0.03, false);
        let r: ArrayRef = Arc::new(Float64Array::from(
            (0..100).map(f64::from).collect::<Vec<_>>(),
        ));
        let c: ArrayRef = Arc::new(Float64Array::from(
            (50..150).map(f64::from).collect::<Vec<_>>(),
        ));
        let d = dataset_drift(
            &RecordBatch::try_from_iter([("amount", r)]).unwrap_or_else(|e| panic!("{e}")),
            &RecordBatch::try_from_iter([("amount", c)]).unwrap_or_else(|e| panic!("{e}")),
            &DatasetSpec::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        m.record_drift("fraud", "3", &d);
        let t = m.encode();
        assert!(
            t.contains("# TYPE mlops_prediction_latency_seconds histogram"),
            "{t}"
        );
        assert!(
            t.contains(r#"mlops_prediction_latency_seconds_count{model="fraud",version="3"} 2"#),
            "{t}"
        );
        assert!(
            t.contains(r#"mlops_requests_total{model="fraud",version="3"} 2"#),
            "{t}"
        );
        assert!(
            t.contains(r#"mlops_errors_total{model="fraud",version="3"} 1"#),
            "{t}"
        );
        assert!(
            t.contains(
                r#"mlops_feature_drift{model="fraud",version="3",feature="amount",method="ks"} 1"#
            ),
            "{t}"
        );
        assert!(
            t.contains(r#"mlops_dataset_drift_share{model="fraud",version="3"} 1.0"#),
            "{t}"
        );
        assert!(t.ends_with("# EOF\n"));
    }
}
