//! Offline PIT engine against the public acceptance case and a brute-force oracle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use mlops_core::Storage;
use mlops_core::object_store::ObjectStoreExt;
use mlops_features::{
    Error, FeatureRef, HistoricalOptions, HistoricalView, SourceLocation, ValueType,
    get_historical_features, read_parquet,
};
use std::sync::Arc;
use std::time::Duration;

const PIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata/pit");

fn loc(file: &str) -> SourceLocation {
    SourceLocation::from_path(&std::path::Path::new(PIT).join(file)).unwrap()
}

fn case_views() -> (Vec<HistoricalView>, Vec<FeatureRef>) {
    let case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{PIT}/case.json")).unwrap())
            .unwrap();
    let mut views = Vec::new();
    let mut refs = Vec::new();
    for v in case["views"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        views.push(
            HistoricalView::new(name, loc(v["path"].as_str().unwrap()))
                .with_join_keys(
                    v["join_keys"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|k| k.as_str().unwrap()),
                )
                .with_timestamp_field(v["timestamp_field"].as_str().unwrap())
                .with_created_field(Some(v["created_timestamp_column"].as_str().unwrap().into()))
                .with_ttl(Duration::from_secs(v["ttl_seconds"].as_u64().unwrap())),
        );
        for f in v["features"].as_array().unwrap() {
            refs.push(FeatureRef::new(name, f["name"].as_str().unwrap()).unwrap());
        }
    }
    (views, refs)
}

/// Equal names, order, types, values and nulls; floats bit for bit.
fn assert_same(got: &RecordBatch, exp: &RecordBatch) {
    assert_eq!(got.num_rows(), exp.num_rows());
    let gn: Vec<_> = got
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let en: Vec<_> = exp
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(gn, en);
    for (i, name) in en.iter().enumerate() {
        let (g, e) = (got.column(i), exp.column(i));
        assert_eq!(g.data_type(), e.data_type(), "{name}");
        assert_eq!(g.to_data(), e.to_data(), "{name}");
        if let DataType::Float64 = e.data_type() {
            let (g, e) = (
                g.as_primitive::<arrow::datatypes::Float64Type>(),
                e.as_primitive::<arrow::datatypes::Float64Type>(),
            );
            for r in 0..e.len() {
                assert_eq!(g.is_null(r), e.is_null(r));
                if e.is_valid(r) {
                    assert_eq!(g.value(r).to_bits(), e.value(r).to_bits(), "{name} row {r}");
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_case_reproduces_expected_exactly() {
    let (views, refs) = case_views();
    let entity = read_parquet(&loc("entity_df.parquet")).await.unwrap();
    let exp = read_parquet(&loc("expected.parquet")).await.unwrap();
    let opts = HistoricalOptions::default().with_full_feature_names(true);
    let got = get_historical_features(std::slice::from_ref(&entity), &views, &refs, &opts)
        .await
        .unwrap();
    assert_same(&got, &exp);
    // The memory-budget path (key-hash partitions) gives the same table.
    let tight = opts.clone().with_memory_budget(16 * 1024);
    let got = get_historical_features(std::slice::from_ref(&entity), &views, &refs, &tight)
        .await
        .unwrap();
    assert_same(&got, &exp);
    // Entity rows split over several batches: same result.
    let parts = vec![entity.slice(0, 400), entity.slice(400, 600)];
    let got = get_historical_features(&parts, &views, &refs, &opts)
        .await
        .unwrap();
    assert_same(&got, &exp);
}

#[tokio::test(flavor = "current_thread")]
async fn bad_input_gives_typed_errors() {
    let (views, refs) = case_views();
    let entity = read_parquet(&loc("entity_df.parquet")).await.unwrap();
    let opts = HistoricalOptions::default().with_full_feature_names(true);
    let only = |names: &[&str]| {
        let idx: Vec<usize> = names
            .iter()
            .map(|n| entity.schema().index_of(n).unwrap())
            .collect();
        entity.project(&idx).unwrap()
    };
    let e = get_historical_features(&[only(&["event_timestamp"])], &views, &refs, &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::MissingEntityColumn { column, role: "join key" } if column == "driver_id"),
        "{e}"
    );
    let e = get_historical_features(&[only(&["driver_id"])], &views, &refs, &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::MissingEntityColumn { column, role: "timestamp" } if column == "event_timestamp"),
        "{e}"
    );
    let bad = [FeatureRef::new("nope", "conv_rate").unwrap()];
    let e = get_historical_features(std::slice::from_ref(&entity), &views, &bad, &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::UnknownView { view } if view == "nope"),
        "{e}"
    );
    let bad = [FeatureRef::new("fv0", "speed").unwrap()];
    let e = get_historical_features(std::slice::from_ref(&entity), &views, &bad, &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::UnknownFeature { view, feature } if view == "fv0" && feature == "speed"),
        "{e}"
    );
    assert_eq!(e.kind(), mlops_core::ErrorKind::NotFound);
    // A source whose type differs from the declaration.
    let declared = views[0]
        .clone()
        .with_declared_features(vec![("trips".into(), ValueType::String)]);
    let r = [FeatureRef::new("fv0", "trips").unwrap()];
    let e = get_historical_features(std::slice::from_ref(&entity), &[declared], &r, &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::SchemaMismatch { column, .. } if column == "trips"),
        "{e}"
    );
    // Bare names collide across views.
    let e = get_historical_features(
        std::slice::from_ref(&entity),
        &views,
        &refs,
        &HistoricalOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, Error::NameCollision { name } if name == "conv_rate"),
        "{e}"
    );
}

// ---------- brute-force oracle on random data with two join keys ----------

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn ts_array(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
}

async fn put_parquet(storage: &Storage, name: &str, batch: &RecordBatch) {
    let mut buf = Vec::new();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(97))
        .build();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    storage
        .store()
        .put(&storage.path(name).unwrap(), buf.into())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_key_views_match_brute_force() {
    let mut rng = Lcg(42);
    let storage = Storage::memory();
    let regions = ["north", "south", "ünï"];
    let n_f = 3000;
    let (mut fk1, mut fk2, mut fts, mut fcr, mut fval) = (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n_f {
        fk1.push(if rng.below(50) == 0 {
            None
        } else {
            Some(rng.below(20) as i64)
        });
        fk2.push(regions[rng.below(3) as usize]);
        fts.push(if rng.below(60) == 0 {
            None
        } else {
            Some(rng.below(200) as i64 * 1_000_000)
        });
        fcr.push(if rng.below(10) == 0 {
            None
        } else {
            Some(rng.below(1000) as i64)
        });
        fval.push(if rng.below(20) == 0 {
            None
        } else {
            Some(i as f64 + 0.5)
        });
    }
    let fschema = Arc::new(Schema::new(vec![
        Field::new("k1", DataType::Int64, true),
        Field::new("k2", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new(
            "cr",
            DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("val", DataType::Float64, true),
    ]));
    let fb = RecordBatch::try_new(
        fschema,
        vec![
            Arc::new(Int64Array::from(fk1.clone())),
            Arc::new(StringArray::from(fk2.clone())),
            ts_array(fts.clone()),
            ts_array(fcr.clone()),
            Arc::new(Float64Array::from(fval.clone())),
        ],
    )
    .unwrap();
    // Split the source into two files below a prefix.
    put_parquet(&storage, "src/a.parquet", &fb.slice(0, 1500)).await;
    put_parquet(&storage, "src/b.parquet", &fb.slice(1500, 1500)).await;
    let n_e = 700;
    let (mut ek1, mut ek2, mut ets) = (vec![], vec![], vec![]);
    for _ in 0..n_e {
        ek1.push(Some(rng.below(22) as i64));
        ek2.push(regions[rng.below(3) as usize]);
        ets.push(if rng.below(50) == 0 {
            None
        } else {
            Some(rng.below(220) as i64 * 1_000_000 - 5)
        });
    }
    // Entity keys as Int32: the engine casts them to the source's Int64.
    let entity = RecordBatch::try_from_iter(vec![
        (
            "k1",
            Arc::new(arrow::array::Int32Array::from(
                ek1.iter().map(|v| v.map(|x| x as i32)).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        ("k2", Arc::new(StringArray::from(ek2.clone())) as ArrayRef),
        ("when", ts_array(ets.clone())),
    ])
    .unwrap();
    let sub = Storage::from_store(storage.store().clone(), "src", "memory://src").unwrap();
    for ttl in [0u64, 30] {
        let view = HistoricalView::new("v", SourceLocation::new(sub.clone(), None))
            .with_join_keys(["k1", "k2"])
            .with_timestamp_field("ts")
            .with_created_field(Some("cr".into()))
            .with_ttl(Duration::from_secs(ttl));
        let refs = [FeatureRef::new("v", "val").unwrap()];
        let opts = HistoricalOptions::default().with_entity_timestamp("when");
        for opts in [opts.clone(), opts.with_memory_budget(1024)] {
            let got = get_historical_features(
                std::slice::from_ref(&entity),
                std::slice::from_ref(&view),
                &refs,
                &opts,
            )
            .await
            .unwrap();
            assert_eq!(got.schema().field(3).name(), "val");
            let got = got
                .column(3)
                .as_primitive::<arrow::datatypes::Float64Type>();
            let ttl_us = ttl as i64 * 1_000_000;
            let mut matched = 0;
            for e in 0..n_e {
                let mut best: Option<usize> = None;
                if let (Some(k1), Some(t)) = (ek1[e], ets[e]) {
                    for f in 0..n_f {
                        let (Some(fk), Some(ft)) = (fk1[f], fts[f]) else {
                            continue;
                        };
                        if fk != k1 || fk2[f] != ek2[e] || ft > t || (ttl_us > 0 && ft < t - ttl_us)
                        {
                            continue;
                        }
                        let key = |i: usize| (fts[i], fcr[i].unwrap_or(i64::MIN), i);
                        if best.is_none_or(|b| key(f) > key(b)) {
                            best = Some(f);
                        }
                    }
                }
                let want = best.and_then(|b| fval[b]);
                let have = got.is_valid(e).then(|| got.value(e));
                assert_eq!(have, want, "entity row {e}, ttl {ttl}");
                matched += usize::from(best.is_some());
            }
            assert!(matched > 100, "the data must exercise matches ({matched})");
        }
    }
}
