//! Feature store quickstart: a PIT training set, materialization, online reads.
#![allow(clippy::print_stdout)] // an example prints what it does

use arrow::array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use mlops_core::Storage;
use mlops_features::{
    Definitions, EmbeddedOnlineStore, Entity, FeatureRef, FeatureService, FeatureStore,
    FeatureView, HistoricalOptions, OnlineOptions, Source, ValueType, write_parquet_file,
};
use std::sync::Arc;
use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const HOUR: i64 = 3_600_000_000;
/// 2024-01-01T00:00:00Z in microseconds.
const T0: i64 = 1_704_067_200_000_000;

fn ts(v: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
}

/// A plain-text table (header line, then one line per row).
fn render(b: &RecordBatch) -> Result<String, BoxError> {
    let opts = FormatOptions::default().with_null("null");
    // Timestamps print as naive UTC: parsing zone names needs arrow's chrono-tz feature.
    let cols: Vec<ArrayRef> = b
        .columns()
        .iter()
        .map(
            |c| match c.as_any().downcast_ref::<TimestampMicrosecondArray>() {
                Some(t) => Arc::new(t.clone().with_timezone_opt(None::<String>)) as ArrayRef,
                None => c.clone(),
            },
        )
        .collect();
    let fmts = cols
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out: Vec<String> = vec![
        b.schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>()
            .join(" | "),
    ];
    for r in 0..b.num_rows() {
        out.push(
            fmts.iter()
                .map(|f| f.value(r).to_string())
                .collect::<Vec<_>>()
                .join(" | "),
        );
    }
    Ok(out.join("\n"))
}

/// Writes a tiny source under `root`, applies definitions, builds a training set with a
/// point-in-time join, materializes into the embedded online store and reads it back.
/// Returns the feature view names used.
///
/// # Errors
/// Any failure of the steps above.
pub async fn demo(root: &std::path::Path) -> Result<Vec<String>, BoxError> {
    // 1. A source: driver stats at hourly event times (one late correction at 2 h).
    let data_dir = root.join("data");
    std::fs::create_dir_all(&data_dir)?;
    let source = RecordBatch::try_from_iter(vec![
        (
            "driver_id",
            Arc::new(Int64Array::from(vec![1, 1, 1, 2, 2])) as ArrayRef,
        ),
        (
            "event_timestamp",
            ts(vec![T0, T0 + HOUR, T0 + 2 * HOUR, T0, T0 + 2 * HOUR]),
        ),
        (
            "created",
            ts(vec![T0, T0 + HOUR, T0 + 3 * HOUR, T0, T0 + 2 * HOUR]),
        ),
        (
            "conv_rate",
            Arc::new(Float64Array::from(vec![0.5, 0.6, 0.7, 0.9, 0.8])) as ArrayRef,
        ),
        (
            "tier",
            Arc::new(StringArray::from(vec![
                "gold", "gold", "platinum", "silver", "silver",
            ])) as ArrayRef,
        ),
    ])?;
    let path = data_dir.join("driver_stats.parquet");
    write_parquet_file(&path, &[source])?;
    println!("wrote source {}", path.display());

    // 2. Definitions, applied as a whole and stored versioned.
    let defs = Definitions::new()
        .with_entity(Entity::new("driver").with_join_key("driver_id", ValueType::Int64))
        .with_feature_view(
            FeatureView::new(
                "driver_stats",
                Source::parquet(format!("file://{}", path.canonicalize()?.display()))
                    .with_created_column("created"),
            )
            .with_entity("driver")
            .with_feature("conv_rate", ValueType::Float64)
            .with_feature("tier", ValueType::String)
            .with_ttl(Duration::from_secs(24 * 3600))
            .with_tag("owner", "ml-platform")
            .with_tag("pii", "false"),
        )
        .with_feature_service(
            FeatureService::new("ranking_model")
                .with_feature("driver_stats:conv_rate")
                .with_feature("driver_stats:tier"),
        );
    let registry = Storage::from_url(&format!("file://{}", root.join("registry").display()))?;
    let fs = FeatureStore::new(registry)?;
    let version = fs.apply(&defs).await?;
    println!("applied definitions, version {version}");

    // 3. A training set: each label row gets the features as they were at its time.
    let entity = RecordBatch::try_from_iter(vec![
        (
            "driver_id",
            Arc::new(Int64Array::from(vec![1, 1, 2, 3])) as ArrayRef,
        ),
        (
            "event_timestamp",
            ts(vec![
                T0 + 30 * 60_000_000,
                T0 + 2 * HOUR,
                T0 + HOUR,
                T0 + HOUR,
            ]),
        ),
        (
            "label",
            Arc::new(Int64Array::from(vec![0, 1, 1, 0])) as ArrayRef,
        ),
    ])?;
    let refs = fs.definitions().await?.service_refs("ranking_model")?;
    let train = fs
        .get_historical_features(
            &[entity],
            &refs,
            &HistoricalOptions::default().with_full_feature_names(true),
        )
        .await?;
    println!("training set:\n{}", render(&train)?);

    // 4. Materialize the latest values into the embedded online store and read them.
    let online = EmbeddedOnlineStore::builder()
        .with_path(root.join("online.redb"))
        .build()?;
    let start = chrono::DateTime::from_timestamp_micros(T0 - HOUR).ok_or("bad time")?;
    let end = chrono::DateTime::from_timestamp_micros(T0 + 3 * HOUR).ok_or("bad time")?;
    let report = fs
        .materialize(&online, &["driver_stats"], start, end)
        .await?;
    println!("materialized {:?}", report.views);
    let keys = RecordBatch::try_from_iter(vec![(
        "driver_id",
        Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
    )])?;
    let refs = [
        FeatureRef::new("driver_stats", "conv_rate")?,
        FeatureRef::new("driver_stats", "tier")?,
    ];
    let served = fs
        .get_online_features(
            &online,
            &keys,
            &refs,
            &OnlineOptions::default().with_now(end),
        )
        .await?;
    println!("online features:\n{}", render(&served)?);
    Ok(vec!["driver_stats".to_string()])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use arrow::array::AsArray;

    #[tokio::test]
    async fn demo_runs_and_uses_driver_stats() {
        let dir = tempfile::tempdir().unwrap();
        let views = super::demo(dir.path()).await.unwrap();
        assert_eq!(views, vec!["driver_stats"]);
        assert!(dir.path().join("online.redb").exists());
        // The served values are the latest ones (the corrected 0.7 for driver 1).
        let source = mlops_features::read_parquet(
            &mlops_features::SourceLocation::from_path(
                &dir.path().join("data/driver_stats.parquet"),
            )
            .unwrap(),
        )
        .await
        .unwrap();
        let rates = source
            .column(3)
            .as_primitive::<arrow::datatypes::Float64Type>();
        assert_eq!(rates.value(2), 0.7);
    }
}
