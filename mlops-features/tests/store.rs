//! FeatureStore: apply/versioning/diff, bad definitions, offline through definitions, and
//! materialize + online reads equal to the offline latest on both online backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, TimestampMicrosecondArray};
use chrono::{DateTime, TimeZone, Utc};
use mlops_core::Storage;
use mlops_features::*;
use std::sync::Arc;
use std::time::Duration;

const PIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata/pit");

fn url(file: &str) -> String {
    let p = std::fs::canonicalize(format!("{PIT}/{file}")).unwrap();
    format!("file://{}", p.display())
}

fn view(name: &str, ttl_h: u64) -> FeatureView {
    FeatureView::new(
        name,
        Source::parquet(url(&format!("{name}.parquet"))).with_created_column("created"),
    )
    .with_entity("driver")
    .with_feature("conv_rate", ValueType::Float64)
    .with_feature("trips", ValueType::Int64)
    .with_feature("tier", ValueType::String)
    .with_ttl(Duration::from_secs(ttl_h * 3600))
    .with_tag("owner", "ml-team")
}

fn defs() -> Definitions {
    Definitions::new()
        .with_entity(Entity::new("driver").with_join_key("driver_id", ValueType::Int64))
        .with_feature_view(view("fv0", 6))
        .with_feature_view(view("fv1", 48))
        .with_feature_service(
            FeatureService::new("model_a")
                .with_feature("fv0:trips")
                .with_feature("fv1:tier"),
        )
}

fn refs() -> Vec<FeatureRef> {
    FeatureRef::parse_all(&[
        "fv0:conv_rate",
        "fv0:trips",
        "fv0:tier",
        "fv1:conv_rate",
        "fv1:trips",
        "fv1:tier",
    ])
    .unwrap()
}

#[tokio::test]
async fn apply_versions_diff_and_rejects_bad_definitions() {
    let fs = FeatureStore::new(Storage::memory()).unwrap();
    assert!(fs.definitions().await.is_err());
    assert_eq!(fs.apply(&defs()).await.unwrap(), 1);
    assert_eq!(fs.apply(&defs()).await.unwrap(), 1);
    let mut d2 = defs();
    d2.feature_views[0].ttl_seconds = 60;
    assert_eq!(fs.apply(&d2).await.unwrap(), 2);
    let diff = fs.diff(1, 2).await.unwrap();
    assert_eq!(diff.changed, vec!["feature_view:fv0"]);
    assert!(diff.added.is_empty() && diff.removed.is_empty());
    assert_eq!(fs.definitions().await.unwrap(), d2);
    assert_eq!(
        fs.definitions()
            .await
            .unwrap()
            .service_refs("model_a")
            .unwrap()
            .len(),
        2
    );

    // Wrong type, missing column, unknown entity: typed errors, nothing stored.
    let mut bad = defs();
    bad.feature_views[1].features[1].value_type = ValueType::String;
    let e = fs.apply(&bad).await.unwrap_err();
    assert!(
        matches!(&e, Error::SchemaMismatch { view, column, .. } if view == "fv1" && column == "trips"),
        "{e}"
    );
    let bad = defs().with_feature_view(view("fv0", 1).with_feature("speed", ValueType::Float64));
    assert!(fs.apply(&bad).await.is_err());
    let mut bad = defs();
    bad.feature_views[0] = view("fv0", 1).with_feature("speed", ValueType::Float64);
    let e = fs.apply(&bad).await.unwrap_err();
    assert!(
        matches!(&e, Error::SchemaMismatch { column, reason, .. } if column == "speed" && reason.contains("missing")),
        "{e}"
    );
    let mut bad = defs();
    bad.feature_views[0].entities = vec!["rider".into()];
    let e = fs.apply(&bad).await.unwrap_err();
    assert!(
        matches!(&e, Error::UnknownEntity { entity, .. } if entity == "rider"),
        "{e}"
    );
    assert_eq!(fs.version().await.unwrap(), Some(2));
    assert_eq!(fs.definitions().await.unwrap(), d2);

    // YAML of the applied definitions loads back to the same thing.
    let yaml = d2.to_yaml().unwrap();
    assert_eq!(Definitions::from_yaml(&yaml).unwrap(), d2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn training_set_through_definitions_matches_expected() {
    let fs = FeatureStore::new(Storage::memory()).unwrap();
    fs.apply(&defs()).await.unwrap();
    let entity = read_parquet(&SourceLocation::from_url(&url("entity_df.parquet")).unwrap())
        .await
        .unwrap();
    let exp = read_parquet(&SourceLocation::from_url(&url("expected.parquet")).unwrap())
        .await
        .unwrap();
    let opts = HistoricalOptions::default().with_full_feature_names(true);
    let got = fs
        .get_historical_features(std::slice::from_ref(&entity), &refs(), &opts)
        .await
        .unwrap();
    for (i, f) in exp.schema().fields().iter().enumerate() {
        assert_eq!(got.schema().field(i).name(), f.name());
        assert_eq!(
            got.column(i).to_data(),
            exp.column(i).to_data(),
            "{}",
            f.name()
        );
    }
    let bad = [FeatureRef::new("fv0", "speed").unwrap()];
    let e = fs
        .get_historical_features(&[entity], &bad, &opts)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::UnknownFeature { .. }), "{e}");
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, day, hour, 0, 0).unwrap()
}

fn entity_at(t: DateTime<Utc>) -> RecordBatch {
    let keys: Vec<i64> = (1..=110).chain([9999]).collect();
    let n = keys.len();
    RecordBatch::try_from_iter(vec![
        ("driver_id", Arc::new(Int64Array::from(keys)) as ArrayRef),
        (
            "event_timestamp",
            Arc::new(
                TimestampMicrosecondArray::from(vec![t.timestamp_micros(); n]).with_timezone("UTC"),
            ) as ArrayRef,
        ),
    ])
    .unwrap()
}

/// Online values after materializing up to `t` equal the offline training set at `t`.
async fn assert_online_equals_offline(
    fs: &FeatureStore,
    online: &dyn OnlineStore,
    t: DateTime<Utc>,
) {
    let entity = entity_at(t);
    let offline = fs
        .get_historical_features(
            std::slice::from_ref(&entity),
            &refs(),
            &HistoricalOptions::default().with_full_feature_names(true),
        )
        .await
        .unwrap();
    let keys = entity.project(&[0]).unwrap();
    let got = fs
        .get_online_features(
            online,
            &keys,
            &refs(),
            &OnlineOptions::default()
                .with_full_feature_names(true)
                .with_now(t),
        )
        .await
        .unwrap();
    assert_eq!(got.num_columns(), 7);
    let mut non_null = 0;
    for i in 1..7 {
        let name = got.schema().field(i).name().clone();
        let off = offline.column_by_name(&name).unwrap();
        assert_eq!(got.column(i).data_type(), off.data_type(), "{name}");
        assert_eq!(got.column(i).to_data(), off.to_data(), "{name} at {t}");
        assert!(got.column(i).is_null(110), "missing key gives null");
        non_null += got.column(i).len() - got.column(i).null_count();
    }
    assert!(
        non_null > 100,
        "the comparison must cover values ({non_null})"
    );
}

async fn materialize_suite(online: &dyn OnlineStore) {
    let fs = FeatureStore::new(Storage::memory()).unwrap();
    fs.apply(&defs()).await.unwrap();
    let views = ["fv0", "fv1"];
    let t1 = at(15, 12);
    let r = fs
        .materialize(online, &views, at(1, 0) - chrono::Duration::days(1), t1)
        .await
        .unwrap();
    assert_eq!(r.views.len(), 2);
    assert!(r.views.iter().all(|(_, n, _)| *n > 50));
    assert_eq!(
        online.watermark("fv0").await.unwrap(),
        Some(t1.timestamp_micros())
    );
    assert_online_equals_offline(&fs, online, t1).await;
    // Idempotent.
    fs.materialize(online, &views, at(1, 0) - chrono::Duration::days(1), t1)
        .await
        .unwrap();
    assert_online_equals_offline(&fs, online, t1).await;
    // Incremental from the watermark.
    let t2 = at(20, 3);
    fs.materialize_incremental(online, &views, t2)
        .await
        .unwrap();
    assert_eq!(
        online.watermark("fv1").await.unwrap(),
        Some(t2.timestamp_micros())
    );
    assert_online_equals_offline(&fs, online, t2).await;
    // ttl online: 7 hours later every fv0 value (ttl 6 h) materialized at or before t2 - 1h is gone.
    let keys = entity_at(t2).project(&[0]).unwrap();
    let later = fs
        .get_online_features(
            online,
            &keys,
            &[FeatureRef::new("fv0", "trips").unwrap()],
            &OnlineOptions::default().with_now(t2 + chrono::Duration::hours(30)),
        )
        .await
        .unwrap();
    assert_eq!(later.column(1).null_count(), later.num_rows());
    let e = fs
        .get_online_features(
            online,
            &keys,
            &[FeatureRef::new("nope", "x").unwrap()],
            &OnlineOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::UnknownView { .. }));
    for v in views {
        online.delete_view(v).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn materialize_and_read_online_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let online = EmbeddedOnlineStore::builder()
        .with_path(dir.path().join("online.redb"))
        .build()
        .unwrap();
    materialize_suite(&online).await;
    let mem = EmbeddedOnlineStore::builder().in_memory().build().unwrap();
    materialize_suite(&mem).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn materialize_and_read_online_redis() {
    let Some(url) = mlops_core::testkit::server("MLOPS_TEST_REDIS_URL") else {
        return;
    };
    let online = RedisOnlineStore::builder()
        .with_url(url)
        .with_prefix(format!("{}:", mlops_core::testkit::namespace()))
        .build()
        .unwrap();
    materialize_suite(&online).await;
}

#[tokio::test]
async fn online_reads_use_cached_definitions_until_refresh() {
    let storage = Storage::memory();
    let a = FeatureStore::new(storage.clone()).unwrap();
    let b = FeatureStore::new(storage).unwrap();
    a.apply(&defs()).await.unwrap();
    let online = EmbeddedOnlineStore::builder().in_memory().build().unwrap();
    let keys = entity_at(at(2, 0)).project(&[0]).unwrap();
    let r = [FeatureRef::new("fv0", "trips").unwrap()];
    // b loads lazily and sees version 1.
    b.get_online_features(&online, &keys, &r, &OnlineOptions::default())
        .await
        .unwrap();
    let mut d2 = defs();
    d2.feature_views.remove(0);
    d2.feature_services.clear();
    a.apply(&d2).await.unwrap();
    // a applied: its cache moved on; b still reads with version 1 until refresh.
    let e = a
        .get_online_features(&online, &keys, &r, &OnlineOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::UnknownView { .. }));
    b.get_online_features(&online, &keys, &r, &OnlineOptions::default())
        .await
        .unwrap();
    assert_eq!(b.refresh().await.unwrap().feature_views.len(), 1);
    let e = b
        .get_online_features(&online, &keys, &r, &OnlineOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::UnknownView { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_schema_changed_after_apply_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let batch = |with_trips: bool| {
        let mut cols: Vec<(&str, ArrayRef)> = vec![
            ("driver_id", Arc::new(Int64Array::from(vec![1, 2]))),
            (
                "event_timestamp",
                Arc::new(TimestampMicrosecondArray::from(vec![0, 1]).with_timezone("UTC")),
            ),
        ];
        if with_trips {
            cols.push(("trips", Arc::new(Int64Array::from(vec![5, 6]))));
        }
        RecordBatch::try_from_iter(cols).unwrap()
    };
    write_parquet_file(&path, &[batch(true)]).unwrap();
    let d = Definitions::new()
        .with_entity(Entity::new("driver").with_join_key("driver_id", ValueType::Int64))
        .with_feature_view(
            FeatureView::new("s", Source::parquet(format!("file://{}", path.display())))
                .with_entity("driver")
                .with_feature("trips", ValueType::Int64),
        );
    let fs = FeatureStore::new(Storage::memory()).unwrap();
    fs.apply(&d).await.unwrap();
    write_parquet_file(&path, &[batch(false)]).unwrap();
    let entity = entity_at(at(2, 0));
    let r = [FeatureRef::new("s", "trips").unwrap()];
    let e = fs
        .get_historical_features(&[entity], &r, &HistoricalOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::SchemaMismatch { view, column, .. } if view == "s" && column == "trips"),
        "{e}"
    );
    let online = EmbeddedOnlineStore::builder().in_memory().build().unwrap();
    let e = fs
        .materialize(&online, &["s"], at(1, 0), at(2, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::SchemaMismatch { column, .. } if column == "trips"),
        "{e}"
    );
    assert_eq!(
        online.watermark("s").await.unwrap(),
        None,
        "nothing stored on error"
    );
    assert_eq!(fs.version().await.unwrap(), Some(1));
}
